"""Lane decisions, worker declarations from entry points, and the fast-lane config rewrite."""

from __future__ import annotations

import copy
import dataclasses
import logging
import sys
import textwrap
from pathlib import Path

import pytest

from gui_fastpath.lifecycle import RunState, Supervisor
from gui_fastpath.routing import (
    DeclarationError,
    FastPathRouting,
    FastPathWorker,
    Lane,
    RoutingStrategy,
    TrainConfigError,
    command_from_train_config,
    decide_lane,
    declaration_from_object,
    discover_workers,
    rewrite_train_config,
    total_steps_from_config,
)

pytestmark = pytest.mark.timeout(30)

WORKERS = Path(__file__).parent / "workers"


@dataclasses.dataclass(frozen=True)
class WorkerDefinition:
    """The shape of the host catalog's entry (gym_gui worker_catalog)."""

    worker_id: str
    display_name: str = ""
    requires_live_telemetry: bool = False
    provides_fast_analytics: bool = False


def host_train_config() -> dict:
    """A config shaped like the host's CleanRL and SPADE-BDI train forms return."""
    return {
        "run_name": "cleanrl-ppo-20260101",
        "entry_point": sys.executable,
        "arguments": ["-m", "cleanrl_worker.cli"],
        "environment": {"TRACK_TENSORBOARD": "1", "WANDB_MODE": "offline", "SEED": "1"},
        "resources": {"cpus": 4, "memory_mb": 4096, "gpus": {"requested": 0}},
        "artifacts": {"output_prefix": "runs/x", "persist_logs": True},
        "metadata": {
            "ui": {
                "worker_id": "cleanrl_worker",
                "disable_telemetry": False,
                "path_config": {
                    "ui_only": {"live_rendering_enabled": True, "render_delay_ms": 50},
                    "telemetry_durable": {"disabled": False, "telemetry_buffer_size": 512},
                },
            },
            "worker": {
                "worker_id": "cleanrl_worker",
                "module": "cleanrl_worker.cli",
                "use_grpc": True,
                "grpc_target": "127.0.0.1:50055",
                "config": {"total_timesteps": 500_000, "extras": {"cuda": True}},
            },
            "artifacts": {
                "tensorboard": {"enabled": True, "relative_path": "var/trainer/runs/x/tb"},
                "wandb": {"enabled": True, "run_path": None},
            },
        },
    }


def changed_paths(before, after, prefix="") -> set[str]:
    if isinstance(before, dict) and isinstance(after, dict):
        paths = set()
        for key in before.keys() | after.keys():
            if key not in before or key not in after:
                paths.add(f"{prefix}{key}")
            else:
                paths |= changed_paths(before[key], after[key], f"{prefix}{key}.")
        return paths
    return set() if before == after else {prefix.rstrip(".")}


# -- lane decision ------------------------------------------------------------------------


FAST_DECL = FastPathWorker(worker_id="w", source="acme-rl.w")


@pytest.mark.parametrize(
    ("kwargs", "lane", "reason"),
    [
        ({}, Lane.LIVE, "no fast-path declaration or catalog flag"),
        ({"live_view": False}, Lane.DURABLE, "no fast-path declaration or catalog flag"),
        (
            {"catalog_entry": WorkerDefinition("w", provides_fast_analytics=True)},
            Lane.FAST,
            "the host catalog flags provides_fast_analytics",
        ),
        (
            {"catalog_entry": {"provides_fast_analytics": True}},
            Lane.FAST,
            "the host catalog flags provides_fast_analytics",
        ),
        (
            {"declaration": FAST_DECL},
            Lane.FAST,
            "its declaration (acme-rl.w) says it writes its own analytics",
        ),
        (
            {
                "declaration": FAST_DECL,
                "catalog_entry": WorkerDefinition("w", requires_live_telemetry=True),
            },
            Lane.LIVE,
            "the host catalog says the worker requires live telemetry",
        ),
        (
            {"declaration": FastPathWorker("w", requires_live_telemetry=True, source="a.w")},
            Lane.LIVE,
            "its declaration (a.w) requires live telemetry",
        ),
        (
            {"declaration": FastPathWorker("w", writes_own_analytics=False)},
            Lane.LIVE,
            "no fast-path declaration or catalog flag",
        ),
        (
            {"declaration": FAST_DECL, "requested": Lane.DURABLE},
            Lane.DURABLE,
            "the operator chose the durable lane",
        ),
    ],
)
def test_decide_lane(kwargs, lane, reason):
    decision = decide_lane("w", **kwargs)
    assert (decision.lane, decision.reason) == (lane, reason)
    assert decision.declaration is kwargs.get("declaration")


