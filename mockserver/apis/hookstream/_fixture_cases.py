"""hookstream's documented cases, as scripts against a seeded mock (acme-production is the default key).

Besides the derived 401, 415 and 429 (`--rate-limit 1/60`): an id that is not 32 hex characters or a bad
body or query (400), an id nothing has (404), a taken slug or a source or destination still in use (409), the
plan limits of `--source-limit 1`, `--destination-limit 1` and `--connection-limit 1` (403), a forged
signature at ingest (401) and a denied sender (403).
"""

from __future__ import annotations

import hashlib
import hmac
from collections.abc import Callable
from typing import Any

from ..._service import ApiService
from ...fixtures._canonical import ApiCases, Call, CaseBook, GenerationError, Session, with_derived
from ...fixtures._exchange import Body

UNKNOWN_HEX_ID = "0" * 32
NOT_AN_ID = "not-an-id"


def _first_id(s: Session, collection: str, key: str) -> str:
    listed = s.get(f"/v1/{collection}")
    items = listed[key] if isinstance(listed, dict) else listed
    if not items:
        raise GenerationError(f"no {collection} seeded")
    return str(items[0]["id"])


def _items(s: Session, collection: str) -> list[dict[str, Any]]:
    listed = s.get(f"/v1/{collection}")
    if isinstance(listed, dict):
        for value in listed.values():
            if isinstance(value, list):
                return list(value)
    return list(listed)


def _unused(s: Session, collection: str, body: dict[str, Any]) -> str:
    """The id of a new source or destination, which no connection uses yet."""
    created = s.expect(s.call("POST", f"/v1/{collection}", json_body=body), 201)
    item = next(value for value in created.values() if isinstance(value, dict))
    return str(item["id"])


def _used(s: Session, field: str) -> str:
    return str(_items(s, "connections")[0][field])


FIXTURE_SECRET = "fixture-signing-secret"


def _hex_hmac(secret: str, body: bytes) -> str:
    return hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()


def _verifying_source(s: Session) -> str:
    """A new GitHub source with a known secret and one connection, so a signed event is routed."""
    body = {"name": "GitHub fixtures", "slug": "github-fixtures", "template": "github"}
    source_id = _unused(s, "sources", {**body, "verification_secret": FIXTURE_SECRET})
    connection = {
        "source_id": source_id,
        "destination_id": _first_id(s, "destinations", "destinations"),
        "name": "Pushes",
    }
    s.expect(s.call("POST", "/v1/connections", json_body=connection), 201)
    return source_id


def _plain_source(s: Session) -> str:
    return _unused(s, "sources", {"name": "Plain callbacks", "slug": "plain-callbacks"})


def _ingest(
    method: str,
    event: dict[str, Any],
    *,
    source: Callable[[Session], str],
    signature: bool = False,
    secret: str = FIXTURE_SECRET,
    headers: dict[str, str] | None = None,
) -> Callable[[Session], Call]:
    """An ingest request: JSON `event` as the body (a GET carries `?event=ping` instead), signed as GitHub
    signs it when `signature` is set."""

    def build(s: Session) -> Call:
        path = f"/v1/ingest/{source(s)}"
        body = b"" if method == "GET" else Body("json", event).to_bytes()
        sent = {} if method == "GET" else {"Content-Type": "application/json"}
        if signature:
            sent |= {"X-Hub-Signature-256": "sha256=" + _hex_hmac(secret, body), "X-GitHub-Event": "push"}
        query = {"event": "ping"} if method == "GET" else {}
        return s.call(method, path, anonymous=True, query=query, headers=sent | (headers or {}), content=body)

    return build


def _denying_source(s: Session) -> str:
    body = {"name": "Partner feed", "slug": "partner-feed", "ip_denylist": ["203.0.113.0/24"]}
    return _unused(s, "sources", body)


def _forged_event(s: Session) -> str:
    source_id = _verifying_source(s)
    forged = {"Content-Type": "application/json", "X-Hub-Signature-256": "sha256=" + "0" * 64}
    s.expect(s.call("POST", f"/v1/ingest/{source_id}", anonymous=True, headers=forged, content=b"{}"), 401)
    return _first_id(s, "events", "events")


