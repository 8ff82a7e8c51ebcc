"""Ingest: counters, which connections take part, bodies of any kind, unknown sources."""

from __future__ import annotations

import pytest
from hs_support import (
    ACME,
    GLOBEX,
    ID,
    TIMESTAMP,
    create_connection,
    create_destination,
    create_source,
    error,
    fresh_hookstream_fixture,
    get_connection,
    headers,
    ingest,
    ok,
    signed_ingest,
    snapshot,
)

hookstream = fresh_hookstream_fixture()

PAID = [{"field": "payload.type", "op": "eq", "value": "invoice.paid"}]


@pytest.fixture
def routes(hookstream):
    """One source with five connections: matching, filtered, paused, disabled and not enabled."""
    source = create_source(hookstream, name="Stripe")
    destination = create_destination(hookstream)

    def make(name, **fields):
        return create_connection(
            hookstream, source_id=source["id"], destination_id=destination["id"], name=name, **fields
        )

    made = {
        "open": make("open"),
        "paid_only": make("paid_only", filter_rules=PAID),
        "paused": make("paused"),
        "disabled": make("disabled"),
        "off": make("off", enabled=False),
    }
    for name in ("paused", "disabled"):
        path = f"/v1/connections/{made[name]['id']}"
        ok(hookstream.patch(path, json={"status": name}, headers=headers()))
    return source, made


def test_matching_connections_count_the_event(hookstream, routes):
    source, made = routes
    before = {name: get_connection(hookstream, c["id"]) for name, c in made.items()}
    result = ok(ingest(hookstream, source["id"], {"type": "invoice.paid"}))
    assert result["accepted"] is True and ID.match(result["event_id"]) and result["source_id"] == source["id"]
    assert result["matched_connections"] == [made["open"]["id"], made["paid_only"]["id"]]
    assert result["filtered_connections"] == []
    after = {name: get_connection(hookstream, c["id"]) for name, c in made.items()}
    for name in ("open", "paid_only"):
        assert after[name]["event_count"] == 1 and TIMESTAMP.match(after[name]["last_event_at"])
        assert after[name]["updated_at"] == before[name]["updated_at"]
    for name in ("paused", "disabled", "off"):
        assert after[name] == before[name]

    result = ok(ingest(hookstream, source["id"], {"type": "invoice.created"}))
    assert result["matched_connections"] == [made["open"]["id"]]
    assert result["filtered_connections"] == [made["paid_only"]["id"]]
    again = {name: get_connection(hookstream, c["id"]) for name, c in made.items()}
    assert (
        again["open"]["event_count"] == 2 and again["open"]["last_event_at"] > after["open"]["last_event_at"]
    )
    assert again["paid_only"] == after["paid_only"]
    fetched = ok(hookstream.get(f"/v1/sources/{source['id']}", headers=headers()))["source"]
    assert fetched["event_count"] == 2


def test_event_ids_differ(hookstream, routes):
    source, _ = routes
    ids = {ok(ingest(hookstream, source["id"], {"n": n}))["event_id"] for n in range(5)}
    assert len(ids) == 5


def test_reenabling_a_connection_routes_again(hookstream, routes):
    source, made = routes
    for name in ("paused", "disabled"):
        path = f"/v1/connections/{made[name]['id']}"
        ok(hookstream.patch(path, json={"status": "active"}, headers=headers()))
    ok(hookstream.patch(f"/v1/connections/{made['off']['id']}", json={"enabled": True}, headers=headers()))
    result = ok(ingest(hookstream, source["id"], {}))
    assert set(result["matched_connections"]) == {
        made[n]["id"] for n in ("open", "paused", "disabled", "off")
    }
    assert result["filtered_connections"] == [made["paid_only"]["id"]]


@pytest.mark.parametrize("status", ["paused", "disabled"])
def test_inactive_source_accepts_but_routes_nothing(hookstream, routes, status):
    source, made = routes
    ok(hookstream.patch(f"/v1/sources/{source['id']}", json={"status": status}, headers=headers()))
    result = ok(ingest(hookstream, source["id"], {"type": "invoice.paid"}))
    assert result["matched_connections"] == [] and result["filtered_connections"] == []
    assert get_connection(hookstream, made["open"]["id"])["event_count"] == 0
    assert ok(hookstream.get(f"/v1/sources/{source['id']}", headers=headers()))["source"]["event_count"] == 1


