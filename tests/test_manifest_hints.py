"""Worker hint files: the hostile corpus, and the shapes of the host's analytics.json."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

from _manifest_support import (
    FIXTURES,
    assert_paths_inside,
    copy_fixture,
    regenerate_module,
)
from gui_fastpath.cli import main
from gui_fastpath.manifest import MANIFEST_NAME, read_manifest, scan_run

pytestmark = pytest.mark.timeout(30)

S, A = "artifacts_manifest.json", "analytics.json"
EXPECTED: dict[str, set[tuple[str, str]]] = {
    "traversal": {
        (S, "$.tensorboard_dir"),
        (S, "$.checkpoints[0]"),
        (S, "$.checkpoints[1]"),
        (S, "$.stdout_log"),
    },
    "absolute": {(S, "$.tensorboard_dir"), (S, "$.stdout_log"), (S, "$.heartbeat_file")},
    "wrong_types": {
        (S, "$.tensorboard_dir"),
        (S, "$.wandb_run_id"),
        (S, "$.wandb_mode"),
        (S, "$.checkpoints"),
        (S, "$.worker_type"),
        (S, "$.stderr_log"),
    },
    "wrong_types_host": {
        (A, "$.worker_type"),
        (A, "$.artifacts"),
        (A, "$.tensorboard_dir"),
        (A, "$.wandb_run_path"),
    },
    "bad_wandb_ids": {
        (S, "$.wandb_run_id"),
        (A, "$.artifacts.wandb.run_path"),
        (A, "$.artifacts.wandb.url"),
    },
    "credentials_in_url": {(A, "$.artifacts.wandb.url")},
    "long_string": {(S, "$.tensorboard_dir")},
    "control_chars": {(S, "$.tensorboard_dir")},
    "unknown_keys": {(S, "$.tensorbord_dir"), (S, "$.x")},
    "invalid_utf8": {(S, "$")},
    "invalid_json": {(S, "$")},
    "not_object": {(S, "$"), (A, "$")},
    "empty_files": {(S, "$"), (A, "$")},
    "deep_nesting": {(S, "$")},
    "symlink_escape": {
        (S, "$.tensorboard_dir"),
        (S, "$.checkpoints[0]"),
        ("tensorboard/events.out.tfevents.0.outside", "$"),
        ("checkpoints/leak.pt", "$"),
        ("wandb/latest-run", "$"),
        ("wandb/offline-run-20250101_120000-evil0001", "$"),
    },
    "hint_symlink": {(S, "$")},
    "huge_file": {(S, "$")},
    "huge_list": {(S, "$.checkpoints"), (S, "$.checkpoints[0]")},
    "fifo": {(S, "$")},
    "hint_is_directory": {(A, "$")},
}


@pytest.fixture(scope="module")
def corpus(tmp_path_factory):
    root = tmp_path_factory.mktemp("hostile")
    runs = regenerate_module().build_hostile(root, large=True)
    return {run.name: run for run in runs}


def test_every_case_has_expectations(corpus):
    assert set(corpus) == set(EXPECTED)


def test_committed_corpus_is_what_regenerate_builds(corpus):
    committed = {p.name for p in (FIXTURES / "hostile").iterdir()}
    assert committed == set(corpus) - {"huge_file", "huge_list", "fifo", "hint_is_directory"}


@pytest.mark.parametrize("case", sorted(EXPECTED))
def test_hostile_case_warns_and_stays_inside(corpus, case, capsys):
    run = corpus[case]
    assert main(["scan", str(run)]) == 0
    out, err = capsys.readouterr()
    manifest = read_manifest(run)
    assert manifest is not None
    assert {(w.source, w.field) for w in manifest.warnings} == EXPECTED[case]
    assert all(w.problem and w.fix for w in manifest.warnings)
    for warning in manifest.warnings:
        assert f"warning: {warning.source} {warning.field}: {warning.problem}" in err
    assert json.loads(out)["warnings"] == json.loads((run / MANIFEST_NAME).read_text())["warnings"]
    assert_paths_inside(run, manifest)
    assert len((run / MANIFEST_NAME).read_bytes()) < 20_000  # huge values are not copied in


def test_credentials_never_reach_the_manifest(corpus):
    run = corpus["credentials_in_url"]
    main(["scan", "--quiet", str(run)])
    text = (run / MANIFEST_NAME).read_text()
    assert "hunter2" not in text
    manifest = read_manifest(run)
    assert manifest is not None
    [wandb] = manifest.wandb
    assert wandb.url == "https://wandb.ai/team/proj/runs/abc123"  # made from the run path


def test_scan_command_end_to_end_on_the_committed_corpus(tmp_path):
    runs = [copy_fixture("hostile", p.name, tmp_path) for p in (FIXTURES / "hostile").iterdir()]
    script = (
        "import sys\nfrom gui_fastpath.cli import main\n"
        "sys.exit(max(main(['scan', '--quiet', d]) for d in sys.argv[1:]))"
    )
    done = subprocess.run(
        [sys.executable, "-c", script, *map(str, runs)], capture_output=True, text=True, timeout=60
    )
    assert done.returncode == 0, done.stderr
    assert done.stderr.count("warning: ") == sum(len(EXPECTED[r.name]) for r in runs)


def _analytics(tmp_path, data, *, seed=None, files=()):
    run = tmp_path / "run"
    run.mkdir()
    (run / A).write_text(json.dumps(data))
    if seed is not None:
        (run / S).write_text(json.dumps(seed))
    for rel in files:
        (run / rel).parent.mkdir(parents=True, exist_ok=True)
        (run / rel).write_bytes(b"x")
    return scan_run(run)


def test_host_older_spellings(tmp_path):
    m = _analytics(
        tmp_path,
        {"artifacts": {"tensorboard": {"enabled": True, "log_dir": "tb"}, "logs_dir": "out"}},
        files=["out/w.stdout.log"],
    )
    assert m.tensorboard is not None and m.tensorboard.log_dir == "tb"
    assert m.logs.stdout == "out/w.stdout.log"
    assert m.warnings == ()


def test_host_legacy_flat_keys(tmp_path):
    m = _analytics(
        tmp_path,
        {"tensorboard_dir": "tb", "wandb_run_path": "team/proj/r1", "checkpoints_dir": "models"},
        files=["models/agent_100.pkl"],
    )
    assert m.tensorboard is not None and m.tensorboard.log_dir == "tb"
    assert [(w.run_id, w.entity, w.project) for w in m.wandb] == [("r1", "team", "proj")]
    assert [c.path for c in m.checkpoints] == ["models/agent_100.pkl"]


def test_host_disabled_sections_are_ignored(tmp_path):
    m = _analytics(
        tmp_path,
        {
            "artifacts": {
                "tensorboard": {"enabled": False, "relative_path": "tb"},
                "wandb": {"enabled": False, "run_path": "a/b/c"},
            },
            "tensorboard_dir": "tb",
        },
    )
    assert (m.tensorboard, m.wandb, m.warnings) == (None, (), ())


def test_seed_hints_win_over_host_hints(tmp_path):
    m = _analytics(
        tmp_path,
        {"tensorboard_dir": "host_tb", "worker_type": "host"},
        seed={"tensorboard_dir": "seed_tb", "worker_type": "seed"},
    )
    assert m.tensorboard is not None and m.tensorboard.log_dir == "seed_tb"
    assert m.worker_type == "seed"
    assert m.hints == (S, A)


@pytest.mark.parametrize(
    ("path", "entity", "project"),
    [
        ("r1", None, None),
        ("proj/r1", None, "proj"),
        ("team/proj/r1", "team", "proj"),
        ("team/proj/runs/r1", "team", "proj"),
    ],
)
def test_wandb_run_path_forms(tmp_path, path, entity, project):
    m = _analytics(tmp_path, {"artifacts": {"wandb": {"run_path": path}}})
    [run] = m.wandb
    assert (run.run_id, run.entity, run.project, run.mode) == ("r1", entity, project, "online")


def test_wandb_url_keeps_only_the_page(tmp_path):
    m = _analytics(
        tmp_path,
        {
            "artifacts": {
                "wandb": {"run_id": "r1", "url": "https://w.example/t/p/runs/r1?apiKey=s#x"}
            }
        },
    )
    [run] = m.wandb
    assert run.url == "https://w.example/t/p/runs/r1"


def test_extra_host_keys_are_fine(tmp_path):
    m = _analytics(
        tmp_path,
        {"run_id": "x", "metadata": {"algo": "ppo"}, "notes": None, "optuna_db_path": "o.db"},
    )
    assert m.warnings == ()
