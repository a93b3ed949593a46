"""The SSE bridge: runs and their events over HTTP, for a GUI on another machine or process.

``GET /runs`` lists the runs with their latest state; ``GET /runs/{run_id}/events`` streams
one run's lifecycle and artifact events and ``GET /events`` the list of runs, as
Server-Sent Events that resume from ``Last-Event-ID`` (or ``?last_event_id=``). Every request
needs the per-start token, as ``Authorization: Bearer <token>`` or ``?token=`` (for a
browser ``EventSource``). Built on ``aiohttp.web``; binds 127.0.0.1 unless told otherwise.
"""

from __future__ import annotations

import hmac
import ipaddress
import logging
import secrets
from collections.abc import Awaitable, Callable

import attrs
from aiohttp import web
from aiohttp.abc import AbstractAccessLogger

from gui_fastpath.bridge._hub import GlobalSubscription, RunSubscription, SubscriberDroppedError
from gui_fastpath.bridge.events import BadEventIdError, BadRunIdError
from gui_fastpath.bridge.local import LocalEventSource
from gui_fastpath.bridge.sse import encode_comment, encode_message

__all__ = ["DEFAULT_HOST", "BridgeServer", "create_app", "is_loopback"]

DEFAULT_HOST = "127.0.0.1"

_log = logging.getLogger(__name__)

_Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]


@attrs.define
class _Settings:
    token: bytes
    heartbeat_s: float
    streams: set[RunSubscription | GlobalSubscription] = attrs.Factory(set)
    closing: bool = False


_SOURCE = web.AppKey("source", LocalEventSource)
_SETTINGS = web.AppKey("settings", _Settings)


def is_loopback(host: str) -> bool:
    """True for ``localhost`` and loopback addresses (127.0.0.0/8, ::1)."""
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def create_app(
    source: LocalEventSource, token: str, *, heartbeat_s: float = 15.0
) -> web.Application:
    """The bridge as an ``aiohttp`` application (tests and embedding hosts run it)."""
    app = web.Application(middlewares=[_require_token])
    app[_SOURCE] = source
    app[_SETTINGS] = _Settings(token.encode(), heartbeat_s)
    app.router.add_get("/runs", _list_runs)
    app.router.add_get("/events", _all_runs_events)
    app.router.add_get("/runs/{run_id}/events", _run_events)
    app.on_shutdown.append(_end_streams)
    return app


@web.middleware
async def _require_token(request: web.Request, handler: _Handler) -> web.StreamResponse:
    expected = request.app[_SETTINGS].token
    header = request.headers.get("Authorization", "")
    scheme, _, offered = header.partition(" ")
    if scheme.lower() != "bearer":
        offered = request.query.get("token", "")
    if not hmac.compare_digest(offered.strip().encode(), expected):
        raise web.HTTPUnauthorized(
            text="missing or wrong token: send 'Authorization: Bearer <token>' with the token "
            "'gui-fastpath serve' printed at start\n",
            headers={"WWW-Authenticate": 'Bearer realm="gui-fastpath"'},
        )
    return await handler(request)


async def _list_runs(request: web.Request) -> web.Response:
    runs = await request.app[_SOURCE].list_runs()
    return web.json_response({"runs": [r.to_dict() for r in runs]})


async def _run_events(request: web.Request) -> web.StreamResponse:
    return await _stream(request, request.match_info["run_id"])


async def _all_runs_events(request: web.Request) -> web.StreamResponse:
    return await _stream(request, None)


async def _stream(request: web.Request, run_id: str | None) -> web.StreamResponse:
    settings = request.app[_SETTINGS]
    last = request.headers.get("Last-Event-ID") or request.query.get("last_event_id")
    try:
        subscription = await request.app[_SOURCE].open_subscription(run_id, last)
    except BadRunIdError as exc:
        raise web.HTTPNotFound(text=f"{exc}\n") from None
    except BadEventIdError as exc:
        raise web.HTTPBadRequest(text=f"{exc}\n") from None
    label = f"run {run_id}" if run_id else "all runs"
    settings.streams.add(subscription)
    response = web.StreamResponse(
        headers={
            "Content-Type": "text/event-stream; charset=utf-8",
            "Cache-Control": "no-cache",
            "X-Accel-Buffering": "no",
        }
    )
    try:
        await response.prepare(request)
        await response.write(encode_comment(f"gui-fastpath events of {label}"))
        while not settings.closing:
            item = await subscription.next(settings.heartbeat_s)
            if item is None:
                if not settings.closing:
                    await response.write(encode_comment())
                continue
            event, payload = item
            await response.write(encode_message(event.kind, payload, event.id))
            if event.kind == "run_removed" and run_id is not None:
                break
    except SubscriberDroppedError as exc:
        _log.warning("dropping slow SSE client %s of %s: %s", request.remote, label, exc)
    except ConnectionError:
        _log.debug("SSE client %s of %s went away", request.remote, label)
    finally:
        settings.streams.discard(subscription)
        subscription.close()
    return response


async def _end_streams(app: web.Application) -> None:
    settings = app[_SETTINGS]
    settings.closing = True
    for subscription in list(settings.streams):
        subscription.interrupt()


class _PathOnlyAccessLogger(AbstractAccessLogger):
    """Access log without query strings: a ``?token=`` must never reach a log file."""

    def log(self, request: web.BaseRequest, response: web.StreamResponse, time: float) -> None:
        self.logger.debug(
            "%s %s %s %d (%.1f ms)",
            request.remote,
            request.method,
            request.path,
            response.status,
            time * 1000,
        )


class BridgeServer:
    """Serve a :class:`LocalEventSource` over HTTP until :meth:`close`.

    ``host`` defaults to 127.0.0.1 and ``port`` to an ephemeral one; any other (non-loopback)
    host is served only because the caller asked, with a logged warning. The token is
    generated here (``secrets``) unless given, and kept only in memory.
    """

    def __init__(
        self,
        source: LocalEventSource,
        *,
        host: str = DEFAULT_HOST,
        port: int = 0,
        token: str | None = None,
        heartbeat_s: float = 15.0,
    ) -> None:
        self.source = source
        self.host = host
        self.token = token or secrets.token_urlsafe(32)
        self._port = port
        self._app = create_app(source, self.token, heartbeat_s=heartbeat_s)
        self._runner: web.AppRunner | None = None
        self.url = ""
        """``http://host:port`` once started (the token is not part of it)."""

    async def start(self) -> str:
        """Bind and serve; returns :attr:`url`."""
        if not is_loopback(self.host):
            _log.warning(
                "serving on %s, reachable from other machines: anyone holding the token can "
                "read run events; use --host 127.0.0.1 unless you need this",
                self.host,
            )
        await self.source.start()
        runner = web.AppRunner(
            self._app,
            handle_signals=False,
            handler_cancellation=True,
            access_log_class=_PathOnlyAccessLogger,
            shutdown_timeout=2.0,
        )
        await runner.setup()
        self._runner = runner
        site = web.TCPSite(runner, self.host, self._port)
        try:
            await site.start()
        except BaseException:
            await self.close()
            raise
        host, port = runner.addresses[0][:2]
        shown = f"[{host}]" if ":" in host else host
        self.url = f"http://{shown}:{port}"
        return self.url

    async def close(self) -> None:
        """End every stream, stop listening and close connections (idempotent)."""
        if self._runner is not None:
            runner, self._runner = self._runner, None
            await runner.cleanup()

    async def __aenter__(self) -> BridgeServer:
        await self.start()
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        await self.close()
