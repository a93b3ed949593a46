"""History records decoded in bulk into a :class:`HistoryStore`.

Up to :data:`_BULK` records are joined with :data:`ROW_END` between them and parsed once by
the :class:`FastRecord` view: every key and every JSON value of the batch comes out in two
lists, each record's items followed by one end-of-row item. All values are then decoded as
one JSON array. Records whose keys and values do not pair up one to one (a nested key of
several parts, an item without ``value_json``) are parsed again, together, by the
``ItemRecord`` view and read item by item; a batch that does not parse, or where an item
names its key the old way (``key``), record by record with wandb's classes.
"""

from __future__ import annotations

import json
import sys
from bisect import bisect_left
from collections.abc import Iterable, Sequence
from operator import itemgetter
from typing import Any

import attrs
import msgspec
from google.protobuf.message import DecodeError

from gui_fastpath.wandb._fast_records import (
    ROW_END,
    ROW_END_KEY,
    ROW_END_VALUE,
    FastRecord,
    ItemRecord,
    wandb_pb,
)
from gui_fastpath.wandb.snapshot import HistoryStore

__all__ = ["add_history"]

_BULK = 2048
"""Records parsed at once: enough to amortise each call; more was slower (8,192: 9 % on the
benchmark run, the batch's lists no longer fit the caches) and holds the GIL longer."""
_STEP = "_step"
_msgspec_decode = msgspec.json.Decoder().decode
Errors = list[tuple[int, str]]


def add_history(
    store: HistoryStore, payloads: Sequence[bytes], offsets: Sequence[int], errors: Errors
) -> int | None:
    """Append the rows of history record ``payloads`` to ``store``; return their highest
    integer ``_step`` (None if none has one). Problems go to ``errors`` as (offset, text)."""
    top: int | None = None
    for at in range(0, len(payloads), _BULK):
        rows = _bulk_rows(payloads[at : at + _BULK], offsets[at : at + _BULK], errors)
        step = rows.store(store, errors)
        if step is not None and (top is None or step > top):
            top = step
    return top


@attrs.define
class _Rows:
    """A batch's rows, flat as in :class:`HistoryStore`; values still JSON text."""

    keys: list[str] = attrs.Factory(list)
    raw: list[bytes] = attrs.Factory(list)
    ends: list[int] = attrs.Factory(list)
    """Index of each row's end slot."""
    offsets: list[int] = attrs.Factory(list)
    """File offset of each row's record."""

    def end_row(self, offset: int) -> None:
        self.ends.append(len(self.keys))
        self.keys.append(ROW_END_KEY)
        self.raw.append(ROW_END_VALUE)
        self.offsets.append(offset)

    def add_record(self, payload: bytes, offset: int, errors: Errors) -> None:
        """Add one history record's row, decoded with wandb's classes."""
        try:
            items = wandb_pb.Record.FromString(payload).history.item
        except DecodeError as exc:
            errors.append((offset, f"undecodable record ({exc})"))
            return
        self.keys += [".".join(item.nested_key) if item.nested_key else item.key for item in items]
        self.raw += [item.value_json.encode() for item in items]
        self.end_row(offset)

    def store(self, store: HistoryStore, errors: Errors) -> int | None:
        """Decode the values into ``store``; return the highest integer ``_step``.

        Keys are interned: a run logs the same few names in every row, and one string per
        name instead of per row saves most of the history's memory."""
        values = self._decode(errors)
        keys = list(map(sys.intern, self.keys))
        base = len(store.keys)
        store.keys.extend(keys)
        store.values.extend(values)
        store.ends.extend(map(base.__add__, self.ends))
        return _top_step(keys, values, self.ends)

    def _decode(self, errors: Errors) -> list[Any]:
        """All JSON values as one array, by msgspec (several times faster than ``json``);
        by ``json`` if msgspec refuses it (``NaN`` and ``Infinity``, which wandb writes,
        numbers out of range, lone surrogates: msgspec raises, it never decodes a value
        differently); value by value if one is bad."""
        raw = self.raw
        array = b"[" + b",".join(raw) + b"]"
        for decode in (_msgspec_decode, json.loads):
            try:
                values = decode(array)
            except ValueError:  # msgspec.DecodeError is one
                continue
            if len(values) == len(raw):
                return values  # type: ignore[no-any-return]
            break
        values = []
        for index, value in enumerate(raw):
            try:
                values.append(json.loads(value))
            except ValueError:
                text = value.decode("utf-8", "replace")
                offset = self.offsets[bisect_left(self.ends, index)]
                errors.append((offset, f"history value {text[:40]!r} is not JSON; kept as text"))
                values.append(text)
        return values


