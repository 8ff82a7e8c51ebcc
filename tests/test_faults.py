"""Fault checks against a real `mockserver serve`: kill -9 during saves, slow and idle clients, 64 sessions
writing at once, a WebSocket message past the frame limit."""

from __future__ import annotations

import json
import random
import signal
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from hookstream.receiver import Receiver  # tests/hookstream's loopback receiver

from mockserver._cli import SERVER_LIMITS

STATE_FORMAT = "mockserver-state/1"


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def _serve(port: int, *extra: str) -> subprocess.Popen[bytes]:
    command = [sys.executable, "-m", "mockserver", "serve", "--port", str(port), "--log-level", "warning"]
    process = subprocess.Popen([*command, *extra], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        try:
            if httpx.get(f"http://127.0.0.1:{port}/__mock/health", timeout=1).status_code == 200:
                return process
        except httpx.TransportError:
            time.sleep(0.1)
    process.kill()
    raise AssertionError("the server did not start")


def _credentials(base: str) -> dict[str, dict[str, str]]:
    users = httpx.get(f"{base}/__mock/users", timeout=10).json()
    found = {}
    for api in ("stack-ai", "hookstream"):
        name, _, value = users[api][0]["header"].partition(": ")
        found[api] = {name: value}
    return found


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    port = _free_port()
    state_file = tmp_path_factory.mktemp("faults") / "state.json"
    process = _serve(port, "--max-sessions", "64", "--state-file", str(state_file))
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        process.terminate()
        process.wait(timeout=30)


def _connection(name: str) -> dict[str, object]:
    return {
        "name": name,
        "provider_id": "gdrive",
        "connection_type_id": "gdrive",
        "connection_provider_data": {},
    }


# ---------------------------------------------------------------- kill -9 during saves


def test_kill_9_during_saves_leaves_the_last_complete_save(tmp_path: Path) -> None:
    """Writes and saves in flight, then SIGKILL at a random moment: the state file is whole, it loads, and it
    holds at least what the last acknowledged save held."""
    state_file = tmp_path / "state.json"
    rng = random.Random(19)
    for round_ in range(3):
        _kill_during_saves(state_file, round_, kill_after=rng.uniform(0.3, 1.5))


def _kill_during_saves(state_file: Path, round_: int, *, kill_after: float) -> None:
    port = _free_port()
    base = f"http://127.0.0.1:{port}"
    process = _serve(port, "--state-file", str(state_file))
    stack = _credentials(base)["stack-ai"]
    created: list[str] = []
    saved_with: list[set[str]] = []
    stop = threading.Event()
    lock = threading.Lock()

    def write(index: int) -> None:
        with httpx.Client(timeout=10) as client:
            count = 0
            while not stop.is_set():
                count += 1
                try:
                    response = client.post(
                        f"{base}/stack-ai/connections",
                        json=_connection(f"kill-{round_}-{index}-{count}"),
                        headers=stack,
                    )
                except httpx.TransportError:
                    return
                if response.status_code == 201:
                    with lock:
                        created.append(response.json()["connection_id"])

    def save() -> None:
        with httpx.Client(timeout=10) as client:
            while not stop.is_set():
                with lock:
                    before = set(created)
                try:
                    response = client.post(f"{base}/__mock/state/save")
                except httpx.TransportError:
                    return
                if response.status_code == 200:
                    saved_with.append(before)

    threads = [threading.Thread(target=write, args=(index,)) for index in range(3)]
    threads.append(threading.Thread(target=save))
    for thread in threads:
        thread.start()
    time.sleep(kill_after)
    process.send_signal(signal.SIGKILL)
    process.wait()
    stop.set()
    for thread in threads:
        thread.join(timeout=30)
    assert saved_with, "no save was acknowledged before the kill"
    document = json.loads(state_file.read_text(encoding="utf-8"))
    assert document["format"] == STATE_FORMAT
    restarted = _serve(port, "--state-file", str(state_file))
    try:
        listed = httpx.get(f"{base}/stack-ai/connections", headers=stack, params={"limit": 1000}).json()
        present = {item["connection_id"] for item in listed}
        assert saved_with[-1] <= present
    finally:
        restarted.terminate()
        restarted.wait(timeout=30)


# ---------------------------------------------------------------- slow and idle clients


def _trickle(port: int, stop: threading.Event) -> None:
    """A slowloris: a request line, then one header byte at a time, never finishing."""
    with socket.create_connection(("127.0.0.1", port)) as sock:
        sock.sendall(b"GET /__mock/health HTTP/1.1\r\nHost: 127.0.0.1\r\n")
        while not stop.wait(0.1):
            try:
                sock.sendall(b"x")
            except OSError:
                return


def test_slow_and_idle_clients_do_not_keep_others_waiting(server: str) -> None:
    port = int(server.rsplit(":", 1)[1])
    idle = [socket.create_connection(("127.0.0.1", port)) for _ in range(200)]
    stop = threading.Event()
    slow = [threading.Thread(target=_trickle, args=(port, stop)) for _ in range(5)]
    for thread in slow:
        thread.start()
    try:
        with httpx.Client(timeout=10) as client:
            answers = [client.get(f"{server}/stack-ai/connections/available").status_code for _ in range(20)]
        assert answers == [200] * 20
    finally:
        stop.set()
        for thread in slow:
            thread.join()
        for sock in idle:
            sock.close()


# ---------------------------------------------------------------- sessions


def test_64_sessions_writing_in_parallel_never_see_each_other(server: str) -> None:
    credentials = _credentials(server)
    seen: dict[int, tuple[set[str], set[str]]] = {}
    errors: list[str] = []

    def session_work(index: int) -> None:
        session = {"X-Mock-Session": f"iso-{index}"}
        hook = {**credentials["hookstream"], **session}
        stack = {**credentials["stack-ai"], **session}
        with httpx.Client(base_url=server, timeout=30) as client:
            for item in range(3):
                slug = f"iso-{index}-{item}"
                made = client.post("/hookstream/v1/sources", json={"name": slug, "slug": slug}, headers=hook)
                if made.status_code != 201:
                    errors.append(f"{slug}: {made.status_code} {made.text[:200]}")
                made = client.post("/stack-ai/connections", json=_connection(slug), headers=stack)
                if made.status_code != 201:
                    errors.append(f"{slug}: {made.status_code} {made.text[:200]}")
            sources = client.get("/hookstream/v1/sources", headers=hook, params={"limit": 100}).json()
            connections = client.get("/stack-ai/connections", headers=stack, params={"limit": 1000}).json()
            seen[index] = (
                {source["slug"] for source in sources["sources"] if source["slug"].startswith("iso-")},
                {item["name"] for item in connections if item["name"].startswith("iso-")},
            )

    threads = [threading.Thread(target=session_work, args=(index,)) for index in range(64)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)
    assert errors == []
    for index in range(64):
        mine = {f"iso-{index}-{item}" for item in range(3)}
        assert seen[index] == (mine, mine)


# ---------------------------------------------------------------- WebSocket frame size


def test_a_websocket_message_past_the_limit_closes_with_1009(server: str) -> None:
    from websockets.exceptions import ConnectionClosed
    from websockets.sync.client import connect

    token = _credentials(server)["hookstream"]["X-API-Key"]
    url = server.replace("http://", "ws://") + f"/hookstream/v1/ws?token={token}"
    with connect(url, open_timeout=30) as websocket:
        assert json.loads(websocket.recv(timeout=30))["type"] == "welcome"
        websocket.send("x" * (SERVER_LIMITS["ws_max_size"] + 1))
        with pytest.raises(ConnectionClosed) as closed:
            while True:
                websocket.recv(timeout=30)
        assert closed.value.rcvd is not None and closed.value.rcvd.code == 1009


# ---------------------------------------------------------------- shutdown with retries pending


def test_sigterm_with_retries_pending_loses_none_of_them(tmp_path: Path) -> None:
    """Deliveries failing and retries due later, some attempts still on the wire: SIGTERM, restart with the
    same --state-file, and every event still has its retry, which then runs."""
    receiver = Receiver().start()
    receiver.answer(503, times=40)  # every first attempt fails; the retries after the restart succeed
    state_file = tmp_path / "state.json"
    port = _free_port()
    base = f"http://127.0.0.1:{port}"
    options = ("--clock", "frozen", "--state-file", str(state_file))
    process = _serve(port, *options)
    try:
        hook = _credentials(base)["hookstream"]
        with httpx.Client(base_url=f"{base}/hookstream", headers=hook, timeout=10) as client:
            source = client.post("/v1/sources", json={"name": "s", "slug": "retry-source"}).json()["source"]
            destination = client.post(
                "/v1/destinations",
                json={
                    "name": "d",
                    "slug": "retry-destination",
                    "url": receiver.url,
                    "retry_intervals": [60],
                    "retry_max_attempts": 3,
                    "circuit_breaker_enabled": False,
                },
            ).json()["destination"]
            link = {"name": "c", "source_id": source["id"], "destination_id": destination["id"]}
            assert client.post("/v1/connections", json=link).status_code == 201
            events = [
                client.post(f"/v1/ingest/{source['id']}", json={"n": n}).json()["event_id"] for n in range(40)
            ]
            assert receiver.wait_for(20, timeout=30)
        process.send_signal(signal.SIGTERM)  # some first attempts may still be queued or on the wire
        assert process.wait(timeout=30) in (0, -signal.SIGTERM)  # uvicorn re-raises the signal once done
        process = _serve(port, *options)
        with httpx.Client(base_url=f"{base}/hookstream", headers=hook, timeout=10) as client:
            for event_id in events:
                chain = client.get("/v1/delivery-attempts", params={"event_id": event_id}).json()
                (attempt,) = chain["delivery_attempts"]
                assert attempt["status"] == "failed" and attempt["next_retry_at"] is not None, attempt
            before = len(receiver.requests)
            assert httpx.post(f"{base}/__mock/clock", json={"advance_seconds": 60}).status_code == 200
            assert receiver.wait_for(before + len(events), timeout=30)
            retried = [request.headers["x-hookstream-event-id"] for request in receiver.requests[before:]]
            assert sorted(retried) == sorted(events)
    finally:
        process.terminate()
        process.wait(timeout=30)
        receiver.stop()
