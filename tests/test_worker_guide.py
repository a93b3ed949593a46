"""The worker author's guide (``docs/worker-guide.md``) and its example worker, for real.

The example package (``examples/fastpath_worker``) is installed the way pip would, but
cheaply: a ``*.dist-info`` with its ``METADATA`` and ``entry_points.txt`` (generated from
its own ``pyproject.toml``) beside a copy of the package, in a temporary directory put on
``sys.path`` and ``PYTHONPATH``. Its worker then runs under a real ``gui-fastpath launch``.

Code blocks of the guide (the convention is also stated at the top of the guide):

- `` ```python `` blocks run in document order, in one namespace, with the working
  directory a scratch directory in which the example package is installed;
- `` ```console `` blocks: each ``$ `` line is a bash command run there (it must exit 0);
  the lines under it are its expected stdout and stderr, as ``_doc_blocks`` matches them
  (``...`` inside a line matches any text, a line holding only ``...`` any number of lines);
- a block under ``<!-- excerpt: PATH -->`` must appear verbatim in that file;
- a `` ```json `` block needs ``<!-- validate: KIND -->``: a hint file name (checked against
  the schema ``gui-fastpath schema`` prints), ``stdout`` (lifecycle messages, one a line),
  ``heartbeat.json`` (a sidecar heartbeat) or ``lifecycle.jsonl`` (a ``RunLifecycleEvent``);
- `` ```sh `` and `` ```text `` blocks are shown, not run.
"""

from __future__ import annotations

import contextlib
import importlib
import io
import json
import os
import re
import shutil
import signal
import subprocess
import sys
import tomllib
from pathlib import Path

import attrs
import jsonschema
import pytest

from _doc_blocks import console_steps, run_console_step
from gui_fastpath.cli import main as cli_main
from gui_fastpath.lifecycle import RunLifecycleEvent, RunState, protocol, read_lifecycle
from gui_fastpath.lifecycle.protocol import parse_protocol_line, parse_sidecar, sample_from_payload
from gui_fastpath.manifest import read_manifest, scan_run
from gui_fastpath.plugin import WORKERS, discover
from gui_fastpath.routing import (
    FastPathRouting,
    FastPathWorker,
    Lane,
    command_from_train_config,
    decide_lane,
    discover_workers,
    rewrite_train_config,
    total_steps_from_config,
)
from gui_fastpath.tensorboard import ScalarReader

pytestmark = pytest.mark.timeout(60)

REPO = Path(__file__).resolve().parent.parent
GUIDE = REPO / "docs" / "worker-guide.md"
EXAMPLE = REPO / "examples" / "fastpath_worker"
PACKAGE = "fastpath_example_worker"
WORKER_ID = "fastpath_example"
DISTRIBUTION = "fastpath-example-worker"
HINT_SCHEMAS = ("artifacts_manifest.json", "analytics.json", "fastpath.json")

# ---------------------------------------------------------------- installing the example


def _install_example(site: Path) -> None:
    """What ``pip install`` leaves in site-packages, from the example's own pyproject.toml."""
    project = tomllib.loads((EXAMPLE / "pyproject.toml").read_text())["project"]
    dist_info = site / f"{project['name'].replace('-', '_')}-{project['version']}.dist-info"
    dist_info.mkdir(parents=True)
    (dist_info / "METADATA").write_text(
        f"Metadata-Version: 2.1\nName: {project['name']}\nVersion: {project['version']}\n"
    )
    groups = {"console_scripts": project.get("scripts", {}), **project["entry-points"]}
    (dist_info / "entry_points.txt").write_text(
        "".join(
            f"[{group}]\n" + "".join(f"{name} = {value}\n" for name, value in entries.items())
            for group, entries in groups.items()
        )
    )
    shutil.copytree(
        EXAMPLE / "src" / PACKAGE, site / PACKAGE, ignore=shutil.ignore_patterns("__pycache__")
    )


@pytest.fixture
def example_site(tmp_path, monkeypatch):
    """The example package installed into a fresh site directory on ``sys.path``."""
    site = tmp_path / "site"
    _install_example(site)
    monkeypatch.syspath_prepend(str(site))
    importlib.invalidate_caches()
    yield site
    for name in [m for m in sys.modules if m == PACKAGE or m.startswith(f"{PACKAGE}.")]:
        del sys.modules[name]


