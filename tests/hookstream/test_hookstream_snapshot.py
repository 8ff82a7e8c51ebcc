"""Export and import of the hookstream state (the engine's `/__mock/state`), and named sessions."""

from __future__ import annotations

import copy
import json

import pytest
from hs_support import (
    create_connection,
    error,
    fresh_hookstream_fixture,
    get_connection,
    headers,
    ingest,
    ok,
    signed_ingest,
    snapshot,
    store_of,
)

from mockserver.apis.hookstream import API

hookstream = fresh_hookstream_fixture()


def test_export_import_round_trip(hookstream):
    connection = create_connection(hookstream, filter_rules=[{"field": "payload.a", "op": "eq", "value": 1}])
    ok(ingest(hookstream, connection["source_id"], {"a": 1}))
    state = hookstream.app.state.services["hookstream"].state
    exported = json.loads(json.dumps(API.export_state(state)))
    restored = API.import_state(exported, seed=0, options={})
    assert restored.store == store_of(hookstream)
    assert restored.requests_served == state.requests_served


def test_attempts_and_circuits_round_trip(hookstream):
    state = hookstream.app.state.services["hookstream"].state
    assert len(state.store.attempts) > 0  # the seeded history's deliveries
    destination = next(iter(state.store.destinations.values()))
    state.deliveries.reset_circuit(destination)
    exported = json.loads(json.dumps(API.export_state(state)))
    restored = API.import_state(exported, seed=0, options={})
    assert restored.store.attempts == state.store.attempts
    assert restored.store.circuits == state.store.circuits
    for attempt in state.store.attempts.chronological():  # a due retry finds the same newest attempt
        pair = (attempt.event_id, attempt.connection_id)
        newest = state.store.attempts.latest(*pair)
        assert newest is not None and restored.store.attempts.latest(*pair) == newest


def _exported(client):
    return copy.deepcopy(API.export_state(client.app.state.services["hookstream"].state))


@pytest.mark.parametrize(
    ("damage", "message"),
    [
        (lambda s: s["store"].update(clock="yesterday"), "clock"),
        (lambda s: s["store"].update(serial=-1), "serial"),
        (lambda s: s["store"]["sources"][0].update(id="nope"), "32 lowercase hex"),
        (lambda s: s["store"]["sources"][0].pop("name"), "missing"),
        (lambda s: s["store"]["sources"][0].update(extra=1), "unknown"),
        (lambda s: s["store"]["sources"][0].update(event_count="5"), "wrong type"),
        (lambda s: s["store"]["connections"][0].update(enabled=1), "wrong type"),
        (lambda s: s["store"]["connections"][0].update(source_id="0" * 32), "not in the snapshot"),
        (lambda s: s["store"]["sources"].append(s["store"]["sources"][0]), "twice"),
        (lambda s: s["store"]["destinations"][0].update(org_id="org_00"), "unknown organization"),
        (lambda s: s.update(requests_served=True), "requests_served"),
        (lambda s: s["store"].update(events={}), "events must be a list"),
        (lambda s: s["store"]["events"][0].pop("body"), "missing"),
        (lambda s: s["store"]["events"][0].update(payload_size="5"), "wrong type"),
        (lambda s: s["store"]["events"][1].update(seq=0), "seq must grow"),
        (lambda s: s["store"]["events"][0].update(received_at="noon"), "received_at"),
        (lambda s: s["store"]["events"].append(s["store"]["events"][0]), "twice"),
        (lambda s: s["store"]["events"][0].update(org_id="org_00"), "unknown organization"),
        (lambda s: s["store"]["attempts"][0].update(status=None), "wrong type"),
        (lambda s: s["store"]["attempts"][0].pop("is_dlq"), "missing"),
        (lambda s: s["store"]["attempts"].append(s["store"]["attempts"][0]), "twice"),
        (lambda s: s["store"].update(attempts={}), "attempts must be a list"),
        (lambda s: s["store"].update(circuits=[{"destination_id": "x"}]), "circuits"),
        (
            lambda s: s["store"].update(
                circuits=[
                    {
                        "destination_id": "x",
                        "state": "ajar",
                        "failure_count": 0,
                        "last_transition_at": None,
                        "opened_at": None,
                        "next_probe_at": None,
                        "held": [],
                        "probe_attempt_id": None,
                    }
                ]
            ),
            "state must be one of",
        ),
    ],
)
def test_import_refuses_a_damaged_snapshot(hookstream, damage, message):
    exported = _exported(hookstream)
    damage(exported)
    with pytest.raises(ValueError, match=message):
        API.import_state(exported, seed=0, options={})


