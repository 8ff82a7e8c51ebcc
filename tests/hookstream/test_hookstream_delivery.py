"""Delivery to real receivers on loopback: headers, signing, transforms, retries on the frozen mock clock, the
dead-letter queue, circuits, timeouts, and receivers that hang or reset. Also simulated destinations."""

from __future__ import annotations

import base64
import hashlib
import hmac
import itertools
import json
from collections.abc import Iterator
from datetime import datetime
from typing import Any

import pytest
from hs_support import (
    ACME,
    GLOBEX,
    ID,
    create_connection,
    create_destination,
    create_source,
    error,
    fresh_hookstream_fixture,
    headers,
    ingest,
    new_client,
    ok,
    reset,
)
from hypothesis import given, settings
from hypothesis import strategies as st
from receiver import Receiver
from starlette.testclient import TestClient

from mockserver.apis.hookstream._delivery import backoff_seconds

hookstream = fresh_hookstream_fixture()

SECRET = "whsec_delivery_test_secret_0123456789"
DOCUMENTED_FIELDS = {
    "id", "org_id", "env_id", "event_id", "connection_id", "destination_id", "request_url", "request_method",
    "request_headers", "request_body_size", "response_status", "response_headers", "response_body",
    "duration_ms", "status", "error", "created_at", "attempt_number", "next_retry_at", "is_dlq", "dlq_at",
    "trigger_type", "connection_name", "destination_name",
}  # fmt: skip


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    running = Receiver().start()
    yield running
    running.stop()


def drain(client: TestClient) -> int:
    runner = client.app.state.runtime.outbound
    finished: int = client.portal.call(runner.drain)
    return finished


def advance(client: TestClient, seconds: float) -> None:
    ok(client.post("/__mock/clock", json={"advance_seconds": seconds}))


def wire(
    client: TestClient, url: str, *, connection: dict[str, Any] | None = None, **destination: Any
) -> dict[str, str]:
    source = create_source(client)
    made = create_destination(client, url=url, **destination)
    link = create_connection(client, source_id=source["id"], destination_id=made["id"], **(connection or {}))
    return {"source": source["id"], "destination": made["id"], "connection": link["id"]}


def attempts(client: TestClient, owner: str = ACME, **query: Any) -> list[dict[str, Any]]:
    found: list[dict[str, Any]] = ok(
        client.get("/v1/delivery-attempts", params=query, headers=headers(owner))
    )["delivery_attempts"]
    return found


def event_status(client: TestClient, event_id: str) -> str:
    status: str = ok(client.get(f"/v1/events/{event_id}", headers=headers()))["event"]["status"]
    return status


def test_a_matched_event_reaches_the_receiver_signed_authenticated_and_transformed(hookstream, receiver):
    ids = wire(
        hookstream,
        receiver.url,
        headers={"X-Team": "billing"},
        auth_type="bearer_token",
        auth_config={"token": "tok_live_abcdefghijklmnop"},
        signing_config={"secret": SECRET, "include_timestamp": True},
        connection={
            "transform_enabled": True,
            "transform_expression": '{"id": data.id, "total": data.amount * 2}',
        },
    )
    event = ok(ingest(hookstream, ids["source"], {"data": {"id": "in_1", "amount": 21}}))
    drain(hookstream)
    (request,) = receiver.requests
    assert request.method == "POST" and request.path == "/hooks"
    assert json.loads(request.body) == {"id": "in_1", "total": 42}
    sent = request.headers
    assert sent["x-hookstream-event-id"] == event["event_id"]
    assert sent["x-hookstream-delivery-attempt"] == "1"
    assert sent["authorization"] == "Bearer tok_live_abcdefghijklmnop"
    assert sent["x-team"] == "billing"
    timestamp = sent["x-hookstream-timestamp"]
    expected = hmac.new(SECRET.encode(), f"{timestamp}.".encode() + request.body, hashlib.sha256).hexdigest()
    assert sent["x-hookstream-signature"] == f"sha256={expected}"
    (attempt,) = attempts(hookstream, event_id=event["event_id"])
    assert set(attempt) == DOCUMENTED_FIELDS
    assert attempt["status"] == "success" and attempt["response_status"] == 200
    assert attempt["request_url"] == receiver.url and attempt["attempt_number"] == 1
    assert attempt["trigger_type"] == "initial" and attempt["is_dlq"] == 0
    shown = json.loads(attempt["request_headers"])
    assert "tok_live_abcdefghijklmnop" not in attempt["request_headers"]
    assert shown["Authorization"].startswith("****") and expected not in attempt["request_headers"]
    assert attempt["request_body_size"] == len(request.body)
    assert event_status(hookstream, event["event_id"]) == "delivered"


