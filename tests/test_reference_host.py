"""The reference host loads the plugin through entry points only and runs real workers."""

from __future__ import annotations

import contextlib
import os

import psutil
import pytest

from _host_support import until
from gui_fastpath.demo import DEMO_WORKER_ID, demo_train_config
from gui_fastpath.lifecycle import RunState
from gui_fastpath.plugin import WORKERS
from gui_fastpath.qt.host.app import ReferenceHost
from gui_fastpath.qt.host.run_bus import Topic
from gui_fastpath.qt.presenter import FastPathPresenter
from gui_fastpath.spawn import TRAINING_NICE

pytestmark = pytest.mark.timeout(90)


def test_entry_points_fill_the_hosts_extension_points(qtbot, tmp_path):
    host = ReferenceHost(tmp_path / "runs")
    qtbot.addWidget(host.window)
    definition = host.window.worker_catalog.get(DEMO_WORKER_ID)
    assert definition is not None and definition.provides_fast_analytics
    assert isinstance(host.window.presenter_registry.get(DEMO_WORKER_ID), FastPathPresenter)
    assert DEMO_WORKER_ID in host.window.train_forms
    form = host.window.train_forms[DEMO_WORKER_ID](host.install.routing, definition, None)
    qtbot.addWidget(form)
    assert form.lane.lane().value == "fast"
    assert "writes its own analytics" in form.lane.reason.text()
    assert "Fast Analytics Path" in form.toolTip() and "Durable" in form.toolTip()
    config = form.get_config()
    assert config["metadata"]["worker"]["worker_id"] == DEMO_WORKER_ID
    assert "requested_lane" not in config["metadata"]


def test_a_broken_worker_plugin_is_reported_not_fatal(qtbot, tmp_path, monkeypatch):
    dist = tmp_path / "broken_worker-1.0.dist-info"
    dist.mkdir()
    (dist / "METADATA").write_text("Metadata-Version: 2.1\nName: broken-worker\nVersion: 1.0\n")
    (dist / "entry_points.txt").write_text(f"[{WORKERS}]\nbad = no_such_module_xyz:WORKER\n")
    monkeypatch.syspath_prepend(str(tmp_path))
    host = ReferenceHost(tmp_path / "runs")
    qtbot.addWidget(host.window)
    assert DEMO_WORKER_ID in host.window.presenter_registry
    assert any("no_such_module_xyz" in str(p) for p in host.install.problems)


def _runs_processes(host) -> list[tuple[int, int]]:
    """(nice, session id) of each supervisor and everything it started."""
    found = []
    for proc in host.daemon.processes.values():
        with contextlib.suppress(psutil.Error):
            top = psutil.Process(proc.pid)
            found += [(p.nice(), os.getsid(p.pid)) for p in [top, *top.children(recursive=True)]]
    return found


def _run_demo(run_on_qasync, tmp_path, **config_kw):
    host = ReferenceHost(tmp_path / "runs")
    state: dict = {}

    async def scenario():
        host.start()
        run_id = await host.start_run(DEMO_WORKER_ID, demo_train_config(**config_kw))
        tabs = host.window.dynamic_tabs(run_id)
        state.update(run_id=run_id, tabs=tabs)
        host.window.show()
        host.window.show_tab(run_id, "Fast Path")  # a log tail follows while it is shown
        status = tabs["Fast Path"].status
        await until(lambda: len(_runs_processes(host)) >= 2, 20, "the supervisor and its worker")
        state["processes"] = _runs_processes(host)
        await until(lambda: status.state is not None and status.state.terminal, 60, "the end")
        await until(lambda: tabs["Fast Path"].checkpoints.list.count() >= 1, 10, "checkpoints")
        await until(lambda: "run_" in tabs["Fast Path"].logs.text("stdout"), 10, "log tail")
        state["final"] = status.state
        await host.aclose()

    run_on_qasync(scenario, timeout=80)
    host.window.close()
    host.window.deleteLater()
    return host, state


def test_demo_run_completes_with_lifecycle_checkpoints_and_logs(run_on_qasync, tmp_path):
    host, state = _run_demo(run_on_qasync, tmp_path, total_steps=4000, step_delay_ms=0, wandb=False)
    assert state["final"] is RunState.COMPLETED
    # Transitions reach the host's own RunBus topics; heartbeats do not.
    published = host.run_bus.published
    assert [e.topic for e in published] == [Topic.RUN_STARTED, Topic.RUN_COMPLETED]
    assert published[-1].payload["status"] == "completed"
    assert published[-1].run_id == state["run_id"]
    # The run competes with the GUI (and its TensorBoards) only from below, in its session.
    training = max(TRAINING_NICE, os.getpriority(os.PRIO_PROCESS, 0))
    assert set(state["processes"]) == {(training, os.getsid(0))}
