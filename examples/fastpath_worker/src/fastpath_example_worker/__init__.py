"""A minimal Fast Analytics Path worker. Importing this package is cheap: it only declares.

The training code lives in :mod:`fastpath_example_worker.worker`; run it with
``python -m fastpath_example_worker``.
"""

__all__ = ["FASTPATH_WORKER", "WORKER_ID"]

WORKER_ID = "fastpath_example"

FASTPATH_WORKER = {
    "worker_id": WORKER_ID,
    "display_name": "Example: TD(0) random walk",
    "writes_own_analytics": True,
    "total_steps_key": "metadata.worker.config.total_steps",
}
"""Our fast-path declaration, named by the ``gui_fastpath.workers`` entry point.

A plain dict with the fields of ``gui_fastpath.routing.FastPathWorker``; the layout fields
(``tensorboard_dir``, ``wandb_dir``, ``checkpoints_dir``, ``heartbeat_file``) keep their
defaults, so they are left out.
"""