def _bulk_rows(payloads: Sequence[bytes], offsets: Sequence[int], errors: Errors) -> _Rows:
    try:
        items = FastRecord.FromString(ROW_END.join(payloads) + ROW_END).history.item
    except DecodeError:
        return _each_rows(payloads, offsets, errors)
    if len(items.key) != len(payloads):  # not only the end-of-row items name a ``key``
        return _each_rows(payloads, offsets, errors)
    keys = list(items.nested_key)
    raw = list(items.value_json)
    ends = _row_ends(keys, len(payloads))
    if ends is None or raw.count(ROW_END_VALUE) != len(ends):
        # A logged key or value equals the end-of-row item's: rows cannot be told apart.
        return _each_rows(payloads, offsets, errors)
    if len(raw) == len(keys) and _picked(raw, ends).count(ROW_END_VALUE) == len(ends):
        return _Rows(keys, raw, ends, list(offsets))  # every row's keys and values pair up
    return _realign(keys, raw, ends, payloads, offsets, errors)


def _each_rows(payloads: Sequence[bytes], offsets: Sequence[int], errors: Errors) -> _Rows:
    """Record by record: for a batch the bulk parse cannot take."""
    rows = _Rows()
    for payload, offset in zip(payloads, offsets, strict=True):
        rows.add_record(payload, offset, errors)
    return rows


def _row_ends(keys: list[str], count: int) -> list[int] | None:
    """Index of each row's end-of-row key, or None unless there is exactly one per row."""
    find = keys.index
    ends = []
    at = -1
    try:
        for _ in range(count):
            at = find(ROW_END_KEY, at + 1)
            ends.append(at)
    except ValueError:
        return None
    return ends if at == len(keys) - 1 else None


def _picked(values: list[Any], indices: list[int]) -> tuple[Any, ...]:
    """``values`` at ``indices``, as a tuple (also for a single index)."""
    if len(indices) == 1:
        return (values[indices[0]],)
    return itemgetter(*indices)(values)  # type: ignore[no-any-return]


def _realign(
    keys: list[str],
    raw: list[bytes],
    ends: list[int],
    payloads: Sequence[bytes],
    offsets: Sequence[int],
    errors: Errors,
) -> _Rows:
    """The batch's rows with keys and values paired up: rows whose counts differ (a key of
    several parts, an item without ``value_json``) are parsed again, together, item by
    item."""
    spans: list[tuple[int, int, int, int] | None] = []  # None: a row to parse item by item
    key_start = value_start = 0
    find_value = raw.index
    for key_end in ends:
        try:
            value_end = find_value(ROW_END_VALUE, value_start)
        except ValueError:
            value_end = len(raw)
        aligned = key_end - key_start == value_end - value_start
        spans.append((key_start, key_end, value_start, value_end) if aligned else None)
        key_start, value_start = key_end + 1, value_end + 1
    odd = [row for row, span in enumerate(spans) if span is None]
    odd_rows = _item_rows([payloads[row] for row in odd], [offsets[row] for row in odd], errors)
    rows = _Rows()
    odd_row = odd_start = 0
    for row, span in enumerate(spans):
        if span is not None:
            rows.keys += keys[span[0] : span[1]]
            rows.raw += raw[span[2] : span[3]]
        elif odd_row < len(odd_rows.ends) and odd_rows.offsets[odd_row] == offsets[row]:
            odd_end = odd_rows.ends[odd_row]
            rows.keys += odd_rows.keys[odd_start:odd_end]
            rows.raw += odd_rows.raw[odd_start:odd_end]
            odd_row, odd_start = odd_row + 1, odd_end + 1
        else:  # the record did not decode alone: reported, and no row
            continue
        rows.end_row(offsets[row])
    return rows


def _item_rows(payloads: Sequence[bytes], offsets: Sequence[int], errors: Errors) -> _Rows:
    """Rows decoded item by item, many records parsed at once by the ``ItemRecord`` view."""
    if not payloads:
        return _Rows()
    try:
        items = ItemRecord.FromString(ROW_END.join(payloads) + ROW_END).history.item
    except DecodeError:
        return _each_rows(payloads, offsets, errors)
    rows = _Rows(offsets=list(offsets))
    add_key, add_value = rows.keys.append, rows.raw.append
    for item in items:
        parts = item.nested_key
        add_key(".".join(parts) if parts else item.key)
        add_value(item.value_json)
    ends = _row_ends(rows.keys, len(payloads))
    if ends is None:
        return _each_rows(payloads, offsets, errors)
    rows.ends = ends
    return rows


def _top_step(keys: list[str], values: list[Any], ends: Iterable[int]) -> int | None:
    """The highest integer ``_step`` of the rows ending at ``ends``: each row's last, as in
    its dict (searched in the reversed keys: lists have no ``rindex``)."""
    last = len(keys) - 1
    find = keys[::-1].index
    top: int | None = None
    start = 0
    for end in ends:
        try:
            step = values[last - find(_STEP, last - end + 1, last - start + 1)]
        except ValueError:
            step = None
        if type(step) is int and (top is None or step > top):
            top = step
        start = end + 1
    return top
