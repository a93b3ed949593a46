"""Decode the scalar points of a chunk of serialized ``tensorboard.Event`` records.

Scalar writers repeat themselves: after the wall time and the step, every record of a tag
has the same bytes except the value's (PyTorch's ``simple_value`` records, TF2's tensor
records with their metadata, alike). So records are decoded as *templates*, with numpy,
all at once: records with the usual head (``wall_time``, ``step``) are grouped by the bytes
after the step with the value bytes blanked out; one record per group is decoded
(``_event_proto.value_layout``) and the group's steps, wall times and values are read
as arrays. Records that fit no template (step 0, which is omitted on the wire; several
values in one event; non-scalar events) are decoded one by one.

Scalar semantics follow TensorBoard: ``simple_value`` is a scalar; a ``tensor`` is one when
its tag's first metadata in the run names the ``scalars`` plugin (or the scalar data class)
and it holds exactly one number.
"""

from __future__ import annotations

from typing import Any

import attrs
import numpy as np
import numpy.typing as npt
from numpy.lib.stride_tricks import sliding_window_view

from gui_fastpath.tensorboard._event_proto import (
    Layout,
    Malformed,
    ValueInfo,
    decode_event,
    value_layout,
)

__all__ = ["DecodedChunk", "TagKinds", "decode_records"]

_WALL, _STEP = 0x09, 0x10  # Event.wall_time (double), Event.step (varint)
_MIN_RECORD = 15  # 9 wall time + 2 step + 2 summary + 2 value
_MAX_ROUNDS = 4  # templates tried per body length before the leftovers go one by one

Series = tuple[npt.NDArray[np.int64], npt.NDArray[np.float64], npt.NDArray[np.float64]]


class TagKinds:
    """Per-run memory of which tags are scalar tags (first metadata wins, as in TensorBoard)."""

    def __init__(self) -> None:
        self.scalar: dict[str, bool] = {}
        """Tag → holds scalars, for tags whose kind is known."""
        self.reported: set[str] = set()
        """Tags already reported as unusable, so each is reported once."""


@attrs.frozen(eq=False)
class DecodedChunk:
    """Scalar points of a run of records, grouped by tag, in record order."""

    series: dict[str, Series]
    """Tag → (steps, wall times, values)."""
    problems: list[tuple[int, str, str]]
    """(record index, field, problem) for records or values that were skipped."""


@attrs.frozen(eq=False)
class _Template:
    layout: Layout
    rows: npt.NDArray[np.int64]
    """Record indices."""
    steps: npt.NDArray[np.int64]
    walls: npt.NDArray[np.float64]
    values: npt.NDArray[np.float64]


def decode_records(
    buf: bytes, starts: npt.NDArray[np.int64], lengths: npt.NDArray[np.int64], kinds: TagKinds
) -> DecodedChunk:
    """Decode the records at ``starts``/``lengths`` of ``buf``."""
    templates, done = _templates(buf, starts, lengths)
    problems: list[tuple[int, str, str]] = []
    singles: list[tuple[int, int, float, ValueInfo]] = []
    for i in np.flatnonzero(~done).tolist():
        start = int(starts[i])
        try:
            step, wall, infos = decode_event(buf, start, start + int(lengths[i]))
        except Malformed as exc:
            problems.append((i, "Event", str(exc)))
            continue
        singles += [(i, step, wall, info) for info in infos]
    # The first kind hint of a tag, in record order, decides (unless an earlier chunk did).
    hints = [(int(t.rows[0]), t.layout.tag, t.layout.kind_hint) for t in templates]
    hints += [(i, info.tag, info.kind_hint) for i, _, _, info in singles]
    for _, tag, hint in sorted(h for h in hints if h[2] is not None):
        kinds.scalar.setdefault(tag, bool(hint))

    parts: dict[str, list[tuple[npt.NDArray[Any], ...]]] = {}
    for t in templates:
        if not t.layout.is_tensor or kinds.scalar.get(t.layout.tag, False):
            parts.setdefault(t.layout.tag, []).append((t.rows, t.steps, t.walls, t.values))
    rows: dict[str, list[tuple[int, int, float, float]]] = {}
    for i, step, wall, info in singles:
        if info.value is None or (info.is_tensor and not kinds.scalar.get(info.tag, False)):
            continue
        if isinstance(info.value, str):
            if info.tag not in kinds.reported:
                kinds.reported.add(info.tag)
                problems.append((i, f"summary.value[{info.tag!r}].tensor", info.value))
            continue
        rows.setdefault(info.tag, []).append((i, step, wall, info.value))
    for tag, found in rows.items():
        index, steps, walls, values = (np.array(c) for c in zip(*found, strict=True))
        parts.setdefault(tag, []).append((index, steps, walls, values))
    return DecodedChunk({tag: _merge(p) for tag, p in parts.items()}, problems)


def _merge(parts: list[tuple[npt.NDArray[Any], ...]]) -> Series:
    if len(parts) == 1:
        _, steps, walls, values = parts[0]
    else:
        index, steps, walls, values = (np.concatenate(c) for c in zip(*parts, strict=True))
        order = np.argsort(index, kind="stable")
        steps, walls, values = steps[order], walls[order], values[order]
    return steps.astype(np.int64), walls.astype(np.float64), values.astype(np.float64)


