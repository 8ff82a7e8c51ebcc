"""Events: signed, unsigned, forged, stale and duplicate webhooks as ingest answers them and as the events API
and the live stream show them; IP lists, every method, paging, filters, retention and the seeded history."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
from collections import Counter
from typing import Any

import pytest
from hs_support import (
    ACME,
    GLOBEX,
    ID,
    MOCK_EPOCH,
    create_connection,
    create_source,
    error,
    fresh_hookstream_fixture,
    get_connection,
    headers,
    new_client,
    ok,
    signed_ingest,
    snapshot,
    store_of,
)
from hypothesis import given, settings
from hypothesis import strategies as st
from starlette.websockets import WebSocketDisconnect

from mockserver.apis.hookstream import _stream
from mockserver.apis.hookstream._keys import API_KEYS

hookstream = fresh_hookstream_fixture()

SECRET = "gh_test_secret_1234"
WHSEC_KEY = b"standard-webhooks-key-0123456789"
WHSEC = "whsec_" + base64.b64encode(WHSEC_KEY).decode()


def _events(client, owner: str = ACME, **query: Any) -> dict[str, Any]:
    return ok(client.get("/v1/events", params=query, headers=headers(owner)))


def _detail(client, event_id: str, owner: str = ACME) -> dict[str, Any]:
    return ok(client.get(f"/v1/events/{event_id}", headers=headers(owner)))["event"]


def _newest(client, source_id: str) -> dict[str, Any]:
    page = _events(client, source_id=source_id, limit=1)
    return _detail(client, page["events"][0]["id"])


def _hmac_hex(secret: str, body: bytes) -> str:
    return hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()


def _standard_headers(body: bytes, *, timestamp: int, message_id: str = "msg_1", key: bytes = WHSEC_KEY):
    signed = f"{message_id}.{timestamp}.".encode() + body
    signature = base64.b64encode(hmac.new(key, signed, hashlib.sha256).digest()).decode()
    return {
        "webhook-id": message_id,
        "webhook-timestamp": str(timestamp),
        "webhook-signature": f"v1,{signature}",
    }


@pytest.fixture
def github(hookstream):
    """A GitHub-template source with a connection, so a routed event is `processing`."""
    source = create_source(hookstream, template="github", verification_secret=SECRET)
    connection = create_connection(hookstream, source_id=source["id"])
    return source, connection


def _post(client, source_id: str, body: bytes, extra: dict[str, str] | None = None, **kwargs: Any):
    sent = {"Content-Type": "application/json", **(extra or {})}
    return client.post(f"/v1/ingest/{source_id}", content=body, headers=sent, **kwargs)


# ---------------------------------------------------------------- the five kinds of webhook


def test_signed_webhook_is_verified_stored_and_routed(hookstream, github):
    source, connection = github
    assert source["verification_header"] == "X-Hub-Signature-256"  # the template's real header
    body = b'{"ref":"refs/heads/main","repository":{"full_name":"acme/orders"}}'
    sent = {"X-Hub-Signature-256": "sha256=" + _hmac_hex(SECRET, body), "X-GitHub-Event": "push"}
    result = ok(_post(hookstream, source["id"], body, sent, params={"attempt": "1"}))
    assert ID.match(result["event_id"]) and result["source_id"] == source["id"]
    assert result["matched_connections"] == [connection["id"]] and result["duplicate"] is False
    event = _detail(hookstream, result["event_id"])
    assert event["verification_status"] == "verified" and event["verification_error"] is None
    assert event["status"] != "received"  # routed: delivered to a simulated destination (or retrying)
    assert event["method"] == "POST" and event["content_type"] == "application/json"
    assert event["payload_size"] == len(body) and event["payload_inline"] == body.decode()
    assert event["payload"] == json.loads(body)
    assert event["headers"]["x-github-event"] == "push" and event["query_params"] == {"attempt": "1"}
    assert event["source_name"] == source["name"] and event["source_slug"] == source["slug"]
    assert get_connection(hookstream, connection["id"])["event_count"] == 1


def test_bare_hex_and_uppercase_signatures_verify(hookstream, github):
    source, _ = github
    body = b'{"n":1}'
    for value in (_hmac_hex(SECRET, body), _hmac_hex(SECRET, body).upper()):
        assert ok(_post(hookstream, source["id"], body, {"X-Hub-Signature-256": value}))["accepted"]


def test_unsigned_webhook_to_a_verifying_source_is_401_and_stored_as_failed(hookstream, github):
    source, connection = github
    message = error(_post(hookstream, source["id"], b'{"n":1}'), 401)
    assert message == "Missing signature header X-Hub-Signature-256"
    event = _newest(hookstream, source["id"])
    assert event["verification_status"] == "failed" and event["verification_error"] == message
    assert event["status"] == "received"  # not routed
    assert get_connection(hookstream, connection["id"])["event_count"] == 0


def test_forged_webhook_is_401_naming_the_bad_signature(hookstream, github):
    source, _ = github
    body = b'{"n":1}'
    forged = {"X-Hub-Signature-256": "sha256=" + _hmac_hex("not-the-secret", body)}
    message = error(_post(hookstream, source["id"], body, forged), 401)
    assert message.startswith("Invalid signature") and "X-Hub-Signature-256" in message
    event = _newest(hookstream, source["id"])
    assert event["verification_status"] == "failed" and event["verification_error"] == message
    assert SECRET not in json.dumps(event)


def test_tampered_body_fails_verification(hookstream, github):
    source, _ = github
    signed = {"X-Hub-Signature-256": "sha256=" + _hmac_hex(SECRET, b'{"amount":1}')}
    error(_post(hookstream, source["id"], b'{"amount":1000}', signed), 401)


def test_unsigned_webhook_to_a_plain_source_is_stored_as_skipped(hookstream):
    source = create_source(hookstream)
    result = ok(_post(hookstream, source["id"], b'{"n":1}'))
    event = _detail(hookstream, result["event_id"])
    assert (event["verification_status"], event["dedup_status"], event["status"]) == (
        "skipped",
        "skipped",
        "received",
    )


@pytest.fixture
def standard(hookstream):
    return create_source(hookstream, template="standard-webhooks", verification_secret=WHSEC)


def test_standard_webhooks_signature_verifies_against_the_mock_clock(hookstream, standard):
    body = b'{"type":"user.created"}'
    now = int(MOCK_EPOCH) + 2  # two writes have moved the mock clock on
    result = ok(_post(hookstream, standard["id"], body, _standard_headers(body, timestamp=now)))
    assert _detail(hookstream, result["event_id"])["verification_status"] == "verified"
    several = _standard_headers(body, timestamp=now, message_id="msg_2")
    several["webhook-signature"] = "v1,bm90LWl0 " + several["webhook-signature"]  # a rotated key's first
    assert ok(_post(hookstream, standard["id"], body, several))["accepted"]


@pytest.mark.parametrize("offset", [-3600, -301, 301, 7200])
def test_stale_or_future_standard_webhook_is_401(hookstream, standard, offset):
    body = b'{"type":"user.created"}'
    stamp = int(MOCK_EPOCH) + 1 + offset
    message = error(_post(hookstream, standard["id"], body, _standard_headers(body, timestamp=stamp)), 401)
    assert ("Stale timestamp" if offset < 0 else "Timestamp in the future") in message
    assert "webhook-timestamp" in message and "tolerance 300 seconds" in message
    event = _newest(hookstream, standard["id"])
    assert event["verification_status"] == "failed" and event["verification_error"] == message


@pytest.mark.parametrize(
    ("damage", "expected"),
    [
        (lambda h: h.pop("webhook-id"), "Missing signature header webhook-id"),
        (lambda h: h.pop("webhook-signature"), "Missing signature header webhook-signature"),
        (lambda h: h.update({"webhook-timestamp": "soon"}), "webhook-timestamp must be a Unix timestamp"),
        (lambda h: h.update({"webhook-signature": "v2,abc"}), "no v1,<base64> signature"),
        (lambda h: h.update({"webhook-id": "msg_other"}), "Invalid signature"),
    ],
)
def test_standard_webhooks_failures_name_what_failed(hookstream, standard, damage, expected):
    body = b"{}"
    sent = _standard_headers(body, timestamp=int(MOCK_EPOCH) + 1)
    damage(sent)
    assert expected in error(_post(hookstream, standard["id"], body, sent), 401)


def test_stripe_style_signature_header(hookstream):
    source = create_source(hookstream, template="stripe", verification_secret="whsec_stripe_secret")
    body = b'{"id":"evt_1","type":"invoice.paid"}'
    stamp = str(int(MOCK_EPOCH) + 1)
    signature = _hmac_hex("whsec_stripe_secret", stamp.encode() + b"." + body)
    assert ok(_post(hookstream, source["id"], body, {"Stripe-Signature": f"t={stamp},v1={signature}"}))
    stale = str(int(MOCK_EPOCH) - 3600)
    old = _hmac_hex("whsec_stripe_secret", stale.encode() + b"." + body)
    message = error(_post(hookstream, source["id"], body, {"Stripe-Signature": f"t={stale},v1={old}"}), 401)
    assert message.startswith("Stale timestamp")


def test_sha1_source_and_base64_digest(hookstream):
    source = create_source(
        hookstream,
        verification_type="hmac_sha1",
        verification_secret="twilio-key",
        verification_header="X-Sig",
    )
    body = b"a=1&b=2"
    digest = hmac.new(b"twilio-key", body, hashlib.sha1).digest()
    form = {"Content-Type": "application/x-www-form-urlencoded"}
    for value in ("sha1=" + digest.hex(), base64.b64encode(digest).decode()):
        response = hookstream.post(
            f"/v1/ingest/{source['id']}", content=body, headers={**form, "X-Sig": value}
        )
        event = _detail(hookstream, ok(response)["event_id"])
        assert event["payload"] == {"a": "1", "b": "2"} and event["content_type"] == form["Content-Type"]


def test_duplicate_answers_200_is_stored_and_not_routed(hookstream):
    source = create_source(
        hookstream, dedup_enabled=True, dedup_strategy="payload_hash", dedup_window_seconds=60
    )
    connection = create_connection(hookstream, source_id=source["id"])
    body = b'{"id":"evt_same"}'
    first = ok(_post(hookstream, source["id"], body))
    second = ok(_post(hookstream, source["id"], body))
    assert first["duplicate"] is False and first["matched_connections"] == [connection["id"]]
    assert second["duplicate"] is True and second["matched_connections"] == []
    assert second["event_id"] != first["event_id"]
    original, duplicate = _detail(hookstream, first["event_id"]), _detail(hookstream, second["event_id"])
    assert original["dedup_status"] == "unique" and duplicate["dedup_status"] == "duplicate"
    assert original["dedup_hash"] == duplicate["dedup_hash"] == hashlib.sha256(body).hexdigest()
    assert original["status"] != "received" and duplicate["status"] == "received"
    assert get_connection(hookstream, connection["id"])["event_count"] == 1
    assert _events(hookstream, dedup_status="duplicate", source_id=source["id"])["pagination"]["total"] == 1


def test_dedup_window_is_mock_time(hookstream):
    """Every write moves the mock clock one second: after the window the same body is unique again."""
    source = create_source(hookstream, dedup_enabled=True, dedup_window_seconds=3)
    body = b'{"id":"evt_window"}'
    assert ok(_post(hookstream, source["id"], body))["duplicate"] is False
    assert ok(_post(hookstream, source["id"], body))["duplicate"] is True
    for n in range(3):
        ok(_post(hookstream, source["id"], json.dumps({"other": n}).encode()))
    assert ok(_post(hookstream, source["id"], body))["duplicate"] is False


def test_dedup_by_header_and_body_field(hookstream):
    by_header = create_source(
        hookstream, dedup_enabled=True, dedup_strategy="header_field", dedup_field="X-Delivery"
    )
    by_field = create_source(
        hookstream, dedup_enabled=True, dedup_strategy="body_field", dedup_field="data.id"
    )
    first = ok(_post(hookstream, by_header["id"], b'{"a":1}', {"X-Delivery": "d-1"}))
    again = ok(_post(hookstream, by_header["id"], b'{"a":2}', {"X-Delivery": "d-1"}))
    other = ok(_post(hookstream, by_header["id"], b'{"a":1}', {"X-Delivery": "d-2"}))
    assert [first["duplicate"], again["duplicate"], other["duplicate"]] == [False, True, False]
    absent = ok(_post(hookstream, by_header["id"], b'{"a":1}'))
    assert _detail(hookstream, absent["event_id"])["dedup_status"] == "skipped"
    one = ok(_post(hookstream, by_field["id"], b'{"data":{"id":7},"n":1}'))
    two = ok(_post(hookstream, by_field["id"], b'{"data":{"id":7},"n":2}'))
    three = ok(_post(hookstream, by_field["id"], b'{"data":{"id":"7"}}'))
    assert [one["duplicate"], two["duplicate"], three["duplicate"]] == [False, True, False]


def test_a_deleted_source_takes_its_dedup_window_with_it(hookstream):
    """Sources made and deleted all day leave no dedup windows behind (a bound of the long-running mock)."""
    from hs_support import store_of

    windows = store_of(hookstream).events._dedup
    before = len(windows)
    for n in range(5):
        source = create_source(hookstream, dedup_enabled=True, dedup_strategy="payload_hash")
        ok(_post(hookstream, source["id"], json.dumps({"n": n}).encode()))
        assert source["id"] in windows
        assert hookstream.delete(f"/v1/sources/{source['id']}", headers=headers()).status_code == 200
        assert source["id"] not in windows
    assert len(windows) == before


def test_forged_requests_do_not_enter_the_dedup_window(hookstream):
    source = create_source(
        hookstream,
        template="github",
        verification_secret=SECRET,
        dedup_enabled=True,
        dedup_strategy="payload_hash",
    )
    body = b'{"n":1}'
    error(_post(hookstream, source["id"], body, {"X-Hub-Signature-256": "sha256=" + "0" * 64}), 401)
    refused = _newest(hookstream, source["id"])
    assert (refused["dedup_status"], refused["dedup_hash"]) == ("skipped", None)
    good = {"X-Hub-Signature-256": "sha256=" + _hmac_hex(SECRET, body)}
    assert ok(_post(hookstream, source["id"], body, good))["duplicate"] is False


# ---------------------------------------------------------------- IP lists, methods, sources


@pytest.mark.parametrize(
    ("lists", "address", "allowed"),
    [
        ({"ip_denylist": ["203.0.113.7"]}, "203.0.113.7", False),
        ({"ip_denylist": ["203.0.113.0/24"]}, "203.0.113.200", False),
        ({"ip_denylist": ["203.0.113.0/24"]}, "198.51.100.1", True),
        ({"ip_allowlist": ["198.51.100.0/24"]}, "198.51.100.9", True),
        ({"ip_allowlist": ["198.51.100.0/24"]}, "192.0.2.1", False),
        ({"ip_allowlist": ["2001:db8::/32"]}, "2001:db8::1", True),
        ({"ip_allowlist": ["198.51.100.9"], "ip_denylist": ["198.51.100.9"]}, "198.51.100.9", False),
    ],
)
def test_ip_lists(hookstream, lists, address, allowed):
    source = create_source(hookstream, **lists)
    before = snapshot(hookstream)
    response = _post(hookstream, source["id"], b"{}", {"X-Forwarded-For": address})
    if allowed:
        event = _detail(hookstream, ok(response)["event_id"])
        assert event["source_ip"] == address
    else:
        assert address in error(response, 403)
        assert snapshot(hookstream).events == before.events  # a blocked request stores nothing


@pytest.mark.parametrize("method", ["GET", "PUT", "PATCH", "DELETE"])
def test_every_method_is_ingested_without_credentials(hookstream, method):
    source = create_source(hookstream)
    response = hookstream.request(method, f"/v1/ingest/{source['id']}", params={"ping": "1"})
    event = _detail(hookstream, ok(response)["event_id"])
    assert event["method"] == method and event["query_params"] == {"ping": "1"}
    assert _events(hookstream, method=method, source_id=source["id"])["pagination"]["total"] == 1


def test_put_with_a_body(hookstream):
    source = create_source(hookstream)
    response = hookstream.put(f"/v1/ingest/{source['id']}", json={"state": "done"})
    assert _detail(hookstream, ok(response)["event_id"])["payload"] == {"state": "done"}


@pytest.mark.parametrize("status", ["paused", "disabled"])
def test_paused_or_disabled_source_stores_but_routes_nothing(hookstream, status):
    source = create_source(hookstream)
    connection = create_connection(hookstream, source_id=source["id"])
    ok(hookstream.patch(f"/v1/sources/{source['id']}", json={"status": status}, headers=headers()))
    result = ok(_post(hookstream, source["id"], b"{}"))
    assert result["matched_connections"] == []
    assert _detail(hookstream, result["event_id"])["status"] == "received"
    assert get_connection(hookstream, connection["id"])["event_count"] == 0


def test_unknown_source_is_404_and_stores_nothing(hookstream):
    before = snapshot(hookstream)
    error(_post(hookstream, "f" * 32, b"{}"), 404, "Source not found")
    assert snapshot(hookstream) == before


def test_credential_headers_are_masked_in_the_detail(hookstream):
    source = create_source(hookstream)
    result = ok(_post(hookstream, source["id"], b"{}", {"Authorization": "Bearer sk_live_abcdefghijklmnop"}))
    shown = _detail(hookstream, result["event_id"])["headers"]["authorization"]
    assert "abcdefgh" not in shown and shown.startswith("****")


# ---------------------------------------------------------------- the events API


def test_events_are_newest_first_with_the_documented_envelope(hookstream):
    page = _events(hookstream)
    assert set(page) == {"events", "pagination"}
    assert set(page["pagination"]) == {"total", "limit", "offset", "has_more", "next_cursor", "prev_cursor"}
    assert page["pagination"]["limit"] == 50 and len(page["events"]) == 50
    times = [event["received_at"] for event in page["events"]]
    assert times == sorted(times, reverse=True)
    org_id = API_KEYS[0].environment.org_id
    assert {event["org_id"] for event in page["events"]} == {org_id}


def test_unknown_event_is_404(hookstream):
    error(hookstream.get(f"/v1/events/{'e' * 32}", headers=headers()), 404, "Event not found")


def test_events_of_another_organization_are_invisible(hookstream):
    event = _events(hookstream, owner=GLOBEX, limit=1)["events"][0]
    error(hookstream.get(f"/v1/events/{event['id']}", headers=headers(ACME)), 404, "Event not found")
    other_org = API_KEYS[2].environment.org_id
    assert _events(hookstream, org_id=other_org)["events"] == []


@pytest.mark.parametrize(
    ("query", "fragment"),
    [
        ({"limit": 101}, "limit"),
        ({"limit": 0}, "limit"),
        ({"offset": -1}, "offset"),
        ({"status": "lost"}, "status"),
        ({"verification_status": "maybe"}, "verification_status"),
        ({"method": "HEAD"}, "method"),
        ({"direction": "sideways"}, "direction"),
        ({"after": "yesterday"}, "after"),
        ({"cursor": "!!"}, "cursor"),
    ],
)
def test_bad_queries_are_400_naming_the_parameter(hookstream, query, fragment):
    before = snapshot(hookstream)
    assert fragment in error(hookstream.get("/v1/events", params=query, headers=headers()), 400)
    assert snapshot(hookstream).events == before.events


def test_a_cursor_this_server_did_not_issue_is_404(hookstream):
    error(
        hookstream.get("/v1/events", params={"cursor": "bm9wZQ"}, headers=headers()),
        404,
        "Cursor not found: bm9wZQ",
    )


def test_events_need_credentials(hookstream):
    error(hookstream.get("/v1/events"), 401, "Invalid API key")
    error(hookstream.get(f"/v1/events/{'e' * 32}"), 401, "Invalid API key")


def test_filters_match_the_stored_events(hookstream):
    everything = _walk(hookstream)
    store = store_of(hookstream)
    for name, values in {
        "status": ("received", "delivered", "failed"),  # seeded history settles; retries happen live
        "verification_status": ("verified", "failed", "skipped"),
        "dedup_status": ("unique", "duplicate", "skipped"),
        "method": ("GET", "POST"),
    }.items():
        for value in values:
            expected = [e["id"] for e in everything if e[name] == value]
            assert expected, f"the seed has no {name}={value} event"
            assert [e["id"] for e in _walk(hookstream, **{name: value})] == expected
    source_id = everything[0]["source_id"]
    assert [e["id"] for e in _walk(hookstream, source_id=source_id)] == [
        e["id"] for e in everything if e["source_id"] == source_id
    ]
    middle = everything[len(everything) // 2]["received_at"]
    after = [e["id"] for e in _walk(hookstream, after=middle)]
    assert after == [e["id"] for e in everything if e["received_at"] > middle]
    before = [e["id"] for e in _walk(hookstream, before=middle)]
    assert before == [e["id"] for e in everything if e["received_at"] < middle]
    hits = [e["id"] for e in _walk(hookstream, search="INVOICE.PAID")]
    assert hits and hits == [
        e["id"] for e in everything if "invoice.paid" in store.events.get(e["org_id"], e["id"]).body
    ]


def _walk(client, **query: Any) -> list[dict[str, Any]]:
    """Every matching event, following `next_cursor`."""
    found: list[dict[str, Any]] = []
    page = _events(client, limit=100, **query)
    while True:
        found += page["events"]
        cursor = page["pagination"]["next_cursor"]
        if cursor is None:
            assert not page["pagination"]["has_more"]
            return found
        page = _events(client, limit=100, cursor=cursor, **query)


@settings(deadline=None)
@given(limit=st.integers(1, 100), offset=st.integers(0, 400), filtered=st.booleans())
def test_offset_and_cursor_pages_agree(limit, offset, filtered):
    client = _paging_client()
    query = {"verification_status": "verified"} if filtered else {}
    everything = [e["id"] for e in _walk(client, **query)]
    page = _events(client, limit=limit, offset=offset, **query)
    ids = [e["id"] for e in page["events"]]
    assert ids == everything[offset : offset + limit]
    pagination = page["pagination"]
    assert pagination["total"] == len(everything) and pagination["offset"] == offset
    assert pagination["has_more"] == (offset + limit < len(everything))
    if ids and pagination["next_cursor"]:
        following = _events(client, limit=limit, cursor=pagination["next_cursor"], **query)
        assert [e["id"] for e in following["events"]] == everything[offset + limit : offset + 2 * limit]
        assert following["pagination"]["offset"] == offset + limit
        back = _events(
            client, limit=limit, cursor=following["pagination"]["prev_cursor"], direction="prev", **query
        )
        assert [e["id"] for e in back["events"]] == ids
    if ids and offset > 0:
        assert pagination["prev_cursor"] is not None
        newer = _events(client, limit=limit, cursor=pagination["prev_cursor"], direction="prev", **query)
        assert [e["id"] for e in newer["events"]] == everything[max(0, offset - limit) : offset]


_PAGING: list[Any] = []


def _paging_client():
    """One read-only app for the hypothesis test (paging never changes the state)."""
    if not _PAGING:
        client = new_client()
        client.__enter__()
        _PAGING.append(client)
    return _PAGING[0]


# ---------------------------------------------------------------- seeded history and retention


def test_seeded_history_is_realistic_and_counters_agree(hookstream):
    store = store_of(hookstream)
    events = list(store.events.chronological())
    statuses = Counter((e.verification_status, e.dedup_status) for e in events)
    assert any(v == "failed" for v, _ in statuses) and any(d == "duplicate" for _, d in statuses)
    for org_id in {e.org_id for e in events}:
        times = [e.received_at for e in events if e.org_id == org_id]
        assert times == sorted(times) and times[-1] < "2026-02-28T12:00:00Z" and times[0] >= "2026-02-25"
    for connection in store.connections.values():
        routed = [e for e in events if connection.id in e.matched_connections]
        assert connection.event_count == len(routed)
        assert connection.last_event_at == (routed[-1].received_at if routed else None)
    for source in store.sources.values():
        assert source.event_count == sum(1 for e in events if e.source_id == source.id)
    assert all((e.status == "received") == (not e.matched_connections) for e in events)
    assert {e.status for e in events if e.matched_connections} <= {"processing", "delivered", "failed"}


def test_seeded_signed_events_verify_as_the_provider_signed_them(hookstream):
    """The seeded Stripe and GitHub requests carry real signatures; re-sending one is verified again."""
    store = store_of(hookstream)
    verified = next(
        e
        for e in store.events.chronological()
        if e.verification_status == "verified" and e.headers.get("x-hub-signature-256")
    )
    sent = {
        "content-type": "application/json",
        "x-hub-signature-256": verified.headers["x-hub-signature-256"],
    }
    ok(_post(hookstream, verified.source_id, verified.body.encode(), sent))


def test_retention_drops_the_oldest_first():
    with new_client(event_retention=5) as client:
        source = create_source(client)
        ids = [ok(_post(client, source["id"], json.dumps({"n": n}).encode()))["event_id"] for n in range(7)]
        page = _events(client)
        assert [e["id"] for e in page["events"]] == ids[::-1][:5] and page["pagination"]["total"] == 5
        error(client.get(f"/v1/events/{ids[0]}", headers=headers()), 404, "Event not found")
        assert len(store_of(client).events) <= 5 * 2  # two organizations, five each


# ---------------------------------------------------------------- the live stream


def _key(owner: str = ACME) -> str:
    return next(k.key for k in API_KEYS if k.owner == owner)


def test_live_stream_sends_an_event_frame_per_new_event(hookstream):
    watched = create_source(hookstream)
    other = create_source(hookstream)
    with hookstream.websocket_connect(f"/v1/ws?token={_key()}") as all_events:
        welcome = all_events.receive_json()
        assert welcome["type"] == "welcome" and welcome["org_id"] == API_KEYS[0].environment.org_id
        all_events.send_json({"type": "subscribe", "channel": "events"})
        assert all_events.receive_json() == {"type": "subscribed", "channel": "events"}
        session = next(k.session_token for k in API_KEYS if k.owner == ACME)
        hookstream.cookies.set("better-auth.session_token", session)
        with hookstream.websocket_connect("/v1/ws") as one_source:
            one_source.receive_json()
            one_source.send_json({"type": "subscribe", "channel": f"events:{watched['id']}"})
            one_source.receive_json()
            first = ok(_post(hookstream, other["id"], b'{"n":1}'))
            second = ok(_post(hookstream, watched["id"], b'{"n":2}'))
            frames = [all_events.receive_json(), all_events.receive_json()]
            assert [f["data"]["id"] for f in frames] == [first["event_id"], second["event_id"]]
            assert all(f["type"] == "event" and f["channel"] == "events" for f in frames)
            only = one_source.receive_json()
            assert only["channel"] == f"events:{watched['id']}" and only["data"]["id"] == second["event_id"]
            assert only["data"] == _events(hookstream, limit=1)["events"][0]


def test_live_stream_follows_a_reset_of_the_state(hookstream):
    with hookstream.websocket_connect(f"/v1/ws?token={_key()}") as stream:
        stream.receive_json()
        stream.send_json({"type": "subscribe", "channel": "events"})
        stream.receive_json()
        assert hookstream.post("/__mock/reset", json={"api": "hookstream"}).status_code == 200
        stream.send_json({"type": "ping"})  # any message moves the stream to the new state at once
        assert stream.receive_json() == {"type": "pong"}
        source = create_source(hookstream)
        sent = ok(_post(hookstream, source["id"], b"{}"))
        assert stream.receive_json()["data"]["id"] == sent["event_id"]


def test_live_stream_shows_failed_verifications(hookstream, github):
    source, _ = github
    with hookstream.websocket_connect(f"/v1/ws?token={_key()}") as stream:
        stream.receive_json()
        stream.send_json({"type": "subscribe", "channel": "events"})
        stream.receive_json()
        error(_post(hookstream, source["id"], b"{}"), 401)
        assert stream.receive_json()["data"]["verification_status"] == "failed"


def test_live_stream_isolates_organizations(hookstream):
    globex_source = create_source(hookstream, GLOBEX)
    acme_source = create_source(hookstream)
    with hookstream.websocket_connect(f"/v1/ws?token={_key()}") as stream:
        stream.receive_json()
        stream.send_json({"type": "subscribe", "channel": f"events:{globex_source['id']}"})
        stream.receive_json()
        stream.send_json({"type": "subscribe", "channel": "events"})
        stream.receive_json()
        ok(_post(hookstream, globex_source["id"], b"{}"))
        mine = ok(_post(hookstream, acme_source["id"], b"{}"))
        assert stream.receive_json()["data"]["id"] == mine["event_id"]


def test_live_stream_refuses_bad_credentials_and_bad_messages(hookstream):
    bad = "/v1/ws?token=hs_test_" + "0" * 64
    with pytest.raises(WebSocketDisconnect) as refused, hookstream.websocket_connect(bad) as stream:
        stream.receive_json()
    assert refused.value.code == 1008
    with hookstream.websocket_connect(f"/v1/ws?token={_key()}") as stream:
        stream.receive_json()
        for message, expected in (
            ("not json", "JSON"),
            (json.dumps({"type": "shout"}), "type must be one of"),
            (json.dumps({"type": "subscribe", "channel": "payments:x"}), "unknown channel"),
            (json.dumps({"type": "subscribe", "channel": 7}), "channel must be a string"),
        ):
            stream.send_text(message)
            reply = stream.receive_json()
            assert reply["type"] == "error" and expected in reply["error"]
        stream.send_json({"type": "ping"})
        assert stream.receive_json() == {"type": "pong"}


def test_every_seeded_source_type_accepts_a_correctly_signed_webhook(hookstream):
    org_id = API_KEYS[0].environment.org_id
    sources = [s for s in store_of(hookstream).sources.values() if s.org_id == org_id]
    assert {s.verification_type for s in sources} >= {"hmac_sha256"}
    for source in sources:
        assert ok(signed_ingest(hookstream, source.id, {"fresh": source.id}))["accepted"]


def test_live_streams_are_bounded(hookstream, monkeypatch):
    monkeypatch.setattr(_stream, "MAX_SUBSCRIBERS", 2)
    url = f"/v1/ws?token={_key()}"
    with hookstream.websocket_connect(url) as first, hookstream.websocket_connect(url) as second:
        first.receive_json()
        second.receive_json()
        with pytest.raises(WebSocketDisconnect) as refused, hookstream.websocket_connect(url) as third:
            third.receive_json()
        assert refused.value.code == 1013
    with hookstream.websocket_connect(url) as again:  # the closed ones left
        assert again.receive_json()["type"] == "welcome"


def test_a_slow_client_loses_its_oldest_frames_only():
    subscriber = _stream.Subscriber("org_x")
    for n in range(_stream.QUEUE_FRAMES + 5):
        subscriber.offer({"n": n})
    assert subscriber.dropped == 5 and subscriber.queue.qsize() == _stream.QUEUE_FRAMES
    assert subscriber.queue.get_nowait() == {"n": 5}


def test_a_body_of_10_kb_or_more_is_not_inline(hookstream):
    source = create_source(hookstream)
    small = ok(_post(hookstream, source["id"], json.dumps({"pad": "x" * 100}).encode()))
    large_body = json.dumps({"pad": "x" * 10240}).encode()
    large = ok(_post(hookstream, source["id"], large_body))
    assert _detail(hookstream, small["event_id"])["payload_ref"] is None
    detail = _detail(hookstream, large["event_id"])
    assert detail["payload_inline"] is None and detail["payload_ref"].endswith(large["event_id"])
    assert detail["payload"] == json.loads(large_body) and detail["payload_size"] == len(large_body)


def test_an_allowlist_entry_that_is_no_address_matches_nothing(hookstream):
    source = create_source(hookstream, ip_allowlist=["not-an-ip", "198.51.100.0/24"])
    ok(_post(hookstream, source["id"], b"{}", {"X-Forwarded-For": "198.51.100.3"}))
    assert "ip_allowlist" in error(
        _post(hookstream, source["id"], b"{}", {"X-Forwarded-For": "10.0.0.1"}), 403
    )


def test_live_stream_of_a_named_session(hookstream):
    session = {"X-Mock-Session": "stream-job"}
    with (
        hookstream.websocket_connect(f"/v1/ws?token={_key()}&session=stream-job") as in_session,
        hookstream.websocket_connect(f"/v1/ws?token={_key()}") as default,
    ):
        for stream in (in_session, default):
            stream.receive_json()
            stream.send_json({"type": "subscribe", "channel": "events"})
            stream.receive_json()
        body = {"name": "Session source", "slug": "session-source"}
        source = ok(hookstream.post("/v1/sources", json=body, headers={**headers(), **session}), 201)[
            "source"
        ]
        sent = ok(hookstream.post(f"/v1/ingest/{source['id']}", json={}, headers=session))
        assert in_session.receive_json()["data"]["id"] == sent["event_id"]
        plain = create_source(hookstream)
        other = ok(_post(hookstream, plain["id"], b"{}"))
        assert default.receive_json()["data"]["id"] == other["event_id"]  # not the session's event