@pytest.fixture
def worker_env(example_site, tmp_path):
    """A clean environment for worker subprocesses: the example importable, our commands
    on PATH, W&B's caches under the test's directory, no inherited run variables."""
    home = tmp_path / "home"
    home.mkdir()
    env = {
        k: v
        for k, v in os.environ.items()
        if not k.startswith(("GUI_FASTPATH_", "WANDB_")) and k != "PYTHONPATH"
    }
    env.update(
        PYTHONPATH=str(example_site),
        PATH=f"{Path(sys.executable).parent}{os.pathsep}{env.get('PATH', '')}",
        HOME=str(home),
        XDG_CACHE_HOME=str(home / ".cache"),
        XDG_CONFIG_HOME=str(home / ".config"),
    )
    return env


def _launch(env, runs_root: Path, run_id: str, command, *options: str):
    """``gui-fastpath launch`` as a subprocess; returns (status, printed events, stderr)."""
    argv = [sys.executable, "-m", "gui_fastpath", "launch", "--runs-root", str(runs_root)]
    argv += ["--run-id", run_id, *options, "--", *command]
    done = subprocess.run(argv, env=env, capture_output=True, text=True, timeout=50)
    events = [RunLifecycleEvent.from_dict(json.loads(line)) for line in done.stdout.splitlines()]
    return done.returncode, events, done.stderr


def _train_config(total_steps: int, *arguments: str) -> dict:
    """What a host's train form returns for the example worker."""
    return {
        "run_name": "td0-random-walk",
        "entry_point": sys.executable,
        "arguments": ["-m", PACKAGE, "--total-steps", str(total_steps), *arguments],
        "environment": {},
        "resources": {"cpus": 1, "gpus": 0},
        "metadata": {
            "worker": {"worker_id": WORKER_ID, "config": {"total_steps": total_steps}},
        },
    }


def _routed_launch(worker_env, runs_root: Path, run_id: str, config: dict, worker=None):
    """Route and rewrite ``config`` as the host does, then launch it."""
    routing = FastPathRouting()
    decision = routing.decide(WORKER_ID)
    if worker is not None:
        decision = attrs.evolve(decision, declaration=worker)
    assert decision.lane is Lane.FAST
    prepared = routing.prepare_train_config(config, runs_root / run_id, decision)
    command, extra_env = command_from_train_config(prepared)
    total = total_steps_from_config(prepared, decision.declaration)
    return _launch(
        {**worker_env, **extra_env}, runs_root, run_id, command, "--total-steps", str(total)
    )


# ------------------------------------------------------------ (a) declaration and routing


def test_declaration_is_discovered_cheaply_and_routed_to_the_fast_lane(example_site):
    [entry] = [e for e in discover(WORKERS) if e.distribution == DISTRIBUTION]
    assert (entry.name, entry.value) == ("example", f"{PACKAGE}:FASTPATH_WORKER")
    assert PACKAGE not in sys.modules  # discovery reads metadata only

    declarations = discover_workers()
    worker = declarations.get(WORKER_ID)
    assert worker == FastPathWorker(
        worker_id=WORKER_ID,
        display_name="Example: TD(0) random walk",
        total_steps_key="metadata.worker.config.total_steps",
    )
    assert worker.source == f"{DISTRIBUTION}.example"
    assert [p for p in declarations.problems if p.distribution == DISTRIBUTION] == []
    assert f"{PACKAGE}.worker" not in sys.modules  # declaring imports no training code

    decision = decide_lane(WORKER_ID, declaration=worker)
    assert decision.lane is Lane.FAST
    assert (
        decision.reason
        == f"its declaration ({DISTRIBUTION}.example) says it writes its own analytics"
    )
    assert FastPathRouting().decide(WORKER_ID).lane is Lane.FAST
    assert total_steps_from_config(_train_config(1234), worker) == 1234


# ----------------------------------------------------------- (b) the worker, for real