# -- declarations -------------------------------------------------------------------------


def test_declaration_from_mapping_and_object():
    class Declared:
        worker_id = "x"
        tensorboard_dir = "logs/tb"

    assert declaration_from_object(Declared, source="d.x") == FastPathWorker(
        "x", tensorboard_dir="logs/tb"
    )
    assert declaration_from_object({"worker_id": "x", "wandb_dir": "wb"}).wandb_dir == "wb"


@pytest.mark.parametrize(
    ("value", "message"),
    [
        ({"worker_id": ""}, "field 'worker_id': '' is not a non-empty string; set it to the"),
        ({"worker_id": "x", "tensorboard_dir": "/abs"}, "field 'tensorboard_dir': '/abs' is abs"),
        ({"worker_id": "x", "wandb_dir": "../up"}, "'../up' escapes the run directory; use a"),
        ({"worker_id": "x", "writes_own_analytics": "yes"}, "'yes' is not true or false"),
        ({"worker_id": "x", "tb_dir": "t"}, "field 'tb_dir' is not a declaration field; use"),
    ],
)
def test_bad_declarations_name_the_field(value, message):
    with pytest.raises(DeclarationError) as info:
        declaration_from_object(value)
    assert message in str(info.value)


@pytest.fixture
def acme_dist(tmp_path, monkeypatch):
    """A third-party distribution declaring workers, some of them broken."""
    dist_info = tmp_path / "acme_rl-1.0.dist-info"
    dist_info.mkdir()
    (dist_info / "METADATA").write_text("Metadata-Version: 2.1\nName: acme-rl\nVersion: 1.0\n")
    (dist_info / "entry_points.txt").write_text(
        textwrap.dedent(
            """\
            [gui_fastpath.workers]
            ppo = acme_rl_decl:PPO
            dqn = acme_rl_decl:DQN
            bad = acme_rl_decl:BAD
            missing = acme_rl_missing:X
            zz_dup = acme_rl_decl:PPO_AGAIN
            """
        )
    )
    (tmp_path / "acme_rl_decl.py").write_text(
        textwrap.dedent(
            """\
            from gui_fastpath.routing import FastPathWorker

            IMPORTS = [1]
            PPO = FastPathWorker(
                worker_id="acme_ppo",
                tensorboard_dir="runs/tb",
                total_steps_key="metadata.worker.config.steps",
            )
            DQN = {"worker_id": "acme_dqn", "writes_own_analytics": True}
            BAD = {"worker_id": "acme_bad", "tensorboard_dir": "/var/tb"}
            PPO_AGAIN = {"worker_id": "acme_ppo"}
            """
        )
    )
    monkeypatch.syspath_prepend(str(tmp_path))
    monkeypatch.setattr("gui_fastpath.routing.discovery._blocked", {})  # a fresh process
    yield
    sys.modules.pop("acme_rl_decl", None)


