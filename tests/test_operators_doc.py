"""Every ``console`` example in docs/operators.md runs, in order, as shown.

The examples run in a shell whose working directory holds ``var/trainer/runs``: a copy of
the maintenance test root (real runs by the demo worker under ``gui-fastpath launch``,
some aged 40 days) plus ``live``, a run still training under its supervisor. The blocks
follow the convention of ``_doc_blocks``; here, besides, sizes such as ``13.4 KB`` match
any size (the demo's logs hold timings, so sizes vary by a few bytes) and runs of spaces
match any run of spaces (table columns).
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
import time
from pathlib import Path

import pytest

from _doc_blocks import console_examples, run_console_step
from _maintenance_support import copy_root, launch_command, stop_live_run, template_root
from gui_fastpath.manifest import ManifestError, read_manifest

pytestmark = pytest.mark.timeout(120)

DOC = Path(__file__).resolve().parent.parent / "docs" / "operators.md"
_SIZE = re.compile(r"\b\d+(?:\.\d+)? (?:B|KB|MB|GB|TB)\b")


def _normal(line: str) -> str:
    return " ".join(_SIZE.sub("<size>", line).split())


def _start_live(root: Path) -> subprocess.Popen[str]:
    never = "100000000"
    args = ("--total-steps", never, "--checkpoint-every", never, "--log-every", never)
    proc = subprocess.Popen(
        launch_command(root, "live", *args, "--step-delay-ms", "20"),
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        text=True,
        start_new_session=True,
    )
    deadline = time.monotonic() + 30
    while not _settled(root / "live"):
        assert proc.poll() is None and time.monotonic() < deadline, "live run did not start"
        time.sleep(0.05)
    return proc


def _settled(run_dir: Path) -> bool:
    """The live run has written all it will for a while: its manifest lists its event file."""
    try:
        manifest = read_manifest(run_dir)
    except ManifestError:
        return False
    return (
        manifest is not None
        and manifest.tensorboard is not None
        and bool(manifest.tensorboard.event_files)
    )


def test_the_doc_has_examples_for_every_command():
    commands = {
        e.command.split()[1]
        for e in console_examples(DOC.read_text())
        if e.command.startswith("gui-fastpath")
    }
    assert {"du", "prune", "compress", "archive"} <= commands


def test_every_console_example_runs_as_shown(tmp_path, tmp_path_factory):
    root = tmp_path / "var" / "trainer" / "runs"
    copy_root(template_root(tmp_path_factory.mktemp("template")), root)
    env = {
        **os.environ,
        "PATH": f"{Path(sys.executable).parent}{os.pathsep}{os.environ['PATH']}",
        "HOME": str(tmp_path),
        "TZ": "UTC",
    }
    live = _start_live(root)
    try:
        for example in console_examples(DOC.read_text()):
            run_console_step(example, cwd=tmp_path, env=env, timeout=60, normal=_normal)
    finally:
        stop_live_run(live)
