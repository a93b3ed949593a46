"""Training steps from checkpoint names: ``ckpt_500k.pt`` → 500000, ``checkpoint-2000`` → 2000."""

from __future__ import annotations

import re

__all__ = ["parse_step"]

_NUMBER = r"(\d+(?:\.\d+)?)([kKmMbB]?)"
_KEYWORD_BEFORE = re.compile(
    r"(?<![A-Za-z])(?:global_step|global-step|steps?|ckpt|checkpoint|iter(?:ation)?|it|updates?)"
    rf"[-_=]?{_NUMBER}(?![0-9A-Za-z])",
    re.IGNORECASE,
)
_KEYWORD_AFTER = re.compile(rf"(?<![0-9.]){_NUMBER}[-_]?(?:steps?|iters?)(?![A-Za-z])", re.I)
_TRAILING = re.compile(rf"(?:^|[-_.=]){_NUMBER}$")
_SCALE = {"": 1, "k": 1_000, "m": 1_000_000, "b": 1_000_000_000}


def parse_step(stem: str) -> int | None:
    """The step named by a checkpoint's file or directory name without its suffix, if any.

    A number after a step keyword wins (``epoch=3-step=1000`` → 1000), then a number before
    ``steps`` (``rl_model_10000_steps`` → 10000), then a trailing number unless the name only
    counts epochs (``model_1000`` → 1000, ``epoch_3`` → None). ``k``/``M``/``B`` scale it.
    """
    match = _KEYWORD_BEFORE.search(stem) or _KEYWORD_AFTER.search(stem)
    if match is None:
        if "epoch" in stem.lower():
            return None
        match = _TRAILING.search(stem)
        if match is None:
            return None
    number, scale = match.groups()
    return round(float(number) * _SCALE[scale.lower()])
