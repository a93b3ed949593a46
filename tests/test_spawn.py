"""Children start in a process group of their own, in our session, below our priority."""

from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest

from gui_fastpath.spawn import BACKGROUND_NICE, child_options

pytestmark = pytest.mark.timeout(30)

_REPORT = (
    "import json, os; print(json.dumps({'pgid': os.getpgid(0), 'sid': os.getsid(0), "
    "'nice': os.getpriority(os.PRIO_PROCESS, 0)}))"
)


def _child_report(**options) -> dict:
    proc = subprocess.run(
        [sys.executable, "-c", _REPORT], capture_output=True, check=True, **child_options(**options)
    )
    return json.loads(proc.stdout)


def test_a_child_leads_its_group_in_our_session_at_background_priority():
    seen = _child_report()
    assert seen["pgid"] != os.getpgid(0)  # one signal to its group spares us
    assert seen["sid"] == os.getsid(0)  # a new session would compete with the GUI as an equal
    assert seen["nice"] == max(BACKGROUND_NICE, os.getpriority(os.PRIO_PROCESS, 0))


def test_nice_none_keeps_our_priority_and_a_child_is_never_raised_above_us():
    ours = os.getpriority(os.PRIO_PROCESS, 0)
    assert _child_report(nice=None)["nice"] == ours
    assert _child_report(nice=-5)["nice"] == ours