def test_signature_over_the_body_alone_and_basic_auth(hookstream, receiver):
    ids = wire(
        hookstream,
        receiver.url,
        method="PUT",
        auth_type="basic",
        auth_config={"username": "hook", "password": "s3cret-pass"},
        signing_config={"secret": SECRET, "algorithm": "sha1", "header": "X-Sig", "prefix": ""},
    )
    ok(ingest(hookstream, ids["source"], {"n": 1}))
    drain(hookstream)
    (request,) = receiver.requests
    assert request.method == "PUT"
    assert request.headers["authorization"] == "Basic " + base64.b64encode(b"hook:s3cret-pass").decode()
    assert request.headers["x-sig"] == hmac.new(SECRET.encode(), request.body, hashlib.sha1).hexdigest()
    assert json.loads(request.body) == {"n": 1}


def test_api_key_auth_header(hookstream, receiver):
    ids = wire(
        hookstream,
        receiver.url,
        auth_type="api_key",
        auth_config={"header": "X-Receiver-Key", "key": "k_0123456789"},
    )
    ok(ingest(hookstream, ids["source"], {"n": 1}))
    drain(hookstream)
    assert receiver.requests[0].headers["x-receiver-key"] == "k_0123456789"


@pytest.mark.parametrize(
    ("expression", "reason"),
    [
        ("[1, 2]", "must return a JSON object"),
        ("nothing.here", "must return a JSON object"),
        ("{ bad", "Transform failed"),
    ],
)
def test_a_transform_that_fails_or_returns_no_object_fails_the_attempt_without_sending(
    hookstream, receiver, expression, reason
):
    ids = wire(
        hookstream,
        receiver.url,
        retry_enabled=False,
        connection={"transform_enabled": True, "transform_expression": expression},
    )
    event = ok(ingest(hookstream, ids["source"], {"n": 1}))
    drain(hookstream)
    assert receiver.requests == []
    (attempt,) = attempts(hookstream, event_id=event["event_id"])
    assert attempt["status"] == "failed" and reason in attempt["error"]
    assert attempt["is_dlq"] == 1 and event_status(hookstream, event["event_id"]) == "failed"


@pytest.mark.parametrize(
    ("backoff", "intervals", "waits"),
    [
        ("exponential", [10, 20, 40], [10, 20, 40, 40]),
        ("linear", [15, 99], [15, 30, 45, 60]),
        ("fixed", [25, 99], [25, 25, 25, 25]),
    ],
)
def test_503s_follow_the_retry_schedule_on_the_frozen_clock_then_the_dlq(
    hookstream, receiver, backoff, intervals, waits
):
    receiver.answer(503, b"down", times=5)
    ids = wire(
        hookstream,
        receiver.url,
        retry_max_attempts=5,
        retry_backoff_type=backoff,
        retry_intervals=intervals,
        circuit_breaker_enabled=False,
    )
    event_id = ok(ingest(hookstream, ids["source"], {"n": 1}))["event_id"]
    drain(hookstream)
    for number, wait in enumerate(waits, start=1):
        (latest,) = attempts(hookstream, event_id=event_id, limit=1)
        assert latest["attempt_number"] == number and latest["status"] == "failed"
        assert latest["response_status"] == 503 and latest["response_body"] == "down"
        assert latest["next_retry_at"] is not None and latest["is_dlq"] == 0
        assert event_status(hookstream, event_id) == "processing"
        advance(hookstream, wait - 1)
        drain(hookstream)
        assert len(receiver.requests) == number  # not due yet
        advance(hookstream, 1)
        drain(hookstream)
        assert len(receiver.requests) == number + 1
    assert [r.headers["x-hookstream-delivery-attempt"] for r in receiver.requests] == [
        "1",
        "2",
        "3",
        "4",
        "5",
    ]
    (last,) = attempts(hookstream, event_id=event_id, limit=1)
    assert last["attempt_number"] == 5 and last["is_dlq"] == 1 and last["dlq_at"] is not None
    assert last["next_retry_at"] is None
    assert event_status(hookstream, event_id) == "failed"
    assert [a["id"] for a in attempts(hookstream, is_dlq="1", event_id=event_id)] == [last["id"]]
    # A manual retry is a new attempt; the receiver now answers 200.
    retried = ok(hookstream.post(f"/v1/delivery-attempts/{last['id']}/retry", headers=headers()))
    manual = retried["delivery_attempt"]
    assert (
        manual["trigger_type"] == "manual" and manual["attempt_number"] == 6 and manual["status"] == "pending"
    )
    drain(hookstream)
    shown = ok(hookstream.get(f"/v1/delivery-attempts/{manual['id']}", headers=headers()))["delivery_attempt"]
    assert shown["status"] == "success"
    assert event_status(hookstream, event_id) == "delivered"


