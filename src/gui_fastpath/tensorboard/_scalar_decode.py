"""Decode scalar points from serialized ``tensorboard.Event`` records.

Only the few fields a scalar needs are read. Two paths give the same answers:

* a vectorised one (numpy, over all records of a chunk at once) for the record layout
  PyTorch's ``SummaryWriter``, tensorboardX and TF1 write for every scalar —
  ``wall_time, step, summary { value { tag, simple_value } }`` and nothing else;
* a per-record one for everything else: TF2 scalars stored as tensors, several values per
  event, unusual field order, step 0 (omitted on the wire), non-scalar events.

Scalar semantics follow TensorBoard: ``simple_value`` is a scalar; a ``tensor`` is one when
its tag's first metadata in the run names the ``scalars`` plugin (or the scalar data class)
and it holds exactly one number.
"""

from __future__ import annotations

import struct
from collections.abc import Callable, Iterator
from typing import Any

import attrs
import numpy as np
import numpy.typing as npt

__all__ = ["DecodedChunk", "Malformed", "TagKinds", "decode_records"]

_SCALARS_PLUGIN = b"scalars"
_DATA_CLASS_SCALAR = 1
_WALL, _STEP = 0x09, 0x10  # Event.wall_time (double), Event.step (varint)
_SUMMARY, _VALUE, _TAG, _SIMPLE = 0x2A, 0x0A, 0x0A, 0x15
_MIN_FAST_RECORD = 23  # 9 wall + 2 step + 2 summary + 2 value + 2 tag (+1 byte) + 5 float
_ARANGE10 = np.arange(10, dtype=np.int64)
_SHIFTS = np.uint64(7) * _ARANGE10.astype(np.uint64)

_f32, _f64 = struct.Struct("<f").unpack_from, struct.Struct("<d").unpack_from


class Malformed(Exception):
    """A record passed its checksum but is not a valid ``Event`` message."""


class TagKinds:
    """Per-run memory of which tensor tags are scalars (first metadata wins, as in TensorBoard)."""

    def __init__(self) -> None:
        self.scalar: dict[str, bool] = {}
        """Tag → holds scalars, for tags whose first value carried metadata."""
        self.reported: set[str] = set()
        """Tags already reported as unusable, so each is reported once."""


@attrs.frozen(eq=False)
class DecodedChunk:
    """Scalar points of a run of records, grouped by tag, in record order."""

    series: dict[
        str, tuple[npt.NDArray[np.int64], npt.NDArray[np.float64], npt.NDArray[np.float64]]
    ]
    """Tag → (steps, wall times, values)."""
    problems: list[tuple[int, str, str]]
    """(record index, field, problem) for records or values that were skipped."""


def decode_records(
    buf: bytes, starts: npt.NDArray[np.int64], lengths: npt.NDArray[np.int64], kinds: TagKinds
) -> DecodedChunk:
    """Decode the records at ``starts``/``lengths`` of ``buf``."""
    fast, slow = _fast_simple_values(buf, starts, lengths)
    parts: dict[str, list[tuple[npt.NDArray[np.int64], ...]]] = {}
    for tag, (index, steps, walls, values) in fast.items():
        parts.setdefault(tag, []).append((index, steps, walls, values))
    problems: list[tuple[int, str, str]] = []
    rows: dict[str, list[tuple[int, int, float, float]]] = {}
    for i in slow.tolist():
        start = int(starts[i])
        try:
            step, wall, found_values = _decode_event(buf, start, start + int(lengths[i]), kinds)
        except Malformed as exc:
            problems.append((i, "Event", str(exc)))
            continue
        for tag, value in found_values:
            if isinstance(value, str):
                if tag not in kinds.reported:
                    kinds.reported.add(tag)
                    problems.append((i, f"summary.value[{tag!r}].tensor", value))
                continue
            rows.setdefault(tag, []).append((i, step, wall, value))
    for tag, found in rows.items():
        columns = list(zip(*found, strict=True))
        parts.setdefault(tag, []).append(
            (
                np.array(columns[0], dtype=np.int64),
                np.array(columns[1], dtype=np.int64),
                np.array(columns[2], dtype=np.float64),
                np.array(columns[3], dtype=np.float64),
            )
        )
    for tag in fast:
        kinds.scalar.setdefault(tag, True)
    return DecodedChunk({tag: _merge(p) for tag, p in parts.items()}, problems)


