"""Calling an ASGI app in process, with no HTTP client library: one request, the whole response."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any
from urllib.parse import quote, unquote, urlencode

from starlette.types import ASGIApp, Message, Receive, Send

from ._api import NO_BODY, MockResponse
from ._jsontext import encode_json
from .fixtures._exchange import Body


@dataclass(frozen=True, slots=True)
class AsgiResponse:
    status: int
    headers: tuple[tuple[str, str], ...]
    body: bytes

    def header(self, name: str, default: str | None = None) -> str | None:
        lowered = name.lower()
        return next((value for key, value in self.headers if key == lowered), default)

    def json(self) -> Any:
        return json.loads(self.body)


class AsgiDriver:
    """Sends requests to an app on a private event loop; `host` is what the app sees as `Host`."""

    def __init__(
        self, app: ASGIApp, *, host: str = "127.0.0.1:4010", client: tuple[str, int] = ("127.0.0.1", 50000)
    ) -> None:
        self.app = app
        self.host = host
        self.client = client
        self._loop = asyncio.new_event_loop()

    def close(self) -> None:
        self._loop.close()

    def __enter__(self) -> AsgiDriver:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    def request(
        self,
        method: str,
        path: str,
        *,
        query: Sequence[tuple[str, str]] = (),
        headers: Mapping[str, str] | None = None,
        body: bytes = b"",
    ) -> AsgiResponse:
        return self._loop.run_until_complete(self.send(method, path, query=query, headers=headers, body=body))

    async def send(
        self,
        method: str,
        path: str,
        *,
        query: Sequence[tuple[str, str]] = (),
        headers: Mapping[str, str] | None = None,
        body: bytes = b"",
    ) -> AsgiResponse:
        raw_headers = [(b"host", self.host.encode("latin-1"))]
        raw_headers += [
            (name.lower().encode("latin-1"), value.encode("latin-1"))
            for name, value in (headers or {}).items()
        ]
        if body:
            raw_headers.append((b"content-length", str(len(body)).encode("latin-1")))
        server_host, _, server_port = self.host.partition(":")
        scope: dict[str, Any] = {
            "type": "http",
            "asgi": {"version": "3.0", "spec_version": "2.3"},
            "http_version": "1.1",
            "method": method.upper(),
            "scheme": "http",
            "path": unquote(path),
            "raw_path": quote(path, safe="/%:@!$&'()*+,;=-._~").encode("latin-1"),
            "query_string": urlencode(list(query)).encode("latin-1"),
            "root_path": "",
            "headers": raw_headers,
            "client": self.client,
            "server": (server_host, int(server_port or 80)),
            "state": {},
        }
        sent = False
        status = 500
        response_headers: list[tuple[str, str]] = []
        chunks: list[bytes] = []

        async def receive() -> Message:
            nonlocal sent
            if sent:
                await asyncio.sleep(0)
                return {"type": "http.disconnect"}
            sent = True
            return {"type": "http.request", "body": body, "more_body": False}

        async def send(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = int(message["status"])
                response_headers.extend(
                    (k.decode("latin-1").lower(), v.decode("latin-1")) for k, v in message.get("headers", [])
                )
            elif message["type"] == "http.response.body":
                chunks.append(bytes(message.get("body", b"")))

        await self.app(scope, receive, send)
        return AsgiResponse(status, tuple(response_headers), b"".join(chunks))


async def read_body(receive: Receive) -> bytes:
    chunks: list[bytes] = []
    while True:
        message = await receive()
        if message["type"] == "http.disconnect":
            break
        chunks.append(message.get("body", b""))
        if not message.get("more_body", False):
            break
    return b"".join(chunks)


async def lifespan(receive: Receive, send: Send) -> None:
    while True:
        message = await receive()
        if message["type"] == "lifespan.startup":
            await send({"type": "lifespan.startup.complete"})
        elif message["type"] == "lifespan.shutdown":
            await send({"type": "lifespan.shutdown.complete"})
            return


async def send_response(send: Send, response: MockResponse, *, head: bool = False) -> None:
    """Send a response whose body is `NO_BODY`, an exchange's `Body`, bytes, or a JSON value."""
    body = response.body
    if isinstance(body, Body):
        payload, has_body = body.to_bytes(), not body.is_empty
    elif body is NO_BODY:
        payload, has_body = b"", False
    elif isinstance(body, bytes):
        payload, has_body = body, True
    else:
        payload, has_body = encode_json(body), True
    headers = [(k.lower().encode("latin-1"), v.encode("latin-1")) for k, v in response.headers.items()]
    if has_body and response.media_type:
        headers.append((b"content-type", response.media_type.encode("latin-1")))
    headers.append((b"content-length", str(len(payload)).encode("latin-1")))
    await send({"type": "http.response.start", "status": response.status, "headers": headers})
    await send({"type": "http.response.body", "body": b"" if head else payload})
