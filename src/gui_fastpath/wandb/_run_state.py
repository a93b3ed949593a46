"""Turns decoded ``.wandb`` records into run state, the way wandb-core's own readers do.

Config updates are applied as wandb-core's run config applies them (a dict value merges
into the tree leaf by leaf, ``remove`` deletes a path); summary records are merged in file
order (:mod:`._summary_state`); history rows are the record's items keyed by their dotted
``nested_key`` (:mod:`._history_records`). History and summary records, nearly all of a
file, are told apart by the byte after their number and decoded in bulk; other kinds are
decoded one by one with wandb's classes.
"""

from __future__ import annotations

import gc
import json
from collections import deque
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from typing import Any

from google.protobuf import json_format
from google.protobuf.message import DecodeError

from gui_fastpath.wandb._fast_records import HISTORY_TAG, SUMMARY_TAG, RawRecord, wandb_pb
from gui_fastpath.wandb._history_records import add_history
from gui_fastpath.wandb._summary_state import SummaryState
from gui_fastpath.wandb.snapshot import ConsoleLine, HistoryStore, RunExit, RunIdentity

__all__ = ["RunState"]

_SHORT = 96
"""Summary records shorter than this may be wandb-core's per-step runtime update, which
recurs byte for byte: they are looked up among the records seen before."""
_NUM_TAG = 0x08  # Record.num: field 1, varint


@contextmanager
def _collection_paused() -> Iterator[None]:
    """Pause the cyclic garbage collector while a batch builds many small objects.

    Records make no reference cycles; collections during a bulk load only rescan the
    objects already read.
    """
    was_enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if was_enabled:
            gc.enable()


def _seconds(stamp: Any) -> float:
    return stamp.seconds + stamp.nanos / 1e9


def _set(tree: dict[str, Any], parts: Sequence[str], value: Any) -> None:
    for part in parts[:-1]:
        child = tree.get(part)
        if not isinstance(child, dict):
            child = tree[part] = {}
        tree = child
    tree[parts[-1]] = value


def _set_subtree(tree: dict[str, Any], parts: tuple[str, ...], value: dict[str, Any]) -> None:
    for key, child in value.items():
        if isinstance(child, dict) and child:
            _set_subtree(tree, (*parts, key), child)
        else:
            _set(tree, (*parts, key), child)


def _remove(tree: dict[str, Any], parts: Sequence[str]) -> None:
    for part in parts[:-1]:
        tree = tree.get(part)  # type: ignore[assignment]
        if not isinstance(tree, dict):
            return
    tree.pop(parts[-1], None)


