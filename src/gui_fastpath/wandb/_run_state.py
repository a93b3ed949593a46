"""Turns decoded ``.wandb`` records into run state, the way wandb-core's own readers do.

Config updates are applied as wandb-core's run config applies them (a dict value merges
into the tree leaf by leaf, ``remove`` deletes a path); summary updates replace the value
at their path, in file order; history rows are the record's items keyed by their dotted
``nested_key``. Metric values are decoded in one ``json.loads`` per batch.
"""

from __future__ import annotations

import gc
import json
from collections import deque
from collections.abc import Iterable, Iterator, Sequence
from contextlib import contextmanager
from typing import Any

from google.protobuf import json_format
from google.protobuf.message import DecodeError

from gui_fastpath.wandb._fast_records import FastRecord, RawRecord, wandb_pb
from gui_fastpath.wandb.snapshot import ConsoleLine, RunExit, RunIdentity

__all__ = ["RunState"]

_INTERNAL = "_wandb"
_SHORT = 96
"""Records shorter than this are looked up in the repeats cache before being parsed."""
_REPEATS = 1024
_NUM_TAG = 0x08  # Record.num: field 1, varint
_Path = str | tuple[str, ...]
"""A summary path: a str for a one-part key, a tuple of two or more parts otherwise."""


@contextmanager
def _collection_paused() -> Iterator[None]:
    """Pause the cyclic garbage collector while a batch builds many small objects.

    Records make no reference cycles; collections during a bulk load only rescan the rows
    already read, which costs about a fifth of a large file's read time.
    """
    was_enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if was_enabled:
            gc.enable()


def _path(parts: Sequence[str], key: str) -> _Path:
    if len(parts) > 1:
        return tuple(parts)
    return parts[0] if parts else key


