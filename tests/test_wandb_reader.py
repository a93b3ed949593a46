"""OfflineRunReader against runs written by the installed wandb, checked against wandb-core's
own reader (``wandb-core leet inspect --json``), record for record."""

from __future__ import annotations

import contextlib
import importlib.util
import json
import math
import os
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pytest

from gui_fastpath.cli import main as cli_main
from gui_fastpath.wandb import OfflineRunReader, list_runs

pytestmark = pytest.mark.slow

_WRITER = r"""
import json, math, os, sys, time, wandb
out, run_id, steps, pause, resume = sys.argv[1:6]
steps, pause = int(steps), float(pause)
run = wandb.init(
    project="reader-tests", entity="tester", dir=out, mode="offline", id=run_id,
    resume=resume or None, name="reader-run", tags=["t1", "t2"], notes="written by a test",
    config={"lr": 0.001, "optimizer": {"name": "adam", "betas": [0.9, 0.999]}, "seed": 7},
    settings=wandb.Settings(x_disable_stats=True),
)
print(json.dumps({"folder": run.dir.rsplit("/files", 1)[0]}), flush=True)
for step in range(steps):
    run.log({
        "loss": 1.0 / (step + 1), "reward": step * 0.5, "eval/score": step % 7,
        "nested": {"a": step, "b": {"c": -step}}, "flag": step % 2 == 0,
        "text": f"s{step}", "weird": float("nan") if step == 3 else float("inf"),
    })
    if step == 2:
        print("line one\nline two", flush=True)
        print("to stderr", file=sys.stderr, flush=True)
    if pause:
        time.sleep(pause)
run.config.update({"late": {"x": 1}, "lr": 0.002}, allow_val_change=True)
run.summary["best"] = {"value": 3.5, "at": 2}
run.finish(exit_code=int(os.environ.get("EXIT_CODE", "0")))
"""


def _wandb_core() -> Path:
    spec = importlib.util.find_spec("wandb")
    assert spec is not None and spec.submodule_search_locations
    return Path(next(iter(spec.submodule_search_locations))) / "bin" / "wandb-core"


def _env(home: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("WANDB_")}
    env.update(HOME=str(home), XDG_CACHE_HOME=str(home / "cache"), WANDB_SILENT="true")
    return env


def _start(run_dir: Path, run_id: str, steps: int, pause: float = 0.0, resume: str = ""):
    run_dir.mkdir(parents=True, exist_ok=True)
    return subprocess.Popen(
        [sys.executable, "-c", _WRITER, str(run_dir), run_id, str(steps), str(pause), resume],
        env=_env(run_dir.parent / "home"),
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        text=True,
        start_new_session=True,
    )


def _write(run_dir: Path, run_id: str, steps: int, resume: str = "") -> Path:
    proc = _start(run_dir, run_id, steps, resume=resume)
    out, _ = proc.communicate(timeout=90)
    assert proc.returncode == 0
    folder = Path(json.loads(out.splitlines()[0])["folder"])
    return folder / f"run-{run_id}.wandb"


def _wait_for(condition, timeout: float = 30.0, what: str = "condition"):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = condition()
        if value:
            return value
        os.sched_yield()
    raise AssertionError(f"timed out waiting for {what}")


def _kill_group(proc: subprocess.Popen) -> None:
    with contextlib.suppress(ProcessLookupError):
        os.killpg(proc.pid, signal.SIGKILL)
    proc.communicate(timeout=30)


@pytest.fixture(scope="session")
def runs(tmp_path_factory) -> dict[str, Path]:
    """Runs written once per session: finished, killed mid-run, and resumed."""
    root = tmp_path_factory.mktemp("wandb-reader")
    found = {"finished": _write(root / "finished", "fin0001", 12)}
    killed = _start(root / "killed", "kil0001", 100_000, pause=0.002)
    try:
        folder = Path(json.loads(killed.stdout.readline())["folder"])  # type: ignore[union-attr]
        path = folder / "run-kil0001.wandb"
        reader = OfflineRunReader(path)
        _wait_for(
            lambda: reader.poll() is not None and len(reader.snapshot.history) > 200,
            what="the killed run to log 200 rows",
        )
    finally:
        _kill_group(killed)
    found["killed"] = path
    found["resumed_first"] = _write(root / "resumed", "res0001", 5)
    found["resumed_second"] = _write(root / "resumed", "res0001", 7, resume="allow")
    return found


def _leet(path: Path, *args: str) -> str:
    done = subprocess.run(
        [str(_wandb_core()), "leet", "inspect", "--run-file", str(path), *args],
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    )
    return done.stdout


