"""Walk the wire format of one ``tensorboard.Event`` for the fields a scalar needs.

Two uses: :func:`decode_event` reads one record completely (any field order, packed or
unpacked numbers, unknown fields skipped), and :func:`value_layout` tells whether a record
is a single scalar whose value sits at a fixed byte offset, so that every record with the
same bytes elsewhere can be decoded at once (see ``_scalar_decode``).
"""

from __future__ import annotations

import struct
from collections.abc import Iterator
from typing import Any

import attrs

__all__ = ["Layout", "Malformed", "ValueInfo", "decode_event", "value_layout"]

_SCALARS_PLUGIN = b"scalars"
_DATA_CLASS_SCALAR = 1

_f32, _f64 = struct.Struct("<f").unpack_from, struct.Struct("<d").unpack_from


class Malformed(Exception):
    """A record passed its checksum but is not a valid ``Event`` message."""


@attrs.frozen
class ValueInfo:
    """One ``Summary.Value`` of an event, as far as scalars are concerned."""

    tag: str
    kind_hint: bool | None
    """Whether this value makes its tag a scalar tag (simple_value, or metadata naming the
    ``scalars`` plugin), or not (other metadata); None when it says nothing."""
    value: float | str | None
    """The number; for a tensor that cannot be a scalar, why; None for non-scalar values."""
    is_tensor: bool


@attrs.frozen
class Layout:
    """A record holding one scalar whose value bytes sit at a fixed offset."""

    tag: str
    offset: int
    """Offset of the value bytes from the start of the part after the step."""
    dtype: str
    """numpy dtype of the value bytes; ``bfloat16`` for that format."""
    kind_hint: bool | None
    is_tensor: bool


# TensorProto dtype → (numpy dtype of one element, typed field, how to read it from there).
DTYPES: dict[int, tuple[str, int, str]] = {
    1: ("<f4", 5, "float"),  # DT_FLOAT
    2: ("<f8", 6, "double"),  # DT_DOUBLE
    3: ("<i4", 7, "signed"),  # DT_INT32
    4: ("u1", 7, "varint"),  # DT_UINT8
    5: ("<i2", 7, "signed"),  # DT_INT16
    6: ("i1", 7, "signed"),  # DT_INT8
    9: ("<i8", 10, "signed"),  # DT_INT64
    10: ("u1", 11, "varint"),  # DT_BOOL
    14: ("bfloat16", 13, "bfloat16"),  # DT_BFLOAT16
    17: ("<u2", 7, "varint"),  # DT_UINT16
    19: ("<f2", 13, "half"),  # DT_HALF
    22: ("<u4", 16, "varint"),  # DT_UINT32
    23: ("<u8", 17, "varint"),  # DT_UINT64
}
_STRUCT = {
    "<f4": "<f",
    "<f8": "<d",
    "<i4": "<i",
    "u1": "<B",
    "<i2": "<h",
    "i1": "<b",
    "<i8": "<q",
    "bfloat16": "<H",
    "<u2": "<H",
    "<f2": "<e",
    "<u4": "<I",
    "<u8": "<Q",
}


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


def signed64(value: int) -> int:
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
        elif wire == 1 or wire == 5:
            size = 8 if wire == 1 else 4
            if i + size > end:
                break
            yield number, wire, (i, i + size)
            i += size
        elif wire == 2:
            size, i = _varint(buf, i, end)
            if i + size > end:
                raise Malformed(f"{what} field {number} runs past the end of its message")
            yield number, wire, (i, i + size)
            i += size
        else:
            raise Malformed(f"{what} field {number} has unsupported wire type {wire}")
    if i != end:
        raise Malformed(f"{what} ends in the middle of a field")


def decode_event(buf: bytes, start: int, end: int) -> tuple[int, float, list[ValueInfo]]:
    """(step, wall time, the summary values) of the record ``buf[start:end]``."""
    step, wall = 0, 0.0
    values: list[ValueInfo] = []
    for number, wire, value in _fields(buf, start, end, "Event"):
        if number == 1 and wire == 1:
            wall = _f64(buf, value[0])[0]
        elif number == 2 and wire == 0:
            step = signed64(value)
        elif number == 5 and wire == 2:
            for n, w, v in _fields(buf, value[0], value[1], "Summary"):
                if n == 1 and w == 2:
                    values.append(_decode_value(buf, v[0], v[1]))
    return step, wall, values


def _decode_value(buf: bytes, start: int, end: int) -> ValueInfo:
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
        return ValueInfo(tag, True, simple, False)
    hint = None if metadata is None else _is_scalar_metadata(buf, metadata[0], metadata[1])
    if tensor is None:
        return ValueInfo(tag, hint, None, False)
    return ValueInfo(tag, hint, _tensor_scalar(buf, tensor[0], tensor[1]), True)


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


def bfloat16_to_float(bits: int) -> float:
    return float(struct.unpack("<f", struct.pack("<I", (bits & 0xFFFF) << 16))[0])


