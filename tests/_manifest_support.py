"""Test support for the manifest parts: fixture run directories and path-safety checks."""

from __future__ import annotations

import importlib.util
import os
import shutil
from pathlib import Path
from types import ModuleType

from gui_fastpath.manifest import ArtifactManifest

FIXTURES = Path(__file__).resolve().parent.parent / "fixtures"


def copy_fixture(kind: str, name: str, dest: Path) -> Path:
    """A copy of ``fixtures/<kind>/<name>`` (symlinks kept) as ``dest/<name>``."""
    target = dest / name
    shutil.copytree(FIXTURES / kind / name, target, symlinks=True)
    return target


def regenerate_module() -> ModuleType:
    """``fixtures/regenerate.py`` as a module (it is a script, not part of the package)."""
    spec = importlib.util.spec_from_file_location("fixtures_regenerate", FIXTURES / "regenerate.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def manifest_paths(manifest: ArtifactManifest) -> list[str]:
    """Every path the manifest names."""
    paths: list[str] = list(manifest.hints)
    if manifest.tensorboard is not None:
        paths.append(manifest.tensorboard.log_dir)
        paths += [e.path for e in manifest.tensorboard.event_files]
    for run in manifest.wandb:
        paths += [p for p in (run.directory, run.wandb_file) if p is not None]
    paths += [c.path for c in manifest.checkpoints]
    paths += [p for p in (manifest.logs.stdout, manifest.logs.stderr, manifest.heartbeat) if p]
    return paths


def assert_paths_inside(run_dir: Path, manifest: ArtifactManifest) -> None:
    """Every manifest path is POSIX, relative, free of '..' and resolves inside the run."""
    real = os.path.realpath(run_dir)
    for path in manifest_paths(manifest):
        assert not path.startswith("/") and "\\" not in path, path
        assert ".." not in path.split("/"), path
        resolved = os.path.realpath(run_dir / path)
        assert resolved == real or resolved.startswith(real + os.sep), path
