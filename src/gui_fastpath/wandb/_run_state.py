"""Turns decoded ``.wandb`` records into run state, the way wandb-core's own readers do.

Config updates are applied as wandb-core's run config applies them (a dict value merges
into the tree leaf by leaf, ``remove`` deletes a path); summary updates replace the value
at their path, in file order; history rows are the record's items keyed by their dotted
``nested_key``. Metric values are decoded in one ``json.loads`` per batch.
"""

from __future__ import annotations

import json
from collections import deque
from collections.abc import Iterable, Sequence
from typing import Any

from google.protobuf import json_format
from google.protobuf.message import DecodeError

from gui_fastpath.wandb._fast_records import FastRecord, RawRecord, flat_items, wandb_pb
from gui_fastpath.wandb.snapshot import ConsoleLine, RunExit, RunIdentity

__all__ = ["RunState"]

_INTERNAL = "_wandb"
_Path = str | tuple[str, ...]
"""A summary path: a str for a one-part key, a tuple of two or more parts otherwise."""


def _path(parts: Sequence[str], key: str) -> _Path:
    if len(parts) > 1:
        return tuple(parts)
    return parts[0] if parts else key


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
        self.summary_raw: dict[_Path, str] = {}
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
        self._batch_keys: list[list[str]] = []
        self._batch_values: list[str] = []
        self._summary_cache: dict[bytes, list[tuple[bool, _Path, str]]] = {}

    # -- records ---------------------------------------------------------------------------

    def apply(self, payloads: Sequence[bytes], offsets: Sequence[int]) -> None:
        """Apply complete record payloads, in file order."""
        parse = FastRecord.FromString
        batch_keys = self._batch_keys
        batch_values = self._batch_values
        summary = self.summary_raw
        heads = self._nested.keys()
        history_rows = 0
        for index, payload in enumerate(payloads):
            try:
                record = parse(payload)
            except DecodeError as exc:
                self.errors.append((offsets[index], f"undecodable record ({exc})"))
                continue
            kind = record.WhichOneof("record_type")
            self.records += 1
            if kind == "history":
                flat = flat_items(record.history.item)
                if flat is None:
                    flat = self._items(wandb_pb.Record.FromString(payload).history.item)
                batch_keys.append(flat[0])
                batch_values.extend(flat[1])
                history_rows += 1
            elif kind == "summary":
                flat_summary = record.summary
                flat = None if flat_summary.HasField("remove") else flat_items(flat_summary.update)
                if flat is not None and heads.isdisjoint(flat[0]):
                    summary.update(zip(*flat, strict=True))
                else:
                    self._apply_summary_slowly(RawRecord.FromString(payload).summary)
                self.changed.add("summary")
            elif kind is not None:
                try:
                    self._apply_other(kind, getattr(record, kind))
                except (DecodeError, ValueError) as exc:
                    self.errors.append((offsets[index], f"undecodable {kind} record ({exc})"))
        if history_rows:
            self._flush_history()

    @staticmethod
    def _items(items: Iterable[Any]) -> tuple[list[str], list[str]]:
        keys: list[str] = []
        values: list[str] = []
        for item in items:
            keys.append(".".join(item.nested_key) if item.nested_key else item.key)
            values.append(item.value_json)
        return keys, values

    def _flush_history(self) -> None:
        keys_per_row, values = self._batch_keys, self._batch_values
        try:
            decoded = json.loads("[" + ",".join(values) + "]")
            if len(decoded) != len(values):
                raise ValueError("a value is not one JSON value")
        except ValueError:
            decoded = [self._decode_leniently(value) for value in values]
        rows = self.history
        start = len(rows)
        at = 0
        for keys in keys_per_row:
            end = at + len(keys)
            rows.append(dict(zip(keys, decoded[at:end], strict=True)))
            at = end
        steps = [s for row in rows[start:] if isinstance(s := row.get("_step"), int)]
        if steps:
            top = max(steps)
            self.last_step = top if self.last_step is None else max(self.last_step, top)
        self._batch_keys = []
        self._batch_values = []
        self.changed.add("history")

    def _decode_leniently(self, value: str) -> Any:
        try:
            return json.loads(value)
        except ValueError:
            self.errors.append((-1, f"history value {value[:40]!r} is not JSON; kept as text"))
            return value

    def _apply_summary_slowly(self, raw: bytes) -> None:
        ops = self._summary_cache.get(raw)
        if ops is None:
            record = wandb_pb.SummaryRecord.FromString(raw)
            ops = [(True, _path(i.nested_key, i.key), i.value_json) for i in record.update]
            ops += [(False, _path(i.nested_key, i.key), "") for i in record.remove]
            if len(self._summary_cache) > 1024:
                self._summary_cache.clear()
            self._summary_cache[raw] = ops
        for is_update, path, value in ops:
            self._clear_conflicts(path)
            if not isinstance(path, tuple):
                if is_update:
                    self.summary_raw[path] = value
            elif is_update:
                self.summary_raw[path] = value
                self._nested.setdefault(path[0], set()).add(path)
            else:
                self._nested.get(path[0], set()).discard(path)

    def _clear_conflicts(self, path: _Path) -> None:
        """Drop stored paths that ``path`` replaces: itself, its prefixes and its subtree."""
        summary = self.summary_raw
        summary.pop(path, None)
        if isinstance(path, str):
            for nested in self._nested.pop(path, ()):
                summary.pop(nested, None)
            return
        summary.pop(path[0], None)
        group = self._nested.get(path[0])
        if not group or (len(group) == 1 and path in group):
            return
        for stored in list(group):
            shorter = min(len(path), len(stored))
            if stored[:shorter] == path[:shorter]:
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
                value = value_json
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
            self._apply_summary_slowly(run.summary.SerializeToString())
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