def _tensor_scalar(buf: bytes, start: int, end: int) -> float | str:
    """The one number in a TensorProto, or why there is not exactly one."""
    dtype, content = 0, None
    elements = 1
    typed: dict[int, list[tuple[int, Any]]] = {}
    for number, wire, value in _fields(buf, start, end, "TensorProto"):
        if number == 1 and wire == 0:
            dtype = value
        elif number == 2 and wire == 2:
            elements = _shape_elements(buf, value[0], value[1])
        elif number == 4 and wire == 2:
            content = buf[value[0] : value[1]]
        else:
            typed.setdefault(number, []).append((wire, value))
    if dtype not in DTYPES:
        return f"dtype {dtype} is not a number type a scalar can have"
    if elements != 1:
        return f"holds {elements} elements; a scalar holds exactly one"
    np_dtype, field, kind = DTYPES[dtype]
    if content is not None:
        fmt = _STRUCT[np_dtype]
        size = struct.calcsize(fmt)
        if len(content) != size:
            return f"tensor_content has {len(content)} bytes, {size} expected"
        number = struct.unpack(fmt, content)[0]
        return bfloat16_to_float(number) if kind == "bfloat16" else float(number)
    items = [x for wire, value in typed.get(field, []) for x in _items(buf, wire, value, kind)]
    if len(items) != 1:
        return f"holds {len(items)} values in field {field}; a scalar holds exactly one"
    item = items[0]
    if kind == "half":
        return float(struct.unpack("<e", struct.pack("<H", int(item) & 0xFFFF))[0])
    if kind == "bfloat16":
        return bfloat16_to_float(int(item))
    if kind == "signed":  # two's complement on the wire
        return float(signed64(int(item)))
    return float(item)


def _items(buf: bytes, wire: int, value: Any, kind: str) -> list[float]:
    """Elements of one occurrence of a repeated numeric field, packed or not."""
    if kind in ("float", "double"):
        single_wire, size, read = (5, 4, _f32) if kind == "float" else (1, 8, _f64)
        if wire == single_wire:
            return [read(buf, value[0])[0]]
        if wire == 2 and (value[1] - value[0]) % size == 0:
            return [read(buf, i)[0] for i in range(value[0], value[1], size)]
        raise Malformed(f"TensorProto {kind}_val has wire type {wire}")
    if wire == 0:
        return [value]
    if wire == 2:
        out: list[float] = []
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
                    size = signed64(v)
            elements *= size
        elif number == 3 and wire == 0 and value:
            return -1  # unknown rank
    return elements


def value_layout(buf: bytes, start: int, end: int) -> Layout | None:
    """For the part of a record after its step: where its one scalar's bytes are, if fixed.

    Only a strict shape qualifies: one summary holding one value with a tag, and either a
    ``simple_value`` or a one-element ``tensor`` whose number is in ``tensor_content``
    (plus optional metadata). Any record whose other bytes are identical decodes the same.
    """
    try:
        fields = list(_fields(buf, start, end, "Event"))
        if [(n, w) for n, w, _ in fields] != [(5, 2)]:
            return None
        span = fields[0][2]
        summary = list(_fields(buf, span[0], span[1], "Summary"))
        if [(n, w) for n, w, _ in summary] != [(1, 2)]:
            return None
        span = summary[0][2]
        found = list(_fields(buf, span[0], span[1], "Summary.Value"))
        parts = {(n, w): v for n, w, v in found}
        if len(parts) != len(found):
            return None  # a repeated field
        tag_span = parts.pop((1, 2), None)
        meta = parts.pop((9, 2), None)
        if tag_span is None:
            return None
        tag = _text(buf, tag_span, "Summary.Value.tag")
        hint = None if meta is None else _is_scalar_metadata(buf, meta[0], meta[1])
        if list(parts) == [(2, 5)]:
            return Layout(tag, parts[(2, 5)][0] - start, "<f4", True, False)
        if list(parts) == [(8, 2)]:
            return _tensor_layout(buf, parts[(8, 2)], start, tag, hint)
    except Malformed:
        return None
    return None


def _tensor_layout(
    buf: bytes, span: tuple[int, int], start: int, tag: str, hint: bool | None
) -> Layout | None:
    fields = list(_fields(buf, span[0], span[1], "TensorProto"))
    parts = {n: v for n, w, v in fields if (n, w) in ((1, 0), (2, 2), (4, 2))}
    if len(parts) != len(fields) or 1 not in parts or 4 not in parts:
        return None
    if parts[1] not in DTYPES:
        return None
    np_dtype = DTYPES[parts[1]][0]
    if 2 in parts and _shape_elements(buf, parts[2][0], parts[2][1]) != 1:
        return None
    content = parts[4]
    if content[1] - content[0] != struct.calcsize(_STRUCT[np_dtype]):
        return None
    return Layout(tag, content[0] - start, np_dtype, hint, True)
