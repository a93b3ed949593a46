"""``fixtures/regenerate.py`` rebuilds exactly the committed fixtures (W&B logs aside)."""

from __future__ import annotations

import os

import pytest

from _manifest_support import FIXTURES, regenerate_module


def _tree(root):
    found = {}
    for dirpath, dirnames, filenames in os.walk(root):
        for name in filenames + [d for d in dirnames if os.path.islink(os.path.join(dirpath, d))]:
            path = os.path.join(dirpath, name)
            rel = os.path.relpath(path, root)
            if os.path.islink(path):
                found[rel] = ("link", os.readlink(path))
            elif rel.endswith(".wandb"):
                found[rel] = ("wandb log", None)  # written by wandb: timestamps differ
            else:
                with open(path, "rb") as handle:
                    found[rel] = ("file", handle.read())
    return found


@pytest.mark.slow
@pytest.mark.timeout(120)
def test_regenerate_matches_the_committed_fixtures(tmp_path):
    regenerate = regenerate_module()
    assert regenerate.main(["--dest", str(tmp_path)]) == 0
    for kind in ("runs", "hostile"):
        assert _tree(tmp_path / kind) == _tree(FIXTURES / kind), kind
