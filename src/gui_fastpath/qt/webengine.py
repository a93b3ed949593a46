"""QtWebEngine set-up that must happen before the first ``QApplication`` exists."""

from __future__ import annotations

import logging
import os

log = logging.getLogger(__name__)

__all__ = ["FLAGS_VAR", "prepare_webengine"]

FLAGS_VAR = "QTWEBENGINE_CHROMIUM_FLAGS"


def prepare_webengine() -> None:
    """Let Chromium start when we run as root, where it refuses to without ``--no-sandbox``.

    Only then, and with a warning: the sandbox is a defence worth keeping otherwise.
    """
    if os.geteuid() != 0:
        return
    flags = os.environ.get(FLAGS_VAR, "")
    if "--no-sandbox" in flags.split():
        return
    log.warning(
        "running as root: adding --no-sandbox to %s so QtWebEngine can start; "
        "run the GUI as a normal user to keep Chromium's sandbox",
        FLAGS_VAR,
    )
    os.environ[FLAGS_VAR] = f"{flags} --no-sandbox".strip()
