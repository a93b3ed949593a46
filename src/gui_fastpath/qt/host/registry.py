"""The host's presenter registry and worker catalog, as MOSAIC shapes them."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any, Protocol, runtime_checkable

import attrs

__all__ = ["WorkerCatalog", "WorkerDefinition", "WorkerPresenter", "WorkerPresenterRegistry"]


@runtime_checkable
class WorkerPresenter(Protocol):
    """MOSAIC's presenter protocol (``gym_gui/ui/presenters/workers/registry.py``)."""

    id: str

    def build_train_request(self, policy_path: Any, current_game: Any) -> dict: ...

    def create_tabs(
        self, run_id: str, agent_id: Any, first_payload: Any, parent: Any
    ) -> list[Any]: ...


class WorkerPresenterRegistry:
    """worker id → presenter; registering an id twice is an error, as in the host."""

    def __init__(self) -> None:
        self._presenters: dict[str, WorkerPresenter] = {}

    def register(self, worker_id: str, presenter: WorkerPresenter) -> None:
        if worker_id in self._presenters:
            raise ValueError(f"a presenter is already registered for worker {worker_id!r}")
        self._presenters[worker_id] = presenter

    def get(self, worker_id: str) -> WorkerPresenter | None:
        return self._presenters.get(worker_id)

    def available_workers(self) -> list[str]:
        return sorted(self._presenters)

    def __contains__(self, worker_id: object) -> bool:
        return worker_id in self._presenters


@attrs.frozen
class WorkerDefinition:
    """MOSAIC's ``WorkerDefinition`` (``gym_gui/ui/worker_catalog/catalog.py``)."""

    worker_id: str
    display_name: str
    description: str
    supports_training: bool = True
    supports_policy_load: bool = False
    requires_live_telemetry: bool = False
    provides_fast_analytics: bool = False
    supports_multi_agent: bool = False


class WorkerCatalog:
    """The workers a host offers in its train form, in insertion order."""

    def __init__(self, definitions: tuple[WorkerDefinition, ...] = ()) -> None:
        self._defs = {d.worker_id: d for d in definitions}

    def add(self, definition: WorkerDefinition) -> None:
        self._defs.setdefault(definition.worker_id, definition)

    def get(self, worker_id: str) -> WorkerDefinition | None:
        return self._defs.get(worker_id)

    def __iter__(self) -> Iterator[WorkerDefinition]:
        return iter(self._defs.values())