@pytest.mark.timeout(30)
def test_example_worker_runs_under_launch_with_the_routed_environment(worker_env, tmp_path):
    runs = tmp_path / "runs"
    config = _train_config(3000, "--no-wandb", "--log-every", "250", "--checkpoint-every", "1000")
    status, events, stderr = _routed_launch(worker_env, runs, "run-b", config)
    assert status == 0, stderr
    run_dir = runs / "run-b"

    states = [e.state for e in events]
    assert states[0] is RunState.STARTED and states[-1] is RunState.COMPLETED
    assert set(states[1:-1]) == {RunState.RUNNING}
    final = events[-1]
    assert (final.exit_code, final.message) == (0, "exited with status 0")
    assert final.progress.step == final.progress.total_steps == 3000
    assert final.progress.fraction == 1.0
    assert final.progress.last_checkpoint == "checkpoints/step_3000.npz"
    assert read_lifecycle(run_dir) == events

    manifest = read_manifest(run_dir)
    assert manifest.warnings == ()
    assert manifest.hints == ("artifacts_manifest.json", "fastpath.json")  # the worker's, ours
    assert manifest.worker_type == WORKER_ID  # from the hint file
    assert manifest.heartbeat == "heartbeat.json"
    assert manifest.tensorboard.log_dir == "tensorboard"
    assert [f.run for f in manifest.tensorboard.event_files] == ["td0_seed0"]
    assert [(c.path, c.step) for c in manifest.checkpoints] == [
        ("checkpoints/step_3000.npz", 3000),
        ("checkpoints/step_2000.npz", 2000),
        ("checkpoints/step_1000.npz", 1000),
    ]
    assert manifest.wandb == ()
    assert (manifest.logs.stdout, manifest.logs.stderr) == (
        "logs/worker.stdout.log",
        "logs/worker.stderr.log",
    )

    scalars = ScalarReader(run_dir / "tensorboard")
    scalars.poll()
    assert scalars.tags("td0_seed0") == ("charts/SPS", "charts/episode_length", "losses/rms_error")
    rms = scalars.series("td0_seed0", "losses/rms_error")
    assert list(rms.steps) == list(range(250, 3001, 250))
    assert rms.values[-1] < rms.values[0]  # it learns

    stdout_lines = (run_dir / "logs" / "worker.stdout.log").read_text().splitlines()
    messages = [m for m in map(parse_protocol_line, stdout_lines) if m is not None]
    assert [m.event for m in messages][:2] == ["run_started", "heartbeat"]
    assert messages[-1].event == "run_completed" and messages[-1].run_id == "run-b"
    assert sum(m.event == "heartbeat" for m in messages) == 1 + 3000 // 250
    assert "step 3000: rms error " in "\n".join(stdout_lines)  # plain log lines stay logs
    assert (run_dir / "logs" / "worker.stderr.log").read_text() == ""
    heartbeat = json.loads((run_dir / "heartbeat.json").read_text())
    assert sample_from_payload(heartbeat).step == 3000


@pytest.mark.timeout(45)
def test_example_worker_with_offline_wandb_and_its_own_layout(worker_env, tmp_path):
    """The one real W&B run; layout fields of the declaration reach the worker and the hints."""
    runs = tmp_path / "runs"
    worker = FastPathWorker(
        worker_id=WORKER_ID,
        tensorboard_dir="analytics/tensorboard",
        checkpoints_dir="analytics/checkpoints",
        source=f"{DISTRIBUTION}.example",
    )
    config = _train_config(2000, "--log-every", "500")
    status, events, stderr = _routed_launch(worker_env, runs, "run-w", config, worker)
    assert status == 0, stderr
    assert events[-1].state is RunState.COMPLETED
    run_dir = runs / "run-w"

    hints = json.loads((run_dir / "artifacts_manifest.json").read_text())
    jsonschema.validate(hints, _schema("artifacts_manifest.json"))
    manifest = read_manifest(run_dir)
    assert manifest.warnings == ()
    assert manifest.tensorboard.log_dir == "analytics/tensorboard"  # hinted, not guessed
    assert [c.path for c in manifest.checkpoints] == ["analytics/checkpoints/step_2000.npz"]
    [run] = manifest.wandb
    assert hints["wandb_run_id"] == f"fastpath-example/{run.run_id}"
    assert (run.mode, run.project, run.synced) == ("offline", "fastpath-example", False)
    assert run.directory.startswith("wandb/wandb/offline-run-")

    out = io.StringIO()
    with contextlib.redirect_stdout(out):
        assert cli_main(["wandb", "summary", "--json", str(run_dir)]) == 0
    summary = json.loads(out.getvalue())
    assert (summary["state"], summary["exit_code"], summary["step"]) == ("finished", 0, 2000)
    assert summary["name"] == "run-w-td0"
    assert summary["config"] == {"learning_rate": 0.05, "seed": 0, "states": 5}
    assert summary["latest_scalars"]["losses/rms_error"] < 0.2


