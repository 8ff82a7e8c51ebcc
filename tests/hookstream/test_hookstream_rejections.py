"""A rejected request leaves the state unchanged: deep snapshots of the store before and after."""

from __future__ import annotations

from typing import Any

from hs_support import ACME, GLOBEX, headers, ok, reset, shared_client, snapshot
from hypothesis import given
from hypothesis import strategies as st
from starlette.testclient import TestClient

WRITABLE = {
    "connections": {
        "name",
        "description",
        "enabled",
        "filter_rules",
        "status",
        "transform_enabled",
        "transform_expression",
    },
}


def _seeded(client: TestClient) -> dict[str, Any]:
    acme = ok(client.get("/v1/connections", headers=headers(ACME)))["connections"][0]
    globex = ok(client.get("/v1/connections", headers=headers(GLOBEX)))["connections"][0]
    return {"acme": acme, "globex": globex}


def _cases(seeded: dict[str, Any]) -> list[tuple[str, str, dict[str, Any], int]]:
    """(method, path, request kwargs, expected status) of requests the mock must refuse."""
    acme, globex = seeded["acme"], seeded["globex"]
    missing = "e" * 32
    return [
        (
            "post",
            "/v1/connections",
            {"json": {"source_id": acme["source_id"], "destination_id": missing, "name": "x"}},
            404,
        ),
        (
            "post",
            "/v1/connections",
            {
                "json": {
                    "source_id": globex["source_id"],
                    "destination_id": acme["destination_id"],
                    "name": "x",
                }
            },
            404,
        ),
        (
            "post",
            "/v1/connections",
            {
                "json": {
                    "source_id": acme["source_id"],
                    "destination_id": acme["destination_id"],
                    "name": "x",
                    "filter_rules": [{"field": "payload.a", "op": "exists", "value": "y"}],
                }
            },
            400,
        ),
        (
            "post",
            "/v1/connections",
            {
                "json": {
                    "source_id": acme["source_id"],
                    "destination_id": acme["destination_id"],
                    "name": "x",
                    "filter_rules": [{"field": "nope", "op": "eq", "value": 1}],
                }
            },
            400,
        ),
        (
            "post",
            "/v1/connections",
            {
                "json": {
                    "source_id": acme["source_id"],
                    "destination_id": acme["destination_id"],
                    "name": "x",
                    "org_id": globex["org_id"],
                }
            },
            404,
        ),
        ("patch", f"/v1/connections/{globex['id']}", {"json": {"name": "stolen"}}, 404),
        (
            "patch",
            f"/v1/connections/{acme['id']}",
            {"json": {"filter_rules": [{"field": "payload.a", "op": "gt", "value": [1]}]}},
            400,
        ),
        ("patch", f"/v1/connections/{acme['id']}", {"json": {"enabled": "yes"}}, 400),
        ("delete", f"/v1/connections/{globex['id']}", {}, 404),
        ("delete", f"/v1/sources/{acme['source_id']}", {}, 409),
        ("delete", f"/v1/destinations/{acme['destination_id']}", {}, 409),
        ("delete", f"/v1/sources/{globex['source_id']}", {}, 404),
        ("patch", f"/v1/destinations/{globex['destination_id']}", {"json": {"name": "x"}}, 404),
        ("post", "/v1/destinations", {"json": {"name": "x", "slug": "x"}}, 400),
        ("post", "/v1/sources", {"json": {"name": "x", "slug": "x", "template": "unknown"}}, 400),
        ("post", f"/v1/ingest/{missing}", {"json": {"a": 1}}, 404),
        (
            "post",
            f"/v1/ingest/{acme['source_id']}",
            {"content": b"{", "headers": {"Content-Type": "application/json"}},
            400,
        ),
        ("put", f"/v1/connections/{acme['id']}", {"json": {"name": "x"}}, 405),
        (
            "post",
            "/v1/connections",
            {
                "json": {
                    "source_id": acme["source_id"],
                    "destination_id": acme["destination_id"],
                    "name": "x",
                },
                "auth": False,
            },
            401,
        ),
        ("delete", f"/v1/connections/{acme['id']}", {"auth": False}, 401),
    ]


@given(data=st.data())
def test_rejected_requests_leave_the_state_unchanged(data):
    client = shared_client()
    reset(client)
    cases = _cases(_seeded(client))
    chosen = data.draw(st.lists(st.sampled_from(cases), min_size=1, max_size=6))
    before = snapshot(client)
    for method, path, kwargs, status in chosen:
        kwargs = dict(kwargs)
        sent = dict(kwargs.pop("headers", {}))
        if kwargs.pop("auth", True):
            sent.update(headers(ACME))
        response = client.request(method, path, headers=sent, **kwargs)
        assert response.status_code == status, (method, path, response.text)
        assert set(response.json()) == {"error", "status", "request_id"}
    assert snapshot(client) == before


junk_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.text(max_size=8),
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=5), inner, max_size=3),
    max_leaves=8,
)


@given(
    body=st.dictionaries(st.text(min_size=1, max_size=12), junk_values, max_size=4),
    target=st.sampled_from(
        ["post /v1/connections", "patch connection", "post /v1/sources", "post /v1/destinations"]
    ),
)
def test_junk_bodies_are_400_and_change_nothing(body, target):
    client = shared_client()
    reset(client)
    acme = _seeded(client)["acme"]
    if target == "patch connection":
        body = {k: v for k, v in body.items() if k not in WRITABLE["connections"]}
        method, path = "patch", f"/v1/connections/{acme['id']}"
    else:  # without one required field, so the body can never be valid
        body.pop("slug" if "sources" in target or "destinations" in target else "name", None)
        method, path = target.split(" ")
    before = snapshot(client)
    response = client.request(method, path, json=body, headers=headers())
    assert response.status_code == 400, response.text
    assert snapshot(client) == before
