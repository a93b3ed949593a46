"""JSON Schemas (draft 2020-12) of the hint files and of ``artifacts.json``.

Made from the attrs classes, with each field's docstring as its description, so the
schemas cannot drift from what the scanner accepts. Worker authors in any language can
validate their hint files against them (``gui-fastpath schema``).
"""

from __future__ import annotations

import ast
import functools
import inspect
import itertools
import textwrap
import types
from typing import Any, Literal, Union, get_args, get_origin

import attrs

from gui_fastpath.manifest.hint_models import HostAnalytics, RunLayout, SeedHints
from gui_fastpath.manifest.hints import ANALYTICS_NAME, HINTS_NAME, LAYOUT_NAME
from gui_fastpath.manifest.lenient import MAX_LIST_ITEMS, MAX_STRING_CHARS
from gui_fastpath.manifest.model import MANIFEST_NAME, ArtifactManifest
from gui_fastpath.manifest.paths import MAX_PATH_CHARS

__all__ = ["DIALECT", "RELATIVE_PATH_PATTERN", "SCHEMA_FILES", "all_schemas", "schema_for"]

DIALECT = "https://json-schema.org/draft/2020-12/schema"
RELATIVE_PATH_PATTERN = r"^(?![/\\~])(?![A-Za-z]:)(?!(.*[/\\])?\.\.([/\\]|$))[^\x00-\x1f]+$"
"""Relative, no ``..`` component, no drive letter, no control characters: what
:func:`~gui_fastpath.manifest.paths.relative_posix` accepts."""
_MANIFEST_PATH_FIELDS = frozenset(
    {"path", "run", "log_dir", "directory", "wandb_file", "stdout", "stderr", "heartbeat", "hints"}
)
SCHEMA_FILES = (HINTS_NAME, ANALYTICS_NAME, LAYOUT_NAME, MANIFEST_NAME)
"""The files with a schema: the hint files, then ``artifacts.json``."""
_TITLES = {
    HINTS_NAME: "Worker hints (artifacts_manifest.json)",
    ANALYTICS_NAME: "Host worker manifest (analytics.json), read as hints",
    LAYOUT_NAME: "Run layout chosen by routing (fastpath.json), written by gui_fastpath at launch",
    MANIFEST_NAME: "Artifact manifest (artifacts.json), written by gui_fastpath",
}


def schema_for(file_name: str) -> dict[str, Any]:
    """The JSON Schema of one of :data:`SCHEMA_FILES`."""
    if file_name == HINTS_NAME:
        body = _object(SeedHints, _Mode(hint=True, additional=False))
    elif file_name == ANALYTICS_NAME:
        body = _object(HostAnalytics, _Mode(hint=True, additional=True))
    elif file_name == LAYOUT_NAME:
        body = _object(RunLayout, _Mode(hint=True, additional=False))
    elif file_name == MANIFEST_NAME:
        body = _object(ArtifactManifest, _Mode(hint=False, additional=False))
    else:
        known = ", ".join(SCHEMA_FILES)
        raise ValueError(f"no schema for {file_name!r}; known: {known}")
    relative_path = {
        "description": "A POSIX path relative to the run directory, without '..'.",
        "type": "string",
        "maxLength": MAX_PATH_CHARS,
        "pattern": RELATIVE_PATH_PATTERN,
    }
    return {
        "$schema": DIALECT,
        "title": _TITLES[file_name],
        **body,
        "$defs": {"relative_path": relative_path},
    }


def all_schemas() -> dict[str, dict[str, Any]]:
    """Every schema, keyed by the file it describes."""
    return {name: schema_for(name) for name in SCHEMA_FILES}


@attrs.frozen
class _Mode:
    hint: bool
    """Hint file: every field optional and nullable, strings and lists bounded."""
    additional: bool
    """Whether unknown keys are allowed."""


def _object(cls: type, mode: _Mode) -> dict[str, Any]:
    attrs.resolve_types(cls)
    docs = _field_docs(cls)
    properties: dict[str, Any] = {}
    required = []
    for field in attrs.fields(cls):
        is_path = bool(field.metadata.get("path")) or (
            not mode.hint and field.name in _MANIFEST_PATH_FIELDS
        )
        schema = _type(field.type, mode, is_path=is_path)
        if field.name in docs:
            schema = {"description": docs[field.name], **schema}
        properties[field.name] = schema
        if field.default is attrs.NOTHING:
            required.append(field.name)
    result: dict[str, Any] = {"type": "object"}
    if cls.__doc__:
        result["description"] = inspect.cleandoc(cls.__doc__)
    result["properties"] = properties
    if required:
        result["required"] = required
    result["additionalProperties"] = mode.additional
    return result


def _type(tp: Any, mode: _Mode, *, is_path: bool) -> dict[str, Any]:
    origin = get_origin(tp)
    if origin in (Union, types.UnionType):
        options = [_type(arg, mode, is_path=is_path) for arg in get_args(tp)]
        simple = [o for o in options if set(o) == {"type"} and isinstance(o["type"], str)]
        if len(simple) == len(options):
            return {"type": [o["type"] for o in options]}
        return {"anyOf": options}
    if origin is Literal:
        return {"enum": list(get_args(tp))}
    if origin is tuple:
        items = _type(get_args(tp)[0], mode, is_path=is_path)
        array: dict[str, Any] = {"type": "array", "items": items}
        if mode.hint:
            array["maxItems"] = MAX_LIST_ITEMS
        return array
    if tp is type(None):
        return {"type": "null"}
    if tp is str:
        if is_path:
            return {"$ref": "#/$defs/relative_path"}
        if mode.hint:
            return {"type": "string", "maxLength": MAX_STRING_CHARS}
        return {"type": "string"}
    if tp is bool:
        return {"type": "boolean"}
    if tp is int:
        return {"type": "integer"}
    if tp is float:
        return {"type": "number"}
    if isinstance(tp, type) and attrs.has(tp):
        return _object(tp, mode)
    raise TypeError(f"no JSON Schema for {tp!r}")


@functools.cache
def _field_docs(cls: type) -> dict[str, str]:
    """The string literal under each field of an attrs class (its docstring)."""
    try:
        tree = ast.parse(textwrap.dedent(inspect.getsource(cls)))
    except (OSError, TypeError, SyntaxError):  # no source (e.g. frozen app): no descriptions
        return {}
    body = tree.body[0].body if tree.body and isinstance(tree.body[0], ast.ClassDef) else []
    docs = {}
    for node, following in itertools.pairwise(body):
        if (
            isinstance(node, ast.AnnAssign)
            and isinstance(node.target, ast.Name)
            and isinstance(following, ast.Expr)
            and isinstance(following.value, ast.Constant)
            and isinstance(following.value.value, str)
        ):
            docs[node.target.id] = inspect.cleandoc(following.value.value)
    return docs
