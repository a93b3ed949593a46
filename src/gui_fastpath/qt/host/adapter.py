"""Install the Fast Path into a host's existing objects, through entry points only.

Works on MOSAIC's shapes (a ``WorkerPresenterRegistry`` with ``register``, a worker catalog,
``register_train_form``, dynamic tabs) without patching the host: everything is found in
the ``gui_fastpath.*`` entry-point groups, and one call installs it all.
"""

from __future__ import annotations

import importlib
import logging
from collections.abc import Callable
from pathlib import Path
from typing import Any

import attrs

from gui_fastpath.plugin import PRESENTERS, ROUTING, PluginLoadError, PluginProblem, discover

log = logging.getLogger(__name__)

__all__ = ["FastPathInstallation", "install_plugins"]


@attrs.define
class FastPathInstallation:
    """What :func:`install_plugins` put into the host, and what it could not."""

    routing: Any
    """The routing strategy (``decide``, ``prepare_train_config``)."""
    presenters: dict[str, Any] = attrs.field(factory=dict)
    """worker id → presenter registered for it."""
    problems: list[PluginProblem | str] = attrs.field(factory=list)


def _first(group: str, problems: list[PluginProblem | str]) -> Any:
    for entry in discover(group):
        try:
            return entry.load()
        except PluginLoadError:
            assert entry.problem is not None
            problems.append(entry.problem)
    return None


_TRAIN_FORMS = {"gui_fastpath_demo": "gui_fastpath.qt.demo_train_form:DemoTrainForm"}
"""Train forms we ship, by worker id; loaded only when the host opens one."""


def _lazy_form(target: str) -> Callable[..., Any]:
    def build(*args: Any, **kwargs: Any) -> Any:
        module, _, name = target.partition(":")
        return getattr(importlib.import_module(module), name)(*args, **kwargs)

    return build


def install_plugins(host: Any, runs_root: Path) -> FastPathInstallation:
    """Register the routing strategy, fast-path workers, presenters and train forms.

    ``host`` needs ``presenter_registry`` (``register``/``__contains__``) and
    ``worker_catalog`` (``add``); ``register_train_form(worker_id, factory)`` is used when
    present. Never raises for a bad plugin: problems are collected and logged.
    """
    from gui_fastpath.qt.host.registry import WorkerDefinition

    problems: list[PluginProblem | str] = []
    routing_cls = _first(ROUTING, problems)
    routing = routing_cls() if routing_cls is not None else None
    install = FastPathInstallation(routing=routing, problems=problems)
    if routing is None:
        problems.append("no routing strategy installed: reinstall gui-fastpath")
        return install
    declarations = routing.declarations
    problems.extend(declarations.problems)
    presenter_cls = _first(PRESENTERS, problems)
    presenter = presenter_cls(runs_root) if presenter_cls is not None else None
    for worker in declarations.workers:
        if not worker.writes_own_analytics:
            continue
        host.worker_catalog.add(
            WorkerDefinition(
                worker_id=worker.worker_id,
                display_name=worker.display_name or worker.worker_id,
                description=f"Writes its own analytics (declared by {worker.source}).",
                provides_fast_analytics=True,
            )
        )
        if presenter is not None and worker.worker_id not in host.presenter_registry:
            host.presenter_registry.register(worker.worker_id, presenter)
            install.presenters[worker.worker_id] = presenter
        form = _TRAIN_FORMS.get(worker.worker_id)
        if form is not None and hasattr(host, "register_train_form"):
            host.register_train_form(worker.worker_id, _lazy_form(form))
    for problem in problems:
        log.warning("gui_fastpath: %s", problem)
    return install