def _after_num(payload: bytes) -> int:
    """Index just past the ``num`` field that starts ``payload`` (its tag, then a varint)."""
    end = 1
    while end < len(payload) and payload[end] & 0x80:
        end += 1
    return end + 1


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
        self.summary_raw: dict[_Path, str | bytes] = {}
        """Latest JSON value per summary path (bytes when read by the fast path)."""
        self._nested: dict[str, set[tuple[str, ...]]] = {}
        """Stored summary paths of two or more parts, by first part."""
        self.history: list[dict[str, Any]] = []
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
        self._repeats: dict[bytes, list[tuple[bool, _Path, str]]] = {}
        """Summary records that recur byte for byte apart from their number (wandb-core's
        runtime update at every step), by their bytes after the number."""

    # -- records ---------------------------------------------------------------------------

    def apply(self, payloads: Sequence[bytes], offsets: Sequence[int]) -> None:
        """Apply complete record payloads, in file order."""
        with _collection_paused():
            self._apply(payloads, offsets)

    def _apply(self, payloads: Sequence[bytes], offsets: Sequence[int]) -> None:
        parse = FastRecord.FromString
        summary = self.summary_raw
        heads = self._nested.keys()
        rows: list[Any] = self.history  # key lists stand in for rows until decoded
        values: list[bytes] = []  # JSON values of this batch's rows, decoded at the end
        first_row = len(rows)
        summary_changed = False
        repeats = self._repeats
        for payload, offset in zip(payloads, offsets, strict=True):
            if len(payload) < _SHORT and payload[0] == _NUM_TAG:
                tail = payload[_after_num(payload) :]
                ops = repeats.get(tail)
                if ops is not None:
                    self._apply_summary_ops(ops)
                    summary_changed = True
                    continue
            try:
                record = parse(payload)
            except DecodeError as exc:
                self.errors.append((offset, f"undecodable record ({exc})"))
                continue
            kind = record.WhichOneof("record_type")
            if kind == "history":
                items = record.history.item
                keys = list(items.nested_key)
                start = len(values)
                values.extend(items.value_json)
                if len(values) - start == len(keys) and not items.key:
                    rows.append(keys)  # a placeholder until the batch's values are decoded
                else:
                    del values[start:]
                    rows.append(self._decoded_row(wandb_pb.Record.FromString(payload).history.item))
            elif kind == "summary":
                summary_changed = True
                flat = record.summary
                items = flat.update
                keys = items.nested_key  # zipped as containers: cheaper than lists here
                updates = items.value_json
                if items.key or len(keys) != len(updates) or flat.HasField("remove"):
                    ops = self._summary_ops(RawRecord.FromString(payload).summary)
                    self._apply_summary_ops(ops)
                    if len(payload) < _SHORT and payload[0] == _NUM_TAG:
                        if len(repeats) > _REPEATS:
                            repeats.clear()
                        repeats[payload[_after_num(payload) :]] = ops
                else:
                    summary.update(zip(keys, updates, strict=True))
                    if heads and not summary.keys().isdisjoint(heads):
                        for head in [h for h in heads if h in summary]:
                            self._clear_conflicts(head)
            elif kind is not None:
                try:
                    self._apply_other(kind, getattr(record, kind))
                except (DecodeError, ValueError) as exc:
                    self.errors.append((offset, f"undecodable {kind} record ({exc})"))
        self.records += len(payloads)
        if summary_changed:
            self.changed.add("summary")
        if len(rows) > first_row:
            self._decode_rows(first_row, values)
            steps = [s for row in rows[first_row:] if isinstance(s := row.get("_step"), int)]
            if steps:
                top = max(steps)
                self.last_step = top if self.last_step is None else max(self.last_step, top)
            self.changed.add("history")

    def _decoded_row(self, items: Iterable[Any]) -> dict[str, Any]:
        row: dict[str, Any] = {}
        for item in items:
            key = ".".join(item.nested_key) if item.nested_key else item.key
            row[key] = self._decode_leniently(item.value_json)
        return row

    def _decode_rows(self, first_row: int, values: list[bytes]) -> None:
        """Turn the batch's placeholder rows (key lists) into dicts, decoding all their
        values in one ``json.loads``. A key logged twice keeps its last value, as in wandb."""
        try:
            decoded = json.loads(b"[" + b",".join(values) + b"]")
            if len(decoded) != len(values):
                raise ValueError("a value is not one JSON value")
        except ValueError:
            decoded = [self._decode_leniently(v) for v in values]
        rows: list[Any] = self.history
        at = 0
        for index in range(first_row, len(rows)):
            keys = rows[index]
            if type(keys) is list:
                end = at + len(keys)
                rows[index] = dict(zip(keys, decoded[at:end], strict=True))
                at = end

    def _decode_leniently(self, value: str | bytes) -> Any:
        try:
            return json.loads(value)
        except ValueError:
            text = value.decode("utf-8", "replace") if isinstance(value, bytes) else value
            self.errors.append((-1, f"history value {text[:40]!r} is not JSON; kept as text"))
            return text

    @staticmethod
    def _summary_ops(raw: bytes) -> list[tuple[bool, _Path, str]]:
        record = wandb_pb.SummaryRecord.FromString(raw)
        ops = [(True, _path(i.nested_key, i.key), i.value_json) for i in record.update]
        ops += [(False, _path(i.nested_key, i.key), "") for i in record.remove]
        return ops

    def _apply_summary_ops(self, ops: list[tuple[bool, _Path, str]]) -> None:
        summary = self.summary_raw
        nested = self._nested
        for is_update, path, value in ops:
            if isinstance(path, str):
                if path in nested:
                    self._clear_conflicts(path)
                if is_update:
                    summary[path] = value
                else:
                    summary.pop(path, None)
                continue
            group = nested.get(path[0])
            if path[0] in summary or (group and (len(group) > 1 or path not in group)):
                self._clear_conflicts(path)
            if is_update:
                summary[path] = value
                nested.setdefault(path[0], set()).add(path)
            else:
                summary.pop(path, None)
                if group:
                    group.discard(path)

    def _clear_conflicts(self, path: _Path) -> None:
        """Drop stored paths that ``path`` replaces: its prefixes and its subtree."""
        summary = self.summary_raw
        if isinstance(path, str):
            for nested in self._nested.pop(path, ()):
                summary.pop(nested, None)
            return
        summary.pop(path[0], None)
        group = self._nested.get(path[0], set())
        for stored in list(group):
            shorter = min(len(path), len(stored))
            if stored != path and stored[:shorter] == path[:shorter]:
                group.discard(stored)
                summary.pop(stored, None)

    def summary_tree(self) -> dict[str, Any]:
        """The summary as nested dicts, values decoded, without ``_wandb``."""
        tree: dict[str, Any] = {}
        for path, value_json in self.summary_raw.items():
            parts = path if isinstance(path, tuple) else (path,)
            if parts[0] == _INTERNAL:
                continue
            try:
                value = json.loads(value_json)
            except ValueError:
                value = (
                    value_json.decode("utf-8", "replace")
                    if isinstance(value_json, bytes)
                    else value_json
                )
            _set(tree, parts, value)
        return tree

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
            self._apply_summary_ops(self._summary_ops(run.summary.SerializeToString()))
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
