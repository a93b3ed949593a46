"""The event source for a GUI whose runs are served by ``gui-fastpath serve``."""

from __future__ import annotations

import asyncio
import json
import logging
import random
from collections.abc import AsyncIterator
from typing import Any, cast
from urllib.parse import quote

import aiohttp

from gui_fastpath.bridge.events import (
    ALL_RUNS_KINDS,
    RUN_KINDS,
    BridgeEvent,
    EventKind,
    RunSummary,
    validate_run_id,
)
from gui_fastpath.bridge.sse import SseDecoder, SseMessage

__all__ = ["BridgeAuthError", "BridgeError", "SseEventSource"]

_log = logging.getLogger(__name__)


class BridgeError(RuntimeError):
    """The bridge answered with an error that retrying will not fix, or is unreachable."""


class BridgeAuthError(BridgeError):
    """The bridge refused the token (401)."""


class SseEventSource:
    """Runs and events from a bridge at ``url``, reconnecting with ``Last-Event-ID``.

    A dropped connection, a restarted server or a silent one (nothing, not even a heartbeat
    comment, for ``idle_timeout_s``) is retried with exponential backoff and jitter, from
    the last event received, so the consumer sees every event once and in order. A 401 or
    another 4xx answer ends the iterator with :class:`BridgeError` instead.
    """

    def __init__(
        self,
        url: str,
        token: str,
        *,
        idle_timeout_s: float = 45.0,
        connect_timeout_s: float = 10.0,
        backoff_s: tuple[float, float] = (0.1, 10.0),
    ) -> None:
        self.url = url.rstrip("/")
        self._headers = {"Authorization": f"Bearer {token}"}
        self._idle_timeout_s = idle_timeout_s
        self._connect_timeout_s = connect_timeout_s
        self._backoff_min, self._backoff_max = backoff_s
        self._session: aiohttp.ClientSession | None = None
        self._closed = False
        self._streams: set[aiohttp.ClientResponse] = set()

    async def list_runs(self) -> list[RunSummary]:
        """``GET /runs``; raises :class:`BridgeError` naming the URL and the fix."""
        url = f"{self.url}/runs"
        timeout = aiohttp.ClientTimeout(total=self._connect_timeout_s + self._idle_timeout_s)
        try:
            async with self._http().get(url, headers=self._headers, timeout=timeout) as resp:
                await _raise_for_status(resp, url)
                body = await resp.json()
        except (aiohttp.ClientError, TimeoutError) as exc:
            raise BridgeError(
                f"cannot reach the bridge at {url} ({exc or type(exc).__name__}): "
                "check that 'gui-fastpath serve' is running and the URL is right"
            ) from None
        try:
            return [RunSummary.from_dict(item) for item in body["runs"]]
        except (KeyError, TypeError, ValueError) as exc:
            raise BridgeError(f"{url}: unexpected answer ({exc})") from None

    async def subscribe(
        self, run_id: str | None = None, last_event_id: str | None = None
    ) -> AsyncIterator[BridgeEvent]:
        """Events after ``last_event_id``, across reconnects (see :class:`RunEventSource`)."""
        if run_id is None:
            url, kinds = f"{self.url}/events", ALL_RUNS_KINDS
        else:
            url, kinds = f"{self.url}/runs/{quote(validate_run_id(run_id))}/events", RUN_KINDS
        last = last_event_id
        delay = self._backoff_min
        timeout = aiohttp.ClientTimeout(
            total=None, sock_connect=self._connect_timeout_s, sock_read=self._idle_timeout_s
        )
        while not self._closed:
            headers = dict(self._headers, Accept="text/event-stream")
            if last:
                headers["Last-Event-ID"] = last
            try:
                async with self._http().get(url, headers=headers, timeout=timeout) as resp:
                    await _raise_for_status(resp, url)
                    delay = self._backoff_min
                    self._streams.add(resp)
                    try:
                        async for message in _messages(resp):
                            if message.retry_ms is not None:
                                delay = message.retry_ms / 1000
                            last = message.id or last
                            event = _to_event(message, run_id, kinds, url)
                            if event is None:
                                continue
                            yield event
                            if run_id is not None and event.kind == "run_removed":
                                return
                    finally:
                        self._streams.discard(resp)
                reason = "the server ended the stream"
            except BridgeError:
                raise
            except (aiohttp.ClientError, TimeoutError) as exc:
                reason = str(exc) or type(exc).__name__
            if self._closed:
                return
            wait = min(delay, self._backoff_max) * random.uniform(0.8, 1.2)
            _log.info("%s: %s; reconnecting in %.2f s after %s", url, reason, wait, last)
            await asyncio.sleep(wait)
            delay = min(delay * 2, self._backoff_max)

    async def close(self) -> None:
        """Close the HTTP session (idempotent); open iterators end."""
        self._closed = True
        for stream in list(self._streams):
            stream.close()  # wakes the iterator reading it
        if self._session is not None:
            session, self._session = self._session, None
            await session.close()

    async def __aenter__(self) -> SseEventSource:
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        await self.close()

    def _http(self) -> aiohttp.ClientSession:
        if self._session is None or self._session.closed:
            # No connection limit: each subscription holds one connection open.
            self._session = aiohttp.ClientSession(connector=aiohttp.TCPConnector(limit=0))
        return self._session


async def _raise_for_status(resp: aiohttp.ClientResponse, url: str) -> None:
    if resp.status == 200:
        return
    text = (await resp.text()).strip()[:300]
    if resp.status == 401:
        raise BridgeAuthError(f"{url}: the bridge refused the token (401): {text}")
    if 400 <= resp.status < 500:
        raise BridgeError(f"{url}: {resp.status} {resp.reason}: {text}")
    raise aiohttp.ClientResponseError(
        resp.request_info, resp.history, status=resp.status, message=f"{resp.reason}: {text}"
    )


async def _messages(resp: aiohttp.ClientResponse) -> AsyncIterator[SseMessage]:
    decoder = SseDecoder()
    async for chunk in resp.content.iter_any():
        for message in decoder.feed(chunk):
            yield message


def _to_event(
    message: SseMessage, run_id: str | None, kinds: tuple[EventKind, ...], url: str
) -> BridgeEvent | None:
    if message.event not in kinds:
        _log.debug("%s: ignoring event of unknown kind %r", url, message.event)
        return None
    try:
        data: Any = json.loads(message.data)
    except ValueError as exc:
        _log.warning("%s: event %s has data that is not JSON (%s); skipped", url, message.id, exc)
        return None
    if not isinstance(data, dict):
        _log.warning("%s: event %s has data that is not an object; skipped", url, message.id)
        return None
    owner = run_id if run_id is not None else data.get("run_id")
    kind = cast(EventKind, message.event)
    return BridgeEvent(message.id or "", owner, kind, data)