def test_setting_the_clock_past_the_due_time_runs_the_retry(hookstream, receiver):
    receiver.answer(500)
    ids = wire(
        hookstream, receiver.url, retry_intervals=[60], retry_max_attempts=3, circuit_breaker_enabled=False
    )
    event_id = ok(ingest(hookstream, ids["source"], {"n": 1}))["event_id"]
    drain(hookstream)
    (failed,) = attempts(hookstream, event_id=event_id)
    ok(hookstream.post("/__mock/clock", json={"set": failed["next_retry_at"]}))
    drain(hookstream)
    assert len(receiver.requests) == 2
    assert event_status(hookstream, event_id) == "delivered"


def test_event_retry_retries_failed_deliveries_only(hookstream, receiver):
    receiver.answer(503)
    ids = wire(hookstream, receiver.url, retry_enabled=False, circuit_breaker_enabled=False)
    event_id = ok(ingest(hookstream, ids["source"], {"n": 1}))["event_id"]
    drain(hookstream)
    body = ok(hookstream.post(f"/v1/events/{event_id}/retry", headers=headers()))
    assert set(body) == {"retried", "errors", "message"} and body["errors"] == []
    (made,) = body["retried"]
    assert made["trigger_type"] == "manual" and made["event_id"] == event_id
    drain(hookstream)
    again = ok(hookstream.post(f"/v1/events/{event_id}/retry", headers=headers()))
    assert again["retried"] == [] and again["message"] == "No failed delivery attempts to retry"
    error(hookstream.post(f"/v1/events/{'0' * 32}/retry", headers=headers()), 404, "Event not found")


def test_a_pending_attempt_cannot_be_retried_and_other_orgs_see_nothing(hookstream, receiver):
    receiver.hang()
    ids = wire(hookstream, receiver.url, timeout_ms=1000, retry_enabled=False)
    event_id = ok(ingest(hookstream, ids["source"], {"n": 1}))["event_id"]
    (pending,) = attempts(hookstream, event_id=event_id)
    assert pending["status"] == "pending"
    error(hookstream.post(f"/v1/delivery-attempts/{pending['id']}/retry", headers=headers()), 400)
    error(hookstream.get(f"/v1/delivery-attempts/{pending['id']}", headers=headers(GLOBEX)), 404)
    assert attempts(hookstream, GLOBEX, event_id=event_id) == []
    drain(hookstream)
    (timed_out,) = attempts(hookstream, event_id=event_id)
    assert timed_out["status"] == "failed" and "Timed out after 1000 ms" in timed_out["error"]
    assert timed_out["response_status"] is None


def test_a_resetting_receiver_fails_the_attempt_with_a_connection_error(hookstream, receiver):
    receiver.reset()
    ids = wire(hookstream, receiver.url, retry_enabled=False)
    event_id = ok(ingest(hookstream, ids["source"], {"n": 1}))["event_id"]
    drain(hookstream)
    (attempt,) = attempts(hookstream, event_id=event_id)
    assert attempt["status"] == "failed" and attempt["response_status"] is None
    assert attempt["error"]


