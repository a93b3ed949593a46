"""Finding the default W&B server must not import wandb (a GUI thread would stall on it)."""

from __future__ import annotations

import subprocess
import sys

import pytest

pytestmark = pytest.mark.timeout(60)


def test_default_base_url_is_wandbs_own_without_importing_wandb():
    code = (
        "import sys\n"
        "from gui_fastpath.wandb.urls import default_base_url\n"
        "url = default_base_url()\n"
        "assert 'wandb' not in sys.modules, 'wandb was imported'\n"
        "print(url)\n"
    )
    found = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, timeout=30, check=True
    ).stdout.strip()
    from wandb.sdk.lib.urls import DEFAULT_BASE_URL

    assert found == DEFAULT_BASE_URL
