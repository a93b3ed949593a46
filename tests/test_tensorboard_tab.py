"""The TensorBoard tab, rendered offscreen with real TensorBoard and real event files."""

from __future__ import annotations

import contextlib
import signal
import subprocess
import sys
import textwrap
from pathlib import Path

import attrs
import psutil
import pytest
from qtpy.QtCore import QCoreApplication, QEvent, QTimer

from _tensorboard_support import TAGS, managed_processes, write_scalars
from gui_fastpath.manifest import ArtifactManifest, TensorBoardArtifacts, scan_run
from gui_fastpath.qt import tensorboard_tab
from gui_fastpath.qt.tensorboard_scripts import SHOWN_SCALAR_TAGS, SHOWN_STEPS
from gui_fastpath.qt.tensorboard_tab import TensorBoardTab
from gui_fastpath.tensorboard import ServerOptions, TensorBoardPool

pytestmark = [pytest.mark.slow, pytest.mark.timeout(90)]

READY_MS = 45_000


class PageProbe:
    """Evaluates a script in the tab's page every 100 ms; ``value`` is the latest result."""

    def __init__(self, tab: TensorBoardTab, script: str) -> None:
        self.value: object = None
        self._tab, self._script = tab, script
        self._timer = QTimer()
        self._timer.timeout.connect(self._ask)
        self._timer.start(100)

    def _ask(self) -> None:
        if self._tab.web_view is not None:
            self._tab.web_view.evaluate(self._script, self._store)

    def _store(self, value: object) -> None:
        self.value = value

    def stop(self) -> None:
        self._timer.stop()


@pytest.fixture
def run_dir(tmp_path: Path) -> Path:
    run = tmp_path / "01HTESTRUN"
    write_scalars(run / "tensorboard", range(5))
    return run


@pytest.fixture
def pool():
    made = TensorBoardPool(ServerOptions(index_mode="on-open", keep_spare=False))
    yield made
    made.shutdown()


@pytest.fixture
def make_tab(qtbot, pool):
    tabs: list[TensorBoardTab] = []

    def make(run: Path, manifest: ArtifactManifest | None = None, **kwargs) -> TensorBoardTab:
        tab = TensorBoardTab(run, manifest, pool=kwargs.pop("pool", pool), **kwargs)
        tab.resize(1100, 800)
        tab.show()
        tabs.append(tab)
        return tab

    yield make
    for tab in tabs:  # as a host does: cleanup(), then deleteLater()
        tab.cleanup()
        tab.deleteLater()
    # Delete now, while the application lives: QtWebEngine crashes if its views are left
    # for the application's own teardown.
    QCoreApplication.sendPostedEvents(None, QEvent.Type.DeferredDelete)


def wait_ready(qtbot, tab: TensorBoardTab) -> None:
    qtbot.waitUntil(lambda: tab.state in ("ready", "failed"), timeout=READY_MS)
    assert tab.state == "ready", f"{tab.title.text()}\n{tab.detail.text()}"


def test_the_page_shows_the_expected_scalar_tags(qtbot, make_tab, run_dir):
    tab = make_tab(run_dir, scan_run(run_dir))
    assert tab.state == "starting"
    assert tab.title.text() == "Starting TensorBoard…"
    wait_ready(qtbot, tab)
    tags = PageProbe(tab, SHOWN_SCALAR_TAGS)
    qtbot.waitUntil(lambda: tags.value == list(TAGS), timeout=20_000)
    tags.stop()
    assert tab.url.startswith("http://127.0.0.1:")


def test_new_scalars_show_in_the_page_when_the_manifest_grows(qtbot, make_tab, run_dir):
    tab = make_tab(run_dir, scan_run(run_dir))
    wait_ready(qtbot, tab)
    steps = PageProbe(tab, SHOWN_STEPS)
    qtbot.waitUntil(lambda: steps.value == {tag: 4 for tag in TAGS}, timeout=20_000)
    write_scalars(run_dir / "tensorboard", range(5, 9))
    tab.set_manifest(scan_run(run_dir))  # the event files changed: the page reloads itself
    qtbot.waitUntil(lambda: steps.value == {tag: 8 for tag in TAGS}, timeout=10_000)
    steps.stop()


def test_a_hidden_tab_loads_its_page_when_shown_and_freezes_it_when_hidden(
    qtbot, make_tab, run_dir
):
    tab = make_tab(run_dir, scan_run(run_dir))
    tab.hide()
    qtbot.waitUntil(lambda: tab.state in ("served", "failed"), timeout=READY_MS)
    assert tab.state == "served" and tab.web_view is None  # no page, no renderer yet
    assert tab.open_button.isEnabled()
    tab.show()
    wait_ready(qtbot, tab)
    tab.hide()
    assert tab.web_view.frozen
    write_scalars(run_dir / "tensorboard", range(5, 9))
    tab.set_manifest(scan_run(run_dir))  # while hidden: reloaded when shown
    tab.show()
    assert not tab.web_view.frozen
    steps = PageProbe(tab, SHOWN_STEPS)
    qtbot.waitUntil(lambda: steps.value == {tag: 8 for tag in TAGS}, timeout=20_000)
    steps.stop()


