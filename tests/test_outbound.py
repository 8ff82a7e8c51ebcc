"""The outbound runner's HTTP exchanges against small asyncio servers: keep-alive reuse, chunked and
Content-Length answers, the body limit, a pooled connection the peer closed, malformed, cut-short and reset
answers, timeouts and refused connections, each recorded as the text an attempt shows."""

from __future__ import annotations

import asyncio
import socket
import struct
from collections.abc import Awaitable, Callable

import pytest

from mockserver._outbound import BODY_LIMIT, OutboundRequest, OutboundResult, OutboundRunner

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


async def _send(
    runner: OutboundRunner,
    url: str,
    *,
    body: bytes = b"",
    headers: tuple[tuple[str, str], ...] = (),
    timeout_s: float = 5.0,
) -> OutboundResult:
    results: list[OutboundResult] = []
    request = OutboundRequest("POST", url, headers, body, timeout_s)
    assert runner.submit(request, owner=runner, api="test", session="default", done=results.append)
    await runner.drain()
    (result,) = results
    return result


def _run(coroutine: Awaitable[None]) -> None:
    asyncio.run(asyncio.wait_for(coroutine, 20))  # type: ignore[arg-type]


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
        runner = OutboundRunner()
        for _ in range(3):
            result = await _send(runner, url, body=b'{"a":1}', headers=(("X-Custom", "1"), ("Host", "evil")))
            assert (result.status, result.body, result.headers["x-a"], result.error) == (
                201,
                b"hello",
                "b",
                None,
            )
        await runner.shutdown()
        server.close()
        assert len(connections) == 1
        head = seen[0]
        assert head.startswith("POST /p?q=1 HTTP/1.1\r\n")
        assert "Host: 127.0.0.1:" in head and "evil" not in head
        assert "X-Custom: 1\r\n" in head and "Content-Length: 7\r\n" in head and head.endswith('{"a":1}')
        # Only the API's headers: nothing of the client's own (User-Agent, Accept-Encoding, a Content-Type).
        assert "User-Agent" not in head and "Accept-Encoding" not in head and "Content-Type" not in head

    _run(main())


def test_chunked_answers_are_read_whole_and_the_body_limit_cuts_the_rest():
    chunked = (
        b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n"
        b"3\r\nabc\r\n4;x=y\r\ndefg\r\n0\r\nX-Trailer: t\r\n\r\n"
    )

    async def handler(reader, writer):
        for _ in range(10):
            head, _ = await _read_request(reader)
            if "X-Large" in head:  # far more than the limit: the rest is not kept
                size = BODY_LIMIT * 40
                writer.write(f"HTTP/1.1 200 OK\r\nContent-Length: {size}\r\n\r\n".encode() + b"y" * size)
            else:
                writer.write(chunked)
            await writer.drain()

    async def main():
        server, url, connections = await _serve(handler)
        runner = OutboundRunner()
        assert (await _send(runner, url)).body == b"abcdefg"
        assert (await _send(runner, url)).body == b"abcdefg"
        assert len(connections) == 1  # the chunked answer was read whole, so its connection was reused
        cut = await _send(runner, url, headers=(("X-Large", "1"),))
        assert (cut.status, cut.body, cut.error) == (200, b"y" * BODY_LIMIT, None)
        assert (await _send(runner, url)).body == b"abcdefg"  # and the next request still goes through
        await runner.shutdown()
        server.close()

    _run(main())


def test_a_pooled_connection_the_peer_closed_is_replaced():
    async def handler(reader, writer):
        await _read_request(reader)
        writer.write(b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok")
        await writer.drain()  # then the server closes the connection it advertised as keep-alive

    async def main():
        server, url, connections = await _serve(handler)
        runner = OutboundRunner()
        for _ in range(3):
            assert (await _send(runner, url, body=b"x")).status == 200
            await asyncio.sleep(0.05)
        await runner.shutdown()
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
def test_malformed_answers_are_invalid_answers(answer):
    async def handler(reader, writer):
        await _read_request(reader)
        writer.write(answer)
        await writer.drain()

    async def main():
        server, url, _ = await _serve(handler)
        runner = OutboundRunner()
        result = await _send(runner, url)
        assert result.status is None and result.error is not None
        assert result.error.startswith("Invalid answer: ") and "\n" not in result.error
        await runner.shutdown()
        server.close()

    _run(main())


def test_an_answer_cut_short_is_a_connection_error():
    async def handler(reader, writer):
        await _read_request(reader)
        writer.write(b"HTTP/1.1 200 OK\r\nContent-Length: 50\r\n\r\nshort")
        await writer.drain()

    async def main():
        server, url, _ = await _serve(handler)
        runner = OutboundRunner()
        result = await _send(runner, url)
        assert result.status is None
        assert result.error == "Connection error: the receiver closed the connection before a full answer"
        await runner.shutdown()
        server.close()

    _run(main())


def test_a_reset_is_a_connection_error():
    async def handler(reader, writer):
        await _read_request(reader)
        writer.transport.get_extra_info("socket").setsockopt(
            socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0)
        )
        writer.transport.abort()

    async def main():
        server, url, _ = await _serve(handler)
        runner = OutboundRunner()
        result = await _send(runner, url)
        assert result.status is None and result.error is not None
        assert result.error.startswith("Connection error: ")
        await runner.shutdown()
        server.close()

    _run(main())


def test_a_hanging_receiver_times_out_at_the_request_timeout_and_others_go_on():
    release = asyncio.Event()

    async def handler(reader, writer):
        head, _ = await _read_request(reader)
        if "X-Hang" in head:
            await release.wait()
        writer.write(b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok")
        await writer.drain()

    async def main():
        server, url, _ = await _serve(handler)
        runner = OutboundRunner()
        results: dict[str, OutboundResult] = {}
        hanging = OutboundRequest("POST", url, (("X-Hang", "1"),), b"", 0.3)
        runner.submit(hanging, owner=runner, api="t", session="s", done=lambda r: results.update(hang=r))
        assert (await _send(runner, url)).status == 200  # answered while the other one hangs
        await runner.drain()
        assert results["hang"].status is None and results["hang"].error == "Timed out after 300 ms"
        release.set()
        await runner.shutdown()
        server.close()

    _run(main())


def test_shutdown_interrupts_a_request_on_the_wire():
    async def handler(reader, writer):
        await _read_request(reader)
        await asyncio.sleep(30)

    async def main():
        server, url, _ = await _serve(handler)
        runner = OutboundRunner()
        results: list[OutboundResult] = []
        runner.submit(
            OutboundRequest("POST", url, (), b"", 30), owner=runner, api="t", session="s", done=results.append
        )
        await asyncio.sleep(0.1)
        await runner.shutdown()
        assert [r.error for r in results] == ["Interrupted: the mock server shut down"]
        server.close()

    _run(main())


def test_a_refused_connection_and_a_url_it_cannot_send_to():
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]  # bound, not listening: connections are refused

        async def main():
            runner = OutboundRunner()
            refused = await _send(runner, f"http://127.0.0.1:{port}/x")
            assert refused.status is None and refused.error is not None
            assert refused.error.startswith("Connection refused")
            odd = await _send(runner, "ftp://127.0.0.1/x")
            assert odd.status is None and odd.error
            await runner.shutdown()

        _run(main())
