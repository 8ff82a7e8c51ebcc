"""The outbound runner's HTTP/1.1 client against small asyncio servers: keep-alive reuse, chunked and
Content-Length answers, a body cut at the limit, a stale pooled connection, and malformed answers."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable

import pytest

from mockserver._http1 import Http1Client, ProtocolError

Handler = Callable[[asyncio.StreamReader, asyncio.StreamWriter], Awaitable[None]]


async def _serve(handler: Handler) -> tuple[asyncio.Server, str, list[int]]:
    connections: list[int] = []

    async def count(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        connections.append(1)
        try:
            await handler(reader, writer)
        except (asyncio.IncompleteReadError, ConnectionError):
            pass
        finally:
            writer.close()

    server = await asyncio.start_server(count, "127.0.0.1", 0)
    return server, f"http://127.0.0.1:{server.sockets[0].getsockname()[1]}/p?q=1", connections


async def _read_request(reader: asyncio.StreamReader) -> tuple[str, bytes]:
    head = (await reader.readuntil(b"\r\n\r\n")).decode("latin-1")
    length = next(
        int(line.split(":")[1]) for line in head.split("\r\n") if line.lower().startswith("content-length")
    )
    return head, await reader.readexactly(length)


def _run(coroutine: Awaitable[None]) -> None:
    asyncio.run(asyncio.wait_for(coroutine, 10))  # type: ignore[arg-type]


def test_keep_alive_connections_are_reused_and_the_request_is_well_formed():
    seen: list[str] = []

    async def handler(reader, writer):
        while True:
            head, body = await _read_request(reader)
            seen.append(head + body.decode())
            writer.write(b"HTTP/1.1 201 Created\r\nContent-Length: 5\r\nX-A: b\r\n\r\nhello")
            await writer.drain()

    async def main():
        server, url, connections = await _serve(handler)
        client = Http1Client()
        for _ in range(3):
            answer = await client.request("POST", url, [("X-Custom", "1")], b'{"a":1}', body_limit=1024)
            assert (answer.status, answer.body, ("X-A", "b") in answer.headers) == (201, b"hello", True)
        await client.close()
        server.close()
        assert len(connections) == 1
        assert seen[0].startswith("POST /p?q=1 HTTP/1.1\r\nHost: 127.0.0.1:")
        assert (
            "X-Custom: 1\r\n" in seen[0]
            and "Content-Length: 7\r\n" in seen[0]
            and seen[0].endswith('{"a":1}')
        )

    _run(main())


def test_chunked_answers_and_the_body_limit():
    async def handler(reader, writer):
        await _read_request(reader)
        writer.write(
            b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nabc\r\n4;x=y\r\ndefg\r\n0\r\n\r\n"
        )
        await _read_request(reader)
        writer.write(b"HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\n0123456789")
        await writer.drain()

    async def main():
        server, url, connections = await _serve(handler)
        client = Http1Client()
        assert (await client.request("POST", url, [], b"", body_limit=100)).body == b"abcdefg"
        assert (await client.request("POST", url, [], b"", body_limit=4)).body == b"0123"
        await client.close()
        server.close()
        assert len(connections) == 1  # the chunked answer was read whole, so its connection was reused

    _run(main())


def test_a_pooled_connection_the_peer_closed_is_replaced_once():
    async def handler(reader, writer):
        await _read_request(reader)
        writer.write(b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok")
        await writer.drain()  # then the server closes the connection it advertised as keep-alive

    async def main():
        server, url, connections = await _serve(handler)
        client = Http1Client()
        for _ in range(3):
            assert (await client.request("POST", url, [], b"x", body_limit=10)).status == 200
            await asyncio.sleep(0.01)
        await client.close()
        server.close()
        assert len(connections) == 3

    _run(main())


@pytest.mark.parametrize(
    "answer",
    [
        b"SMTP ready\r\n\r\n",
        b"HTTP/1.1 200 OK\r\nno colon here\r\n\r\n",
        b"HTTP/1.1 200 OK\r\nContent-Length: x\r\n\r\n",
    ],
)
def test_malformed_answers_are_protocol_errors(answer):
    async def handler(reader, writer):
        await _read_request(reader)
        writer.write(answer)
        await writer.drain()

    async def main():
        server, url, _ = await _serve(handler)
        client = Http1Client()
        with pytest.raises(ProtocolError):
            await client.request("POST", url, [], b"", body_limit=10)
        await client.close()
        server.close()

    _run(main())


def test_an_answer_cut_short_is_an_incomplete_read():
    async def handler(reader, writer):
        await _read_request(reader)
        writer.write(b"HTTP/1.1 200 OK\r\nContent-Length: 50\r\n\r\nshort")
        await writer.drain()

    async def main():
        server, url, _ = await _serve(handler)
        client = Http1Client()
        with pytest.raises(asyncio.IncompleteReadError):
            await client.request("POST", url, [], b"", body_limit=100)
        await client.close()
        server.close()

    _run(main())


def test_only_http_urls():
    async def main():
        with pytest.raises(ValueError):
            await Http1Client().request("GET", "ftp://127.0.0.1/x", [], b"", body_limit=1)

    _run(main())
