"""Entry-point discovery that never raises for one bad plugin.

Discovery reads distribution metadata only. Loading imports the target once; a target
that failed to load is blocked (the error is kept and re-raised) instead of being
retried on every call, and one actionable log line names the plugin and the fix.
"""

from __future__ import annotations

import logging
from importlib import metadata
from typing import Any

import attrs

log = logging.getLogger(__name__)

__all__ = ["PluginEntry", "PluginLoadError", "PluginProblem", "discover"]


class PluginLoadError(RuntimeError):
    """A plugin's entry point could not be imported or resolved."""


@attrs.frozen
class PluginProblem:
    """Why one plugin could not be used; the rest of discovery went on."""

    group: str
    name: str
    distribution: str | None
    value: str
    """The entry point's ``module:attribute`` target."""
    error: str
    fix: str

    def __str__(self) -> str:
        dist = f" from {self.distribution}" if self.distribution else ""
        return (
            f"plugin {self.name!r}{dist} in entry-point group {self.group!r} "
            f"({self.value}): {self.error}. Fix: {self.fix}"
        )


@attrs.define(eq=False)
class PluginEntry:
    """One discovered entry point; ``load()`` imports its target on first use."""

    group: str
    name: str
    value: str
    distribution: str | None = None
    _loaded: Any = attrs.field(default=None, init=False, repr=False)
    _problem: PluginProblem | None = attrs.field(default=None, init=False, repr=False)
    _done: bool = attrs.field(default=False, init=False, repr=False)

    @property
    def qualified_name(self) -> str:
        """``<distribution>.<name>``, unique across installed plugins (npe2's convention)."""
        return f"{self.distribution}.{self.name}" if self.distribution else self.name

    @property
    def problem(self) -> PluginProblem | None:
        """Why loading failed, once it has been tried and failed."""
        return self._problem

    def load(self) -> Any:
        """Import and return the target; raise :class:`PluginLoadError` (cached) on failure."""
        if not self._done:
            self._done = True
            try:
                self._loaded = metadata.EntryPoint(self.name, self.value, self.group).load()
            except Exception as exc:  # any import-time failure of a third-party plugin
                self._problem = PluginProblem(
                    group=self.group,
                    name=self.name,
                    distribution=self.distribution,
                    value=self.value,
                    error=f"{type(exc).__name__}: {exc}",
                    fix=_fix_for(exc, self.value, self.distribution),
                )
                log.warning("%s", self._problem)
        if self._problem is not None:
            raise PluginLoadError(str(self._problem))
        return self._loaded


def _fix_for(exc: BaseException, value: str, distribution: str | None) -> str:
    owner = distribution or "the plugin's package"
    if isinstance(exc, ModuleNotFoundError):
        return (
            f"install the missing module {exc.name!r}, or correct the module part of {value!r} "
            f"in {owner}'s entry points"
        )
    if isinstance(exc, AttributeError):
        return f"correct the attribute part of {value!r} in {owner}'s entry points"
    return f"report it to the maintainers of {owner}; the plugin is skipped until then"


def discover(group: str) -> list[PluginEntry]:
    """Every entry point of ``group``, sorted by qualified name; imports nothing."""
    entries = [
        PluginEntry(
            group=group,
            name=ep.name,
            value=ep.value,
            distribution=ep.dist.name if ep.dist is not None else None,
        )
        for ep in metadata.entry_points(group=group)
    ]
    return sorted(entries, key=lambda e: e.qualified_name)
