"""Protobuf views of ``wandb_internal_pb2.Record`` that let the C parser do the bulk work.

History and summary records hold lists of ``{key, nested_key, value_json}`` items; reading
them item by item from Python dominates the cost of a large file. These views declare the
item list as a *singular* message field, so the parser merges every item into one message
whose repeated fields are the concatenated keys and values: two list reads per record.
That is exact when every item has a one-part ``nested_key`` and no ``key`` (what wandb-core
writes for logged metrics): equal counts of keys and values and an empty merged ``key``
show it. Values come out as UTF-8 bytes, keys as text.
Otherwise the caller decodes the record with wandb's own classes.

The views are built at import from the installed wandb's ``Record`` descriptor, so field
numbers always match it. Other record kinds stay raw bytes, decoded with wandb's classes.
"""

from __future__ import annotations

from typing import Any

from google.protobuf import descriptor_pb2, descriptor_pool, message_factory
from wandb.proto import wandb_internal_pb2

__all__ = ["FastRecord", "RawRecord", "wandb_pb"]

wandb_pb: Any = wandb_internal_pb2
"""wandb's protobuf module (a star re-export per protobuf version, opaque to type checkers)."""

_FD = descriptor_pb2.FieldDescriptorProto
_PACKAGE = "gui_fastpath_wandb_views"
_ONEOF = "record_type"
_SCALARS = {"string": _FD.TYPE_STRING, "bytes": _FD.TYPE_BYTES}


def _add_message(
    file: descriptor_pb2.FileDescriptorProto, name: str, fields: list[tuple[str, int, int, str]]
) -> None:
    message = file.message_type.add(name=name)
    for field_name, number, label, type_name in fields:
        field = message.field.add(name=field_name, number=number, label=label)
        if type_name in _SCALARS:
            field.type = _SCALARS[type_name]
        else:
            field.type = _FD.TYPE_MESSAGE
            field.type_name = f".{_PACKAGE}.{type_name}"


def _build() -> tuple[Any, Any]:
    file = descriptor_pb2.FileDescriptorProto(
        name=f"{_PACKAGE}.proto", package=_PACKAGE, syntax="proto2"
    )
    repeated, optional = _FD.LABEL_REPEATED, _FD.LABEL_OPTIONAL
    item = wandb_pb.HistoryItem.DESCRIPTOR.fields_by_name
    _add_message(
        file,
        "FlatItems",
        [
            # Singular: the last non-empty ``key`` of any item, so "" means no item has one.
            ("key", item["key"].number, optional, "string"),
            ("nested_key", item["nested_key"].number, repeated, "string"),
            # Bytes: no UTF-8 decoding per value; json.loads takes the joined bytes.
            ("value_json", item["value_json"].number, repeated, "bytes"),
        ],
    )
    history = wandb_pb.HistoryRecord.DESCRIPTOR.fields_by_name
    _add_message(file, "FlatHistory", [("item", history["item"].number, optional, "FlatItems")])
    summary = wandb_pb.SummaryRecord.DESCRIPTOR.fields_by_name
    _add_message(
        file,
        "FlatSummary",
        [
            ("update", summary["update"].number, optional, "FlatItems"),
            ("remove", summary["remove"].number, optional, "FlatItems"),
        ],
    )
    flat_types = {"history": "FlatHistory", "summary": "FlatSummary"}
    for view, flat in (("FastRecord", True), ("RawRecord", False)):
        message = file.message_type.add(name=view)
        message.oneof_decl.add(name=_ONEOF)
        for field in wandb_pb.Record.DESCRIPTOR.oneofs_by_name[_ONEOF].fields:
            new = message.field.add(
                name=field.name, number=field.number, label=optional, oneof_index=0
            )
            if flat and field.name in flat_types:
                new.type = _FD.TYPE_MESSAGE
                new.type_name = f".{_PACKAGE}.{flat_types[field.name]}"
            else:
                new.type = _FD.TYPE_BYTES
    pool = descriptor_pool.DescriptorPool()
    pool.Add(file)
    return (
        message_factory.GetMessageClass(pool.FindMessageTypeByName(f"{_PACKAGE}.FastRecord")),
        message_factory.GetMessageClass(pool.FindMessageTypeByName(f"{_PACKAGE}.RawRecord")),
    )


FastRecord, RawRecord = _build()
"""``FastRecord``: history/summary as merged item lists, other kinds as raw bytes.
``RawRecord``: every kind as the raw bytes of its message."""
