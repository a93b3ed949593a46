"""W&B runs: ``run-*``/``offline-run-*`` folders under ``wandb/`` or ``wandb/wandb/``, and
under the ``wandb/`` sub-folder of a folder the hints or the run's layout name."""

from __future__ import annotations

import os
import time

from gui_fastpath.manifest._scan_base import FoundWandb, ScanBase
from gui_fastpath.manifest.hints import Hints, wandb_url
from gui_fastpath.manifest.model import WandbRun
from gui_fastpath.wandb.folders import RUN_FOLDER, run_id_of


class WandbScan(ScanBase):
    """The W&B rules of the scan; ``latest-run`` is never trusted blindly."""

    def _wandb_dir(self, path: str, rel: str, *, nested: bool) -> None:
        """``wandb/`` (and ``wandb/wandb/``): ``run-*`` and ``offline-run-*`` folders."""
        for entry in self._list(path, rel):
            name = entry.name
            child = f"{rel}/{name}"
            if entry.is_symlink():
                if name.startswith(("latest-run", "run-", "offline-run-")):
                    self._check_wandb_link(entry, child)
                continue
            if not entry.is_dir(follow_symlinks=False):
                continue
            match = RUN_FOLDER.match(name)
            if match is not None:
                offline, stamp = bool(match["offline"]), _local_time(match["stamp"])
                self._wandb_run(entry.path, child, match["id"], offline, stamp)
            elif name == "latest-run":
                self._wandb_run(entry.path, child, None, None, None)
            elif name == "wandb" and not nested:
                self._wandb_dir(entry.path, child, nested=True)

    def _check_wandb_link(self, entry: os.DirEntry[str], rel: str) -> None:
        if not self.run.holds(entry.path):
            self.warn(
                rel,
                "$",
                "symlink resolves outside the run directory; ignored",
                "keep W&B run folders inside the run directory (wandb.init(dir=...))",
            )

    def _wandb_run(
        self,
        path: str,
        rel: str,
        run_id: str | None,
        offline: bool | None,
        started_at: float | None,
    ) -> None:
        wandb_file = None
        file_id = None
        names = set()
        for entry in self._list(path, rel):
            names.add(entry.name)
            if entry.name.startswith("run-") and entry.name.endswith(".wandb"):
                wandb_file, file_id = f"{rel}/{entry.name}", entry.name[4:-6]
        copied_latest = run_id is None
        if run_id is None:  # a copied latest-run folder: the id is in the file name
            if file_id is None:
                return
            run_id = file_id
            offline = True
        elif file_id is not None:
            run_id = run_id_of(run_id, file_id)  # the folder may carry wandb's "-<n>"
            if file_id != run_id:
                self.warn(
                    rel,
                    "$",
                    f"folder is for run {run_id!r} but holds run-{file_id}.wandb",
                    "do not rename W&B run folders or files",
                )
        synced = wandb_file is not None and f"run-{file_id}.wandb.synced" in names
        self.wandb.append(
            FoundWandb(
                run_id,
                bool(offline),
                rel,
                wandb_file,
                synced or not offline,
                started_at,
                copied_latest,
            )
        )

    def _wandb_runs(self, hints: Hints) -> tuple[WandbRun, ...]:
        runs = []
        originals = {found.run_id for found in self.wandb if not found.copied_latest}
        found_ids = set()
        for found in sorted(self.wandb, key=_newest_wandb):
            if found.copied_latest and (found.run_id in originals or found.run_id in found_ids):
                continue
            found_ids.add(found.run_id)
            hint = next((h for h in hints.wandb if h.run_id == found.run_id), None)
            entity = hint.entity if hint else None
            project = hint.project if hint else None
            url = hint.url if hint else None
            if url is None and found.synced and entity and project:
                url = wandb_url(entity, project, found.run_id)
            runs.append(
                WandbRun(
                    run_id=found.run_id,
                    mode="offline" if found.offline else "online",
                    directory=found.directory,
                    wandb_file=found.wandb_file,
                    synced=found.synced,
                    entity=entity,
                    project=project,
                    url=url,
                    started_at=found.started_at,
                )
            )
        for hint in hints.wandb:
            if hint.run_id in found_ids:
                continue
            if hint.mode == "offline":
                self.warn(
                    hint.source,
                    hint.field,
                    f"offline W&B run {hint.run_id!r} has no offline-run-*-{hint.run_id} folder"
                    f" under {self._searched_wandb_folders()}",
                    "call wandb.init(dir=<run dir>) so the run is written inside the run directory",
                )
                continue
            url = hint.url
            if url is None and hint.entity and hint.project:
                url = wandb_url(hint.entity, hint.project, hint.run_id)
            runs.append(
                WandbRun(
                    run_id=hint.run_id,
                    mode="online",
                    synced=True,
                    entity=hint.entity,
                    project=hint.project,
                    url=url,
                )
            )
        return tuple(runs)

    def _searched_wandb_folders(self) -> str:
        """``wandb/``, or ``analytics/wandb/ or wandb/``: the outermost folders searched."""
        folders = sorted(self.wandb_dirs)
        outer = [f for f in folders if not any(f.startswith(f"{g}/") for g in folders)]
        return " or ".join(f"{folder}/" for folder in outer)


def _local_time(stamp: str) -> float | None:
    """W&B names run folders by local start time, ``YYYYmmdd_HHMMSS`` (digits, checked)."""
    year, month, day = int(stamp[:4]), int(stamp[4:6]), int(stamp[6:8])
    hour, minute, second = int(stamp[9:11]), int(stamp[11:13]), int(stamp[13:15])
    if not (1 <= month <= 12 and 1 <= day <= 31 and hour < 24 and minute < 60 and second < 62):
        return None
    try:
        return time.mktime((year, month, day, hour, minute, second, 0, 0, -1))
    except (ValueError, OverflowError):
        return None


def _newest_wandb(w: FoundWandb) -> tuple[float, str]:
    return (-(w.started_at or 0.0), w.directory)
