"""The web address of a W&B run, from its run record and the user's W&B settings.

The server is never hard-coded: ``WANDB_BASE_URL``, then the workspace settings file
(``<wandb dir>/settings``), then the user's global settings file (``$WANDB_CONFIG_DIR/settings``
or ``~/.config/wandb/settings``), then the installed wandb's own default, which changed in
recent releases. The UI address is derived from the API address by the installed wandb's own
rule, unless ``WANDB_APP_URL`` overrides it.
"""

from __future__ import annotations

import ast
import configparser
import functools
import importlib.util
import os
from collections.abc import Mapping
from pathlib import Path
from urllib.parse import quote

import attrs

__all__ = ["BaseUrl", "app_url", "default_base_url", "resolve_base_url", "run_url"]

_SECTION = "default"
_RUN_ID_SAFE = "=+&$@"  # as wandb's Settings.run_url


@attrs.frozen
class BaseUrl:
    """The W&B API address and where it came from."""

    url: str
    source: str
    """``WANDB_BASE_URL``, a settings file path, or ``wandb default``."""


@functools.cache
def default_base_url() -> str:
    """The installed wandb's default API address.

    Read from wandb's own ``sdk/lib/urls.py`` without importing the ``wandb`` package,
    whose import takes the GIL for about a second: a GUI thread would stall meanwhile.
    """
    spec = importlib.util.find_spec("wandb")
    if spec is not None and spec.submodule_search_locations:
        source = Path(next(iter(spec.submodule_search_locations))) / "sdk" / "lib" / "urls.py"
        found = _string_constant(source, "DEFAULT_BASE_URL")
        if found:
            return found
    from wandb.sdk.wandb_settings import Settings  # older wandb: on the Settings model

    return str(Settings.model_fields["base_url"].default)


def _string_constant(path: Path, name: str) -> str | None:
    try:
        tree = ast.parse(path.read_text(encoding="utf-8"))
    except (OSError, SyntaxError, UnicodeDecodeError):
        return None
    for node in tree.body:
        if (
            isinstance(node, ast.Assign)
            and [getattr(t, "id", None) for t in node.targets] == [name]
            and isinstance(node.value, ast.Constant)
            and isinstance(node.value.value, str)
        ):
            return node.value.value
    return None


def _global_settings(environ: Mapping[str, str]) -> Path:
    config_dir = environ.get("WANDB_CONFIG_DIR")
    if config_dir:
        return Path(config_dir) / "settings"
    home = Path(environ.get("HOME") or Path.home())
    return home / ".config" / "wandb" / "settings"


def _from_settings_file(path: Path) -> str | None:
    parser = configparser.ConfigParser()
    try:
        parser.read(path, encoding="utf-8")
    except (configparser.Error, UnicodeDecodeError, OSError):
        return None
    value = parser.get(_SECTION, "base_url", fallback="").strip()
    return value or None


def resolve_base_url(
    *, wandb_dir: str | os.PathLike[str] | None = None, environ: Mapping[str, str] | None = None
) -> BaseUrl:
    """The W&B API address the user's wandb would use for runs under ``wandb_dir``."""
    env = os.environ if environ is None else environ
    if env.get("WANDB_BASE_URL", "").strip():
        return BaseUrl(env["WANDB_BASE_URL"].strip().rstrip("/"), "WANDB_BASE_URL")
    files = [Path(wandb_dir) / "settings"] if wandb_dir is not None else []
    files.append(_global_settings(env))
    for path in files:
        value = _from_settings_file(path)
        if value:
            return BaseUrl(value.rstrip("/"), str(path))
    return BaseUrl(default_base_url().rstrip("/"), "wandb default")


def app_url(base_url: str, *, environ: Mapping[str, str] | None = None) -> str:
    """The W&B UI address for an API address (``WANDB_APP_URL`` wins when set)."""
    env = os.environ if environ is None else environ
    override = env.get("WANDB_APP_URL", "").strip()
    if override:
        return override.rstrip("/")
    from wandb import util

    convert = getattr(util, "api_to_app_url", None)
    if convert is None:  # older wandb: app_url() is the same rule, env included
        return str(util.app_url(base_url)).rstrip("/")
    return str(convert(base_url)).rstrip("/")


def run_url(
    entity: str,
    project: str,
    run_id: str,
    *,
    base_url: str | None = None,
    wandb_dir: str | os.PathLike[str] | None = None,
    environ: Mapping[str, str] | None = None,
) -> str | None:
    """The run's page, or None without an entity, project or id (offline runs often lack
    an entity until synced)."""
    if not (entity and project and run_id):
        return None
    api = base_url or resolve_base_url(wandb_dir=wandb_dir, environ=environ).url
    return (
        f"{app_url(api, environ=environ)}/{quote(entity)}/{quote(project)}"
        f"/runs/{quote(run_id, safe=_RUN_ID_SAFE)}"
    )
