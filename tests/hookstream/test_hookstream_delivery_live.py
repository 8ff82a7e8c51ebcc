"""Delivery through a real server (uvicorn) and across restarts with `--state-file`."""

from __future__ import annotations

import warnings
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from hs_support import create_connection, create_destination, create_source, headers, ok
from receiver import Receiver

from mockserver import ClockSettings, MockConfig, create_app
from mockserver._live import LiveServer

with warnings.catch_warnings():
    warnings.simplefilter("ignore")
    from starlette.testclient import TestClient


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    running = Receiver().start()
    yield running
    running.stop()


def _wire(client: Any, url: str, **destination: Any) -> dict[str, str]:
    source = create_source(client)
    made = create_destination(client, url=url, **destination)
    create_connection(client, source_id=source["id"], destination_id=made["id"])
    return {"source": source["id"], "destination": made["id"]}


def test_on_a_running_clock_a_retry_happens_by_wall_time_without_requests(receiver):
    receiver.answer(503)
    app = create_app(MockConfig(api="hookstream", clock=ClockSettings(mode="running")))
    with LiveServer(app) as server, httpx.Client(base_url=server.url, timeout=10) as client:
        ids = _wire(
            client, receiver.url, retry_intervals=[1], retry_max_attempts=2, circuit_breaker_enabled=False
        )
        ok(client.post(f"/v1/ingest/{ids['source']}", json={"n": 1}))
        assert receiver.wait_for(2, timeout=20)  # nobody calls the API meanwhile
        assert [r.headers["x-hookstream-delivery-attempt"] for r in receiver.requests] == ["1", "2"]


def test_a_hanging_receiver_does_not_slow_a_real_server(receiver):
    for _ in range(5):
        receiver.hang()
    app = create_app(MockConfig(api="hookstream", clock=ClockSettings(mode="running")))
    with LiveServer(app) as server, httpx.Client(base_url=server.url, timeout=5) as client:
        ids = _wire(client, receiver.url, timeout_ms=60000, retry_enabled=False)
        for n in range(5):
            ok(client.post(f"/v1/ingest/{ids['source']}", json={"n": n}))
        assert receiver.wait_for(5)
        # Five deliveries hang on the wire; every API call still answers (a blocked loop would time out).
        for _ in range(20):
            ok(client.get("/v1/destinations", headers=headers()))
        listed = ok(client.get("/v1/delivery-attempts", params={"status": "pending"}, headers=headers()))
        assert listed["pagination"]["total"] == 5


def test_pending_retries_survive_a_restart_with_a_state_file(tmp_path: Path, receiver):
    state_file = tmp_path / "state.json"
    config = MockConfig(api="hookstream", state_file=state_file)
    receiver.answer(503)
    receiver.hang()
    with TestClient(create_app(config)) as first:
        failing = _wire(
            first, receiver.url, retry_intervals=[30], retry_max_attempts=3, circuit_breaker_enabled=False
        )
        ok(first.post(f"/v1/ingest/{failing['source']}", json={"n": 1}))
        first.portal.call(first.app.state.runtime.outbound.drain)
        hanging = _wire(
            first, receiver.url, retry_intervals=[30], retry_max_attempts=3, circuit_breaker_enabled=False
        )
        ok(first.post(f"/v1/ingest/{hanging['source']}", json={"n": 2}))
        assert receiver.wait_for(2)
    # Shutdown interrupted the hanging attempt; both retries are saved with the state.
    with TestClient(create_app(config)) as second:
        for ids, error in ((failing, "Destination answered HTTP 503"), (hanging, "Interrupted")):
            (attempt,) = ok(
                second.get(
                    "/v1/delivery-attempts", params={"destination_id": ids["destination"]}, headers=headers()
                )
            )["delivery_attempts"]
            assert attempt["status"] == "failed" and attempt["error"].startswith(error)
            assert attempt["next_retry_at"] is not None
        ok(second.post("/__mock/clock", json={"advance_seconds": 30}))
        second.portal.call(second.app.state.runtime.outbound.drain)
        assert len(receiver.requests) == 4
        for ids in (failing, hanging):
            latest = ok(
                second.get(
                    "/v1/delivery-attempts",
                    params={"destination_id": ids["destination"], "limit": 1},
                    headers=headers(),
                )
            )["delivery_attempts"][0]
            assert latest["attempt_number"] == 2 and latest["status"] == "success"
