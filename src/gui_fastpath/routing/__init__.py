"""Fast-lane routing (Qt-free): the lane decision and the fast-lane train-config rewrite."""

from gui_fastpath.routing.declaration import (
    DeclarationError,
    FastPathWorker,
    declaration_from_object,
)
from gui_fastpath.routing.discovery import WorkerDeclarations, discover_workers
from gui_fastpath.routing.lanes import Lane, RouteDecision, decide_lane
from gui_fastpath.routing.strategy import FastPathRouting, RoutingStrategy
from gui_fastpath.routing.train_config import (
    ENV_CHECKPOINTS_DIR,
    ENV_HEARTBEAT_FILE,
    ENV_LANE,
    ENV_RUN_DIR,
    ENV_RUN_ID,
    ENV_TENSORBOARD_DIR,
    TrainConfigError,
    command_from_train_config,
    rewrite_train_config,
    total_steps_from_config,
)

__all__ = [
    "ENV_CHECKPOINTS_DIR",
    "ENV_HEARTBEAT_FILE",
    "ENV_LANE",
    "ENV_RUN_DIR",
    "ENV_RUN_ID",
    "ENV_TENSORBOARD_DIR",
    "DeclarationError",
    "FastPathRouting",
    "FastPathWorker",
    "Lane",
    "RouteDecision",
    "RoutingStrategy",
    "TrainConfigError",
    "WorkerDeclarations",
    "command_from_train_config",
    "decide_lane",
    "declaration_from_object",
    "discover_workers",
    "rewrite_train_config",
    "total_steps_from_config",
]
