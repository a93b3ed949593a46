"""Discovery from a hand-written ``*.dist-info`` on ``sys.path``, as a third-party plugin."""

from __future__ import annotations

import logging
import sys
import textwrap

import pytest

from gui_fastpath.plugin import TABS, PluginLoadError, discover

pytestmark = pytest.mark.timeout(30)


@pytest.fixture
def fake_dist(tmp_path, monkeypatch):
    """A distribution ``acme-tabs`` with one good, one missing and one broken entry point."""
    dist_info = tmp_path / "acme_tabs-1.0.dist-info"
    dist_info.mkdir()
    (dist_info / "METADATA").write_text("Metadata-Version: 2.1\nName: acme-tabs\nVersion: 1.0\n")
    (dist_info / "entry_points.txt").write_text(
        textwrap.dedent(
            f"""\
            [{TABS}]
            good = acme_tabs_mod:make_tab
            missing = acme_tabs_nowhere:make_tab
            broken = acme_tabs_broken:make_tab
            """
        )
    )
    (tmp_path / "acme_tabs_mod.py").write_text("IMPORTS = []\ndef make_tab():\n    return 'tab'\n")
    (tmp_path / "acme_tabs_broken.py").write_text("raise RuntimeError('boom at import')\n")
    monkeypatch.syspath_prepend(str(tmp_path))
    yield
    for mod in ("acme_tabs_mod", "acme_tabs_broken"):
        sys.modules.pop(mod, None)


def _by_name(entries):
    return {e.name: e for e in entries if e.distribution == "acme-tabs"}


def test_discovery_imports_nothing(fake_dist):
    entries = _by_name(discover(TABS))
    assert set(entries) == {"good", "missing", "broken"}
    assert "acme_tabs_mod" not in sys.modules
    assert entries["good"].qualified_name == "acme-tabs.good"


def test_good_plugin_loads(fake_dist):
    entry = _by_name(discover(TABS))["good"]
    assert entry.load()() == "tab"
    assert entry.problem is None


def test_missing_module_is_reported_with_a_fix(fake_dist, caplog):
    entry = _by_name(discover(TABS))["missing"]
    with caplog.at_level(logging.WARNING), pytest.raises(PluginLoadError):
        entry.load()
    assert entry.problem is not None
    assert entry.problem.fix.startswith("install the missing module 'acme_tabs_nowhere'")
    assert caplog.messages == [str(entry.problem)]
    assert (
        "plugin 'missing' from acme-tabs in entry-point group 'gui_fastpath.tabs'"
        in (caplog.messages[0])
    )


def test_failed_plugin_is_blocked_not_retried(fake_dist, caplog):
    entry = _by_name(discover(TABS))["broken"]
    with caplog.at_level(logging.WARNING):
        for _ in range(3):
            with pytest.raises(PluginLoadError, match="RuntimeError: boom at import"):
                entry.load()
    assert len(caplog.records) == 1


def test_our_own_groups_are_installed():
    """The installed gui-fastpath registers its own tab factories and presenter."""
    ours = {e.name for e in discover(TABS) if e.distribution == "gui-fastpath"}
    assert {"tensorboard", "wandb"} <= ours