@pytest.mark.timeout(30)
def test_a_failure_carries_the_workers_error(worker_env, tmp_path):
    command = [sys.executable, "-m", PACKAGE, "--no-wandb", "--fail-at", "700"]
    status, events, _ = _launch(worker_env, tmp_path, "run-f", command)
    assert status == 1
    final = events[-1]
    assert (final.state, final.exit_code) == (RunState.FAILED, 1)
    assert (final.error, final.error_type) == (
        "failure requested at step 700 (--fail-at)",
        "RuntimeError",
    )
    assert final.traceback.startswith("Traceback (most recent call last):\n")
    assert final.stderr_tail[-1] == "RuntimeError: failure requested at step 700 (--fail-at)"
    assert [f.run for f in read_manifest(tmp_path / "run-f").tensorboard.event_files] == [
        "td0_seed0"
    ]  # what was written before the failure stays usable


@pytest.mark.timeout(30)
def test_cancel_stops_the_worker_cleanly(worker_env, tmp_path):
    command = [sys.executable, "-m", PACKAGE, "--no-wandb", "--total-steps", "1000000000"]
    command += ["--log-every", "2000", "--checkpoint-every", "100000000"]
    argv = [sys.executable, "-m", "gui_fastpath", "launch", "--runs-root", str(tmp_path)]
    argv += ["--run-id", "run-c", "--", *command]
    proc = subprocess.Popen(argv, env=worker_env, stdout=subprocess.PIPE, text=True)
    try:
        for line in proc.stdout:  # wait for real progress, not for time
            event = RunLifecycleEvent.from_dict(json.loads(line))
            if event.progress and event.progress.step:
                break
        proc.send_signal(signal.SIGINT)
        out, _ = proc.communicate(timeout=20)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    final = RunLifecycleEvent.from_dict(json.loads(out.splitlines()[-1]))
    assert final.state is RunState.CANCELLED
    assert (final.exit_code, final.signal_name) == (0, None)  # it stopped on SIGTERM itself
    assert proc.returncode == 0
    run_dir = tmp_path / "run-c"
    lines = (run_dir / "logs" / "worker.stdout.log").read_text().splitlines()
    last = parse_protocol_line(lines[-1])
    assert last.event == "run_cancelled" and last.payload["reason"] == "received SIGTERM"
    [checkpoint] = scan_run(run_dir).checkpoints  # what it learned is kept
    assert checkpoint.path == last.payload["last_checkpoint"]
    assert checkpoint.step == last.payload["step"] > 0


# ------------------------------------------------------------------- (c) the guide


_BLOCK = re.compile(
    r"(?:<!-- (?P<marker>excerpt|validate): (?P<arg>[^>]+?) -->\n)?"
    r"^```(?P<lang>\w*)\n(?P<body>.*?)^```$",
    re.S | re.M,
)
_SHOWN_ONLY = {"sh", "text"}


def _blocks() -> list[dict[str, str]]:
    return [m.groupdict() for m in _BLOCK.finditer(GUIDE.read_text())]


def _schema(name: str) -> dict:
    out = io.StringIO()
    with contextlib.redirect_stdout(out):
        assert cli_main(["schema", name]) == 0
    return json.loads(out.getvalue())


def test_every_block_is_checked():
    blocks = _blocks()
    assert len(blocks) >= 15
    for block in blocks:
        kind = block["marker"] or block["lang"]
        assert kind in {"excerpt", "validate", "python", "console", *_SHOWN_ONLY}, block
    assert all(b["marker"] == "validate" for b in blocks if b["lang"] == "json")
    shell = [b["body"] for b in blocks if b["lang"] == "sh"]
    assert all(line.startswith("pip install") for body in shell for line in body.splitlines())