def test_events_survive_export_and_import_and_keep_their_dedup_window(hookstream):
    source = ok(
        hookstream.post(
            "/v1/sources",
            json={"name": "Dedup", "slug": "dedup-snap", "dedup_enabled": True, "dedup_window_seconds": 3600},
            headers=headers(),
        ),
        201,
    )["source"]
    first = ok(ingest(hookstream, source["id"], {"id": "evt_1"}))
    service = hookstream.app.state.services["hookstream"]
    exported = json.loads(json.dumps(API.export_state(service.state)))
    service.replace_state(API.import_state(exported, seed=0, options={}))
    detail = ok(hookstream.get(f"/v1/events/{first['event_id']}", headers=headers()))["event"]
    assert detail["payload"] == {"id": "evt_1"} and detail["dedup_status"] == "unique"
    assert ok(ingest(hookstream, source["id"], {"id": "evt_1"}))["duplicate"] is True


def test_events_of_a_session_stay_in_it(hookstream):
    source = ok(hookstream.post("/v1/sources", json={"name": "S", "slug": "s-sess"}, headers=headers()), 201)
    source_id = source["source"]["id"]
    in_session = {**headers(), "X-Mock-Session": "job-2"}
    error(hookstream.get(f"/v1/sources/{source_id}", headers=in_session), 404)
    session_source = ok(
        hookstream.post("/v1/sources", json={"name": "S", "slug": "s-sess"}, headers=in_session), 201
    )
    sent = ok(
        ingest(hookstream, session_source["source"]["id"], {"n": 1}, headers={"X-Mock-Session": "job-2"})
    )
    ok(hookstream.get(f"/v1/events/{sent['event_id']}", headers=in_session))
    error(hookstream.get(f"/v1/events/{sent['event_id']}", headers=headers()), 404, "Event not found")


def test_import_refuses_cross_organization_links(hookstream):
    exported = _exported(hookstream)
    globex_source = next(
        s
        for s in exported["store"]["sources"]
        if s["org_id"] != exported["store"]["connections"][0]["org_id"]
    )
    exported["store"]["connections"][0]["source_id"] = globex_source["id"]
    with pytest.raises(ValueError, match="another organization"):
        API.import_state(exported, seed=0, options={})


def test_control_plane_state_round_trip(hookstream):
    saved = ok(hookstream.get("/__mock/state"))
    assert set(saved["apis"]) == {"hookstream"}
    before = ok(hookstream.get("/v1/connections", headers=headers()))
    source = ok(hookstream.get("/v1/sources", headers=headers()))["sources"][0]
    ok(hookstream.patch(f"/v1/sources/{source['id']}", json={"name": "changed"}, headers=headers()))
    assert ok(hookstream.get("/v1/connections", headers=headers())) != before
    ok(hookstream.put("/__mock/state", json=saved))
    assert ok(hookstream.get("/v1/connections", headers=headers())) == before
    damaged = copy.deepcopy(saved)
    damaged["apis"]["hookstream"]["store"]["connections"][0]["enabled"] = "yes"
    assert hookstream.put("/__mock/state", json=damaged).status_code == 422
    assert ok(hookstream.get("/v1/connections", headers=headers())) == before


def test_sessions_have_their_own_hookstream_state(hookstream):
    source = ok(hookstream.get("/v1/sources", headers=headers()))["sources"][0]
    connection = create_connection(hookstream, source_id=source["id"])
    before = snapshot(hookstream)
    in_session = {**headers(), "X-Mock-Session": "job-1"}
    error(hookstream.get(f"/v1/connections/{connection['id']}", headers=in_session), 404)
    ok(hookstream.patch(f"/v1/sources/{source['id']}", json={"name": "session only"}, headers=in_session))
    assert snapshot(hookstream) == before
    assert get_connection(hookstream, connection["id"])["source_name"] == source["name"]
    result = ok(signed_ingest(hookstream, source["id"], {}, headers={"X-Mock-Session": "job-1"}))
    assert connection["id"] not in result["matched_connections"]
    assert snapshot(hookstream) == before
