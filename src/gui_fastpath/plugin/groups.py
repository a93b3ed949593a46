"""The entry-point groups the Fast Analytics Path reads. Each names something cheap to index.

An entry point's value is ``module:attribute``; nothing is imported until a host calls
``load()`` on what :func:`gui_fastpath.plugin.discover` returned.
"""

from __future__ import annotations

WORKERS = "gui_fastpath.workers"
"""Worker authors' declarations: "my worker writes its own analytics" (a ``FastPathWorker``)."""
ROUTING = "gui_fastpath.routing"
"""Routing strategies deciding a worker's lane (live, durable, fast)."""
WATCHERS = "gui_fastpath.watchers"
"""Artifact watchers over a runs root (an async iterator of run events)."""
TABS = "gui_fastpath.tabs"
"""Tab factories: ``factory(run_dir, manifest, parent=...) -> QWidget`` with ``cleanup()``."""
PRESENTERS = "gui_fastpath.presenters"
"""Presenters conforming to the host's ``WorkerPresenter`` protocol."""

ALL_GROUPS = (WORKERS, ROUTING, WATCHERS, TABS, PRESENTERS)

__all__ = ["ALL_GROUPS", "PRESENTERS", "ROUTING", "TABS", "WATCHERS", "WORKERS"]