def test_a_hanging_receiver_does_not_hold_up_other_requests(hookstream, receiver):
    receiver.hang()
    ids = wire(hookstream, receiver.url, timeout_ms=30000, retry_enabled=False)
    ok(ingest(hookstream, ids["source"], {"n": 1}))
    assert receiver.wait_for(1)
    # The delivery is still on the wire; the API keeps answering.
    for _ in range(3):
        ok(hookstream.get("/v1/destinations", headers=headers()))
    (attempt,) = attempts(hookstream, destination_id=ids["destination"])
    assert attempt["status"] == "pending"
    outbound = ok(hookstream.get("/__mock/outbound"))
    assert outbound["pending"] == 1 and outbound["allowed_hosts"] == []


def test_circuit_opens_holds_probes_and_closes(hookstream, receiver):
    receiver.answer(503, times=3)
    ids = wire(
        hookstream,
        receiver.url,
        retry_enabled=False,
        circuit_breaker_threshold=2,
        circuit_breaker_reset_ms=30000,
    )
    circuit_url = f"/v1/destinations/{ids['destination']}/circuit"
    closed = ok(hookstream.get(circuit_url, headers=headers()))["circuit"]
    assert closed["state"] == "closed" and closed["failure_count"] == 0
    for n in range(2):
        ok(ingest(hookstream, ids["source"], {"n": n}))
        drain(hookstream)
    opened = ok(hookstream.get(circuit_url, headers=headers()))["circuit"]
    assert opened["state"] == "open" and opened["failure_count"] == 2 and opened["next_probe_at"]
    held_event = ok(ingest(hookstream, ids["source"], {"n": "held"}))["event_id"]
    drain(hookstream)
    assert len(receiver.requests) == 2  # held, not sent and not dropped
    (held,) = attempts(hookstream, event_id=held_event)
    assert held["status"] == "pending" and "circuit" in held["error"]
    assert ok(hookstream.get(circuit_url, headers=headers()))["circuit"]["held_count"] == 1
    advance(hookstream, 30)  # the probe goes out (the receiver still answers 503: open again)
    drain(hookstream)
    assert len(receiver.requests) == 3
    assert ok(hookstream.get(circuit_url, headers=headers()))["circuit"]["state"] == "open"
    second_held = ok(ingest(hookstream, ids["source"], {"n": "held-2"}))["event_id"]
    advance(hookstream, 30)  # the next probe succeeds: closed, the other held attempt goes too
    drain(hookstream)
    circuit = ok(hookstream.get(circuit_url, headers=headers()))["circuit"]
    assert circuit["state"] == "closed" and circuit["failure_count"] == 0 and circuit["held_count"] == 0
    assert event_status(hookstream, second_held) == "delivered"
    assert len(receiver.requests) == 4


def test_circuit_reset_closes_and_sends_the_held_attempts(hookstream, receiver):
    receiver.answer(500)
    ids = wire(hookstream, receiver.url, retry_enabled=False, circuit_breaker_threshold=1)
    ok(ingest(hookstream, ids["source"], {"n": 1}))
    drain(hookstream)
    held_event = ok(ingest(hookstream, ids["source"], {"n": 2}))["event_id"]
    circuit_url = f"/v1/destinations/{ids['destination']}/circuit"
    assert ok(hookstream.get(circuit_url, headers=headers()))["circuit"]["state"] == "open"
    reset = ok(hookstream.post(f"{circuit_url}/reset", headers=headers()))["circuit"]
    assert reset["state"] == "closed" and reset["last_transition_at"] is not None
    drain(hookstream)
    assert event_status(hookstream, held_event) == "delivered"


def test_seeded_https_destinations_are_simulated_deterministically(hookstream):
    destination = create_destination(hookstream, url="https://hooks.example.com/in", retry_enabled=False)
    source = create_source(hookstream)
    create_connection(hookstream, source_id=source["id"], destination_id=destination["id"])
    event_id = ok(ingest(hookstream, source["id"], {"n": 1}))["event_id"]
    assert hookstream.app.state.runtime.outbound.pending == 0  # nothing goes over the network
    (attempt,) = attempts(hookstream, event_id=event_id)
    assert attempt["status"] in ("success", "failed") and attempt["duration_ms"] >= 0
    assert ID.match(attempt["id"])
    entries = ok(hookstream.get("/__mock/requests"))["entries"]
    journaled = next(e for e in reversed(entries) if e["direction"] == "outbound")
    assert journaled["simulated"] is True
    assert journaled["path"] == "https://hooks.example.com/in" and journaled["target"] == "hooks.example.com"