def test_excerpts_are_verbatim():
    excerpts = [b for b in _blocks() if b["marker"] == "excerpt"]
    assert len(excerpts) >= 5
    for block in excerpts:
        source = (REPO / block["arg"]).read_text()
        assert block["body"] in source, f"excerpt of {block['arg']} is out of date"
        assert block["body"].startswith(tuple(line + "\n" for line in source.splitlines())), (
            f"excerpt of {block['arg']} does not start at a line"
        )


def _hint_warnings(tmp_path: Path, name: str, text: str):
    """The warnings a hint file gives in a run holding everything the guide's hints name."""
    run = tmp_path / "run"
    wandb_run = run / "wandb" / "wandb" / "offline-run-20260101_000000-k3v9q2ld"
    for folder in (run / "tensorboard", run / "checkpoints", wandb_run):
        folder.mkdir(parents=True, exist_ok=True)
    (wandb_run / "run-k3v9q2ld.wandb").write_bytes(b"")
    (run / "heartbeat.json").write_text("{}")
    (run / name).write_text(text)
    try:
        return scan_run(run).warnings
    finally:
        (run / name).unlink()


def test_json_examples_are_valid(tmp_path):
    checked = set()
    for block in (b for b in _blocks() if b["marker"] == "validate"):
        kind, body = block["arg"], block["body"]
        checked.add(kind)
        if kind in HINT_SCHEMAS:
            jsonschema.validate(json.loads(body), _schema(kind))
            assert _hint_warnings(tmp_path, kind, body) == ()
        elif kind == "stdout":
            for line in body.splitlines():
                message = parse_protocol_line(line)
                assert message is not None, line
                assert json.loads(line).keys() == {"event", "run_id", "timestamp", "payload"}
        elif kind == "heartbeat.json":
            message = parse_sidecar(json.loads(body))
            assert message.event == "heartbeat"
            sample = sample_from_payload(message.payload)
            assert (sample.step, sample.total_steps, sample.episode) == (5000, 20000, 512)
        elif kind == "lifecycle.jsonl":
            event = RunLifecycleEvent.from_dict(json.loads(body))
            assert json.loads(body) == event.to_dict()
        else:
            pytest.fail(f"unknown validate kind {kind!r}")
    assert checked == {*HINT_SCHEMAS, "stdout", "heartbeat.json", "lifecycle.jsonl"}


def _table(heading: str) -> list[list[str]]:
    """The rows (cells stripped) of the first table after ``heading``."""
    text = GUIDE.read_text().split(heading, 1)[1]
    rows = []
    for line in text.splitlines():
        if line.startswith("|"):
            rows.append([c.strip() for c in line.strip("|").split(" | ")])
        elif rows:
            break
    return rows[2:]


def _codes(cell: str) -> list[str]:
    return re.findall(r"`([^`]+)`", cell)


def test_tables_match_the_code(tmp_path):
    fields = {_codes(row[0])[0] for row in _table("## 1. Declare fast-path routing")}
    assert fields == {a.name for a in attrs.fields(FastPathWorker)} - {"source"}

    env = rewrite_train_config(_train_config(10), tmp_path / "run")["environment"]
    documented = {_codes(row[0])[0] for row in _table("## 2. The run directory")}
    assert documented == {*env, "PYTHONUNBUFFERED"}

    keys = {row[0]: _codes(row[1]) for row in _table("under any of these names")}
    assert keys == {
        "step": list(protocol._STEP_KEYS),
        "total steps": list(protocol._TOTAL_KEYS),
        "episode": ["episode"],
        "steps/s": list(protocol._RATE_KEYS),
        "memory": ["memory_mb"],
        "CPU": ["cpu_percent"],
        "last checkpoint": list(protocol._CHECKPOINT_KEYS),
    }
    events = {_codes(row[0])[0] for row in _table("### Lifecycle lines on stdout")}
    assert events == protocol.PROTOCOL_EVENTS


