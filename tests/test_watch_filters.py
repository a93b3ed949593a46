"""Which changes the watcher keeps, and which run they belong to."""

import pytest
from watchfiles import Change

from gui_fastpath.watch import RunsFilter
from gui_fastpath.watch.filters import is_temp_name, run_id_of

ROOT = "/data/runs"


@pytest.mark.parametrize(
    ("change", "path", "kept"),
    [
        (Change.added, "/data/runs/01J/tensorboard/events.out.tfevents.1.h", True),
        (Change.modified, "/data/runs/01J/tensorboard/events.out.tfevents.1.h", True),
        (Change.added, "/data/runs/01J", True),
        (Change.deleted, "/data/runs/01J", True),
        (Change.deleted, "/data/runs", True),  # the root itself
        (Change.modified, "/data/runs/01J/artifacts.json", False),  # our own write
        (Change.added, "/data/runs/01J/.artifacts.json.x1y2.tmp", False),  # its temp file
        (Change.added, "/data/runs/01J/sub/artifacts.json", True),  # not ours: not at the top
        (Change.added, "/data/runs/01J/checkpoints/ckpt.pt.tmp", False),
        (Change.added, "/data/runs/01J/notes.txt~", False),
        (Change.added, "/data/runs/01J/.#notes.txt", False),
        (Change.added, "/data/runs/.staging-01J", False),  # hidden top level: not a run
        (Change.added, "/data/runs/.staging-01J/x", False),
        (Change.added, "/data/runs/01J/logs/w.stdout.log", True),  # a new log is a change
        (Change.modified, "/data/runs/01J/logs/w.stdout.log", False),  # appends are not
        (Change.modified, "/data/runs/01J/lifecycle.jsonl", False),
        (Change.deleted, "/data/runs/01J/stdout.log", True),
        (Change.added, "/data/runs-other/01J/x", False),  # a sibling, not under the root
        (Change.added, "/elsewhere/x", False),
    ],
)
def test_runs_filter(change, path, kept):
    assert RunsFilter(ROOT)(change, path) is kept


def test_runs_filter_accepts_a_root_with_a_trailing_slash():
    assert RunsFilter(ROOT + "/")(Change.added, "/data/runs/01J/x")


@pytest.mark.parametrize(
    ("path", "run_id"),
    [
        ("/data/runs/01J/tensorboard/x", "01J"),
        ("/data/runs/01J", "01J"),
        ("/data/runs", None),
        ("/data/runs/.hidden/x", None),
        ("/data/runsX/01J", None),
    ],
)
def test_run_id_of(path, run_id):
    assert run_id_of(ROOT, path) == run_id


@pytest.mark.parametrize(
    ("name", "temp"),
    [
        (".artifacts.json.abc", True),
        ("artifacts.json.tmp", True),
        ("x.swp", True),
        ("events.out.tfevents.1.host", False),
        ("ckpt_500k.pt", False),
        ("artifacts.json", False),
    ],
)
def test_is_temp_name(name, temp):
    assert is_temp_name(name) is temp


def test_runs_filter_repr_names_the_root():
    assert repr(RunsFilter(ROOT)) == "RunsFilter('/data/runs')"
