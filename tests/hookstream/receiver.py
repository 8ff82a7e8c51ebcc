"""A webhook receiver on loopback for delivery tests: a plain asyncio HTTP/1.1 server in its own thread.

Each request takes the next planned behaviour (`answer(status)`, `hang()`, `reset()`, `slow(seconds)`);
with none planned it answers 200. Every request that arrived is kept in `requests`.
"""

from __future__ import annotations

import asyncio
import contextlib
import threading
from collections import deque
from dataclasses import dataclass, field
from typing import Any


@dataclass
class Received:
    method: str
    path: str
    headers: dict[str, str]
    body: bytes


@dataclass
class Receiver:
    port: int = 0
    requests: list[Received] = field(default_factory=list)
    plan: deque[tuple[str, Any]] = field(default_factory=deque)
    _loop: asyncio.AbstractEventLoop | None = None
    _thread: threading.Thread | None = None
    _release: asyncio.Event | None = None
    _arrived: threading.Condition = field(default_factory=threading.Condition)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}/hooks"

    def answer(self, status: int, body: bytes = b"", times: int = 1) -> None:
        for _ in range(times):
            self.plan.append(("answer", (status, body)))

    def hang(self) -> None:
        self.plan.append(("hang", None))

    def reset(self) -> None:
        self.plan.append(("reset", None))

    def slow(self, seconds: float) -> None:
        self.plan.append(("slow", seconds))

    def wait_for(self, count: int, timeout: float = 10.0) -> bool:
        with self._arrived:
            return self._arrived.wait_for(lambda: len(self.requests) >= count, timeout)

    # ------------------------------------------------------------------ server

    def start(self) -> Receiver:
        ready = threading.Event()

        def run() -> None:
            loop = asyncio.new_event_loop()
            self._loop = loop

            async def main() -> None:
                self._release = asyncio.Event()
                server = await asyncio.start_server(self._handle, "127.0.0.1", 0)
                self.port = server.sockets[0].getsockname()[1]
                ready.set()
                async with server:
                    await self._release.wait()

            loop.run_until_complete(main())
            loop.close()

        self._thread = threading.Thread(target=run, daemon=True)
        self._thread.start()
        ready.wait(5)
        return self

    def stop(self) -> None:
        if self._loop is not None and self._release is not None:
            self._loop.call_soon_threadsafe(self._release.set)
        if self._thread is not None:
            self._thread.join(5)

    async def _handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            head = await reader.readuntil(b"\r\n\r\n")
            lines = head.decode("latin-1").split("\r\n")
            method, path, _ = lines[0].split(" ", 2)
            headers = {}
            for line in lines[1:]:
                if ":" in line:
                    name, _, value = line.partition(":")
                    headers[name.strip().lower()] = value.strip()
            body = await reader.readexactly(int(headers.get("content-length", "0")))
            with self._arrived:
                self.requests.append(Received(method, path, headers, body))
                self._arrived.notify_all()
            kind, detail = self.plan.popleft() if self.plan else ("answer", (200, b'{"ok":true}'))
            if kind == "hang":
                assert self._release is not None
                await self._release.wait()
                return
            if kind == "reset":
                transport = writer.transport
                sock = transport.get_extra_info("socket")
                if sock is not None:
                    import socket
                    import struct

                    sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
                transport.abort()
                return
            if kind == "slow":
                await asyncio.sleep(detail)
                detail = (200, b"slow")
            status, payload = detail
            writer.write(
                f"HTTP/1.1 {status} X\r\nContent-Type: text/plain\r\nContent-Length: {len(payload)}\r\n"
                f"Connection: close\r\n\r\n".encode()
                + payload
            )
            await writer.drain()
        except (asyncio.IncompleteReadError, ConnectionError):
            pass
        finally:
            with contextlib.suppress(Exception):
                writer.close()