@pytest.mark.timeout(60)
def test_runnable_examples(worker_env, tmp_path, monkeypatch):
    workspace = tmp_path / "workspace"
    workspace.mkdir()
    monkeypatch.chdir(workspace)
    for key in [k for k in os.environ if k.startswith(("GUI_FASTPATH_", "WANDB_"))]:
        monkeypatch.delenv(key)
    monkeypatch.setenv("PATH", worker_env["PATH"])
    monkeypatch.setenv("PYTHONPATH", worker_env["PYTHONPATH"])
    for key in ("HOME", "XDG_CACHE_HOME", "XDG_CONFIG_HOME"):
        monkeypatch.setenv(key, worker_env[key])
    namespace: dict = {"__name__": "worker_guide"}
    ran = {"python": 0, "console": 0}
    for block in _blocks():
        if block["marker"] or block["lang"] not in ran:
            continue
        ran[block["lang"]] += 1
        if block["lang"] == "python":
            exec(compile(block["body"], f"{GUIDE}:python#{ran['python']}", "exec"), namespace)
            continue
        for step in console_steps(block["body"]):
            assert step.status == 0, step  # the guide's commands all succeed
            run_console_step(step, cwd=workspace, env=os.environ, timeout=50)
    assert ran == {"python": 3, "console": 3}


# Hint files that each give one warning, and the table row it must match.
_TROUBLE = {
    "partial write": '{"tensorboard_dir": "tensor',
    "empty": "",
    "not an object": '["tensorboard"]',
    "absolute": lambda run: json.dumps({"tensorboard_dir": str(run / "tensorboard")}),
    "dotdot": json.dumps({"tensorboard_dir": "../tensorboard"}),
    "typo": json.dumps({"tensorbord_dir": "tensorboard"}),
    "type": json.dumps({"checkpoints": "checkpoints/step_5000.npz"}),
    "enum": json.dumps({"wandb_mode": "Offline"}),
    "checkpoint missing": json.dumps({"checkpoints": ["checkpoints/step_5000.npz"]}),
    "heartbeat missing": json.dumps({"heartbeat_file": "heartbeat.json"}),
    "wandb missing": json.dumps(
        {"wandb_run_id": "fastpath-example/k3v9q2ld", "wandb_mode": "offline"}
    ),
    "wandb path": json.dumps({"wandb_run_id": "a/b/c/d/e"}),
    "tensorboard subfolder": json.dumps({"tensorboard_dir": "tensorboard/td0_seed0"}),
    "symlink": "{}",
}


def _trouble_run(root: Path, name: str, hint) -> Path:
    run = root / name.replace(" ", "_")
    run.mkdir()
    (run / "artifacts_manifest.json").write_text(hint(run) if callable(hint) else hint)
    if name == "tensorboard subfolder":
        for seed in (0, 1):
            folder = run / "tensorboard" / f"td0_seed{seed}"
            folder.mkdir(parents=True)
            (folder / f"events.out.tfevents.1767225600.host.{seed}.0").write_bytes(b"")
    if name == "symlink":
        (root / "shared.npz").write_bytes(b"x")
        (run / "checkpoints").mkdir()
        (run / "checkpoints" / "best.npz").symlink_to(root / "shared.npz")
    return run


def _line_pattern(expected: str) -> re.Pattern[str]:
    """``expected`` as a pattern in which ``...`` matches any text."""
    return re.compile(".*".join(re.escape(part) for part in expected.split("...")))


def test_troubleshooting_table_names_the_real_warnings(tmp_path):
    rows = _table("## 7. Troubleshooting")
    patterns = [_line_pattern(_codes(row[0])[0]) for row in rows]
    matched = set()
    for name, hint in _TROUBLE.items():
        warnings = scan_run(_trouble_run(tmp_path, name, hint)).warnings
        assert len(warnings) == 1, (name, warnings)
        line = f"{warnings[0].source} {warnings[0].field}: {warnings[0].problem}"
        hits = [i for i, p in enumerate(patterns) if p.fullmatch(line)]
        assert len(hits) == 1, f"{name}: {line!r} matches rows {hits}"
        matched.update(hits)
    assert matched == set(range(len(rows))), "a troubleshooting row no warning produces"