def test_guidance_without_logs_then_starts_when_logs_appear(qtbot, make_tab, tmp_path):
    run = tmp_path / "01HNOLOGS"
    run.mkdir()
    tab = make_tab(run, scan_run(run))
    assert tab.state == "no-logs"
    assert tab.title.text() == (
        "Worker did not emit TensorBoard logs; check `var/trainer/runs/01HNOLOGS/stdout.log`."
    )
    assert not tab.open_button.isEnabled()
    write_scalars(run / "tensorboard", range(3))
    tab.set_manifest(scan_run(run))
    wait_ready(qtbot, tab)
    assert tab.open_button.isEnabled()


def test_a_failed_start_shows_the_error_and_stderr_and_restart_recovers(
    qtbot, make_tab, run_dir, pool
):
    pool.options = attrs.evolve(pool.options, extra_args=("--no_such_flag=1",))
    tab = make_tab(run_dir, scan_run(run_dir))
    qtbot.waitUntil(lambda: tab.state == "failed", timeout=READY_MS)
    log_dir = run_dir / "tensorboard"
    assert tab.title.text().startswith(f"TensorBoard for {log_dir} exited during start-up")
    assert tab.detail.text() == "Fix the problem below, then press Restart."
    assert "no_such_flag" in tab.stderr_view.toPlainText()
    assert tab.stderr_view.isVisible()
    assert tab.restart_button.isEnabled()
    pool.options = attrs.evolve(pool.options, extra_args=())
    tab.restart_button.click()
    wait_ready(qtbot, tab)


def test_a_server_that_dies_is_reported_and_restart_brings_it_back(qtbot, make_tab, run_dir):
    tab = make_tab(run_dir, scan_run(run_dir))
    wait_ready(qtbot, tab)
    old_url = tab.url
    front_end = next(p for p in managed_processes() if "_launch.py" in " ".join(p.cmdline()))
    front_end.kill()
    qtbot.waitUntil(lambda: tab.state == "failed", timeout=10_000)
    assert tab.title.text() == (
        f"TensorBoard for {run_dir / 'tensorboard'} exited unexpectedly "
        f"(exit code {-signal.SIGKILL})."
    )
    tab.restart_button.click()
    wait_ready(qtbot, tab)
    assert tab.url != old_url


def test_two_tabs_share_one_server_until_both_are_cleaned_up(qtbot, make_tab, run_dir):
    first = make_tab(run_dir, scan_run(run_dir))
    second = make_tab(run_dir, scan_run(run_dir))
    wait_ready(qtbot, first)
    wait_ready(qtbot, second)
    assert first.url == second.url
    assert len(managed_processes()) == 2
    first.cleanup()
    first.cleanup()  # idempotent
    second.reload_page()
    assert len(managed_processes()) == 2
    second.cleanup()
    qtbot.waitUntil(lambda: not managed_processes(), timeout=10_000)


def test_without_qtwebengine_a_notice_and_open_in_browser(qtbot, make_tab, run_dir, monkeypatch):
    monkeypatch.setitem(sys.modules, "gui_fastpath.qt.tensorboard_page", None)
    opened: list[str] = []
    monkeypatch.setattr(
        tensorboard_tab.QDesktopServices, "openUrl", lambda url: opened.append(url.toString())
    )
    tab = make_tab(run_dir, scan_run(run_dir))
    qtbot.waitUntil(lambda: tab.state == "no-webengine", timeout=READY_MS)
    assert tab.title.text() == "TensorBoard cannot be embedded here."
    assert tab.detail.text().startswith("QtWebEngine is not available (")
    assert tab.detail.text().endswith(". TensorBoard is running: use “Open in browser”.")
    assert tab.web_view is None
    tab.open_button.click()
    assert opened == [tab.url]


LATE_HOST = textwrap.dedent(
    """
    from qtpy.QtCore import QCoreApplication, QEvent, QEventLoop, QTimer, QUrl
    from qtpy.QtWidgets import QApplication

    app = QApplication(["late-host"])  # before any module of ours, as a host may do
    from gui_fastpath.qt.tensorboard_tab import web_view_problem

    print(web_view_problem(), flush=True)
    from gui_fastpath.qt.tensorboard_page import TensorBoardView

    view, loop, finished = TensorBoardView(), QEventLoop(), []
    view.loadFinished.connect(lambda ok: (finished.append(ok), loop.quit()))
    QTimer.singleShot(30_000, loop.quit)
    view.setUrl(QUrl("data:text/html,<title>t</title>page"))
    loop.exec()
    print(finished, flush=True)
    view.release()
    QCoreApplication.sendPostedEvents(None, QEvent.Type.DeferredDelete)
    """
)


