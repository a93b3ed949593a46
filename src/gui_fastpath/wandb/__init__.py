"""Weights & Biases runs: the offline ``.wandb`` reader, run folders, URLs, sync, credentials.

Names that need ``wandb`` itself (the reader decodes wandb's protobuf classes) are imported
on first use, so importing this package stays cheap.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

from gui_fastpath.wandb.runs import LocalRun, find_wandb_dirs, list_runs
from gui_fastpath.wandb.snapshot import (
    ConsoleLine,
    FrozenList,
    ReadProblem,
    RunChanges,
    RunExit,
    RunIdentity,
    RunSnapshot,
)

if TYPE_CHECKING:
    from gui_fastpath.wandb.credentials import Credentials, CredentialStore, default_store
    from gui_fastpath.wandb.reader import OfflineRunReader
    from gui_fastpath.wandb.sync import SyncJob, SyncOptions, SyncResult, sync_run
    from gui_fastpath.wandb.sync_queue import SyncQueue
    from gui_fastpath.wandb.urls import BaseUrl, resolve_base_url, run_url

__all__ = [
    "BaseUrl",
    "ConsoleLine",
    "CredentialStore",
    "Credentials",
    "FrozenList",
    "LocalRun",
    "OfflineRunReader",
    "ReadProblem",
    "RunChanges",
    "RunExit",
    "RunIdentity",
    "RunSnapshot",
    "SyncJob",
    "SyncOptions",
    "SyncQueue",
    "SyncResult",
    "default_store",
    "find_wandb_dirs",
    "list_runs",
    "resolve_base_url",
    "run_url",
    "sync_run",
]

_LAZY = {
    "OfflineRunReader": "gui_fastpath.wandb.reader",
    "BaseUrl": "gui_fastpath.wandb.urls",
    "resolve_base_url": "gui_fastpath.wandb.urls",
    "run_url": "gui_fastpath.wandb.urls",
    "CredentialStore": "gui_fastpath.wandb.credentials",
    "Credentials": "gui_fastpath.wandb.credentials",
    "default_store": "gui_fastpath.wandb.credentials",
    "SyncJob": "gui_fastpath.wandb.sync",
    "SyncOptions": "gui_fastpath.wandb.sync",
    "SyncResult": "gui_fastpath.wandb.sync",
    "sync_run": "gui_fastpath.wandb.sync",
    "SyncQueue": "gui_fastpath.wandb.sync_queue",
}


def __getattr__(name: str) -> Any:
    module = _LAZY.get(name)
    if module is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    value = getattr(importlib.import_module(module), name)
    globals()[name] = value
    return value
