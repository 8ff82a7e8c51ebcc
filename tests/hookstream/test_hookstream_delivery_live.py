"""Delivery through a real server (uvicorn) and across restarts with `--state-file`."""

from __future__ import annotations

import time
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


def _settle(client: httpx.Client) -> None:
    """Wait until the mock's own requests have finished (the server runs them in the background)."""
    for _ in range(500):
        if ok(client.get("/__mock/outbound"))["pending"] == 0:
            return
        time.sleep(0.02)
    raise AssertionError("deliveries still pending")


def test_walkthrough_on_a_frozen_clock_503s_retries_dlq_manual_retry(receiver):
    receiver.answer(503, b"busy", times=3)
    app = create_app(MockConfig(api="hookstream", clock=ClockSettings(mode="frozen")))
    with LiveServer(app) as server, httpx.Client(base_url=server.url, timeout=10) as client:
        ids = _wire(
            client, receiver.url, retry_intervals=[60, 600], retry_max_attempts=3, circuit_breaker_enabled=False,
            signing_config={"secret": "walk-secret"},
        )  # fmt: skip
        event_id = ok(client.post(f"/v1/ingest/{ids['source']}", json={"n": 1}))["event_id"]
        for wait in (60, 600):
            _settle(client)
            ok(client.post("/__mock/clock", json={"advance_seconds": wait}))
        _settle(client)
        listed = ok(client.get("/v1/delivery-attempts", params={"event_id": event_id}, headers=headers()))
        chain = list(reversed(listed["delivery_attempts"]))
        assert [a["attempt_number"] for a in chain] == [1, 2, 3]
        assert [a["response_status"] for a in chain] == [503, 503, 503]
        assert chain[-1]["is_dlq"] == 1 and chain[-1]["dlq_at"] is not None
        assert ok(client.get(f"/v1/events/{event_id}", headers=headers()))["event"]["status"] == "failed"
        manual = ok(client.post(f"/v1/delivery-attempts/{chain[-1]['id']}/retry", headers=headers()))
        _settle(client)
        final = ok(client.get(f"/v1/delivery-attempts/{manual['delivery_attempt']['id']}", headers=headers()))
        assert final["delivery_attempt"]["status"] == "success"
        assert final["delivery_attempt"]["trigger_type"] == "manual"
        assert ok(client.get(f"/v1/events/{event_id}", headers=headers()))["event"]["status"] == "delivered"
        assert len(receiver.requests) == 4
        assert all(r.headers["x-hookstream-signature"].startswith("sha256=") for r in receiver.requests)