def _merge(
    parts: list[tuple[npt.NDArray[np.int64], ...]],
) -> tuple[npt.NDArray[np.int64], npt.NDArray[np.float64], npt.NDArray[np.float64]]:
    if len(parts) == 1:
        _, steps, walls, values = parts[0]
        return steps, walls.astype(np.float64), values.astype(np.float64)
    index, steps, walls, values = (np.concatenate(c) for c in zip(*parts, strict=True))
    order = np.argsort(index, kind="stable")
    return steps[order], walls[order].astype(np.float64), values[order].astype(np.float64)


# -- vectorised path -----------------------------------------------------------------------


def _fast_simple_values(
    buf: bytes, starts: npt.NDArray[np.int64], lengths: npt.NDArray[np.int64]
) -> tuple[dict[str, tuple[npt.NDArray[np.int64], ...]], npt.NDArray[np.int64]]:
    """Points of records with the exact single-``simple_value`` layout; the rest's indices."""
    raw = np.frombuffer(buf, dtype=np.uint8)
    last = len(raw) - 1
    idx = np.flatnonzero(lengths >= _MIN_FAST_RECORD)
    s = starts[idx]
    keep = (raw[s] == _WALL) & (raw[s + 9] == _STEP)
    idx, s = idx[keep], s[keep]
    # Step: a varint of up to 10 bytes at s + 10.
    window = raw[np.minimum(s[:, None] + 10 + _ARANGE10, last)]
    ends = window < 0x80
    keep = ends.any(axis=1)
    idx, s, window, ends = idx[keep], s[keep], window[keep], ends[keep]
    nbytes = ends.argmax(axis=1) + 1
    used = _ARANGE10[None, :] < nbytes[:, None]
    digits = np.where(used, window & 0x7F, 0).astype(np.uint64)
    steps = (digits << _SHIFTS).sum(axis=1, dtype=np.uint64).view(np.int64)
    # Summary: 2a L1 0a L2 0a L3 <tag> 15 <float32>, exactly filling the record.
    p = s + 10 + nbytes
    e = starts[idx] + lengths[idx]
    p = np.minimum(p, last - 6)
    l1, l2, l3 = (raw[p + k].astype(np.int64) for k in (1, 3, 5))
    keep = (
        (raw[p] == _SUMMARY)
        & (p + 2 + l1 == e)
        & (raw[p + 2] == _VALUE)
        & (l2 == l1 - 2)
        & (raw[p + 4] == _TAG)
        & (l3 == l2 - 7)
        & (l3 >= 1)
        & (l1 < 0x80)
    )
    keep[keep] &= raw[(p + 6 + l3)[keep]] == _SIMPLE
    idx, s, p, e, l3, steps = idx[keep], s[keep], p[keep], e[keep], l3[keep], steps[keep]
    walls = raw[s[:, None] + 1 + np.arange(8)].view("<f8")[:, 0]
    values = raw[e[:, None] - 4 + np.arange(4)].view("<f4")[:, 0]
    out: dict[str, tuple[npt.NDArray[np.int64], ...]] = {}
    for width in np.unique(l3).tolist():
        group = np.flatnonzero(l3 == width)
        names = raw[(p[group] + 6)[:, None] + np.arange(width)]
        names = np.ascontiguousarray(names).view(np.dtype((np.void, width)))[:, 0]
        unique, inverse = np.unique(names, return_inverse=True)
        for k, name in enumerate(unique):
            members = group[inverse == k]
            try:
                tag = bytes(name).decode("utf-8")
            except UnicodeDecodeError:
                continue  # left to the per-record path, which reports it
            out[tag] = (idx[members], steps[members], walls[members], values[members])
    fast_rows = np.zeros(len(starts), dtype=bool)
    for index, *_ in out.values():
        fast_rows[index] = True
    return out, np.flatnonzero(~fast_rows)


# -- per-record path -----------------------------------------------------------------------


def _varint(buf: bytes, i: int, end: int) -> tuple[int, int]:
    result = shift = 0
    while i < end:
        byte = buf[i]
        i += 1
        result |= (byte & 0x7F) << shift
        if byte < 0x80:
            return result, i
        shift += 7
        if shift >= 70:
            break
    raise Malformed("a varint runs past its message")


