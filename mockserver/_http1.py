"""A small HTTP/1.1 client for the outbound runner: keep-alive connections pooled per origin, Content-Length
and chunked bodies, an answer read up to a limit. No redirects, no proxies, no cookies, no decompression.

Why not a client library: the runner needs only this, and on the two cores the mock is measured on the
library tried (httpx over httpcore and anyio) managed ~300 requests/s in a loop of its own, where this does
several thousand; deliveries would otherwise be the slowest part of the server.
"""

from __future__ import annotations

import asyncio
import contextlib
import ssl
from collections import deque
from dataclasses import dataclass
from urllib.parse import urlsplit

__all__ = ["Answer", "Http1Client", "ProtocolError"]

MAX_HEAD = 64 * 1024
"""Bytes of status line and headers read at most."""
IDLE_PER_ORIGIN = 16


class ProtocolError(Exception):
    """The peer broke HTTP/1.1 (or closed the connection before a full answer)."""


class _Stale(Exception):
    """A pooled connection the peer had closed: nothing of an answer came back, so sending again is safe."""


@dataclass(frozen=True, slots=True)
class Answer:
    status: int
    headers: list[tuple[str, str]]
    body: bytes


@dataclass(slots=True)
class _Connection:
    reader: asyncio.StreamReader
    writer: asyncio.StreamWriter

    def close(self) -> None:
        with contextlib.suppress(Exception):
            self.writer.close()


Origin = tuple[str, str, int]


class Http1Client:
    def __init__(self) -> None:
        self._idle: dict[Origin, deque[_Connection]] = {}
        self._tls: ssl.SSLContext | None = None

    async def request(
        self, method: str, url: str, headers: list[tuple[str, str]], body: bytes, *, body_limit: int
    ) -> Answer:
        """Send one request and read the answer (ValueError for a URL it cannot send to; OSError,
        `ProtocolError` or `asyncio.IncompleteReadError` when the exchange fails). The caller bounds the time."""
        parts = urlsplit(url)
        if parts.scheme not in ("http", "https") or not parts.hostname:
            raise ValueError(f"not an http(s) URL: {url!r}")
        port = parts.port or (443 if parts.scheme == "https" else 80)
        origin: Origin = (parts.scheme, parts.hostname, port)
        target = (parts.path or "/") + (f"?{parts.query}" if parts.query else "")
        host = parts.hostname if ":" not in parts.hostname else f"[{parts.hostname}]"
        default_port = port == (443 if parts.scheme == "https" else 80)
        head = [f"{method} {target} HTTP/1.1", f"Host: {host if default_port else f'{host}:{port}'}"]
        head += [
            f"{name}: {value}" for name, value in headers if name.lower() not in ("host", "content-length")
        ]
        head.append(f"Content-Length: {len(body)}")
        payload = ("\r\n".join(head) + "\r\n\r\n").encode("latin-1") + body
        reused = self._take(origin)
        if reused is not None:
            try:
                return await self._exchange(origin, reused, payload, method, body_limit, reused=True)
            except _Stale:
                pass  # the peer closed the idle connection first: once more on a new one
        fresh = await self._open(origin)
        return await self._exchange(origin, fresh, payload, method, body_limit, reused=False)

    def _take(self, origin: Origin) -> _Connection | None:
        idle = self._idle.get(origin)
        while idle:
            connection = idle.pop()
            if not connection.writer.is_closing() and not connection.reader.at_eof():
                return connection
            connection.close()
        return None

    async def _open(self, origin: Origin) -> _Connection:
        scheme, host, port = origin
        tls = None
        if scheme == "https":
            if self._tls is None:
                self._tls = ssl.create_default_context()
            tls = self._tls
        reader, writer = await asyncio.open_connection(host, port, ssl=tls, limit=MAX_HEAD)
        return _Connection(reader, writer)

    async def _exchange(
        self,
        origin: Origin,
        connection: _Connection,
        payload: bytes,
        method: str,
        body_limit: int,
        *,
        reused: bool,
    ) -> Answer:
        try:
            try:
                connection.writer.write(payload)
                await connection.writer.drain()
                status, headers = await _read_head(connection.reader)
            except (ConnectionResetError, BrokenPipeError, asyncio.IncompleteReadError) as exc:
                nothing = not isinstance(exc, asyncio.IncompleteReadError) or not exc.partial
                if reused and nothing:
                    raise _Stale from exc
                raise
            while 100 <= status < 200:  # 100 Continue and friends precede the answer
                status, headers = await _read_head(connection.reader)
            fields = {name.lower(): value for name, value in headers}
            keep = fields.get("connection", "").lower() != "close"
            if method == "HEAD" or status in (204, 304):
                body, complete = b"", True
            elif "chunked" in fields.get("transfer-encoding", "").lower():
                body, complete = await _read_chunked(connection.reader, body_limit)
            elif "content-length" in fields:
                body, complete = await _read_length(connection.reader, fields["content-length"], body_limit)
            else:
                body, complete, keep = await _read_to_close(connection.reader, body_limit), False, False
        except BaseException:
            connection.close()
            raise
        if keep and complete and len(self._idle.get(origin, ())) < IDLE_PER_ORIGIN:
            self._idle.setdefault(origin, deque()).append(connection)
        else:
            connection.close()
        return Answer(status, headers, body)

    async def close(self) -> None:
        for idle in self._idle.values():
            for connection in idle:
                connection.close()
        self._idle.clear()


async def _read_head(reader: asyncio.StreamReader) -> tuple[int, list[tuple[str, str]]]:
    try:
        raw = await reader.readuntil(b"\r\n\r\n")
    except asyncio.LimitOverrunError as exc:
        raise ProtocolError(f"the answer's headers exceed {MAX_HEAD} bytes") from exc
    lines = raw.decode("latin-1").split("\r\n")
    version, _, rest = lines[0].partition(" ")
    code = rest[:3]
    if not version.startswith("HTTP/1.") or not code.isdigit():
        raise ProtocolError(f"not an HTTP/1.1 status line: {lines[0][:80]!r}")
    headers = []
    for line in lines[1:]:
        if line:
            name, separator, value = line.partition(":")
            if not separator:
                raise ProtocolError(f"malformed header line: {line[:80]!r}")
            headers.append((name.strip(), value.strip()))
    return int(code), headers


async def _read_length(reader: asyncio.StreamReader, text: str, limit: int) -> tuple[bytes, bool]:
    if not text.strip().isdigit():
        raise ProtocolError(f"invalid Content-Length {text[:40]!r}")
    length = int(text)
    body = await reader.readexactly(min(length, limit))
    return body, length <= limit


async def _read_chunked(reader: asyncio.StreamReader, limit: int) -> tuple[bytes, bool]:
    body = bytearray()
    while True:
        size_line = (await reader.readuntil(b"\r\n")).split(b";")[0].strip()
        try:
            size = int(size_line, 16)
        except ValueError as exc:
            raise ProtocolError(f"invalid chunk size {size_line[:20]!r}") from exc
        if size == 0:
            while (await reader.readuntil(b"\r\n")) != b"\r\n":  # trailers
                pass
            return bytes(body), True
        if len(body) + size > limit:
            body += await reader.readexactly(limit - len(body))
            return bytes(body), False  # the rest is not read: the connection is closed
        body += await reader.readexactly(size)
        await reader.readexactly(2)


async def _read_to_close(reader: asyncio.StreamReader, limit: int) -> bytes:
    body = bytearray()
    while len(body) < limit:
        chunk = await reader.read(limit - len(body))
        if not chunk:
            break
        body += chunk
    return bytes(body)