def _jsonable(value: Any) -> Any:
    """Our values as leet prints them: NaN and infinities as strings."""
    if isinstance(value, float) and not math.isfinite(value):
        return "NaN" if math.isnan(value) else ("Infinity" if value > 0 else "-Infinity")
    if isinstance(value, dict):
        return {k: _jsonable(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_jsonable(v) for v in value]
    return value


@pytest.mark.parametrize("name", ["finished", "killed", "resumed_first", "resumed_second"])
def test_matches_wandb_core(runs, name):
    path = runs[name]
    snapshot = OfflineRunReader(path).read_all()
    records = [json.loads(line) for line in _leet(path, "--json").splitlines()]
    history = [r["history"]["item"] for r in records if r["type"] == "history"]
    assert [_jsonable(row) for row in snapshot.history] == history
    digest = json.loads(_leet(path, "--summary", "--json"))
    assert _jsonable(dict(snapshot.summary)) == digest["summary"]
    assert _jsonable(dict(snapshot.config)) == digest["config"]
    assert snapshot.identity is not None
    assert snapshot.identity.run_id == digest["run_id"]
    assert snapshot.identity.display_name == digest["name"]
    assert list(snapshot.identity.tags) == digest["tags"]
    assert snapshot.identity.notes == digest["notes"]
    assert (snapshot.exit.exit_code if snapshot.exit else None) == digest["exit_code"]
    assert snapshot.last_step == digest["step"]
    assert snapshot.console_line_count == digest["console_lines"]
    tail = [{"line": c.text, "stream": c.stream} for c in snapshot.console]
    assert (
        tail[-len(digest["console"]) :]
        == [{"line": c["line"], "stream": c["stream"]} for c in digest["console"]]
        or not digest["console"]
    )
    assert snapshot.problems == ()


def test_finished_run_identity_and_state(runs):
    snapshot = OfflineRunReader(runs["finished"]).read_all()
    assert snapshot.state == "finished"
    assert snapshot.identity is not None
    assert (snapshot.identity.entity, snapshot.identity.project) == ("tester", "reader-tests")
    assert snapshot.config["optimizer"] == {"name": "adam", "betas": [0.9, 0.999]}
    assert snapshot.config["lr"] == 0.002
    assert snapshot.summary["nested"] == {"a": 11, "b": {"c": -11}}
    assert snapshot.summary["best"] == {"value": 3.5, "at": 2}
    assert snapshot.history[3]["_step"] == 3 and math.isnan(snapshot.history[3]["weird"])
    assert snapshot.history[0]["nested.b.c"] == 0
    assert [c.text for c in snapshot.console][1:3] == ["line one", "line two"]
    assert ("to stderr", "stderr") in [(c.text, c.stream) for c in snapshot.console]
    assert snapshot.environment["python"].startswith("CPython")
    assert snapshot.notes == ()


def test_killed_run_reads_what_was_written(runs):
    snapshot = OfflineRunReader(runs["killed"]).read_all()
    assert snapshot.state == "running" and snapshot.exit is None
    assert len(snapshot.history) > 200
    assert [row["_step"] for row in snapshot.history] == list(range(len(snapshot.history)))
    assert "no exit record" in " ".join(snapshot.notes)
    assert snapshot.problems == ()


def test_list_runs_newest_first(runs):
    found = list_runs(runs["resumed_first"].parents[2])
    assert [r.wandb_file for r in found] == [runs["resumed_second"], runs["resumed_first"]]
    assert {r.run_id for r in found} == {"res0001"} and {r.mode for r in found} == {"offline"}


def test_cli_summary_json(runs, capsys):
    assert cli_main(["wandb", "summary", str(runs["finished"].parents[2]), "--json"]) == 0
    printed = json.loads(capsys.readouterr().out)
    assert printed["run_id"] == "fin0001" and printed["state"] == "finished"
    assert printed["latest_scalars"]["loss"] == pytest.approx(1 / 12)
    assert printed["config"]["seed"] == 7


def test_cli_summary_text(runs, capsys):
    assert cli_main(["wandb", "summary", str(runs["finished"])]) == 0
    out = capsys.readouterr().out
    assert "run      reader-run (fin0001)" in out
    assert "state    finished (exit code 0)" in out


def test_cli_summary_without_runs(tmp_path, capsys):
    assert cli_main(["wandb", "summary", str(tmp_path)]) == 1
    assert f"no run-<id>.wandb file under {tmp_path}" in capsys.readouterr().err
