import json
import logging

import pytest

from gui_fastpath.lifecycle import (
    LIFECYCLE_NAME,
    JournalLockedError,
    LifecycleEventError,
    LifecycleJournal,
    Progress,
    RunLifecycleEvent,
    RunState,
    read_lifecycle,
    read_lifecycle_since,
)

pytestmark = pytest.mark.timeout(10)


def _event(seq: int, state: RunState = RunState.RUNNING, **kw) -> RunLifecycleEvent:
    return RunLifecycleEvent(run_id="r1", state=state, timestamp=100.0 + seq, seq=seq, **kw)


def test_event_round_trips_through_json():
    event = _event(
        4,
        RunState.FAILED,
        progress=Progress(step=10, total_steps=20, fraction=0.5, last_checkpoint="c/1.pt"),
        exit_code=3,
        error="boom",
        error_type="RuntimeError",
        stderr_tail=("line 1", "line 2"),
    )
    data = json.loads(json.dumps(event.to_dict()))
    assert data["type"] == "lifecycle"
    assert data["state"] == "FAILED"
    assert data["progress"] == {
        "step": 10,
        "total_steps": 20,
        "fraction": 0.5,
        "last_checkpoint": "c/1.pt",
    }
    assert "signal_name" not in data
    assert RunLifecycleEvent.from_dict(data) == event


def test_terminal_states():
    assert [s for s in RunState if s.terminal] == [
        RunState.COMPLETED,
        RunState.FAILED,
        RunState.CANCELLED,
    ]


def test_from_dict_names_each_bad_field():
    with pytest.raises(LifecycleEventError) as info:
        RunLifecycleEvent.from_dict(
            {"run_id": 1, "state": "DONE", "timestamp": "x", "seq": True, "progress": {"step": "7"}}
        )
    assert str(info.value) == (
        "expected str, got int 1 @ $.run_id; 'DONE' is not a valid RunState @ $.state; "
        "expected a number, got str 'x' @ $.timestamp; expected int, got bool True @ $.seq; "
        "expected int, got str '7' @ $.progress.step"
    )


def test_from_dict_ignores_unknown_keys():
    data = _event(1).to_dict() | {"future_field": 1, "progress": {"step": 1, "new": 2}}
    assert RunLifecycleEvent.from_dict(data) == _event(1, progress=Progress(step=1))


def test_journal_appends_one_line_per_event(tmp_path):
    with LifecycleJournal(tmp_path) as journal:
        journal.append(_event(1, RunState.STARTED))
        journal.append(_event(2))
        with pytest.raises(ValueError, match="seq 2 does not follow last seq 2"):
            journal.append(_event(2))
    lines = (tmp_path / LIFECYCLE_NAME).read_text().splitlines()
    assert [json.loads(line)["seq"] for line in lines] == [1, 2]
    assert read_lifecycle(tmp_path) == [_event(1, RunState.STARTED), _event(2)]


def test_restarted_journal_continues_seq_and_repairs_torn_tail(tmp_path, caplog):
    with LifecycleJournal(tmp_path) as journal:
        journal.append(_event(1, RunState.STARTED))
        journal.append(_event(2))
    path = tmp_path / LIFECYCLE_NAME
    with path.open("ab") as fh:
        fh.write(b'{"type":"lifecycle","run_id":"r1","sta')  # a crash mid-write
    with caplog.at_level(logging.WARNING), LifecycleJournal(tmp_path) as journal:
        assert journal.last_seq == 2
        journal.append(_event(3))
    assert f"{path}: last line is torn" in caplog.text
    assert [e.seq for e in read_lifecycle(tmp_path)] == [1, 2, 3]
    assert path.read_bytes().count(b"\n") == 4  # the torn fragment is kept on its own line


def test_second_writer_is_refused(tmp_path):
    with LifecycleJournal(tmp_path), pytest.raises(JournalLockedError, match="another supervisor"):
        LifecycleJournal(tmp_path).open()


def test_reader_skips_garbage_and_out_of_order_lines(tmp_path, caplog):
    path = tmp_path / LIFECYCLE_NAME
    lines = [_event(1).to_dict(), "not json", _event(3).to_dict(), _event(2).to_dict()]
    path.write_text("\n".join(x if isinstance(x, str) else json.dumps(x) for x in lines) + "\n")
    with caplog.at_level(logging.WARNING):
        assert [e.seq for e in read_lifecycle(tmp_path)] == [1, 3]
    assert f"{path}: line 2 after byte 0 is not a lifecycle event" in caplog.text
    assert f"{path}: line 4 after byte 0 has seq 2 after seq 3; skipped" in caplog.text


def test_tailing_consumes_only_complete_lines(tmp_path):
    assert read_lifecycle_since(tmp_path, 0) == ([], 0)
    path = tmp_path / LIFECYCLE_NAME
    first = json.dumps(_event(1).to_dict()) + "\n"
    second = json.dumps(_event(2).to_dict())
    path.write_text(first + second[:10])
    events, offset = read_lifecycle_since(tmp_path, 0)
    assert events == [_event(1)] and offset == len(first)
    path.write_text(first + second + "\n")
    events, offset = read_lifecycle_since(tmp_path, offset)
    assert events == [_event(2)] and offset == path.stat().st_size


def test_state_changes_are_fsynced_heartbeats_only_written(tmp_path, monkeypatch):
    synced = []
    monkeypatch.setattr("gui_fastpath.lifecycle.journal.os.fsync", synced.append)
    with LifecycleJournal(tmp_path) as journal:
        journal.append(_event(1, RunState.STARTED))
        journal.append(_event(2, RunState.RUNNING))
        journal.append(_event(3, RunState.COMPLETED))
    assert len(synced) == 2
    assert len(read_lifecycle(tmp_path)) == 3