def _freeze_rate_limit_clock(service: ApiService) -> None:
    """`RateLimit-Reset` counts down in real time; under a frozen clock every file says the same."""
    limiter = getattr(service.state, "limiter", None)
    if limiter is not None:
        limiter.clock = lambda: 0.0


def _explicit() -> CaseBook:
    book = CaseBook()
    add = book.add

    def by_id(operation_id: str, method: str, collection: str, body: Any = None) -> None:
        kwargs: dict[str, Any] = {} if body is None else {"json_body": body}
        add(operation_id, 400, "invalid-id", "An id that is not 32 lowercase hex characters.")(
            lambda s: s.call(method, f"/v1/{collection}/{NOT_AN_ID}", **kwargs)
        )
        add(operation_id, 404, "not-found", "An id nothing has.")(
            lambda s: s.call(method, f"/v1/{collection}/{UNKNOWN_HEX_ID}", **kwargs)
        )

    # ------------------------------------------------ connections
    add("listConnections", 200, "ok", "The active connections of the key's environment.")(
        lambda s: s.call("GET", "/v1/connections", query={"status": "active"})
    )
    add("listConnections", 400, "invalid-status", "A status outside the enum.")(
        lambda s: s.call("GET", "/v1/connections", query={"status": "bogus"})
    )

    def new_connection(s: Session) -> dict[str, Any]:
        return {
            "source_id": _first_id(s, "sources", "sources"),
            "destination_id": _first_id(s, "destinations", "destinations"),
            "name": "Paid orders",
            "filter_rules": [{"field": "payload.type", "op": "eq", "value": "order.paid"}],
        }

    add("createConnection", 201, "created", "A connection with one filter rule.")(
        lambda s: s.call("POST", "/v1/connections", json_body=new_connection(s))
    )
    add("createConnection", 400, "missing-fields", "Only a name: each missing field is named.")(
        lambda s: s.call("POST", "/v1/connections", json_body={"name": "x"})
    )
    add(
        "createConnection",
        403,
        "plan-limit",
        "A server started with --connection-limit 1: the organization already has more.",
        app="connection-limit",
    )(lambda s: s.call("POST", "/v1/connections", json_body=new_connection(s)))
    add("createConnection", 404, "unknown-source", "A source_id no source has.")(
        lambda s: s.call(
            "POST", "/v1/connections", json_body={**new_connection(s), "source_id": UNKNOWN_HEX_ID}
        )
    )
    add("getConnection", 200, "ok", "One connection.")(
        lambda s: s.call("GET", f"/v1/connections/{_first_id(s, 'connections', 'connections')}")
    )
    by_id("getConnection", "GET", "connections")
    add("deleteConnection", 200, "ok", "Delete a connection.")(
        lambda s: s.call("DELETE", f"/v1/connections/{_first_id(s, 'connections', 'connections')}")
    )
    by_id("deleteConnection", "DELETE", "connections")
    add("updateConnection", 200, "ok", "Pause a connection.")(
        lambda s: s.call(
            "PATCH",
            f"/v1/connections/{_first_id(s, 'connections', 'connections')}",
            json_body={"status": "paused"},
        )
    )
    add("updateConnection", 400, "invalid-body", "A status outside the enum.")(
        lambda s: s.call(
            "PATCH",
            f"/v1/connections/{_first_id(s, 'connections', 'connections')}",
            json_body={"status": "bogus"},
        )
    )
    add("updateConnection", 404, "not-found", "An id nothing has.")(
        lambda s: s.call("PATCH", f"/v1/connections/{UNKNOWN_HEX_ID}", json_body={"status": "paused"})
    )

    # ------------------------------------------------ sources
    add("listSources", 200, "ok", "The sources of the key's environment.")(
        lambda s: s.call("GET", "/v1/sources")
    )
    add("listSources", 400, "invalid-status", "A status outside the enum.")(
        lambda s: s.call("GET", "/v1/sources", query={"status": "bogus"})
    )
    new_source = {"name": "Shop orders", "slug": "shop-orders", "template": "stripe"}
    add("createSource", 201, "created", "A Stripe source (its signing secret masked).")(
        lambda s: s.call("POST", "/v1/sources", json_body=new_source)
    )
    add("createSource", 400, "missing-fields", "An empty body.")(
        lambda s: s.call("POST", "/v1/sources", json_body={})
    )
    add(
        "createSource",
        403,
        "plan-limit",
        "A server started with --source-limit 1: the organization already has more.",
        app="source-limit",
    )(lambda s: s.call("POST", "/v1/sources", json_body=new_source))
    add("createSource", 409, "slug-taken", "The slug of a source of the same environment.")(
        lambda s: s.call(
            "POST", "/v1/sources", json_body={**new_source, "slug": _items(s, "sources")[0]["slug"]}
        )
    )
    add("listSourceTemplates", 200, "ok", "The source templates.")(
        lambda s: s.call("GET", "/v1/sources/templates")
    )
    add("getSource", 200, "ok", "One source.")(
        lambda s: s.call("GET", f"/v1/sources/{_first_id(s, 'sources', 'sources')}")
    )
    by_id("getSource", "GET", "sources")
    add("deleteSource", 200, "ok", "Delete a source no connection uses.")(
        lambda s: s.call(
            "DELETE", f"/v1/sources/{_unused(s, 'sources', {**new_source, 'slug': 'unused-source'})}"
        )
    )
    add("deleteSource", 409, "in-use", "A source connections still use: they are named.")(
        lambda s: s.call("DELETE", f"/v1/sources/{_used(s, 'source_id')}")
    )
    by_id("deleteSource", "DELETE", "sources")
    add("updateSource", 200, "ok", "Rename a source.")(
        lambda s: s.call(
            "PATCH", f"/v1/sources/{_first_id(s, 'sources', 'sources')}", json_body={"name": "Renamed"}
        )
    )
    add("updateSource", 400, "invalid-body", "A status outside the enum.")(
        lambda s: s.call(
            "PATCH", f"/v1/sources/{_first_id(s, 'sources', 'sources')}", json_body={"status": "bogus"}
        )
    )
    add("updateSource", 404, "not-found", "An id nothing has.")(
        lambda s: s.call("PATCH", f"/v1/sources/{UNKNOWN_HEX_ID}", json_body={"name": "Renamed"})
    )
    add("updateSource", 409, "slug-taken", "The slug of another source of the same environment.")(
        lambda s: s.call(
            "PATCH",
            f"/v1/sources/{_items(s, 'sources')[0]['id']}",
            json_body={"slug": _items(s, "sources")[1]["slug"]},
        )
    )

    # ------------------------------------------------ destinations
    add("listDestinations", 200, "ok", "The destinations of the key's environment.")(
        lambda s: s.call("GET", "/v1/destinations")
    )
    add("listDestinations", 400, "invalid-status", "A status outside the enum.")(
        lambda s: s.call("GET", "/v1/destinations", query={"status": "bogus"})
    )
    new_destination = {
        "name": "Orders service",
        "slug": "orders-service",
        "url": "https://orders.example.com/hooks",
    }
    add("createDestination", 201, "created", "An HTTP destination.")(
        lambda s: s.call("POST", "/v1/destinations", json_body=new_destination)
    )
    add("createDestination", 400, "missing-fields", "An empty body.")(
        lambda s: s.call("POST", "/v1/destinations", json_body={})
    )
    add(
        "createDestination",
        403,
        "plan-limit",
        "A server started with --destination-limit 1: the organization already has more.",
        app="destination-limit",
    )(lambda s: s.call("POST", "/v1/destinations", json_body=new_destination))
    add("createDestination", 409, "slug-taken", "The slug of a destination of the same environment.")(
        lambda s: s.call(
            "POST",
            "/v1/destinations",
            json_body={**new_destination, "slug": _items(s, "destinations")[0]["slug"]},
        )
    )
    add("getDestination", 200, "ok", "One destination.")(
        lambda s: s.call("GET", f"/v1/destinations/{_first_id(s, 'destinations', 'destinations')}")
    )
    by_id("getDestination", "GET", "destinations")
    add("deleteDestination", 200, "ok", "Delete a destination no connection uses.")(
        lambda s: s.call(
            "DELETE",
            f"/v1/destinations/{_unused(s, 'destinations', {**new_destination, 'slug': 'unused-destination'})}",
        )
    )
    add("deleteDestination", 409, "in-use", "A destination connections still use: they are named.")(
        lambda s: s.call("DELETE", f"/v1/destinations/{_used(s, 'destination_id')}")
    )
    by_id("deleteDestination", "DELETE", "destinations")
    add("updateDestination", 200, "ok", "Rename a destination.")(
        lambda s: s.call(
            "PATCH",
            f"/v1/destinations/{_first_id(s, 'destinations', 'destinations')}",
            json_body={"name": "Renamed"},
        )
    )
    add("updateDestination", 400, "invalid-body", "A timeout that is not an integer.")(
        lambda s: s.call(
            "PATCH",
            f"/v1/destinations/{_first_id(s, 'destinations', 'destinations')}",
            json_body={"timeout_ms": "soon"},
        )
    )
    add("updateDestination", 404, "not-found", "An id nothing has.")(
        lambda s: s.call("PATCH", f"/v1/destinations/{UNKNOWN_HEX_ID}", json_body={"name": "Renamed"})
    )
    add("updateDestination", 409, "slug-taken", "The slug of another destination of the same environment.")(
        lambda s: s.call(
            "PATCH",
            f"/v1/destinations/{_items(s, 'destinations')[0]['id']}",
            json_body={"slug": _items(s, "destinations")[1]["slug"]},
        )
    )

    # ------------------------------------------------ health and ingest
    add("getHealth", 200, "ok", "Health (no authentication).")(
        lambda s: s.call("GET", "/v1/health", anonymous=True)
    )
    event = {"type": "order.paid", "amount": 42}
    add("ingestEvent", 200, "ok", "A GitHub-signed event, verified and routed (no authentication).")(
        _ingest("POST", event, source=_verifying_source, signature=True)
    )
    for method, operation_id in (
        ("GET", "ingestEventGet"),
        ("PUT", "ingestEventPut"),
        ("PATCH", "ingestEventPatch"),
        ("DELETE", "ingestEventDelete"),
    ):
        add(operation_id, 200, "ok", f"A {method} to a source that does not verify signatures.")(
            _ingest(method, event, source=_plain_source)
        )
    for method, operation_id in (
        ("POST", "ingestEvent"),
        ("GET", "ingestEventGet"),
        ("PUT", "ingestEventPut"),
        ("PATCH", "ingestEventPatch"),
        ("DELETE", "ingestEventDelete"),
    ):
        add(operation_id, 401, "bad-signature", "A signature made with another secret: stored as failed.")(
            _ingest(method, event, source=_verifying_source, signature=True, secret="another-secret")
        )
        add(operation_id, 403, "ip-denied", "A sender on the source's ip_denylist (in a CIDR range).")(
            _ingest(method, event, source=_denying_source, headers={"X-Forwarded-For": "203.0.113.7"})
        )
        add(operation_id, 400, "invalid-id", "A source id that is not 32 lowercase hex characters.")(
            _ingest(method, event, source=lambda s: NOT_AN_ID)
        )
        add(operation_id, 404, "unknown-source", "A source id nothing has.")(
            _ingest(method, event, source=lambda s: UNKNOWN_HEX_ID)
        )

    # ------------------------------------------------ events
    add("listEvents", 200, "ok", "The newest events of the organization, five to a page.")(
        lambda s: s.call("GET", "/v1/events", query={"limit": 5})
    )
    add("listEvents", 200, "failed-verifications", "Only the events whose signature check failed.")(
        lambda s: s.call("GET", "/v1/events", query={"verification_status": "failed", "limit": 3})
    )
    add("listEvents", 400, "limit-too-large", "A limit above 100.")(
        lambda s: s.call("GET", "/v1/events", query={"limit": 500})
    )
    add("listEvents", 404, "unknown-cursor", "A well-formed cursor this server did not issue.")(
        lambda s: s.call("GET", "/v1/events", query={"cursor": "bm9wZQ"})
    )
    add("getEvent", 200, "ok", "The newest event, with its headers and payload.")(
        lambda s: s.call("GET", f"/v1/events/{_first_id(s, 'events', 'events')}")
    )
    add("getEvent", 200, "failed-verification", "An event stored after a forged signature (401 at ingest).")(
        lambda s: s.call("GET", f"/v1/events/{_forged_event(s)}")
    )
    by_id("getEvent", "GET", "events")

    # ------------------------------------------------ deliveries (seeded destinations are simulated)
    def delivered(s: Session) -> dict[str, Any]:
        """The first attempt of an event sent over a new connection to the first seeded destination."""
        source_id = _plain_source(s)
        connection = {
            "source_id": source_id,
            "destination_id": _first_id(s, "destinations", "destinations"),
            "name": "Callbacks",
        }
        s.expect(s.call("POST", "/v1/connections", json_body=connection), 201)
        sent = s.expect(s.call("POST", f"/v1/ingest/{source_id}", anonymous=True, json_body=event), 200)
        listed = s.get("/v1/delivery-attempts", event_id=sent["event_id"])
        found = listed["delivery_attempts"] if isinstance(listed, dict) else []
        if not found:
            raise GenerationError("the seeded connection made no delivery attempt")
        return dict(found[0])

    add("listDeliveryAttempts", 200, "ok", "The attempts of one event (a simulated destination).")(
        lambda s: s.call("GET", "/v1/delivery-attempts", query={"event_id": delivered(s)["event_id"]})
    )
    add("listDeliveryAttempts", 400, "invalid-status", "A status outside the enum.")(
        lambda s: s.call("GET", "/v1/delivery-attempts", query={"status": "bogus"})
    )
    add("getDeliveryAttempt", 200, "ok", "One attempt with its request and the answer.")(
        lambda s: s.call("GET", f"/v1/delivery-attempts/{delivered(s)['id']}")
    )
    by_id("getDeliveryAttempt", "GET", "delivery-attempts")

    def retry_of_deleted(s: Session) -> Any:
        attempt = delivered(s)
        s.expect(s.call("DELETE", f"/v1/connections/{attempt['connection_id']}"), 200)
        return s.call("POST", f"/v1/delivery-attempts/{attempt['id']}/retry")

    add("retryDeliveryAttempt", 200, "ok", "A manual retry: a new attempt with trigger_type manual.")(
        lambda s: s.call("POST", f"/v1/delivery-attempts/{delivered(s)['id']}/retry")
    )
    add("retryDeliveryAttempt", 400, "retry-failed", "The attempt's connection was deleted.")(
        retry_of_deleted
    )
    add("retryDeliveryAttempt", 404, "not-found", "An id nothing has.")(
        lambda s: s.call("POST", f"/v1/delivery-attempts/{UNKNOWN_HEX_ID}/retry")
    )
    add("retryEvent", 200, "ok", "Retry an event's failed deliveries.")(
        lambda s: s.call("POST", f"/v1/events/{delivered(s)['event_id']}/retry")
    )
    add("retryEvent", 400, "invalid-id", "An id that is not 32 lowercase hex characters.")(
        lambda s: s.call("POST", f"/v1/events/{NOT_AN_ID}/retry")
    )
    add("retryEvent", 404, "not-found", "An id nothing has.")(
        lambda s: s.call("POST", f"/v1/events/{UNKNOWN_HEX_ID}/retry")
    )

    def circuit_call(
        method: str, suffix: str, destination: Callable[[Session], str]
    ) -> Callable[[Session], Any]:
        return lambda s: s.call(method, f"/v1/destinations/{destination(s)}/{suffix}")

    for operation_id, method, suffix in (
        ("getDestinationCircuit", "GET", "circuit"),
        ("resetDestinationCircuit", "POST", "circuit/reset"),
    ):
        add(operation_id, 200, "ok", "A destination's circuit breaker.")(
            circuit_call(method, suffix, lambda s: _first_id(s, "destinations", "destinations"))
        )
        add(operation_id, 400, "invalid-id", "An id that is not 32 lowercase hex characters.")(
            circuit_call(method, suffix, lambda s: NOT_AN_ID)
        )
        add(operation_id, 404, "not-found", "An id nothing has.")(
            circuit_call(method, suffix, lambda s: UNKNOWN_HEX_ID)
        )
    return book


def cases() -> ApiCases:
    return ApiCases(
        api="hookstream",
        default_user="acme-production",
        cases=with_derived("hookstream", _explicit(), rate_limit_app="rate-limited"),
        apps={
            "default": {},
            "rate-limited": {"rate_limit": "1/60"},
            "source-limit": {"source_limit": 1},
            "destination-limit": {"destination_limit": 1},
            "connection-limit": {"connection_limit": 1},
        },
        prepare=_freeze_rate_limit_clock,
    )
