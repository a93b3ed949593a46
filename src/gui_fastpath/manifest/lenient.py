"""Reading untrusted JSON into attrs classes, one field at a time.

A hint file is written by code we do not control. Everything that can go wrong (size,
encoding, syntax, shape, each field's type) becomes a warning through a ``warn(field,
problem, fix)`` callback, and whatever is valid is still returned.
"""

from __future__ import annotations

import functools
import json
import os
import stat
from collections.abc import Callable
from typing import Any, get_args, get_origin

import attrs
import cattrs

from gui_fastpath.manifest.converter import json_type_name, strict_converter

__all__ = [
    "MAX_HINT_BYTES",
    "MAX_LIST_ITEMS",
    "MAX_STRING_CHARS",
    "Warn",
    "load_object",
    "structure_lenient",
]

MAX_HINT_BYTES = 1024 * 1024
"""Hint files larger than this are not read."""
MAX_STRING_CHARS = 4096
"""Longer strings in a hint file are rejected."""
MAX_LIST_ITEMS = 10_000
"""Lists in a hint file are cut at this many items."""

Warn = Callable[[str, str, str], None]
"""``warn(field, problem, fix)``: report one problem of the file being read."""

_converter = strict_converter(forbid_extra_keys=False)


def load_object(path: str, warn: Warn, regular_fix: str) -> dict[str, Any] | None:
    """The JSON object in ``path``, or None after a warning saying why not."""
    try:
        data = _read_small(path)
    except _TooLarge as exc:
        warn(
            "$",
            f"file is {exc.size:,} bytes, more than the {MAX_HINT_BYTES:,}-byte limit",
            "keep hint files small: paths and ids only",
        )
        return None
    except _NotRegular:
        warn("$", "is not a regular file", regular_fix)
        return None
    except OSError as exc:
        warn("$", f"cannot be read: {exc.strerror}", "make the file readable, or remove it")
        return None
    if not data.strip():
        warn("$", "file is empty", "write a JSON object, or remove the file")
        return None
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        warn(
            "$",
            f"is not valid UTF-8 (byte 0x{data[exc.start]:02x} at offset {exc.start})",
            "write the file as UTF-8 encoded JSON",
        )
        return None
    try:
        raw = json.loads(text)
    except json.JSONDecodeError as exc:
        warn(
            "$",
            f"is not valid JSON: {exc.msg} at line {exc.lineno} column {exc.colno}",
            "write a single JSON object",
        )
        return None
    except RecursionError:
        warn("$", "JSON is nested too deeply", "write a flat JSON object")
        return None
    if not isinstance(raw, dict):
        warn(
            "$",
            f"expected a JSON object, got {json_type_name(raw)}",
            'write a JSON object such as {"tensorboard_dir": "tensorboard"}',
        )
        return None
    return raw


class _TooLarge(Exception):
    def __init__(self, size: int) -> None:
        self.size = size


class _NotRegular(Exception):
    pass


def _read_small(path: str) -> bytes:
    """Read a regular file of at most :data:`MAX_HINT_BYTES`; never blocks on a FIFO."""
    fd = os.open(path, os.O_RDONLY | getattr(os, "O_NONBLOCK", 0) | getattr(os, "O_CLOEXEC", 0))
    try:
        info = os.fstat(fd)
        if not stat.S_ISREG(info.st_mode):
            raise _NotRegular
        if info.st_size > MAX_HINT_BYTES:
            raise _TooLarge(info.st_size)
        chunks = []
        remaining = MAX_HINT_BYTES + 1
        while remaining > 0:
            chunk = os.read(fd, remaining)
            if not chunk:
                break
            chunks.append(chunk)
            remaining -= len(chunk)
        data = b"".join(chunks)
        if len(data) > MAX_HINT_BYTES:
            raise _TooLarge(len(data))
        return data
    finally:
        os.close(fd)


def structure_lenient(cls: type, raw: dict[str, Any], path: str, warn: Warn) -> Any:
    """Structure ``raw`` into ``cls`` field by field; a bad field is a warning and left None."""
    values: dict[str, Any] = {}
    for field in _fields(cls):
        name = field.name
        if name not in raw or raw[name] is None:
            continue
        value = raw[name]
        where = f"{path}.{name}"
        expect = field.expect
        if field.nested is not None:
            if isinstance(value, dict):
                values[name] = structure_lenient(field.nested, value, where, warn)
            else:
                warn(
                    where, f"expected an object, got {json_type_name(value)}", f"set it to {expect}"
                )
            continue
        if field.is_list:
            if not isinstance(value, list):
                warn(
                    where, f"expected an array, got {json_type_name(value)}", f"set it to {expect}"
                )
                continue
            value = _items(value, where, expect, warn)
        elif isinstance(value, str) and len(value) > MAX_STRING_CHARS:
            warn(
                where,
                f"string of {len(value):,} characters is longer than the"
                f" {MAX_STRING_CHARS:,}-character limit",
                f"set it to {expect}",
            )
            continue
        try:
            values[name] = _converter.structure(value, field.type)
        except Exception as exc:  # cattrs raises exception groups of many kinds
            warn(where, _describe(exc, value), f"set it to {expect}")
    return cls(**values)


def _items(value: list[Any], where: str, expect: str, warn: Warn) -> list[Any]:
    """Keep the string items of a list (up to the limit); warn about the others."""
    if len(value) > MAX_LIST_ITEMS:
        warn(
            where,
            f"list of {len(value):,} items is longer than the {MAX_LIST_ITEMS:,}-item limit;"
            " the rest was ignored",
            "list fewer items",
        )
        value = value[:MAX_LIST_ITEMS]
    kept = []
    for index, item in enumerate(value):
        if not isinstance(item, str):
            problem = f"expected a string, got {json_type_name(item)}"
            warn(f"{where}[{index}]", problem, f"give {expect}")
        elif len(item) > MAX_STRING_CHARS:
            warn(
                f"{where}[{index}]",
                f"string of {len(item):,} characters is longer than the"
                f" {MAX_STRING_CHARS:,}-character limit",
                f"give {expect}",
            )
        else:
            kept.append(item)
    return kept


@attrs.frozen
class _Field:
    name: str
    type: Any
    expect: str
    nested: type | None
    is_list: bool


@functools.cache
def _fields(cls: type) -> tuple[_Field, ...]:
    """The fields of a hint class, with what ``_structure_lenient`` needs to know of each."""
    attrs.resolve_types(cls)
    return tuple(
        _Field(
            name=field.name,
            type=field.type,
            expect=field.metadata.get("expect", "a valid value"),
            nested=_attrs_class(field.type),
            is_list=any(get_origin(arg) is tuple for arg in (field.type, *get_args(field.type))),
        )
        for field in attrs.fields(cls)
    )


def _attrs_class(tp: Any) -> type | None:
    for candidate in (tp, *get_args(tp)):
        if isinstance(candidate, type) and attrs.has(candidate):
            return candidate
    return None


def _describe(exc: Exception, value: Any) -> str:
    if isinstance(exc, cattrs.BaseValidationError):
        text = "; ".join(m.rsplit(" @ ", 1)[0] for m in cattrs.transform_error(exc))
    elif "not in literal" in str(exc):
        text = "not one of the allowed values"
    else:
        text = str(exc)
    return f"{text}: {_shorten(json.dumps(value, default=str))}"


def _shorten(value: str, limit: int = 80) -> str:
    return value if len(value) <= limit else f"{value[: limit - 5]}...{value[-4:]}"
