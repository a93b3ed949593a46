"""The Server-Sent Events wire format (WHATWG HTML, "server-sent events"), both ways."""

from __future__ import annotations

import attrs

__all__ = ["SseDecoder", "SseMessage", "encode_comment", "encode_message"]


def encode_message(event: str, data: str, id: str | None = None) -> bytes:
    """One message; ``data`` may span lines (each becomes its own ``data:`` line)."""
    lines = [] if id is None else [f"id: {id}"]
    lines.append(f"event: {event}")
    lines.extend(f"data: {line}" for line in data.split("\n"))
    return ("\n".join(lines) + "\n\n").encode("utf-8")


def encode_comment(text: str = "") -> bytes:
    """A comment line: ignored by clients, keeps idle connections (and proxies) alive."""
    return f": {text}\n\n".encode()


@attrs.frozen
class SseMessage:
    """One dispatched message."""

    event: str
    data: str
    id: str | None
    """The stream's last event id after this message (``None`` if never set)."""
    retry_ms: int | None = None
    """A ``retry:`` reconnection delay the server asked for with this message."""


class SseDecoder:
    """Incremental parser: feed bytes as they arrive, get complete messages back.

    Accepts ``\\n``, ``\\r\\n`` and ``\\r`` line ends, comments, and fields without a space
    after the colon; a message without ``data`` is not dispatched, as the spec says.
    """

    def __init__(self) -> None:
        self._buffer = b""
        self._event = ""
        self._data: list[str] = []
        self._retry: int | None = None
        self.last_event_id: str | None = None
        """Last ``id:`` seen, kept across messages (the value to send as Last-Event-ID)."""

    def feed(self, chunk: bytes) -> list[SseMessage]:
        """Messages completed by ``chunk``."""
        buffer = self._buffer + chunk
        size, pos = len(buffer), 0
        next_lf = next_cr = -2  # -2: not searched yet; -1: none in the rest of the buffer
        messages: list[SseMessage] = []
        while pos < size:
            if next_lf != -1 and next_lf < pos:
                next_lf = buffer.find(b"\n", pos)
            if next_cr != -1 and next_cr < pos:
                next_cr = buffer.find(b"\r", pos)
            if next_cr < 0 and next_lf < 0:
                break
            if next_cr < 0 or 0 <= next_lf < next_cr:
                cut, end = next_lf, next_lf + 1
            elif next_cr + 1 == size:
                break  # wait: this \r may be the first half of \r\n
            else:
                cut = next_cr
                end = cut + 2 if buffer[cut + 1] == 0x0A else cut + 1
            line = buffer[pos:cut].decode("utf-8", errors="replace")
            pos = end
            message = self._take_line(line)
            if message is not None:
                messages.append(message)
        self._buffer = buffer[pos:]
        return messages

    def _take_line(self, line: str) -> SseMessage | None:
        if line == "":
            return self._dispatch()
        if line.startswith(":"):
            return None
        name, _, value = line.partition(":")
        value = value.removeprefix(" ")
        if name == "event":
            self._event = value
        elif name == "data":
            self._data.append(value)
        elif name == "id" and "\0" not in value:
            self.last_event_id = value
        elif name == "retry" and value.isdigit():
            self._retry = int(value)
        return None

    def _dispatch(self) -> SseMessage | None:
        event, data, retry = self._event or "message", self._data, self._retry
        self._event, self._data, self._retry = "", [], None
        if not data:
            return None
        return SseMessage(event, "\n".join(data), self.last_event_id, retry)
