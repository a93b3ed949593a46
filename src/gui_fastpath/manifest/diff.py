"""What changed between two manifests, as dotted part names for watchers and tabs."""

from __future__ import annotations

import attrs

from gui_fastpath.manifest.model import ArtifactManifest, TensorBoardArtifacts

__all__ = ["diff_manifests"]

_IGNORED = frozenset({"generated_at"})


def diff_manifests(old: ArtifactManifest | None, new: ArtifactManifest) -> tuple[str, ...]:
    """Names of the parts of ``new`` that differ from ``old`` (in field order).

    Top-level fields by name (``checkpoints``, ``wandb``, ``logs``, ``warnings``, ...);
    inside TensorBoard, ``tensorboard.log_dir`` and ``tensorboard.event_files`` when both
    manifests have one, else ``tensorboard``. ``generated_at`` is never a change. With no
    ``old``, every part of ``new`` that is not empty counts as changed.
    """
    base = old if old is not None else ArtifactManifest(run_id="")
    changes: list[str] = []
    for field in attrs.fields(ArtifactManifest):
        name = field.name
        if name in _IGNORED:
            continue
        before, after = getattr(base, name), getattr(new, name)
        if before == after:
            continue
        if isinstance(before, TensorBoardArtifacts) and isinstance(after, TensorBoardArtifacts):
            changes.extend(
                f"tensorboard.{part.name}"
                for part in attrs.fields(TensorBoardArtifacts)
                if getattr(before, part.name) != getattr(after, part.name)
            )
        else:
            changes.append(name)
    return tuple(changes)