def _signed64(value: int) -> int:
    value &= 0xFFFFFFFFFFFFFFFF
    return value - (1 << 64) if value >= 1 << 63 else value


def _fields(buf: bytes, i: int, end: int, what: str) -> Iterator[tuple[int, int, Any]]:
    """Yield (field number, wire type, value) where value is an int, or (start, end)."""
    while i < end:
        key, i = _varint(buf, i, end)
        number, wire = key >> 3, key & 7
        if wire == 0:
            value, i = _varint(buf, i, end)
            yield number, wire, value
        elif wire == 1:
            if i + 8 > end:
                break
            yield number, wire, (i, i + 8)
            i += 8
        elif wire == 2:
            size, i = _varint(buf, i, end)
            if i + size > end:
                raise Malformed(f"{what} field {number} runs past the end of its message")
            yield number, wire, (i, i + size)
            i += size
        elif wire == 5:
            if i + 4 > end:
                break
            yield number, wire, (i, i + 4)
            i += 4
        else:
            raise Malformed(f"{what} field {number} has unsupported wire type {wire}")
    if i != end:
        raise Malformed(f"{what} ends in the middle of a field")


def _decode_event(
    buf: bytes, start: int, end: int, kinds: TagKinds
) -> tuple[int, float, list[tuple[str, float | str]]]:
    """(step, wall time, [(tag, value or reason it is not a usable scalar)])."""
    step, wall = 0, 0.0
    values: list[tuple[str, float | str]] = []
    for number, wire, value in _fields(buf, start, end, "Event"):
        if number == 1 and wire == 1:
            wall = _f64(buf, value[0])[0]
        elif number == 2 and wire == 0:
            step = _signed64(value)
        elif number == 5 and wire == 2:
            for n, w, v in _fields(buf, value[0], value[1], "Summary"):
                if n == 1 and w == 2:
                    found = _decode_value(buf, v[0], v[1], kinds)
                    if found is not None:
                        values.append(found)
    return step, wall, values


def _decode_value(
    buf: bytes, start: int, end: int, kinds: TagKinds
) -> tuple[str, float | str] | None:
    tag = ""
    simple: float | None = None
    tensor = metadata = None
    for number, wire, value in _fields(buf, start, end, "Summary.Value"):
        if number == 1 and wire == 2:
            tag = _text(buf, value, "Summary.Value.tag")
        elif number == 2 and wire == 5:
            simple = _f32(buf, value[0])[0]
        elif number == 8 and wire == 2:
            tensor = value
        elif number == 9 and wire == 2:
            metadata = value
    if simple is not None:
        kinds.scalar.setdefault(tag, True)  # TensorBoard migrates it to a "scalars" tensor
        return tag, simple
    if metadata is not None and tag not in kinds.scalar:
        kinds.scalar[tag] = _is_scalar_metadata(buf, metadata[0], metadata[1])
    if tensor is None or not kinds.scalar.get(tag, False):
        return None
    return tag, _tensor_scalar(buf, tensor[0], tensor[1])


def _text(buf: bytes, span: tuple[int, int], what: str) -> str:
    try:
        return buf[span[0] : span[1]].decode("utf-8")
    except UnicodeDecodeError:
        raise Malformed(f"{what} is not valid UTF-8") from None


def _is_scalar_metadata(buf: bytes, start: int, end: int) -> bool:
    plugin = b""
    data_class = 0
    for number, wire, value in _fields(buf, start, end, "SummaryMetadata"):
        if number == 1 and wire == 2:
            for n, w, v in _fields(buf, value[0], value[1], "SummaryMetadata.PluginData"):
                if n == 1 and w == 2:
                    plugin = buf[v[0] : v[1]]
        elif number == 4 and wire == 0:
            data_class = value
    return plugin == _SCALARS_PLUGIN or (not plugin and data_class == _DATA_CLASS_SCALAR)


