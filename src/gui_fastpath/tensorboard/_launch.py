"""A managed TensorBoard process: ``python -P .../_launch.py`` (stdlib and tensorboard only).

It imports TensorBoard before it knows what to serve, so a spare one can wait, warm, for
the next tab. Its arguments then arrive as one JSON line on stdin, which keeps the secret
path prefix out of the process list. After that, stdin is the lifeline: at end of file, or
when the parent process changes, the whole process group (TensorBoard and the data server
it may have started) is killed, so nothing outlives the GUI even if the GUI is SIGKILLed.
TensorBoard's info file (``/tmp/.tensorboard-info``) is not written: it would hold the
secret.
"""

from __future__ import annotations

import json
import os
import select
import signal
import sys
import threading
from typing import Any

_POLL_SECONDS = 0.5
_IMPORTED = "gui-fastpath: TensorBoard imported, waiting for its arguments"


def main() -> int:
    parent = os.getppid()
    received: list[list[str]] = []
    arrived = threading.Event()
    threading.Thread(
        target=_lifeline, args=(parent, received, arrived), name="lifeline", daemon=True
    ).start()
    tensorboard = _prepare()
    sys.stderr.write(f"{_IMPORTED}\n")
    sys.stderr.flush()
    arrived.wait()
    return _serve(tensorboard, received[0])


def _lifeline(parent: int, received: list[list[str]], arrived: threading.Event) -> None:
    """Hand over the first stdin line as arguments; die with the group at EOF or orphaning."""
    buffer = b""
    while os.getppid() == parent:
        ready, _, _ = select.select([0], [], [], _POLL_SECONDS)
        if not ready:
            continue
        chunk = os.read(0, 65536)
        if not chunk:
            break
        if not arrived.is_set():
            buffer += chunk
            line, newline, _ = buffer.partition(b"\n")
            if newline:
                received.append([str(a) for a in json.loads(line)])
                arrived.set()
    _kill_own_group()


def _kill_own_group() -> None:
    if os.getpgrp() == os.getpid():
        os.killpg(0, signal.SIGKILL)
    os._exit(1)  # not a group leader (started by hand): at least this process goes


def _prepare() -> Any:
    """Everything slow that does not depend on the arguments."""
    from tensorboard import default, main_lib, program

    class _ManagedTensorBoard(program.TensorBoard):  # type: ignore[misc]
        def _register_info(self, server: Any) -> None:
            """Skip the info file: it would put the secret path prefix on disk."""

    main_lib.global_init()
    return _ManagedTensorBoard(plugins=default.get_plugins())


def _serve(tensorboard: Any, args: list[str]) -> int:
    from absl import app
    from tensorboard.plugins import base_plugin

    try:
        app.run(tensorboard.main, argv=["tensorboard", *args], flags_parser=tensorboard.configure)
    except base_plugin.FlagsError as exc:
        print(f"Error: {exc}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
