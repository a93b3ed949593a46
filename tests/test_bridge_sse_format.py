"""The SSE wire format, both ways, and the event ids the bridge issues."""

from __future__ import annotations

import pytest

from gui_fastpath.bridge.events import (
    BadEventIdError,
    GlobalCursor,
    RunCursor,
    RunSummary,
    validate_run_id,
)
from gui_fastpath.bridge.sse import SseDecoder, SseMessage, encode_comment, encode_message


def test_round_trip_byte_by_byte():
    raw = encode_message("lifecycle", '{"a":1}\nsecond line', "l1-a0-ff") + encode_comment("hb")
    decoder = SseDecoder()
    got = [m for i in range(len(raw)) for m in decoder.feed(raw[i : i + 1])]
    assert got == [SseMessage("lifecycle", '{"a":1}\nsecond line', "l1-a0-ff")]


def test_spec_line_endings_fields_and_defaults():
    decoder = SseDecoder()
    raw = b"id: 7\r\nevent: x\rdata:no-space\r\n\r\n: comment\n\ndata: plain\nretry: 250\n\n"
    assert decoder.feed(raw) == [
        SseMessage("x", "no-space", "7"),
        SseMessage("message", "plain", "7", retry_ms=250),  # the id persists, as in browsers
    ]


def test_message_without_data_is_not_dispatched():
    decoder = SseDecoder()
    assert decoder.feed(b"event: lonely\nid: 3\n\n") == []
    assert decoder.last_event_id == "3"


def test_a_trailing_carriage_return_waits_for_its_line_feed():
    decoder = SseDecoder()
    assert decoder.feed(b"data: a\r") == []
    assert decoder.feed(b"\n\r\n") == [SseMessage("message", "a", None)]


@pytest.mark.parametrize(
    "cursor", [RunCursor(0, 0, "ab"), RunCursor(12, 3, "0123abcd"), GlobalCursor(5, "ff")]
)
def test_cursors_round_trip(cursor):
    assert type(cursor).parse(str(cursor)) == cursor


@pytest.mark.parametrize("text", ["", "lifecycle:3", "l1-a2", "l-1-a2-ff", "g1-ff", "l1-a2-XYZ"])
def test_foreign_run_ids_are_refused(text):
    with pytest.raises(BadEventIdError, match="reconnect without Last-Event-ID"):
        RunCursor.parse(text)


def test_run_summary_round_trip_and_bad_fields():
    summary = RunSummary("r1", "RUNNING", False, 4, 1.5, {"step": 3}, "ok", ("tensorboard",))
    assert RunSummary.from_dict(summary.to_dict()) == summary
    with pytest.raises(ValueError, match="field 'seq' has bad value 'x'"):
        RunSummary.from_dict({"run_id": "r1", "seq": "x"})
    with pytest.raises(ValueError, match="'run_id' is missing"):
        RunSummary.from_dict({})


def test_run_ids_are_plain_directory_names():
    assert validate_run_id("01HZX3Q2R9-run_a.b") == "01HZX3Q2R9-run_a.b"
    for bad in ("..", ".", "a/b", "a\\b", "-x", "", "a\0b", "é"):
        with pytest.raises(ValueError, match="not a run directory name"):
            validate_run_id(bad)
