"""Test support for the W&B parts: offline runs written by the installed ``wandb`` itself,
a private home for a test, and loopback servers that are down or hang.

``wandb.init`` starts a service process, so runs are written by a subprocess: nothing of
wandb lingers in the test process.
"""

from __future__ import annotations

import asyncio
import json
import os
import shutil
import socket
import subprocess
import sys
import textwrap
import threading
from pathlib import Path

import pytest
from aiohttp import web

_WRITER = """
import json, math, sys, time, wandb
out, steps, step_pause = sys.argv[1], int(sys.argv[2]), float(sys.argv[3])
extra = int(sys.argv[4]) if len(sys.argv) > 4 else 0
run = wandb.init(
    project="fastpath-tests", dir=out, mode="offline", name="demo-run", tags=["test"],
    config={"lr": 0.001, "optimizer": {"name": "adam", "betas": [0.9, 0.999]}, "seed": 7},
)
print(json.dumps({"folder": run.dir.rsplit("/files", 1)[0], "id": run.id}), flush=True)
for step in range(steps):
    row = {"loss": 1.0 / (step + 1), "reward": step * 0.5, "eval/score": step % 7}
    row.update({f"wave/{j}": math.sin(step * 0.001 * (j + 1)) for j in range(extra)})
    run.log(row)
    if step_pause:
        time.sleep(step_pause)
run.finish()
"""


def wandb_env(home: Path) -> dict[str, str]:
    """An environment for a wandb subprocess that keeps its caches under ``home``."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("WANDB_")}
    env.update(
        HOME=str(home),
        XDG_CACHE_HOME=str(home / ".cache"),
        XDG_CONFIG_HOME=str(home / ".config"),
        WANDB_SILENT="true",
    )
    return env


def private_home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """Make ``tmp_path/home`` this test's HOME, state, config and cache dirs; return it.

    No ``WANDB_*`` variable nor queue override is left, so wandb's caches and files, our
    sync queue and any credential lookup stay inside the test.
    """
    home = tmp_path / "home"
    home.mkdir()
    for name in list(os.environ):
        if name.startswith("WANDB_"):
            monkeypatch.delenv(name)
    monkeypatch.delenv("GUI_FASTPATH_SYNC_QUEUE", raising=False)
    monkeypatch.setenv("HOME", str(home))
    monkeypatch.setenv("XDG_STATE_HOME", str(home / "state"))
    monkeypatch.setenv("XDG_CONFIG_HOME", str(home / ".config"))
    monkeypatch.setenv("XDG_CACHE_HOME", str(home / ".cache"))
    return home


def write_offline_run(
    run_dir: Path, *, steps: int = 20, home: Path | None = None, extra_metrics: int = 0
) -> Path:
    """Write a finished offline run under ``run_dir/wandb``; return its ``offline-run-*`` folder.

    Each step logs ``loss``, ``reward``, ``eval/score`` and ``extra_metrics`` sine waves.
    """
    run_dir.mkdir(parents=True, exist_ok=True)
    home = home or run_dir.parent / "wandb-home"
    home.mkdir(parents=True, exist_ok=True)
    done = subprocess.run(
        [sys.executable, "-c", _WRITER, str(run_dir), str(steps), "0", str(extra_metrics)],
        env=wandb_env(home),
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    )
    return Path(json.loads(done.stdout.splitlines()[0])["folder"])


def copy_run(source_run_dir: Path, dest_run_dir: Path) -> Path:
    """Copy a written run (a run directory) and return the copy's ``offline-run-*`` folder."""
    shutil.copytree(source_run_dir, dest_run_dir, symlinks=True)
    return next((dest_run_dir / "wandb").glob("offline-run-*"))


def start_live_run(run_dir: Path, *, steps: int, step_pause: float, home: Path) -> subprocess.Popen:
    """Start a run that keeps logging; the first stdout line (JSON) names its folder."""
    run_dir.mkdir(parents=True, exist_ok=True)
    home.mkdir(parents=True, exist_ok=True)
    return subprocess.Popen(
        [sys.executable, "-c", _WRITER, str(run_dir), str(steps), str(step_pause)],
        env=wandb_env(home),
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        text=True,
    )


def closed_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class HangingServer:
    """A loopback HTTP server that answers ``/`` (or not) and never answers anything else."""

    def __init__(self, *, answer_root: bool) -> None:
        self.answer_root = answer_root
        self.release = asyncio.Event()
        self.hits = 0
        self.paths: list[str] = []
        self.url = ""
        self._runner: web.AppRunner | None = None

    async def _handle(self, request: web.Request) -> web.Response:
        self.hits += 1
        self.paths.append(request.path)
        if self.answer_root and request.path == "/":
            return web.Response(text="W&B-ish")
        await self.release.wait()
        return web.Response(status=503)

    async def __aenter__(self) -> HangingServer:
        app = web.Application()
        app.router.add_route("*", "/{tail:.*}", self._handle)
        self._runner = web.AppRunner(app, shutdown_timeout=0.1)
        await self._runner.setup()
        site = web.TCPSite(self._runner, "127.0.0.1", 0)
        await site.start()
        port = site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]
        self.url = f"http://127.0.0.1:{port}"
        return self

    async def __aexit__(self, *exc: object) -> None:
        self.release.set()
        assert self._runner is not None
        await self._runner.cleanup()


class LocalPage:
    """A loopback HTTP server on a thread: every GET answers a small HTML page.

    For Qt tests, which have no asyncio loop; stands in for a reachable W&B server.
    """

    def __init__(self, title: str = "W&B run page") -> None:
        from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

        body = f"<html><head><title>{title}</title></head><body>{title}</body></html>".encode()
        paths: list[str] = []

        class _Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                paths.append(self.path)
                self.send_response(200)
                self.send_header("Content-Type", "text/html")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, *args: object) -> None:
                pass

        self.paths = paths
        self._server = ThreadingHTTPServer(("127.0.0.1", 0), _Handler)
        self.url = f"http://127.0.0.1:{self._server.server_address[1]}"
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)

    def __enter__(self) -> LocalPage:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._server.shutdown()
        self._server.server_close()
        self._thread.join(5)


FAKE_WANDB = textwrap.dedent(
    """
    # A stand-in for the wandb CLI at the subprocess seam: `fake sync <folder>`.
    import os, pathlib, signal, sys, time
    mode = os.environ["FAKE_WANDB_MODE"]
    assert sys.argv[1] == "sync", sys.argv
    folder = pathlib.Path(sys.argv[2])
    key = os.environ.get("WANDB_API_KEY", "")
    print(f"wandb: uploading to {os.environ['WANDB_BASE_URL']} with key {key}", flush=True)
    print("wandb: 3 of 5 files uploaded\\rwandb: 5 of 5 files uploaded", flush=True)
    if mode == "ok":
        for log in folder.glob("*.wandb"):
            log.with_name(log.name + ".synced").touch()
    elif mode == "no-marker":
        pass
    elif mode == "exit-1":
        print("wandb: ERROR permission denied for entity 'someone'", flush=True)
        sys.exit(1)
    elif mode == "block":
        time.sleep(3600)
    elif mode == "stubborn":
        signal.signal(signal.SIGTERM, signal.SIG_IGN)
        print("wandb: ignoring SIGTERM", flush=True)
        time.sleep(3600)
    """
)
