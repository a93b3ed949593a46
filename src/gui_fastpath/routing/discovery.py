"""Find worker declarations in the ``gui_fastpath.workers`` entry-point group.

Discovery never raises for one bad plugin: its problem is logged once, in one actionable
line, kept in :attr:`WorkerDeclarations.problems`, and the plugin is blocked (not imported
again) for the rest of the process.
"""

from __future__ import annotations

import logging

import attrs

from gui_fastpath.plugin import WORKERS, PluginLoadError, PluginProblem, discover
from gui_fastpath.routing.declaration import (
    DeclarationError,
    FastPathWorker,
    declaration_from_object,
)

__all__ = ["WorkerDeclarations", "discover_workers"]

_log = logging.getLogger(__name__)

_blocked: dict[tuple[str, str, str | None], PluginProblem] = {}


@attrs.frozen
class WorkerDeclarations:
    """The usable declarations by worker id, and what went wrong with the others."""

    workers: tuple[FastPathWorker, ...] = ()
    problems: tuple[PluginProblem, ...] = ()

    def get(self, worker_id: str) -> FastPathWorker | None:
        return next((w for w in self.workers if w.worker_id == worker_id), None)


def discover_workers(group: str = WORKERS) -> WorkerDeclarations:
    """Load every declaration of ``group``; the first (by qualified name) wins a worker id."""
    workers: dict[str, FastPathWorker] = {}
    problems: list[PluginProblem] = []
    for entry in discover(group):
        key = (entry.name, entry.value, entry.distribution)
        if key in _blocked:
            problems.append(_blocked[key])
            continue
        try:
            declaration = declaration_from_object(entry.load(), source=entry.qualified_name)
        except PluginLoadError:
            assert entry.problem is not None  # logged by the plugin loader already
            _blocked[key] = entry.problem
            problems.append(entry.problem)
            continue
        except DeclarationError as exc:
            problem = PluginProblem(
                group=group,
                name=entry.name,
                distribution=entry.distribution,
                value=entry.value,
                error=f"bad declaration: {exc}",
                fix=f"correct {entry.value} in {entry.distribution or 'the plugin'}",
            )
            _log.warning("%s", problem)
            _blocked[key] = problem
            problems.append(problem)
            continue
        existing = workers.get(declaration.worker_id)
        if existing is not None:
            problem = PluginProblem(
                group=group,
                name=entry.name,
                distribution=entry.distribution,
                value=entry.value,
                error=f"worker id {declaration.worker_id!r} is already declared by "
                f"{existing.source}",
                fix=f"uninstall one of the two, or give {entry.value} its own worker_id",
            )
            _log.warning("%s", problem)
            problems.append(problem)
            continue
        workers[declaration.worker_id] = declaration
    return WorkerDeclarations(tuple(workers.values()), tuple(problems))