def test_unknown_source_is_404_and_changes_nothing(hookstream):
    before = snapshot(hookstream)
    error(ingest(hookstream, "0" * 32, {"a": 1}), 404, "Source not found")
    error(
        ingest(hookstream, "0" * 32, content=b"a=1", headers={"Content-Type": "text/plain"}),
        404,
        "Source not found",
    )
    error(
        ingest(hookstream, "not-an-id", {"a": 1}), 400, "path.source_id must be 32 lowercase hex characters"
    )
    assert snapshot(hookstream) == before


@pytest.mark.parametrize(
    "request_kwargs",
    [
        {"json": {"type": "x"}},
        {"json": [1, 2, 3]},
        {"json": "just a string"},
        {"json": 42},
        {"content": b"null", "headers": {"Content-Type": "application/json"}},
        {},
        {
            "content": b"event=order.created&id=1",
            "headers": {"Content-Type": "application/x-www-form-urlencoded"},
        },
        {"content": b"plain text", "headers": {"Content-Type": "text/plain"}},
        {"content": b"<xml/>", "headers": {"Content-Type": "application/xml"}},
        {"content": b'{"a": 1}', "headers": {"Content-Type": "application/vnd.stripe+json"}},
    ],
)
def test_any_body_is_accepted(hookstream, routes, request_kwargs):
    source, made = routes
    response = ingest(hookstream, source["id"], **request_kwargs)
    result = ok(response)
    assert made["open"]["id"] in result["matched_connections"]
    assert made["paid_only"]["id"] in result["filtered_connections"]
    assert response.headers["Content-Type"] == "application/json"
    assert (
        response.headers["RateLimit-Limit"] == "1000" and int(response.headers["RateLimit-Remaining"]) < 1000
    )


def test_malformed_json_is_400(hookstream, routes):
    source, _ = routes
    before = snapshot(hookstream)
    response = ingest(
        hookstream, source["id"], content=b"{nope", headers={"Content-Type": "application/json"}
    )
    assert error(response, 400).startswith("Malformed JSON body")
    assert snapshot(hookstream) == before


def test_ingest_reaches_sources_of_any_organization_without_credentials(hookstream):
    theirs = create_connection(hookstream, GLOBEX)
    result = ok(ingest(hookstream, theirs["source_id"], {"a": 1}))
    assert result["matched_connections"] == [theirs["id"]]
    assert get_connection(hookstream, theirs["id"], GLOBEX)["event_count"] == 1


def test_seeded_stripe_connection_routes_paid_invoices(hookstream):
    connections = ok(hookstream.get("/v1/connections", headers=headers(ACME)))["connections"]
    stripe = next(c for c in connections if c["filter_rules"] and "invoice.paid" in c["filter_rules"])
    result = ok(signed_ingest(hookstream, stripe["source_id"], {"type": "invoice.paid"}))
    assert stripe["id"] in result["matched_connections"]
    after = get_connection(hookstream, stripe["id"])
    assert after["event_count"] == stripe["event_count"] + 1
    assert after["last_event_at"] == "2026-02-28T12:00:00Z"


def test_source_ingest_url_points_at_the_mock(hookstream):
    source = create_source(hookstream)
    connection = create_connection(hookstream, source_id=source["id"])
    path = source["ingest_url"].removeprefix("http://testserver")
    assert ok(hookstream.post(path, json={}))["matched_connections"] == [connection["id"]]


def test_mounted_under_a_prefix(client):
    prefix = "/hookstream/v1"
    body = {"name": "Plain", "slug": "plain-prefix"}
    source = ok(client.post(f"{prefix}/sources", json=body, headers=headers()), 201)["source"]
    assert source["ingest_url"] == f"http://testserver{prefix}/ingest/{source['id']}"
    assert ok(
        client.post(f"{prefix}/ingest/{source['id']}", content=b"a=1", headers={"Content-Type": "text/plain"})
    )["accepted"]
    assert ok(client.post(f"{prefix}/ingest/{source['id']}", json={"a": 1}))["accepted"]
