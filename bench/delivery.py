"""hookstream delivery under load: ingest → receipt by a loopback receiver, against ingest with no match.

    .venv/bin/python bench/delivery.py [--events 3000] [--concurrency 32] [--out bench/DELIVERY.md]

Starts `mockserver serve --api hookstream --strict --log-level warning` as its own process, and a receiver
(a plain asyncio HTTP/1.1 server in this process) that notes when each delivery arrives. Three runs, each
`--events` ingests sent by `--concurrency` clients over keep-alive connections:

- `no match`: a source with no connection (ingest stores the event and routes nothing);
- `delivery`: a source with one connection to the receiver; its destination signs every request
  (`signing_config`, HMAC-SHA256 over `"{timestamp}.{body}"`);
- `delivery + transform`: the same with a JSONata transform on the connection.

For each: ingest answers per second, p50/p99 of the ingest answer, and (delivery runs) deliveries received per
second (first ingest sent → last delivery received) and p50/p99 from an ingest's send to its delivery's
receipt. Not run in CI.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import socket
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import httpx

ROOT = Path(__file__).resolve().parent.parent
KEY_OWNER = "acme-production"


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _percentile(values: list[float], fraction: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(fraction * len(ordered)))] if ordered else float("nan")


class Receiver:
    def __init__(self) -> None:
        self.arrived: dict[str, float] = {}
        self.port = 0
        self.done = asyncio.Event()
        self.expected = 0

    async def start(self) -> None:
        server = await asyncio.start_server(self._handle, "127.0.0.1", 0)
        self.port = server.sockets[0].getsockname()[1]
        self.server = server

    async def _handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            while True:
                head = await reader.readuntil(b"\r\n\r\n")
                length = 0
                event_id = ""
                for line in head.decode("latin-1").split("\r\n")[1:]:
                    name, _, value = line.partition(":")
                    name = name.strip().lower()
                    if name == "content-length":
                        length = int(value)
                    elif name == "x-hookstream-event-id":
                        event_id = value.strip()
                await reader.readexactly(length)
                self.arrived.setdefault(event_id, time.perf_counter())
                writer.write(b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok")
                await writer.drain()
                if self.expected and len(self.arrived) >= self.expected:
                    self.done.set()
        except (asyncio.IncompleteReadError, ConnectionError):
            pass
        finally:
            writer.close()


async def _setup(
    client: httpx.AsyncClient, headers: dict[str, str], receiver_url: str | None, transform: bool
) -> str:
    slug = f"bench-{time.monotonic_ns()}"
    source = (await client.post("/v1/sources", json={"name": "bench", "slug": slug}, headers=headers)).json()
    source_id = source["source"]["id"]
    if receiver_url is None:
        return str(source_id)
    destination = await client.post(
        "/v1/destinations",
        headers=headers,
        json={
            "name": "receiver",
            "slug": slug,
            "url": receiver_url,
            "signing_config": {"secret": "bench-secret", "include_timestamp": True},
            "circuit_breaker_enabled": False,
        },
    )
    connection: dict[str, Any] = {
        "source_id": source_id,
        "destination_id": destination.json()["destination"]["id"],
        "name": "bench",
    }
    if transform:
        connection.update(transform_enabled=True, transform_expression='{"order": id, "total": amount * 2}')
    await client.post("/v1/connections", json=connection, headers=headers)
    return str(source_id)


async def _run(
    base: str, headers: dict[str, str], receiver: Receiver, args: argparse.Namespace, kind: str
) -> dict[str, Any]:
    limits = httpx.Limits(max_connections=args.concurrency, max_keepalive_connections=args.concurrency)
    async with httpx.AsyncClient(base_url=base, limits=limits, timeout=60) as client:
        url = None if kind == "no match" else f"http://127.0.0.1:{receiver.port}/hooks"
        source_id = await _setup(client, headers, url, transform=kind.endswith("transform"))
        receiver.arrived.clear()
        receiver.done.clear()
        receiver.expected = args.events if url else 0
        sent: dict[str, float] = {}
        answers: list[float] = []
        queue: asyncio.Queue[int] = asyncio.Queue()
        for n in range(args.events):
            queue.put_nowait(n)
        pace = 1 / args.rate if args.rate else 0.0

        host, port = base.removeprefix("http://").split(":")

        async def worker() -> None:
            """A keep-alive connection of its own, raw HTTP/1.1 (an HTTP client library costs more CPU than
            the server it measures on two shared cores)."""
            reader, writer = await asyncio.open_connection(host, int(port))
            try:
                while not queue.empty():
                    n = queue.get_nowait()
                    if pace:  # open loop: event n leaves at first + n / rate, whatever the answers do
                        await asyncio.sleep(max(0.0, first + n * pace - time.perf_counter()))
                    body = json.dumps({"id": f"o_{n}", "amount": n}).encode()
                    started = time.perf_counter()
                    writer.write(
                        f"POST /v1/ingest/{source_id} HTTP/1.1\r\nHost: {host}\r\nContent-Type: application/json\r\n"
                        f"Content-Length: {len(body)}\r\n\r\n".encode()
                        + body
                    )
                    head = await reader.readuntil(b"\r\n\r\n")
                    length = next(
                        int(line.split(b":", 1)[1])
                        for line in head.split(b"\r\n")
                        if line.lower().startswith(b"content-length:")
                    )
                    answer = json.loads(await reader.readexactly(length))
                    answers.append(time.perf_counter() - started)
                    sent[answer["event_id"]] = started
            finally:
                writer.close()

        first = time.perf_counter() + 0.05
        await asyncio.gather(*(worker() for _ in range(args.concurrency)))
        ingest_seconds = time.perf_counter() - first
        result: dict[str, Any] = {
            "kind": kind,
            "ingest_per_s": args.events / ingest_seconds,
            "ingest_p50_ms": _percentile(answers, 0.5) * 1000,
            "ingest_p99_ms": _percentile(answers, 0.99) * 1000,
        }
        if url:
            try:
                await asyncio.wait_for(receiver.done.wait(), timeout=120)
            except TimeoutError:
                pass
            latencies = [receiver.arrived[e] - sent[e] for e in sent if e in receiver.arrived]
            last = max(receiver.arrived.values()) if receiver.arrived else first
            result.update(
                received=len(latencies),
                delivered_per_s=len(latencies) / (last - first),
                receipt_p50_ms=_percentile(latencies, 0.5) * 1000,
                receipt_p99_ms=_percentile(latencies, 0.99) * 1000,
            )
        return result


async def _main(args: argparse.Namespace) -> list[dict[str, Any]]:
    sys.path.insert(0, str(ROOT))
    from mockserver.apis.hookstream._keys import API_KEYS

    key = next(k.key for k in API_KEYS if k.owner == KEY_OWNER)
    headers = {"X-API-Key": key}
    port = _free_port()
    command = [sys.executable, "-m", "mockserver", "serve", "--api", "hookstream", "--port", str(port),
               "--strict", "--log-level", "warning", "--rate-limit", "100000000/60"]  # fmt: skip
    process = subprocess.Popen(command, cwd=ROOT, stdout=subprocess.DEVNULL, env={**os.environ})
    base = f"http://127.0.0.1:{port}"
    try:
        async with httpx.AsyncClient(base_url=base) as probe:
            for _ in range(500):
                try:
                    if (await probe.get("/v1/health")).status_code == 200:
                        break
                except httpx.TransportError:
                    await asyncio.sleep(0.02)
        receiver = Receiver()
        await receiver.start()
        results = []
        for kind in ("no match", "delivery", "delivery + transform"):
            results.append(await _run(base, headers, receiver, args, kind))
        return results
    finally:
        process.terminate()
        process.wait(10)


def _report(results: list[dict[str, Any]], args: argparse.Namespace) -> str:
    lines = [
        "# hookstream delivery under load (`bench/delivery.py`)",
        "",
        f"{args.events} ingests per run, {args.concurrency} concurrent clients"
        + (
            f" sending {args.rate:.0f} events/s (open loop)"
            if args.rate
            else " as fast as answered (closed loop)"
        )
        + f", one `mockserver serve --api hookstream "
        f"--strict` process and the receiver sharing the machine's {os.cpu_count()} cores.",
        "",
        "| run | ingest answers/s | ingest p50 ms | ingest p99 ms | deliveries received/s | ingest→receipt p50 ms | ingest→receipt p99 ms |",
        "|---|---|---|---|---|---|---|",
    ]
    for r in results:
        delivered = (
            f"{r['delivered_per_s']:.0f} ({r['received']} of {args.events}) | {r['receipt_p50_ms']:.1f} | {r['receipt_p99_ms']:.1f}"
            if "received" in r
            else "— | — | —"
        )
        lines.append(
            f"| {r['kind']} | {r['ingest_per_s']:.0f} | {r['ingest_p50_ms']:.1f} | {r['ingest_p99_ms']:.1f} | {delivered} |"
        )
    return "\n".join(lines) + "\n"


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--events", type=int, default=3000)
    parser.add_argument("--concurrency", type=int, default=32)
    parser.add_argument(
        "--rate", type=float, default=0.0, help="events per second (open loop); 0: as fast as answered"
    )
    parser.add_argument("--out", type=Path, default=None)
    args = parser.parse_args()
    report = _report(asyncio.run(_main(args)), args)
    print(report)
    if args.out is not None:
        args.out.write_text(report)


if __name__ == "__main__":
    main()