class RunState:
    """Mutable state of one run; :class:`OfflineRunReader` owns it and snapshots it."""

    def __init__(self, console_lines: int) -> None:
        self.identity: RunIdentity | None = None
        self.config: dict[str, Any] = {}
        self.summary = SummaryState()
        self.history = HistoryStore()
        self.system: list[dict[str, Any]] = []
        self.environment: dict[str, Any] = {}
        self.console: deque[ConsoleLine] = deque(maxlen=console_lines)
        self.console_line_count = 0
        self._partial: dict[str, tuple[str, float | None]] = {}
        self.exit: RunExit | None = None
        self.records = 0
        self.last_step: int | None = None
        self.changed: set[str] = set()
        self.errors: list[tuple[int, str]] = []

    # -- records ---------------------------------------------------------------------------

    def apply(self, payloads: Sequence[bytes], offsets: Sequence[int]) -> None:
        """Apply complete record payloads, in file order."""
        with _collection_paused():
            self._apply(payloads, offsets)

    def _apply(self, payloads: Sequence[bytes], offsets: Sequence[int]) -> None:
        history: list[bytes] = []
        history_offsets: list[int] = []
        summary = self.summary
        errors = self.errors
        summaries = 0
        # Locals, not globals or attributes: this loop runs once per record.
        add_history_record, add_history_offset = history.append, history_offsets.append
        queue, queue_offset = summary.queue.append, summary.queue_offsets.append
        equivalents = summary.equivalents
        num_tag, history_tag, summary_tag, short = _NUM_TAG, HISTORY_TAG, SUMMARY_TAG, _SHORT
        for payload, offset in zip(payloads, offsets, strict=True):
            # The record type's tag follows ``num`` (a varint), which wandb-core writes first.
            try:
                if payload[0] != num_tag:
                    at = 0
                elif payload[1] < 0x80:
                    at = 2
                elif payload[2] < 0x80:
                    at = 3
                elif payload[3] < 0x80:
                    at = 4
                elif payload[4] < 0x80:
                    at = 5
                else:  # a number of 2**35 or more: left to _apply_record
                    at = len(payload)
                tag = payload[at]
            except IndexError:
                tag = 0
            if tag == history_tag:
                add_history_record(payload)
                add_history_offset(offset)
            elif tag == summary_tag:
                summaries += 1
                if len(payload) >= short:
                    queue(payload)
                    queue_offset(offset)
                    continue
                body = payload[at:]
                equivalent = equivalents.get(body)
                if equivalent is None:
                    summary.add_short(payload, body, offset, errors)
                elif equivalent:
                    queue(equivalent)
                    queue_offset(offset)
            else:
                kind = self._apply_record(payload, offset)
                if kind == "history":
                    add_history_record(payload)
                    add_history_offset(offset)
                elif kind == "summary":
                    summaries += 1
                    summary.add(payload, offset)
        summary.flush(errors)
        self.records += len(payloads)
        if summaries:
            self.changed.add("summary")
        if history:
            top = add_history(self.history, history, history_offsets, errors)
            if top is not None and (self.last_step is None or top > self.last_step):
                self.last_step = top
            self.changed.add("history")

    def _apply_record(self, payload: bytes, offset: int) -> str | None:
        """Decode and apply a record of another kind; return its kind."""
        try:
            record = RawRecord.FromString(payload)
        except DecodeError as exc:
            self.errors.append((offset, f"undecodable record ({exc})"))
            return None
        kind = record.WhichOneof("record_type")
        if kind is not None and kind not in ("history", "summary"):
            try:
                self._apply_other(kind, getattr(record, kind))
            except (DecodeError, ValueError) as exc:
                self.errors.append((offset, f"undecodable {kind} record ({exc})"))
        return kind  # type: ignore[no-any-return]

    def _apply_other(self, kind: str, raw: bytes) -> None:
        if kind == "run":
            self._apply_run(wandb_pb.RunRecord.FromString(raw))
        elif kind == "config":
            self._apply_config(wandb_pb.ConfigRecord.FromString(raw))
        elif kind == "stats":
            self._apply_stats(wandb_pb.StatsRecord.FromString(raw))
        elif kind in ("output_raw", "output"):
            self._apply_output(wandb_pb.OutputRawRecord.FromString(raw))
        elif kind == "environment":
            environment = wandb_pb.EnvironmentRecord.FromString(raw)
            self.environment.update(
                json_format.MessageToDict(environment, preserving_proto_field_name=True)
            )
            self.changed.add("environment")
        elif kind == "exit":
            exit_record = wandb_pb.RunExitRecord.FromString(raw)
            self.exit = RunExit(exit_code=exit_record.exit_code, runtime=float(exit_record.runtime))
            self.changed.add("exit")

    def _apply_run(self, run: Any) -> None:
        self.identity = RunIdentity(
            run_id=run.run_id,
            entity=run.entity,
            project=run.project,
            display_name=run.display_name,
            tags=tuple(run.tags),
            notes=run.notes,
            group=run.run_group,
            job_type=run.job_type,
            host=run.host,
            sweep_id=run.sweep_id,
            start_time=_seconds(run.start_time) if run.HasField("start_time") else None,
            resumed=run.resumed,
        )
        self.changed.add("identity")
        if run.HasField("config"):
            self._apply_config(run.config)
        if run.HasField("summary"):
            self.summary.apply_record(run.summary, self.errors)
            self.changed.add("summary")

    def _apply_config(self, config: Any) -> None:
        for item in config.update:
            parts = tuple(item.nested_key) or (item.key,)
            try:
                value = json.loads(item.value_json)
            except ValueError:
                self.errors.append((-1, f"config value for {'.'.join(parts)} is not JSON"))
                continue
            if isinstance(value, dict) and value:
                _set_subtree(self.config, parts, value)
            else:
                _set(self.config, parts, value)
        for item in config.remove:
            _remove(self.config, tuple(item.nested_key) or (item.key,))
        self.changed.add("config")

    def _apply_stats(self, stats: Any) -> None:
        sample: dict[str, Any] = {"_timestamp": _seconds(stats.timestamp)}
        for item in stats.item:
            try:
                sample[item.key] = json.loads(item.value_json)
            except ValueError:
                sample[item.key] = item.value_json
        self.system.append(sample)
        self.changed.add("system")

    def _apply_output(self, output: Any) -> None:
        stream = "stderr" if output.output_type == wandb_pb.OutputRawRecord.STDERR else "stdout"
        stamp = _seconds(output.timestamp) if output.HasField("timestamp") else None
        text, started = self._partial.pop(stream, ("", stamp))
        *complete, rest = (text + output.line).split("\n")
        for line in complete:
            self.console.append(ConsoleLine(_after_carriage_return(line), stream, started))  # type: ignore[arg-type]
            self.console_line_count += 1
            started = stamp
        if complete:
            self.changed.add("console")
        if rest:
            self._partial[stream] = (rest, started)


def _after_carriage_return(line: str) -> str:
    """What a terminal shows for ``line``: the text after its last carriage return."""
    return line.rstrip("\r").rsplit("\r", 1)[-1]
