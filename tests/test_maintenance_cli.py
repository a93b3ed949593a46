"""``gui-fastpath du``, ``prune`` and ``compress``: output, JSON and exit status."""

from __future__ import annotations

import json

import pytest

from _maintenance_support import copy_root, template_root, tree
from gui_fastpath.cli import main

pytestmark = pytest.mark.timeout(60)


@pytest.fixture
def runs(tmp_path, tmp_path_factory):
    return copy_root(template_root(tmp_path_factory.mktemp("template")), tmp_path / "runs")


def _run(capsys, *argv):
    status = main(list(argv))
    out, err = capsys.readouterr()
    return status, out, err


def test_du_text_and_json(runs, capsys):
    status, out, err = _run(capsys, "du", str(runs))
    assert status == 0 and not err
    lines = out.splitlines()
    assert lines[0].startswith(f"runs root {runs}: 6 runs (5 finished, 0 running, 1 unknown); ")
    assert lines[2].split() == ["category", "size", "files"]
    assert [line.split()[0] for line in lines[3:10]] == [
        "tensorboard",
        "archived",
        "wandb",
        "wandb",
        "checkpoints",
        "logs",
        "other",
    ]
    status, out, _ = _run(capsys, "du", str(runs), "--json")
    data = json.loads(out)
    assert status == 0 and data["path"] == str(runs) and not data["single_run"]
    assert {r["run_id"]: r["state"] for r in data["runs"]}["no-journal"] == "unknown"
    assert data["size"] == sum(r["size"] for r in data["runs"])
    status, out, _ = _run(capsys, "du", str(runs / "old-failed"), "--json")
    assert json.loads(out)["runs"][0]["last_state"] == "FAILED"


def test_prune_is_a_dry_run_until_apply(runs, capsys):
    before = tree(runs)
    status, out, err = _run(capsys, "prune", str(runs), "--keep-checkpoints", "3")
    assert status == 0 and not err
    lines = out.splitlines()
    assert lines[0] == "dry run: nothing is changed; run again with --apply to do this"
    assert (
        "would delete old-done/checkpoints/qtable_step_500.npz (1.4 KB): "
        "only the newest 3 of 4 checkpoints are kept"
    ) in lines
    assert lines[-1].startswith("would free ") and lines[-1].endswith(
        ": 4 checkpoint(s), 0 run(s); 1 skipped"
    )
    assert tree(runs) == before
    status, out, _ = _run(capsys, "prune", str(runs), "--keep-checkpoints", "3", "--apply")
    lines = out.splitlines()
    assert status == 0 and lines[0].startswith("deleted ")
    assert "refreshed old-done/artifacts.json: checkpoints changed" in lines
    assert lines[-1].startswith("freed ")


def test_prune_json_and_options(runs, capsys):
    status, out, _ = _run(capsys, "prune", str(runs), "--runs-older-than-days", "30", "--json")
    data = json.loads(out)
    assert status == 0 and data["applied"] is False
    assert {a["path"] for a in data["actions"]} == {"old-done", "old-failed", "old-synced"}
    assert all(a["op"] == "delete_run" for a in data["actions"])
    assert data["bytes_freed"] == sum(a["size"] for a in data["actions"])
    for argv, message in [
        ((), "nothing to do: give --keep-checkpoints N and/or --runs-older-than-days D"),
        (
            ("--keep-checkpoints", "0"),
            "--keep-checkpoints must be 1 or more: a run's newest checkpoint always stays",
        ),
        (("--runs-older-than-days", "-1"), "--runs-older-than-days must be 0 or more"),
    ]:
        status, out, err = _run(capsys, "prune", str(runs), *argv)
        assert (status, out, err) == (2, "", f"gui-fastpath prune: {message}\n")


def test_compress_dry_run_apply_and_json(runs, capsys):
    status, out, _ = _run(capsys, "compress", str(runs))
    lines = out.splitlines()
    assert status == 0 and lines[0].startswith("dry run: ")
    assert "would compress old-done/logs/worker.stdout.log" in lines[1]
    assert lines[1].endswith("): COMPLETED 40 d ago")
    status, out, _ = _run(capsys, "compress", str(runs), "--older-than-days", "50")
    assert out.splitlines()[1:] == [
        "skipped no-journal: state unknown: no lifecycle.jsonl (not run by a supervisor)",
        "would compress 0 log(s) (0 B); 1 skipped",
    ]
    status, out, _ = _run(capsys, "compress", str(runs), "--apply", "--json")
    data = json.loads(out)
    assert status == 0 and data["applied"] and len(data["actions"]) == 4
    assert all(a["new_size"] < a["size"] for a in data["actions"])
    assert (runs / "old-done" / "logs" / "worker.stdout.log.gz").exists()


@pytest.mark.parametrize("command", [["du"], ["prune", "--keep-checkpoints", "1"], ["compress"]])
def test_bad_root_is_a_one_line_error_with_status_2(tmp_path, capsys, command):
    name = command[0]
    status, out, err = _run(capsys, name, str(tmp_path / "missing"), *command[1:])
    what = "runs root or run" if name == "du" else "runs root"
    assert (status, out) == (2, "")
    assert err == f"gui-fastpath {name}: {what} not found: {tmp_path / 'missing'}\n"


def test_a_failed_change_exits_1(runs, capsys, monkeypatch):
    def refuse(target, checkpoint):
        raise PermissionError(13, "Permission denied")

    monkeypatch.setattr("gui_fastpath.maintenance.pruning._delete_checkpoint", refuse)
    status, out, _ = _run(capsys, "prune", str(runs), "--keep-checkpoints", "3", "--apply")
    assert status == 1
    assert "failed old-done/checkpoints/qtable_step_500.npz: Permission denied" in out.splitlines()
    assert (runs / "old-done" / "checkpoints" / "qtable_step_500.npz").exists()
    assert out.splitlines()[-1].endswith("; 1 skipped, 4 failed")
