"""cattrs converters: strict scalar hooks, one converter for ``artifacts.json`` (ours)."""

from __future__ import annotations

from typing import Any

import cattrs

from gui_fastpath.manifest.errors import ManifestError
from gui_fastpath.manifest.model import SCHEMA_VERSION, ArtifactManifest

__all__ = [
    "json_type_name",
    "manifest_converter",
    "manifest_from_dict",
    "manifest_to_dict",
    "strict_converter",
]


def json_type_name(value: Any) -> str:
    """How JSON would name the type of ``value``: "an object", "a string", "null"..."""
    return {
        dict: "an object",
        list: "an array",
        str: "a string",
        bool: "a boolean",
        int: "an integer",
        float: "a number",
        type(None): "null",
    }.get(type(value), type(value).__name__)


def _strict_str(value: Any, _: type) -> str:
    if not isinstance(value, str):
        raise TypeError(f"expected a string, got {json_type_name(value)}")
    return value


def _strict_int(value: Any, _: type) -> int:
    if isinstance(value, bool) or not isinstance(value, int):
        raise TypeError(f"expected an integer, got {json_type_name(value)}")
    return value


def _strict_float(value: Any, _: type) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise TypeError(f"expected a number, got {json_type_name(value)}")
    return float(value)


def _strict_bool(value: Any, _: type) -> bool:
    if not isinstance(value, bool):
        raise TypeError(f"expected true or false, got {json_type_name(value)}")
    return value


def strict_converter(*, forbid_extra_keys: bool) -> cattrs.Converter:
    """A converter that never coerces JSON types (``"5"`` is not an int, ``1`` not a string)."""
    converter = cattrs.Converter(forbid_extra_keys=forbid_extra_keys)
    converter.register_structure_hook(str, _strict_str)
    converter.register_structure_hook(int, _strict_int)
    converter.register_structure_hook(float, _strict_float)
    converter.register_structure_hook(bool, _strict_bool)
    return converter


manifest_converter = strict_converter(forbid_extra_keys=True)
"""The converter for ``artifacts.json``: the file is ours, so unknown keys are an error."""


def manifest_to_dict(manifest: ArtifactManifest) -> dict[str, Any]:
    """The JSON-ready form of a manifest (the content of ``artifacts.json``)."""
    data: dict[str, Any] = manifest_converter.unstructure(manifest)
    return data


def manifest_from_dict(data: Any) -> ArtifactManifest:
    """Read a manifest back from its JSON form; raises :class:`ManifestError` if invalid."""
    if not isinstance(data, dict):
        problem = f"expected an object, got {json_type_name(data)}"
        raise ManifestError(f"invalid artifact manifest: {problem}")
    version = data.get("schema_version")
    if isinstance(version, int) and not isinstance(version, bool) and version > SCHEMA_VERSION:
        raise ManifestError(
            f"artifact manifest has schema_version {version}, newer than {SCHEMA_VERSION}:"
            " upgrade gui_fastpath to read it"
        )
    try:
        return manifest_converter.structure(data, ArtifactManifest)
    except Exception as exc:  # cattrs raises exception groups of many kinds
        lines = cattrs.transform_error(exc) if isinstance(exc, cattrs.BaseValidationError) else []
        detail = "; ".join(lines) or str(exc)
        raise ManifestError(f"invalid artifact manifest: {detail}") from None