def test_a_fault_rule_makes_a_destination_answer_503(hookstream):
    destination = create_destination(hookstream, url="https://hooks.example.com/in", retry_enabled=False)
    source = create_source(hookstream)
    create_connection(hookstream, source_id=source["id"], destination_id=destination["id"])
    ok(hookstream.post("/__mock/faults", json={"target": destination["id"], "status": 503}), 201)
    try:
        event_id = ok(ingest(hookstream, source["id"], {"n": 1}))["event_id"]
        ok(hookstream.get("/v1/destinations", headers=headers()))  # inbound requests are not faulted
    finally:
        assert hookstream.delete("/__mock/faults").status_code == 204
    (attempt,) = attempts(hookstream, event_id=event_id)
    assert attempt["response_status"] == 503 and attempt["status"] == "failed"


def _key(owner: str = ACME) -> str:
    from mockserver.apis.hookstream._keys import API_KEYS

    return next(k.key for k in API_KEYS if k.owner == owner)


def test_live_stream_carries_delivery_frames(hookstream, receiver):
    ids = wire(hookstream, receiver.url, retry_enabled=False)
    with hookstream.websocket_connect(f"/v1/ws?token={_key()}") as stream:
        welcome = stream.receive_json()
        assert "deliveries:<destination_id>" in welcome["channels"]
        stream.send_json({"type": "subscribe", "channel": f"deliveries:{ids['destination']}"})
        assert stream.receive_json()["type"] == "subscribed"
        event_id = ok(ingest(hookstream, ids["source"], {"n": 1}))["event_id"]
        sent = stream.receive_json()
        assert sent["type"] == "delivery" and sent["channel"] == f"deliveries:{ids['destination']}"
        assert sent["data"]["event_id"] == event_id and sent["data"]["status"] == "pending"
        drain(hookstream)
        done = stream.receive_json()
        assert done["data"]["id"] == sent["data"]["id"] and done["data"]["status"] == "success"
        assert set(done["data"]) == DOCUMENTED_FIELDS


def test_the_journal_records_outbound_attempts(hookstream, receiver):
    assert hookstream.delete("/__mock/requests").status_code == 204
    ids = wire(hookstream, receiver.url)
    ok(ingest(hookstream, ids["source"], {"n": 1}))
    drain(hookstream)
    entries = ok(hookstream.get("/__mock/requests"))["entries"]
    outbound = [e for e in entries if e["direction"] == "outbound"]
    assert len(outbound) == 1
    assert outbound[0]["path"] == receiver.url and outbound[0]["status"] == 200
    assert outbound[0]["target"] == f"127.0.0.1:{receiver.port}"
    assert outbound[0]["simulated"] is False
    assert all(e["direction"] == "inbound" and e["target"] is None for e in entries if e not in outbound)


def test_reset_cancels_pending_work(hookstream, receiver):
    receiver.hang()
    ids = wire(hookstream, receiver.url)
    ok(ingest(hookstream, ids["source"], {"n": 1}))
    assert receiver.wait_for(1)
    runner = hookstream.app.state.runtime.outbound
    assert runner.pending == 1
    ok(hookstream.post("/__mock/reset", json={"api": "hookstream"}))
    drain(hookstream)
    assert runner.pending == 0
    assert attempts(hookstream, destination_id=ids["destination"]) == []


def test_a_deleted_connection_stops_its_retries(hookstream, receiver):
    receiver.answer(503)
    ids = wire(
        hookstream, receiver.url, retry_intervals=[5], retry_max_attempts=3, circuit_breaker_enabled=False
    )
    event_id = ok(ingest(hookstream, ids["source"], {"n": 1}))["event_id"]
    drain(hookstream)
    ok(hookstream.delete(f"/v1/connections/{ids['connection']}", headers=headers()))
    advance(hookstream, 5)
    drain(hookstream)
    assert len(receiver.requests) == 1
    (attempt,) = attempts(hookstream, event_id=event_id)
    assert attempt["is_dlq"] == 1 and "connection is gone" in attempt["error"]