def test_discovery_keeps_good_plugins_and_reports_bad_ones(acme_dist, caplog):
    with caplog.at_level(logging.WARNING):
        found = discover_workers()
    ours = {w.worker_id: w for w in found.workers if (w.source or "").startswith("acme-rl.")}
    assert set(ours) == {"acme_ppo", "acme_dqn"}
    assert ours["acme_ppo"].source == "acme-rl.ppo"
    assert ours["acme_ppo"].tensorboard_dir == "runs/tb"
    problems = {p.name: str(p) for p in found.problems if p.distribution == "acme-rl"}
    assert set(problems) == {"bad", "missing", "zz_dup"}
    assert problems["bad"] == (
        "plugin 'bad' from acme-rl in entry-point group 'gui_fastpath.workers' "
        "(acme_rl_decl:BAD): bad declaration: field 'tensorboard_dir': '/var/tb' is absolute; "
        "use a path relative to the run directory, e.g. 'tensorboard'. "
        "Fix: correct acme_rl_decl:BAD in acme-rl"
    )
    assert problems["zz_dup"].endswith(
        "worker id 'acme_ppo' is already declared by acme-rl.ppo. Fix: uninstall one of the "
        "two, or give acme_rl_decl:PPO_AGAIN its own worker_id"
    )
    assert "install the missing module 'acme_rl_missing'" in problems["missing"]
    logged = [r.getMessage() for r in caplog.records if "acme-rl" in r.getMessage()]
    assert sorted(logged) == sorted(problems.values())  # one line per bad plugin


def test_a_failed_plugin_is_blocked_not_retried(acme_dist, caplog):
    discover_workers()
    caplog.clear()
    with caplog.at_level(logging.WARNING):
        again = discover_workers()
    assert {p.name for p in again.problems if p.distribution == "acme-rl"} >= {"bad", "missing"}
    assert not [r for r in caplog.records if "'bad'" in r.getMessage()]


def test_routing_strategy_uses_the_declared_layout(acme_dist, tmp_path):
    routing = FastPathRouting()
    assert isinstance(routing, RoutingStrategy)
    decision = routing.decide("acme_ppo", WorkerDefinition("acme_ppo"))
    assert decision.lane is Lane.FAST
    config = host_train_config()
    config["metadata"]["worker"]["config"]["steps"] = 1234
    out = routing.prepare_train_config(config, tmp_path / "run1", decision)
    assert out["environment"]["GUI_FASTPATH_TENSORBOARD_DIR"] == str(tmp_path / "run1/runs/tb")
    assert out["metadata"]["fast_path"]["total_steps"] == 1234
    assert out["metadata"]["fast_path"]["declared_by"] == "acme-rl.ppo"
    live = routing.decide("spade_bdi", WorkerDefinition("spade_bdi", requires_live_telemetry=True))
    assert routing.prepare_train_config(config, tmp_path / "run2", live) == config


# -- train config rewrite -----------------------------------------------------------------


def test_rewrite_changes_only_telemetry_and_locations(tmp_path):
    config = host_train_config()
    pristine = copy.deepcopy(config)
    out = rewrite_train_config(config, tmp_path / "runs" / "01J")
    assert config == pristine  # the input is never mutated
    run_dir = tmp_path / "runs" / "01J"
    assert changed_paths(config, out) == {
        "metadata.worker.use_grpc",
        "metadata.ui.disable_telemetry",
        "metadata.ui.path_config.ui_only.live_rendering_enabled",
        "metadata.ui.path_config.telemetry_durable.disabled",
        "metadata.fast_path",
        "environment.DISABLE_TELEMETRY",
        "environment.GUI_FASTPATH_LANE",
        "environment.GUI_FASTPATH_RUN_DIR",
        "environment.GUI_FASTPATH_RUN_ID",
        "environment.GUI_FASTPATH_TENSORBOARD_DIR",
        "environment.GUI_FASTPATH_CHECKPOINTS_DIR",
        "environment.GUI_FASTPATH_HEARTBEAT_FILE",
        "environment.WANDB_DIR",
    }
    assert out["metadata"]["worker"]["use_grpc"] is False
    assert out["metadata"]["ui"]["path_config"]["telemetry_durable"]["disabled"] is True
    env = out["environment"]
    assert env["WANDB_MODE"] == "offline"
    assert env["WANDB_DIR"] == str(run_dir / "wandb")
    assert env["GUI_FASTPATH_TENSORBOARD_DIR"] == str(run_dir / "tensorboard")
    assert env["GUI_FASTPATH_RUN_ID"] == "01J"
    assert out["metadata"]["fast_path"] == {
        "lane": "fast",
        "run_id": "01J",
        "run_dir": str(run_dir),
        "tensorboard_dir": "tensorboard",
        "wandb_dir": "wandb",
        "checkpoints_dir": "checkpoints",
        "heartbeat_file": "heartbeat.json",
        "declared_by": None,
        "total_steps": 500_000,
    }


