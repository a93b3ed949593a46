"""The fast-path routing strategy a host calls: decide the lane, then prepare the config."""

from __future__ import annotations

import os
from collections.abc import Mapping
from typing import Any, Protocol, runtime_checkable

from gui_fastpath.routing.discovery import WorkerDeclarations, discover_workers
from gui_fastpath.routing.lanes import Lane, RouteDecision, decide_lane
from gui_fastpath.routing.train_config import WandbMode, rewrite_train_config

__all__ = ["FastPathRouting", "RoutingStrategy"]


@runtime_checkable
class RoutingStrategy(Protocol):
    """What the ``gui_fastpath.routing`` entry-point group names."""

    def decide(
        self, worker_id: str, catalog_entry: Any = None, *, requested: Lane | None = None
    ) -> RouteDecision: ...

    def prepare_train_config(
        self, config: Mapping[str, Any], run_dir: str | os.PathLike[str], decision: RouteDecision
    ) -> dict[str, Any]: ...


class FastPathRouting:
    """Routes workers by their ``gui_fastpath.workers`` declarations and the host catalog.

    Declarations are discovered on first use (entry points are read, declarations
    imported; nothing heavy), or given up front.
    """

    def __init__(
        self,
        declarations: WorkerDeclarations | None = None,
        *,
        live_view: bool = True,
        wandb_mode: WandbMode | None = None,
    ) -> None:
        self._declarations = declarations
        self._live_view = live_view
        self._wandb_mode = wandb_mode

    @property
    def declarations(self) -> WorkerDeclarations:
        if self._declarations is None:
            self._declarations = discover_workers()
        return self._declarations

    def decide(
        self, worker_id: str, catalog_entry: Any = None, *, requested: Lane | None = None
    ) -> RouteDecision:
        return decide_lane(
            worker_id,
            catalog_entry=catalog_entry,
            declaration=self.declarations.get(worker_id),
            requested=requested,
            live_view=self._live_view,
        )

    def prepare_train_config(
        self, config: Mapping[str, Any], run_dir: str | os.PathLike[str], decision: RouteDecision
    ) -> dict[str, Any]:
        """The config to launch: rewritten on the fast lane, an untouched copy otherwise."""
        if decision.lane is not Lane.FAST:
            return dict(config)
        return rewrite_train_config(
            config, run_dir, worker=decision.declaration, wandb_mode=self._wandb_mode
        )
