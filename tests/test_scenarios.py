"""The seed's §9 scenarios, on the real widgets of the reference host (offscreen).

Each runs a real worker under the Fast Path supervisor, with the host's tabs built by the
presenter from the manifest: a real TensorBoard behind the TensorBoard tab (checked in
the page), the offline W&B run read from disk by the W&B tab.
"""

from __future__ import annotations

import sys

import pytest
from qtpy.QtCore import QTimer

from _host_support import until
from gui_fastpath.demo import DEMO_WORKER_ID, demo_train_config
from gui_fastpath.lifecycle import RunState, read_lifecycle
from gui_fastpath.qt.host.app import ReferenceHost
from gui_fastpath.qt.tensorboard_scripts import SHOWN_SCALAR_TAGS

pytestmark = [pytest.mark.slow, pytest.mark.timeout(150)]

DEMO_TAGS = {"charts/SPS", "charts/episodic_return", "charts/epsilon", "losses/td_error"}


class PageTags:
    """Asks the TensorBoard page which scalar tags it shows, every 200 ms."""

    def __init__(self, tab) -> None:
        self.value = None
        self.answers = 0
        self._tab = tab
        self._timer = QTimer()
        self._timer.timeout.connect(self._ask)
        self._timer.start(200)

    def _ask(self) -> None:
        if self._tab.web_view is not None:
            self._tab.web_view.evaluate(SHOWN_SCALAR_TAGS, self._store)

    def _store(self, value) -> None:
        self.value = value
        self.answers += 1

    def stop(self) -> None:
        self._timer.stop()


def run_scenario(run_on_qasync, tmp_path, config, check):
    """Start one run from ``config`` in a fresh reference host; ``check(host, tabs)``."""
    host = ReferenceHost(tmp_path / "runs")
    host.window.resize(1300, 900)
    host.window.show()

    async def scenario():
        host.start()
        try:
            run_id = await host.start_run(DEMO_WORKER_ID, config)
            tabs = host.window.dynamic_tabs(run_id)
            status = tabs["Fast Path"].status
            await until(lambda: status.state is not None and status.state.terminal, 60, "end")
            await check(host, run_id, tabs)
        finally:
            await host.aclose()

    try:
        run_on_qasync(scenario, timeout=140)
    finally:
        host.window.close()
        host.window.deleteLater()


async def shows_demo_charts(host, run_id, tabs):
    tb = tabs["TensorBoard"]
    host.window.show_tab(run_id, "TensorBoard")
    await until(lambda: tb.state in ("ready", "failed"), 60, "TensorBoard to serve")
    assert tb.state == "ready"
    probe = PageTags(tb)
    try:
        # Cards render as they scroll into view: the first ones, from the demo's own tags.
        shown = lambda: probe.value and "charts/episodic_return" in probe.value  # noqa: E731
        await until(
            lambda: shown() or tb.state != "ready",
            40,
            lambda: (
                f"the demo's charts in the page (page says {probe.value!r}, answered "
                f"{probe.answers} times, tab {tb.state}: {tb.title.text()} {tb.detail.text()}, "
                f"view at {tb.web_view.url().toString()!r})"
            ),
        )
        assert tb.state == "ready", f"{tb.title.text()} {tb.detail.text()}"
        assert set(probe.value) <= DEMO_TAGS
    finally:
        probe.stop()


def test_tensorboard_and_wandb(run_on_qasync, tmp_path):
    """TensorBoard tab serves the charts; W&B tab reads the offline run; Live is a banner."""

    async def check(host, run_id, tabs):
        assert tabs["Fast Path"].status.state is RunState.COMPLETED
        assert "Analytics-only run" in tabs["Live"].label.text()
        await shows_demo_charts(host, run_id, tabs)
        wb = tabs["W&B"]
        host.window.show_tab(run_id, "W&B")
        await until(lambda: wb.view is not None and wb.stack.currentWidget() is wb.pages, 30)
        shown = lambda: {row[0] for row in wb.scalars.rows()}  # noqa: E731
        await until(lambda: "charts/episodic_return" in shown(), 30, "the latest scalars")
        assert wb.view.config["total_steps"] == 3000

    run_scenario(
        run_on_qasync, tmp_path, demo_train_config(total_steps=3000, step_delay_ms=0), check
    )


def test_tensorboard_only(run_on_qasync, tmp_path):
    """No W&B run: the W&B tab says what the worker should do; TensorBoard still works."""

    async def check(host, run_id, tabs):
        wb = tabs["W&B"]
        await until(lambda: wb.stack.currentWidget() is wb.no_data, 20, "the W&B warning")
        assert "set WANDB_DIR=" in wb.no_data.text() and "WANDB_MODE=offline" in wb.no_data.text()
        await shows_demo_charts(host, run_id, tabs)

    config = demo_train_config(total_steps=3000, step_delay_ms=0, wandb=False)
    run_scenario(run_on_qasync, tmp_path, config, check)


def test_no_artifacts(run_on_qasync, tmp_path):
    """A worker that writes nothing: both tabs guide; the lifecycle is still recorded."""

    async def check(host, run_id, tabs):
        tb, wb = tabs["TensorBoard"], tabs["W&B"]
        assert tb.state == "no-logs"
        assert "Worker did not emit TensorBoard logs; check" in tb.title.text()
        assert f"var/trainer/runs/{run_id}/stdout.log" in tb.title.text()
        await until(lambda: wb.stack.currentWidget() is wb.no_data, 20, "the W&B warning")
        states = [e.state for e in read_lifecycle(host.runs_root / run_id)]
        assert states[0] is RunState.STARTED and states[-1] is RunState.COMPLETED
        assert tabs["Fast Path"].status.state is RunState.COMPLETED

    config = {
        "run_name": "silent",
        "entry_point": sys.executable,
        "arguments": ["-c", "print('training without analytics')"],
        "environment": {},
        "metadata": {"worker": {"worker_id": DEMO_WORKER_ID}},
    }
    run_scenario(run_on_qasync, tmp_path, config, check)


def test_worker_fails_mid_run(run_on_qasync, tmp_path):
    """FAILED with the worker's own error; the analytics tabs stay usable for a post-mortem."""

    async def check(host, run_id, tabs):
        status = tabs["Fast Path"].status
        assert status.state is RunState.FAILED
        text = status.error_view.toPlainText()
        assert "RuntimeError: demo failure requested at step 2000" in text
        assert "Last lines of stderr:" in text
        await shows_demo_charts(host, run_id, tabs)

    config = demo_train_config(total_steps=5000, step_delay_ms=0, wandb=False, fail_at=2000)
    run_scenario(run_on_qasync, tmp_path, config, check)
