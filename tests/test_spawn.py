"""Children lead a process group of their own, in our session, below our priority."""

from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest

from gui_fastpath.spawn import BACKGROUND_NICE, child_options, run_below_us

pytestmark = pytest.mark.timeout(30)

# The child reports once it has read a line: by then its parent has lowered it.
_REPORT = (
    "import json, os, sys; sys.stdin.readline(); print(json.dumps({'pgid': os.getpgid(0), "
    "'sid': os.getsid(0), 'nice': os.getpriority(os.PRIO_PROCESS, 0)}))"
)


def _report(nice: int | None, **options) -> dict:
    with subprocess.Popen(
        [sys.executable, "-c", _REPORT],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        **child_options(**options),
    ) as proc:
        if nice is not None:
            run_below_us(proc.pid, nice)
        out, _ = proc.communicate(b"go\n", timeout=20)
    return json.loads(out)


@pytest.mark.parametrize("die_with_parent", [False, True])
def test_a_child_leads_its_group_in_our_session_at_background_priority(die_with_parent):
    seen = _report(BACKGROUND_NICE, die_with_parent=die_with_parent)
    assert seen["pgid"] != os.getpgid(0)  # one signal to its group spares us
    assert seen["sid"] == os.getsid(0)  # a new session would compete with the GUI as an equal
    assert seen["nice"] == max(BACKGROUND_NICE, os.getpriority(os.PRIO_PROCESS, 0))


def test_a_child_is_never_raised_above_us():
    assert _report(-5)["nice"] == os.getpriority(os.PRIO_PROCESS, 0)


def test_lowering_a_child_that_already_ended_is_harmless():
    proc = subprocess.Popen([sys.executable, "-c", "pass"], **child_options())
    proc.wait()
    run_below_us(proc.pid)
