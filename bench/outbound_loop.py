"""The outbound runner alone: `--requests` signed-size POSTs through `OutboundRunner` (aiohttp) to a loopback
receiver in its own process, `--concurrency` submitted at a time; requests/s and p50/p99 per request.

    .venv/bin/python bench/outbound_loop.py [--requests 5000] [--concurrency 32] [--rounds 3]

Not run in CI; results in bench/DELIVERY.md.
"""

from __future__ import annotations

import argparse
import asyncio
import socket
import subprocess
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from mockserver._outbound import OutboundRequest, OutboundResult, OutboundRunner

RECEIVER = r"""
import asyncio, sys
async def handle(reader, writer):
    try:
        while True:
            head = await reader.readuntil(b"\r\n\r\n")
            length = 0
            for line in head.split(b"\r\n"):
                if line.lower().startswith(b"content-length:"):
                    length = int(line.split(b":")[1])
            await reader.readexactly(length)
            writer.write(b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok")
    except (asyncio.IncompleteReadError, ConnectionError):
        pass
    finally:
        writer.close()
async def main():
    server = await asyncio.start_server(handle, "127.0.0.1", int(sys.argv[1]))
    print("ready", flush=True)
    await server.serve_forever()
asyncio.run(main())
"""
BODY = b'{"order":"o_1","total":2}' * 4
HEADERS = (("Content-Type", "application/json"), ("X-Hookstream-Signature", "sha256=" + "a" * 64))


async def _round(url: str, requests: int, concurrency: int) -> tuple[float, float, float]:
    runner = OutboundRunner(max_in_flight=concurrency)
    latencies: list[float] = []
    slots = asyncio.Semaphore(concurrency)

    async def one() -> None:
        async with slots:
            finished = asyncio.get_running_loop().create_future()
            started = time.perf_counter()

            def done(result: OutboundResult) -> None:
                assert result.status == 200, result.error
                latencies.append(time.perf_counter() - started)
                finished.set_result(None)

            runner.submit(
                OutboundRequest("POST", url, HEADERS, BODY, 10.0),
                owner=runner,
                api="b",
                session="b",
                done=done,
            )
            await finished

    first = time.perf_counter()
    await asyncio.gather(*(one() for _ in range(requests)))
    seconds = time.perf_counter() - first
    await runner.shutdown()
    latencies.sort()
    return (
        requests / seconds,
        latencies[len(latencies) // 2] * 1000,
        latencies[int(len(latencies) * 0.99)] * 1000,
    )


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--requests", type=int, default=5000)
    parser.add_argument("--concurrency", type=int, default=32)
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args()
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    receiver = subprocess.Popen([sys.executable, "-c", RECEIVER, str(port)], stdout=subprocess.PIPE)
    try:
        assert receiver.stdout is not None
        receiver.stdout.readline()
        for n in range(args.rounds):
            rate, p50, p99 = asyncio.run(
                _round(f"http://127.0.0.1:{port}/hooks", args.requests, args.concurrency)
            )
            print(f"round {n + 1}: {rate:.0f} requests/s, p50 {p50:.1f} ms, p99 {p99:.1f} ms")
    finally:
        receiver.terminate()
        receiver.wait(10)


if __name__ == "__main__":
    main()
