"""Protobuf views of ``wandb_internal_pb2.Record`` that let the C parser do the bulk work.

History and summary records hold lists of ``{key, nested_key, value_json}`` items; reading
them item by item from Python dominates the cost of a large file. These views declare the
item list as a *singular* message field, so the parser merges every item into one message
whose repeated fields are the concatenated keys and values. The same merge joins records:
many history (or summary) records concatenated and parsed once give all their keys and
values in two lists, with :data:`ROW_END` between history records marking where each ends.
That is exact when every item has a one-part ``nested_key`` and no ``key`` (what wandb-core
writes for logged metrics): equal counts of keys and values and an empty merged ``key``
show it. Values come out as UTF-8 bytes, keys as text.
Otherwise (nested metrics have keys of several parts) the ``ItemRecord`` view still parses
many records at once, giving their items one by one.

The views are built at import from the installed wandb's ``Record`` descriptor, so field
numbers always match it. Other record kinds stay raw bytes, decoded with wandb's classes.
"""

from __future__ import annotations

from typing import Any

from google.protobuf import descriptor_pb2, descriptor_pool, message_factory
from wandb.proto import wandb_internal_pb2

__all__ = [
    "HISTORY_TAG",
    "ROW_END",
    "ROW_END_KEY",
    "ROW_END_VALUE",
    "SUMMARY_TAG",
    "FastRecord",
    "ItemRecord",
    "RawRecord",
    "wandb_pb",
]

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


def _build() -> tuple[Any, Any, Any]:
    file = descriptor_pb2.FileDescriptorProto(
        name=f"{_PACKAGE}.proto", package=_PACKAGE, syntax="proto2"
    )
    repeated, optional = _FD.LABEL_REPEATED, _FD.LABEL_OPTIONAL
    item = wandb_pb.HistoryItem.DESCRIPTOR.fields_by_name
    history = wandb_pb.HistoryRecord.DESCRIPTOR.fields_by_name
    summary = wandb_pb.SummaryRecord.DESCRIPTOR.fields_by_name
    for items, label in (("FlatItems", repeated), ("Item", optional)):
        _add_message(
            file,
            items,
            [
                # FlatItems: every item's ``key``; empty when no item names its key that way.
                ("key", item["key"].number, label, "string"),
                ("nested_key", item["nested_key"].number, repeated, "string"),
                # Bytes: no UTF-8 decoding per value; JSON decoders take the joined bytes.
                ("value_json", item["value_json"].number, label, "bytes"),
            ],
        )
    for prefix, items, label in (("Flat", "FlatItems", optional), ("Item", "Item", repeated)):
        _add_message(file, f"{prefix}History", [("item", history["item"].number, label, items)])
        _add_message(
            file,
            f"{prefix}Summary",
            [
                ("update", summary["update"].number, label, items),
                ("remove", summary["remove"].number, label, items),
            ],
        )
    views = {"FastRecord": "Flat", "ItemRecord": "Item", "RawRecord": None}
    for view, kind in views.items():
        message = file.message_type.add(name=view)
        message.oneof_decl.add(name=_ONEOF)
        for field in wandb_pb.Record.DESCRIPTOR.oneofs_by_name[_ONEOF].fields:
            new = message.field.add(
                name=field.name, number=field.number, label=optional, oneof_index=0
            )
            if kind and field.name in ("history", "summary"):
                new.type = _FD.TYPE_MESSAGE
                new.type_name = f".{_PACKAGE}.{kind}{field.name.capitalize()}"
            else:
                new.type = _FD.TYPE_BYTES
    pool = descriptor_pool.DescriptorPool()
    pool.Add(file)
    return tuple(  # type: ignore[return-value]
        message_factory.GetMessageClass(pool.FindMessageTypeByName(f"{_PACKAGE}.{view}"))
        for view in views
    )


FastRecord, ItemRecord, RawRecord = _build()
"""``FastRecord``: history/summary as merged item lists, other kinds as raw bytes.
``ItemRecord``: history/summary items one by one (values as bytes), other kinds as raw bytes.
``RawRecord``: every kind as the raw bytes of its message."""

_record_fields = wandb_pb.Record.DESCRIPTOR.fields_by_name
HISTORY_TAG = _record_fields["history"].number << 3 | 2
"""First byte of a record's history field (after its ``num``, which wandb-core writes first)."""
SUMMARY_TAG = _record_fields["summary"].number << 3 | 2
"""First byte of a record's summary field."""

ROW_END_KEY = "\x00gui-fastpath row end"
ROW_END_VALUE = b"null "
"""The end-of-row item's value: JSON, but never written by wandb (no trailing space)."""
ROW_END: bytes = wandb_pb.Record(
    history=wandb_pb.HistoryRecord(
        item=[
            wandb_pb.HistoryItem(
                key=ROW_END_KEY, nested_key=[ROW_END_KEY], value_json=ROW_END_VALUE.decode()
            )
        ]
    )
).SerializeToString()
"""A history record of one end-of-row item, put after each history record of a bulk parse.
Its item names its key both ways, so a batch's merged ``key`` holds one per row unless a
logged item uses ``key``."""