def _templates(
    buf: bytes, starts: npt.NDArray[np.int64], lengths: npt.NDArray[np.int64]
) -> tuple[list[_Template], npt.NDArray[np.bool_]]:
    """Templates found, and which records they cover."""
    raw = np.frombuffer(buf, dtype=np.uint8)
    done = np.zeros(len(starts), dtype=bool)
    rec, steps, walls, body = _heads(raw, starts, lengths)
    if not len(rec):
        return [], done
    body_len = starts[rec] + lengths[rec] - body
    templates: list[_Template] = []
    for width in np.unique(body_len).tolist():
        group = np.flatnonzero(body_len == width)
        matrix = sliding_window_view(raw, width)[body[group]]
        remaining = np.arange(len(group))
        for _ in range(_MAX_ROUNDS):
            if not len(remaining):
                break
            first = int(group[remaining[0]])
            layout = value_layout(buf, int(body[first]), int(body[first]) + width)
            if layout is None:
                remaining = remaining[1:]
                continue
            found, taken = _matching(matrix, remaining, layout)
            for lay, members in found:
                picked = group[remaining[members]]
                values = _values(matrix[remaining[members]], lay)
                templates.append(_Template(lay, rec[picked], steps[picked], walls[picked], values))
                done[rec[picked]] = True
            remaining = remaining[~taken]
    return templates, done


def _matching(
    matrix: npt.NDArray[np.uint8],
    remaining: npt.NDArray[np.int64],
    layout: Layout,
) -> tuple[list[tuple[Layout, npt.NDArray[np.int64]]], npt.NDArray[np.bool_]]:
    """Rows (positions in ``remaining``) sharing ``layout``'s shape, grouped by template."""
    size = _size(layout.dtype)
    blanked = matrix[remaining].copy()
    blanked[:, layout.offset : layout.offset + size] = 0
    width = blanked.shape[1]
    keys = blanked.view(np.dtype((np.void, width)))[:, 0]
    unique, first, inverse, counts = np.unique(
        keys, return_index=True, return_inverse=True, return_counts=True
    )
    # Many one-off keys mean records of another shape: leave those for a later round.
    trust_singles = len(unique) <= max(64, len(remaining) // 8)
    order = np.argsort(inverse, kind="stable")
    bounds = np.concatenate(([0], np.cumsum(counts)))
    taken = np.zeros(len(remaining), dtype=bool)
    found: list[tuple[Layout, npt.NDArray[np.int64]]] = []
    for k in range(len(unique)):
        if counts[k] == 1 and not trust_singles and first[k] != 0:
            continue
        rep = int(first[k])
        if rep == 0:
            lay: Layout | None = layout
        else:
            row = bytes(matrix[remaining[rep]])
            lay = value_layout(row, 0, len(row))
        if lay is None or lay.offset != layout.offset or lay.dtype != layout.dtype:
            continue
        members = np.sort(order[bounds[k] : bounds[k + 1]])
        found.append((lay, members))
        taken[members] = True
    return found, taken


def _size(dtype: str) -> int:
    return 2 if dtype == "bfloat16" else np.dtype(dtype).itemsize


def _values(rows: npt.NDArray[np.uint8], layout: Layout) -> npt.NDArray[np.float64]:
    size = _size(layout.dtype)
    cells = np.ascontiguousarray(rows[:, layout.offset : layout.offset + size])
    if layout.dtype == "bfloat16":
        bits = cells.view("<u2")[:, 0].astype(np.uint32) << np.uint32(16)
        return bits.view(np.float32).astype(np.float64)
    return cells.view(layout.dtype)[:, 0].astype(np.float64)


def _heads(
    raw: npt.NDArray[np.uint8], starts: npt.NDArray[np.int64], lengths: npt.NDArray[np.int64]
) -> tuple[
    npt.NDArray[np.int64], npt.NDArray[np.int64], npt.NDArray[np.float64], npt.NDArray[np.int64]
]:
    """Records that start ``wall_time, step``: (indices, steps, wall times, body offsets)."""
    rec = np.flatnonzero(lengths >= _MIN_RECORD)
    s = starts[rec]
    keep = (raw[s] == _WALL) & (raw[s + 9] == _STEP)
    rec, s = rec[keep], s[keep]
    # The step varint, one byte position at a time over the records still going on.
    steps = np.zeros(len(rec), dtype=np.uint64)
    nbytes = np.zeros(len(rec), dtype=np.int64)
    going = np.arange(len(rec))
    last = len(raw) - 1
    for k in range(10):
        byte = raw[np.minimum(s[going] + 10 + k, last)]
        steps[going] |= (byte & 0x7F).astype(np.uint64) << np.uint64(7 * k)
        ended = byte < 0x80
        nbytes[going[ended]] = k + 1
        going = going[~ended]
        if not len(going):
            break
    keep = (nbytes > 0) & (10 + nbytes < lengths[rec])
    rec, s, steps, nbytes = rec[keep], s[keep], steps[keep], nbytes[keep]
    doubles = np.ndarray((len(raw) - 7,), dtype="<f8", buffer=raw, strides=(1,))
    return rec, steps.view(np.int64), doubles[s + 1], s + 10 + nbytes
