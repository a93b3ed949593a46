"""The presenter's own widgets: status, checkpoints, log tails, banner, tab wiring."""

from __future__ import annotations

import time

import pytest
from qtpy.QtWidgets import QWidget

from gui_fastpath.lifecycle.events import Progress, RunLifecycleEvent, RunState
from gui_fastpath.manifest.model import ArtifactManifest, Checkpoint, Logs
from gui_fastpath.qt.presenter import FastPathPresenter
from gui_fastpath.qt.run_status_panel import format_duration
from gui_fastpath.qt.tab_factories import PluginErrorTab

pytestmark = pytest.mark.timeout(30)


class RecordingTab(QWidget):
    """A tab factory at the plugin seam: records what the presenter tells it."""

    def __init__(self, run_dir, manifest, parent=None):
        super().__init__(parent)
        self.manifests = [manifest]
        self.cleaned = False

    def set_manifest(self, manifest):
        self.manifests.append(manifest)

    def cleanup(self):
        self.cleaned = True


def _event(state, seq, **kw):
    return RunLifecycleEvent(run_id="r1", state=state, timestamp=time.time(), seq=seq, **kw)


@pytest.fixture
def presenter(tmp_path):
    (tmp_path / "r1").mkdir()
    return FastPathPresenter(
        tmp_path, factories={"tensorboard": RecordingTab, "wandb": "plugin broke: ImportError"}
    )


def test_create_tabs_gives_titled_widgets_and_a_disabled_live_tab(qtbot, presenter):
    widgets = presenter.create_tabs("r1", None, None, None)
    for w in widgets:
        qtbot.addWidget(w)
    assert [w.windowTitle() for w in widgets] == ["Fast Path", "TensorBoard", "W&B", "Live"]
    live = widgets[-1]
    assert "Analytics-only run" in live.label.text()
    assert "live per-step telemetry is off" in live.label.text()
    # A plugin that failed to load shows its error instead of crashing the presenter.
    assert isinstance(widgets[2], PluginErrorTab)
    assert widgets[2].error == "plugin broke: ImportError"


def test_manifest_updates_reach_every_tab(qtbot, presenter, tmp_path):
    widgets = presenter.create_tabs("r1", None, None, None)
    for w in widgets:
        qtbot.addWidget(w)
    (tmp_path / "r1" / "stdout.log").write_text("hello from the worker\n")
    ckpts = (
        Checkpoint(path="checkpoints/a_100.pt", size=10, mtime=100.0, step=100),
        Checkpoint(path="checkpoints/a_200.pt", size=2048, mtime=200.0, step=200),
    )
    manifest = ArtifactManifest(run_id="r1", checkpoints=ckpts, logs=Logs(stdout="stdout.log"))
    presenter.apply_manifest(manifest)
    overview, tb = widgets[0], widgets[1]
    assert tb.manifests[-1] is manifest
    items = [overview.checkpoints.list.item(i).text() for i in range(2)]
    assert items[0].startswith("checkpoints/a_200.pt — step 200 — 2.0 KiB")
    assert items[1].startswith("checkpoints/a_100.pt — step 100 — 10 B")
    qtbot.waitUntil(lambda: "hello from the worker" in overview.logs.text("stdout"))
    overview.checkpoints.list.setCurrentRow(0)
    assert overview.checkpoints.selected_path() == tmp_path / "r1" / "checkpoints/a_200.pt"


def test_lifecycle_drives_state_progress_and_failure_details(qtbot, presenter):
    widgets = presenter.create_tabs("r1", None, None, None)
    for w in widgets:
        qtbot.addWidget(w)
    status = widgets[0].status
    presenter.apply_lifecycle(_event(RunState.STARTED, 1))
    assert status.progress_bar.maximum() == 0  # busy: total unknown
    progress = Progress(step=250, total_steps=1000, fraction=0.25, steps_per_s=12.5)
    presenter.apply_lifecycle(_event(RunState.RUNNING, 2, progress=progress))
    assert status.progress_bar.maximum() == 1000 and status.progress_bar.value() == 250
    assert status.step_label.text() == "250 / 1,000"
    assert status.rate_label.text() == "12.5"
    presenter.apply_lifecycle(
        _event(
            RunState.FAILED,
            3,
            exit_code=3,
            message="exited with status 3",
            error="CUDA out of memory",
            error_type="RuntimeError",
            stderr_tail=("Traceback…", "RuntimeError: CUDA out of memory"),
        )
    )
    assert "Failed — exited with status 3" in status.state_label.text()
    assert status.error_view.isVisibleTo(widgets[0])
    text = status.error_view.toPlainText()
    assert text.startswith("RuntimeError: CUDA out of memory")
    assert text.endswith("Last lines of stderr:\nTraceback…\nRuntimeError: CUDA out of memory")
    assert not status._ticker.isActive()


def test_release_cleans_up_every_tab(qtbot, presenter):
    widgets = presenter.create_tabs("r1", None, None, None)
    for w in widgets:
        qtbot.addWidget(w)
    presenter.release("r1")
    assert widgets[1].cleaned
    assert "r1" not in presenter.runs


def test_missing_run_dir_gives_empty_tabs(qtbot, tmp_path):
    presenter = FastPathPresenter(tmp_path, factories={"tensorboard": RecordingTab})
    widgets = presenter.create_tabs("nope", None, None, None)
    for w in widgets:
        qtbot.addWidget(w)
    assert widgets[1].manifests[0].run_id == "nope"


@pytest.mark.parametrize(
    ("seconds", "text"), [(5, "5s"), (93, "1m 33s"), (4000, "1h 06m 40s"), (-3, "0s")]
)
def test_format_duration(seconds, text):
    assert format_duration(seconds) == text