def test_an_event_dropped_by_retention_takes_its_attempts_and_their_retries(receiver):
    receiver.answer(503, times=10)
    with new_client(event_retention=3) as client:
        ids = wire(
            client, receiver.url, retry_intervals=[5], retry_max_attempts=3, circuit_breaker_enabled=False
        )
        event_ids = [ok(ingest(client, ids["source"], {"n": n}))["event_id"] for n in range(5)]
        drain(client)
        assert len(receiver.requests) == 5
        for gone in event_ids[:2]:
            assert attempts(client, event_id=gone) == []
            error(client.get(f"/v1/events/{gone}", headers=headers()), 404)
        kept = event_ids[2:]
        assert {a["event_id"] for a in attempts(client, connection_id=ids["connection"])} == set(kept)
        advance(client, 5)
        drain(client)
        retried = [r.headers["x-hookstream-event-id"] for r in receiver.requests[5:]]
        assert sorted(retried) == sorted(kept)  # the dropped events' retries went with them


def test_list_filters_and_paging(hookstream, receiver):
    receiver.answer(500, times=2)
    ids = wire(hookstream, receiver.url, retry_enabled=False, circuit_breaker_enabled=False)
    for n in range(5):
        ok(ingest(hookstream, ids["source"], {"n": n}))
        drain(hookstream)
    every = attempts(hookstream, destination_id=ids["destination"])
    assert len(every) == 5
    assert [a["id"] for a in every] == sorted((a["id"] for a in every), key=[a["id"] for a in every].index)
    page = ok(
        hookstream.get(
            "/v1/delivery-attempts",
            params={"destination_id": ids["destination"], "limit": 2, "offset": 2},
            headers=headers(),
        )
    )
    assert [a["id"] for a in page["delivery_attempts"]] == [a["id"] for a in every[2:4]]
    assert page["pagination"] == {
        "total": 5, "limit": 2, "offset": 2, "has_more": True, "next_cursor": None, "prev_cursor": None,
    }  # fmt: skip
    failed = attempts(hookstream, destination_id=ids["destination"], status="failed")
    assert len(failed) == 2 and all(a["status"] == "failed" for a in failed)
    assert len(attempts(hookstream, connection_id=ids["connection"], status="success")) == 3
    assert len(attempts(hookstream, destination_id=ids["destination"], is_dlq="1")) == 2
    assert len(attempts(hookstream, destination_id=ids["destination"], is_dlq="0")) == 3
    error(hookstream.get("/v1/delivery-attempts", params={"status": "bogus"}, headers=headers()), 400)


def test_a_slow_receiver_fails_at_the_timeout(hookstream, receiver):
    receiver.slow(5)
    ids = wire(hookstream, receiver.url, timeout_ms=1000, retry_enabled=False)
    event_id = ok(ingest(hookstream, ids["source"], {"n": 1}))["event_id"]
    drain(hookstream)
    (attempt,) = attempts(hookstream, event_id=event_id)
    assert attempt["status"] == "failed" and attempt["error"] == "Timed out after 1000 ms"
    assert attempt["duration_ms"] >= 1000


def test_a_large_answer_is_cut_at_the_documented_size(hookstream, receiver):
    receiver.answer(200, b"x" * 50_000)
    ids = wire(hookstream, receiver.url)
    event_id = ok(ingest(hookstream, ids["source"], {"n": 1}))["event_id"]
    drain(hookstream)
    (attempt,) = attempts(hookstream, event_id=event_id)
    assert attempt["response_body"] == "x" * 10240


@pytest.mark.mockserver(api="hookstream")
def test_the_plugin_drains_deliveries(mockserver_client, mockserver_drain, receiver):
    ids = wire(mockserver_client, receiver.url)
    event_id = ok(ingest(mockserver_client, ids["source"], {"n": 1}))["event_id"]
    mockserver_drain()
    assert receiver.requests[0].headers["x-hookstream-event-id"] == event_id