# TensorProto dtype → (struct format of one element in tensor_content, typed field, how
# to read one element from that field: "float", "double", "varint", "half", "bfloat16").
_DTYPES: dict[int, tuple[str, int, str]] = {
    1: ("<f", 5, "float"),  # DT_FLOAT
    2: ("<d", 6, "double"),  # DT_DOUBLE
    3: ("<i", 7, "varint"),  # DT_INT32
    4: ("<B", 7, "varint"),  # DT_UINT8
    5: ("<h", 7, "varint"),  # DT_INT16
    6: ("<b", 7, "varint"),  # DT_INT8
    9: ("<q", 10, "varint"),  # DT_INT64
    10: ("<?", 11, "varint"),  # DT_BOOL
    14: ("<H", 13, "bfloat16"),  # DT_BFLOAT16
    17: ("<H", 7, "varint"),  # DT_UINT16
    19: ("<e", 13, "half"),  # DT_HALF
    22: ("<I", 16, "varint"),  # DT_UINT32
    23: ("<Q", 17, "varint"),  # DT_UINT64
}


def _tensor_scalar(buf: bytes, start: int, end: int) -> float | str:
    """The one number in a TensorProto, or why there is not exactly one."""
    dtype, content = 0, None
    elements = 1
    typed: dict[int, list[tuple[int, object]]] = {}
    for number, wire, value in _fields(buf, start, end, "TensorProto"):
        if number == 1 and wire == 0:
            dtype = value
        elif number == 2 and wire == 2:
            elements = _shape_elements(buf, value[0], value[1])
        elif number == 4 and wire == 2:
            content = buf[value[0] : value[1]]
        else:
            typed.setdefault(number, []).append((wire, value))
    if dtype not in _DTYPES:
        return f"dtype {dtype} is not a number type a scalar can have"
    if elements != 1:
        return f"holds {elements} elements; a scalar holds exactly one"
    fmt, field, kind = _DTYPES[dtype]
    if content is not None:
        size = struct.calcsize(fmt)
        if len(content) != size:
            return f"tensor_content has {len(content)} bytes, {size} expected"
        number = struct.unpack(fmt, content)[0]
        return _bfloat16(number) if kind == "bfloat16" else float(number)
    items = [x for wire, value in typed.get(field, []) for x in _items(buf, wire, value, kind)]
    if len(items) != 1:
        return f"holds {len(items)} values in field {field}; a scalar holds exactly one"
    item = items[0]
    if kind == "half":
        return float(struct.unpack("<e", struct.pack("<H", int(item) & 0xFFFF))[0])
    if kind == "bfloat16":
        return _bfloat16(int(item))
    if kind == "varint" and dtype in (3, 5, 6, 9):  # signed types: two's complement on the wire
        return float(_signed64(int(item)))
    return float(item)


def _bfloat16(bits: int) -> float:
    return float(struct.unpack("<f", struct.pack("<I", (bits & 0xFFFF) << 16))[0])


_ELEMENT_READERS: dict[str, tuple[int, int, Callable[[bytes, int], tuple[float]]]] = {
    "float": (5, 4, _f32),
    "double": (1, 8, _f64),
}


def _items(buf: bytes, wire: int, value: object, kind: str) -> list[float | int]:
    """Elements of one occurrence of a repeated numeric field, packed or not."""
    if kind in _ELEMENT_READERS:
        single_wire, size, read = _ELEMENT_READERS[kind]
        assert isinstance(value, tuple)
        if wire == single_wire:
            return [read(buf, value[0])[0]]
        if wire == 2 and (value[1] - value[0]) % size == 0:
            return [read(buf, i)[0] for i in range(value[0], value[1], size)]
        raise Malformed(f"TensorProto {kind}_val has wire type {wire}")
    if wire == 0:
        assert isinstance(value, int)
        return [value]
    if wire == 2:
        assert isinstance(value, tuple)
        out: list[float | int] = []
        i, end = value
        while i < end:
            number, i = _varint(buf, i, end)
            out.append(number)
        return out
    raise Malformed(f"TensorProto integer field has wire type {wire}")


def _shape_elements(buf: bytes, start: int, end: int) -> int:
    elements = 1
    for number, wire, value in _fields(buf, start, end, "TensorShapeProto"):
        if number == 2 and wire == 2:
            size = 0
            for n, w, v in _fields(buf, value[0], value[1], "TensorShapeProto.Dim"):
                if n == 1 and w == 0:
                    size = _signed64(v)
            elements *= size
        elif number == 3 and wire == 0 and value:
            return -1  # unknown rank
    return elements