@pytest.mark.parametrize(
    ("user_mode", "forced", "expected"),
    [
        (None, None, "offline"),
        ("online", None, "online"),
        ("disabled", None, "disabled"),
        ("dryrun", None, "offline"),
        ("online", "offline", "offline"),
    ],
)
def test_wandb_mode_is_offline_unless_the_user_chose_otherwise(
    tmp_path, user_mode, forced, expected
):
    config = host_train_config()
    config["environment"].pop("WANDB_MODE")
    if user_mode:
        config["environment"]["WANDB_MODE"] = user_mode
    out = rewrite_train_config(config, tmp_path, wandb_mode=forced)
    assert out["environment"]["WANDB_MODE"] == expected


def test_wandb_online_from_the_artifacts_section(tmp_path):
    config = {"metadata": {"artifacts": {"wandb": {"mode": "online"}}}}
    assert rewrite_train_config(config, tmp_path)["environment"]["WANDB_MODE"] == "online"


def test_minimal_config_gains_only_our_sections(tmp_path):
    out = rewrite_train_config({"run_name": "r"}, tmp_path)
    assert set(out) == {"run_name", "environment", "metadata"}
    assert set(out["metadata"]) == {"fast_path"}


@pytest.mark.parametrize(
    ("config", "message"),
    [
        ([], "the train config must be an object, got list; pass the dict"),
        ({"environment": ["A=1"]}, "train config field 'environment' must be an object, got list"),
        ({"metadata": "x"}, "train config field 'metadata' must be an object, got str"),
    ],
)
def test_rewrite_rejects_configs_that_are_not_host_shaped(tmp_path, config, message):
    with pytest.raises(TrainConfigError) as info:
        rewrite_train_config(config, tmp_path)
    assert str(info.value).startswith(message)


def test_total_steps_prefers_the_declared_key():
    config = {"metadata": {"worker": {"config": {"total_timesteps": 10, "budget": 99}}}}
    assert total_steps_from_config(config) == 10
    declared = FastPathWorker("w", total_steps_key="metadata.worker.config.budget")
    assert total_steps_from_config(config, declared) == 99
    assert total_steps_from_config({}) is None


def test_command_from_train_config():
    argv, env = command_from_train_config(host_train_config())
    assert argv == [sys.executable, "-m", "cleanrl_worker.cli"]
    assert env["SEED"] == "1"
    with pytest.raises(TrainConfigError, match="'entry_point' is None; set it to the worker's"):
        command_from_train_config({})
    with pytest.raises(TrainConfigError, match=r"'environment\.N' must be a string"):
        command_from_train_config({"entry_point": "x", "environment": {"N": None}})


async def test_rewritten_config_reaches_a_real_worker(tmp_path):
    config = {
        "entry_point": sys.executable,
        "arguments": [str(WORKERS / "print_env.py")],
        "environment": {"MY_SETTING": "kept"},
        "metadata": {"worker": {"worker_id": "w", "use_grpc": True}},
    }
    run_dir = tmp_path / "runs" / "01JRUN"
    argv, env = command_from_train_config(rewrite_train_config(config, run_dir))
    sup = Supervisor(argv, run_dir, env=env, refresh_manifest=None)
    final = await sup.run()
    assert final.state is RunState.COMPLETED
    assert sup.stdout_log.read_text().splitlines() == [
        "GUI_FASTPATH_LANE=fast",
        f"GUI_FASTPATH_RUN_DIR={run_dir}",
        f"GUI_FASTPATH_TENSORBOARD_DIR={run_dir / 'tensorboard'}",
        f"WANDB_DIR={run_dir / 'wandb'}",
        "WANDB_MODE=offline",
        "DISABLE_TELEMETRY=1",
        "MY_SETTING=kept",
    ]
