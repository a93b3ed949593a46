"""A run's summary: summary records merged in file order, as wandb-core merges them.

An update replaces the value at its path (and whatever it overlaps: its prefixes and its
subtree); a remove deletes it. Paths under ``_wandb`` (wandb's own bookkeeping, never shown)
are not kept. Summary records wait in a queue that is merged in batches, each parsed once:
a batch whose items all have a one-part path by the ``FastRecord`` view, its keys and
values zipped into the summary in C; a batch that only updates, some paths of several
parts, by the ``ItemRecord`` view, item by item; a batch that removes, record by record.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import Any

from google.protobuf.message import DecodeError

from gui_fastpath.wandb._fast_records import FastRecord, ItemRecord, RawRecord, wandb_pb

__all__ = ["SummaryState"]

_INTERNAL = "_wandb"
_BULK = 2048
"""Records parsed at once (see ``_history_records._BULK``)."""
_REPEATS = 1024
"""Distinct recurring short records remembered (see :meth:`SummaryState.add_short`)."""
_Path = str | tuple[str, ...]
"""A summary path: a str for a one-part key, a tuple of two or more parts otherwise."""
_Ops = list[tuple[bool, _Path, str | bytes]]
"""(is_update, path, value_json) in order."""
Errors = list[tuple[int, str]]


def _path(parts: Sequence[str], key: str) -> _Path:
    if len(parts) > 1:
        return tuple(parts)
    return parts[0] if parts else key


def _set(tree: dict[str, Any], parts: Sequence[str], value: Any) -> None:
    for part in parts[:-1]:
        child = tree.get(part)
        if not isinstance(child, dict):
            child = tree[part] = {}
        tree = child
    tree[parts[-1]] = value


class SummaryState:
    """The latest JSON value of every summary path, and the queue of records to merge."""

    def __init__(self) -> None:
        self.raw: dict[_Path, str | bytes] = {}
        """Latest JSON value per path (bytes when read in bulk)."""
        self._nested: dict[str, set[tuple[str, ...]]] = {}
        """Stored paths of two or more parts, by first part."""
        self.queue: list[bytes] = []
        """Summary records waiting to be merged, in file order (appended to with
        ``queue_offsets``; :meth:`flush` empties both in place)."""
        self.queue_offsets: list[int] = []
        self.equivalents: dict[bytes, bytes] = {}
        """Short records that recur byte for byte apart from their number (wandb-core's
        runtime update at every step), by their bytes after the number: an equivalent
        record of one-part updates that can be queued in their place (empty: no effect)."""
        self._repeats: dict[bytes, _Ops] = {}
        """Recurring records without such an equivalent: their operations."""

    # -- queueing --------------------------------------------------------------------------

    def add(self, payload: bytes, offset: int) -> None:
        """Queue a summary record."""
        self.queue.append(payload)
        self.queue_offsets.append(offset)

    def add_short(self, payload: bytes, body: bytes, offset: int, errors: Errors) -> None:
        """Queue a short summary record not in :attr:`equivalents`; ``body`` is its bytes
        after ``num``."""
        ops = self._repeats.get(body)
        if ops is None:
            try:
                flat = FastRecord.FromString(payload).summary
            except DecodeError as exc:
                errors.append((offset, f"undecodable record ({exc})"))
                return
            if _one_part_updates(flat):
                self.add(payload, offset)
                return
            raw = RawRecord.FromString(payload).summary
            ops = self._ops(wandb_pb.SummaryRecord.FromString(raw))
            if len(self.equivalents) + len(self._repeats) >= _REPEATS:
                self.equivalents.clear()
                self._repeats.clear()
            equivalent = _as_one_part_updates(ops)
            if equivalent is not None:
                self.equivalents[body] = equivalent
                if equivalent:
                    self.add(equivalent, offset)
                return
            self._repeats[body] = ops
        self.flush(errors)
        self.apply_ops(ops)

    def flush(self, errors: Errors) -> None:
        """Merge the queued records into the summary."""
        queue, offsets = self.queue[:], self.queue_offsets[:]
        if not queue:
            return
        self.queue.clear()
        self.queue_offsets.clear()
        for at in range(0, len(queue), _BULK):
            part = queue[at : at + _BULK]
            if not (self._merge_bulk(part) or self._merge_items(part)):
                self._merge_each(part, offsets[at : at + _BULK], errors)

    def _merge_bulk(self, payloads: list[bytes]) -> bool:
        try:
            flat = FastRecord.FromString(b"".join(payloads)).summary
        except DecodeError:
            return False
        if not _one_part_updates(flat):
            return False
        # zipped as containers: cheaper than lists here
        self._update_one_part(zip(flat.update.nested_key, flat.update.value_json, strict=True))
        return True

    def _merge_items(self, payloads: list[bytes]) -> bool:
        """Records that only update, some paths of several parts: parsed at once, item by
        item. Only each path's last update matters, applied in the order of those last
        updates (each update replaces the paths it overlaps that were set before it, so
        earlier updates of a path change nothing that its last update does not)."""
        try:
            summary = ItemRecord.FromString(b"".join(payloads)).summary
        except DecodeError:
            return False
        if summary.remove:
            return False
        latest: dict[_Path, bytes] = {}
        for item in summary.update:
            parts = item.nested_key
            path = (parts[0] if len(parts) == 1 else tuple(parts)) if parts else item.key
            latest.pop(path, None)
            latest[path] = item.value_json
        self.apply_ops(
            [
                (True, path, value)
                for path, value in latest.items()
                if (path if isinstance(path, str) else path[0]) != _INTERNAL
            ]
        )
        return True

    def _merge_each(self, payloads: list[bytes], offsets: list[int], errors: Errors) -> None:
        for payload, offset in zip(payloads, offsets, strict=True):
            try:
                flat = FastRecord.FromString(payload).summary
            except DecodeError as exc:
                errors.append((offset, f"undecodable record ({exc})"))
                continue
            if _one_part_updates(flat):
                self._update_one_part(
                    zip(flat.update.nested_key, flat.update.value_json, strict=True)
                )
            else:
                raw = RawRecord.FromString(payload).summary
                self.apply_ops(self._ops(wandb_pb.SummaryRecord.FromString(raw)))

    def _update_one_part(self, pairs: Any) -> None:
        summary = self.raw
        summary.update(pairs)
        heads = self._nested.keys()
        if heads and not summary.keys().isdisjoint(heads):
            for head in [h for h in heads if h in summary]:
                self._clear_conflicts(head)

    # -- operations ------------------------------------------------------------------------

    @staticmethod
    def _ops(record: Any) -> _Ops:
        """A decoded ``SummaryRecord`` as operations, without those under ``_wandb``."""
        ops: _Ops = [(True, _path(i.nested_key, i.key), i.value_json) for i in record.update]
        ops += [(False, _path(i.nested_key, i.key), "") for i in record.remove]
        return [op for op in ops if (op[1] if isinstance(op[1], str) else op[1][0]) != _INTERNAL]

    def apply_record(self, record: Any, errors: Errors) -> None:
        """Apply a decoded ``SummaryRecord`` (a run record's) after the queued ones."""
        self.flush(errors)
        self.apply_ops(self._ops(record))

    def apply_ops(self, ops: _Ops) -> None:
        summary = self.raw
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
            # Stored paths never overlap: one already stored overlaps no other.
            if path[0] in summary or (group and path not in group):
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
        summary = self.raw
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

    def tree(self) -> dict[str, Any]:
        """The summary as nested dicts, values decoded."""
        tree: dict[str, Any] = {}
        for path, value_json in self.raw.items():
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


def _one_part_updates(flat: Any) -> bool:
    """True if a :class:`FastRecord` summary (one record's or many merged) only updates
    one-part paths: then its keys and values pair up one to one."""
    items = flat.update
    return not (items.key or len(items.nested_key) != len(items.value_json)) and not (
        flat.HasField("remove")
    )


def _as_one_part_updates(ops: _Ops) -> bytes | None:
    """A summary record (without ``num``) of the same one-part updates as ``ops``, or None
    if ``ops`` removes anything or has a path of several parts."""
    if not all(is_update and isinstance(path, str) for is_update, path, _ in ops):
        return None
    if not ops:
        return b""
    items = [wandb_pb.SummaryItem(nested_key=[path], value_json=value) for _, path, value in ops]
    return wandb_pb.Record(summary=wandb_pb.SummaryRecord(update=items)).SerializeToString()  # type: ignore[no-any-return]