def test_the_page_embeds_in_a_host_that_made_its_application_first():
    # PyQt6 loads QtWebEngine late only with OpenGL context sharing, which the tab turns on.
    done = subprocess.run(
        [sys.executable, "-c", LATE_HOST], capture_output=True, text=True, timeout=60
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout.splitlines() == ["None", "[True]"], done.stderr


def test_a_log_dir_outside_the_run_is_refused(qtbot, make_tab, tmp_path):
    run = tmp_path / "01HESCAPE"
    run.mkdir()
    manifest = ArtifactManifest(run_id=run.name, tensorboard=TensorBoardArtifacts("../elsewhere"))
    tab = make_tab(run, manifest)
    assert tab.state == "failed"
    assert tab.detail.text() == (
        f"{run / 'artifacts.json'}: tensorboard.log_dir '../elsewhere' leaves the run "
        f"directory; fix: rescan the run with `gui-fastpath scan {run}`."
    )
    assert not managed_processes()


def test_archive_moves_old_event_files_out_and_back(qtbot, make_tab, run_dir):
    write_scalars(run_dir / "tensorboard", range(5, 8))  # a second event file
    tab = make_tab(run_dir, scan_run(run_dir))
    wait_ready(qtbot, tab)
    tab.archive_old_events()
    qtbot.waitUntil(lambda: "archived" in tab.status.text(), timeout=20_000)
    assert tab.status.text().startswith("1 event file(s) (")
    assert tab.status.text().endswith("archived, 1 kept in the log directory")
    assert len(list((run_dir / "archive").rglob("*tfevents*"))) == 1
    wait_ready(qtbot, tab)
    tab.restore_archived_events()
    qtbot.waitUntil(lambda: "restored" in tab.status.text(), timeout=20_000)
    assert len(list((run_dir / "tensorboard").glob("*tfevents*"))) == 2


HOST = textwrap.dedent(
    """
    import sys
    from pathlib import Path
    from gui_fastpath.qt.webengine import prepare_webengine
    prepare_webengine()
    from qtpy.QtCore import QCoreApplication, QEvent, QTimer
    from qtpy.QtWidgets import QApplication
    from gui_fastpath.manifest import scan_run
    from gui_fastpath.qt.tensorboard_tab import TensorBoardTab

    app = QApplication(["host"])
    ending = sys.argv[1]
    tabs = [TensorBoardTab(Path(p), scan_run(Path(p))) for p in sys.argv[2:]]
    for tab in tabs:
        tab.show()

    def check():
        if all(tab.state == "ready" for tab in tabs):
            timer.stop()
            print("ready", flush=True)
            if ending == "close":
                for tab in tabs:
                    tab.cleanup()
                    tab.deleteLater()
                QTimer.singleShot(0, app.quit)
            elif ending == "quit":
                QTimer.singleShot(0, app.quit)
        elif any(tab.state == "failed" for tab in tabs):
            print("failed", [tab.title.text() for tab in tabs], flush=True)
            app.exit(1)

    timer = QTimer()
    timer.timeout.connect(check)
    timer.start(50)
    sys.exit(app.exec())
    """
)


@pytest.mark.parametrize("ending", ["sigkill", "close", "quit"])
def test_nothing_outlives_a_host_with_two_tabs(tmp_path, run_dir, ending):
    other = tmp_path / "01HOTHERRUN"
    write_scalars(other / "tensorboard", range(3))
    host = subprocess.Popen(
        [sys.executable, "-c", HOST, ending, str(run_dir), str(other)],
        stdout=subprocess.PIPE,
        text=True,
    )
    assert host.stdout is not None
    try:
        assert host.stdout.readline() == "ready\n"
        tree, commands = [], []
        for proc in psutil.Process(host.pid).children(recursive=True):
            with contextlib.suppress(psutil.Error):
                command = " ".join(proc.cmdline())
                if "_launch.py" in command or "tensorboard_data_server" in command:
                    tree.append(proc)
                    commands.append(command)
        assert sum("_launch.py" in c for c in commands) >= 2
        assert sum("tensorboard_data_server" in c for c in commands) == 2
        if ending == "sigkill":
            host.kill()
        assert host.wait(timeout=30) == (-signal.SIGKILL if ending == "sigkill" else 0)
    finally:
        host.kill()
        host.wait()
        host.stdout.close()
    _, alive = psutil.wait_procs(tree, timeout=5)
    assert not [p for p in alive if p.status() != psutil.STATUS_ZOMBIE]