def test_half_open_while_the_probe_is_on_the_wire(hookstream, receiver):
    receiver.answer(503)
    receiver.hang()
    ids = wire(
        hookstream, receiver.url, retry_enabled=False, timeout_ms=60000, circuit_breaker_threshold=1,
        circuit_breaker_reset_ms=5000,
    )  # fmt: skip
    circuit_url = f"/v1/destinations/{ids['destination']}/circuit"
    ok(ingest(hookstream, ids["source"], {"n": 1}))
    drain(hookstream)
    opened = ok(hookstream.get(circuit_url, headers=headers()))["circuit"]
    assert opened["state"] == "open" and opened["failure_count"] == 1
    ok(ingest(hookstream, ids["source"], {"n": 2}))  # held
    advance(hookstream, 5)
    assert receiver.wait_for(2)  # the held attempt went out as the probe, and hangs
    probing = ok(hookstream.get(circuit_url, headers=headers()))["circuit"]
    assert probing["state"] == "half-open" and probing["last_transition_at"] is not None
    third = ok(ingest(hookstream, ids["source"], {"n": 3}))["event_id"]
    (held,) = attempts(hookstream, event_id=third)
    assert held["status"] == "pending" and "circuit" in held["error"]
    assert ok(hookstream.get(circuit_url, headers=headers()))["circuit"]["held_count"] == 1


def test_a_latency_fault_delays_a_real_delivery_without_blocking(hookstream, receiver):
    ids = wire(hookstream, receiver.url, retry_enabled=False)
    ok(hookstream.post("/__mock/faults", json={"target": ids["destination"], "latency_ms": 300}), 201)
    try:
        event_id = ok(ingest(hookstream, ids["source"], {"n": 1}))["event_id"]
        ok(hookstream.get("/v1/destinations", headers=headers()))  # answered while the delivery waits
        drain(hookstream)
    finally:
        assert hookstream.delete("/__mock/faults").status_code == 204
    (attempt,) = attempts(hookstream, event_id=event_id)
    assert attempt["status"] == "success" and attempt["duration_ms"] >= 300


@settings(max_examples=15)
@given(
    answers=st.lists(st.sampled_from([200, 201, 204, 400, 500, 503]), min_size=1, max_size=6),
    backoff=st.sampled_from(["exponential", "linear", "fixed"]),
    intervals=st.lists(st.integers(min_value=1, max_value=5000), min_size=1, max_size=4),
    max_attempts=st.integers(min_value=1, max_value=6),
)
def test_the_chain_of_attempts_follows_the_receiver_and_the_schedule(
    hookstream, receiver, answers, backoff, intervals, max_attempts
):
    reset(hookstream)
    receiver.requests.clear()
    receiver.plan.clear()
    for status in answers:
        receiver.answer(status)
    ids = wire(
        hookstream, receiver.url, retry_backoff_type=backoff, retry_intervals=intervals,
        retry_max_attempts=max_attempts, circuit_breaker_enabled=False,
    )  # fmt: skip
    event_id = ok(ingest(hookstream, ids["source"], {"n": 1}))["event_id"]
    drain(hookstream)
    while True:
        (latest,) = attempts(hookstream, event_id=event_id, limit=1)
        if latest["next_retry_at"] is None:
            break
        ok(hookstream.post("/__mock/clock", json={"set": latest["next_retry_at"]}))
        drain(hookstream)
    chain = list(reversed(attempts(hookstream, event_id=event_id)))
    statuses = [*answers, *([200] * 10)]  # the receiver answers 200 once the plan is used up
    expected = next((n for n, s in enumerate(statuses, 1) if 200 <= s < 300), None)
    made = min(expected or max_attempts, max_attempts)
    assert [a["attempt_number"] for a in chain] == list(range(1, made + 1))
    assert [a["response_status"] for a in chain] == statuses[:made]
    for number, (before, after) in enumerate(itertools.pairwise(chain), start=1):
        wait = backoff_seconds(backoff, intervals, number)
        assert _seconds(after["created_at"]) - _seconds(before["created_at"]) == wait
        assert before["next_retry_at"] == after["created_at"]
    last = chain[-1]
    succeeded = 200 <= last["response_status"] < 300
    assert last["is_dlq"] == (0 if succeeded else 1)
    assert event_status(hookstream, event_id) == ("delivered" if succeeded else "failed")


def _seconds(text: str) -> int:
    return int(datetime.fromisoformat(text).timestamp())
