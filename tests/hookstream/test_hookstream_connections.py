"""Connections: CRUD, referential integrity, rule validation, list filters, joined names."""

from __future__ import annotations

import json

import pytest
from hs_support import (
    ACME,
    ACME_STAGING,
    GLOBEX,
    ID,
    create_connection,
    create_destination,
    create_source,
    error,
    fresh_hookstream_fixture,
    get_connection,
    headers,
    ok,
    org_env,
    snapshot,
)

hookstream = fresh_hookstream_fixture()

RULES = [
    {"op": "in", "value": ["invoice.paid", "invoice.payment_succeeded"], "field": "payload.type"},
    {"field": "headers.Stripe-Signature", "op": "exists", "value": True},
    {"field": "payload.data.object.amount_paid", "op": "gte", "value": 1000},
]


def test_create_returns_201_with_every_field_in_storage_style(hookstream):
    source = create_source(hookstream, name="Stripe in")
    destination = create_destination(hookstream, name="Orders out")
    org_id, env_id = org_env(ACME)
    connection = create_connection(
        hookstream,
        source_id=source["id"],
        destination_id=destination["id"],
        name="Stripe → Orders",
        description="paid invoices",
        filter_rules=RULES,
        enabled=True,
        transform_enabled=True,
        transform_expression='{"id": data.object.id}',
    )
    assert ID.match(connection["id"])
    assert connection == {
        "id": connection["id"],
        "org_id": org_id,
        "env_id": env_id,
        "source_id": source["id"],
        "destination_id": destination["id"],
        "name": "Stripe → Orders",
        "description": "paid invoices",
        "enabled": 1,
        "filter_rules": json.dumps(
            [{"field": r["field"], "op": r["op"], "value": r["value"]} for r in RULES], separators=(",", ":")
        ),
        "status": "active",
        "event_count": 0,
        "last_event_at": None,
        "created_at": connection["created_at"],
        "updated_at": connection["created_at"],
        "transform_enabled": 1,
        "transform_expression": '{"id": data.object.id}',
        "source_name": "Stripe in",
        "destination_name": "Orders out",
    }
    assert get_connection(hookstream, connection["id"]) == connection


def test_create_defaults(hookstream):
    connection = create_connection(hookstream)
    assert connection["enabled"] == 1 and connection["transform_enabled"] == 0
    assert connection["description"] is None and connection["filter_rules"] is None
    assert connection["transform_expression"] is None and connection["status"] == "active"


@pytest.mark.parametrize("flag", [True, False])
def test_booleans_in_become_0_1_out(hookstream, flag):
    connection = create_connection(hookstream, enabled=flag, transform_enabled=not flag)
    assert connection["enabled"] == int(flag) and connection["transform_enabled"] == int(not flag)
    patched = ok(
        hookstream.patch(
            f"/v1/connections/{connection['id']}",
            json={"enabled": not flag, "transform_enabled": flag},
            headers=headers(),
        )
    )["connection"]
    assert patched["enabled"] == int(not flag) and patched["transform_enabled"] == int(flag)


def test_create_with_explicit_own_org_and_env(hookstream):
    org_id, env_id = org_env(ACME_STAGING)
    source = create_source(hookstream, ACME_STAGING)
    destination = create_destination(hookstream, ACME_STAGING)
    body = {"source_id": source["id"], "destination_id": destination["id"], "name": "n", "org_id": org_id}
    created = ok(
        hookstream.post("/v1/connections", json={**body, "env_id": env_id}, headers=headers(ACME)), 201
    )
    assert created["connection"]["env_id"] == env_id


def test_empty_rules_are_stored_as_null(hookstream):
    assert create_connection(hookstream, filter_rules=[])["filter_rules"] is None


def _refused_create(client, owner, body, status, message):
    before = snapshot(client)
    error(client.post("/v1/connections", json=body, headers=headers(owner)), status, message)
    assert snapshot(client) == before


def test_unknown_source_or_destination_is_404(hookstream):
    source = create_source(hookstream)
    destination = create_destination(hookstream)
    missing = "f" * 32
    for source_id, destination_id in [
        (missing, destination["id"]),
        (source["id"], missing),
        (missing, missing),
    ]:
        body = {"source_id": source_id, "destination_id": destination_id, "name": "x"}
        _refused_create(hookstream, ACME, body, 404, "Source or destination not found")


def test_source_or_destination_of_another_organization_is_404(hookstream):
    ours_source, ours_destination = create_source(hookstream), create_destination(hookstream)
    theirs_source, theirs_destination = (
        create_source(hookstream, GLOBEX),
        create_destination(hookstream, GLOBEX),
    )
    for source_id, destination_id in [
        (theirs_source["id"], ours_destination["id"]),
        (ours_source["id"], theirs_destination["id"]),
        (theirs_source["id"], theirs_destination["id"]),
    ]:
        body = {"source_id": source_id, "destination_id": destination_id, "name": "x"}
        _refused_create(hookstream, ACME, body, 404, "Source or destination not found")


def test_source_of_another_environment_is_404(hookstream):
    staging_source = create_source(hookstream, ACME_STAGING)
    destination = create_destination(hookstream, ACME)
    body = {"source_id": staging_source["id"], "destination_id": destination["id"], "name": "x"}
    _refused_create(hookstream, ACME, body, 404, "Source or destination not found")


def test_foreign_org_or_env_is_404(hookstream):
    source, destination = create_source(hookstream), create_destination(hookstream)
    body = {"source_id": source["id"], "destination_id": destination["id"], "name": "x"}
    globex_org, globex_env = org_env(GLOBEX)
    _refused_create(hookstream, ACME, {**body, "org_id": globex_org}, 404, "Organization not found")
    _refused_create(hookstream, ACME, {**body, "env_id": globex_env}, 404, "Environment not found")
    _refused_create(hookstream, ACME, {**body, "env_id": "env_00"}, 404, "Environment not found")


@pytest.mark.parametrize(
    ("rule", "message"),
    [
        (
            {"field": "payload.type", "op": "like", "value": "x"},
            "body.filter_rules.0.op must be one of eq, neq, contains, gt, gte, lt, lte, exists, in",
        ),
        (
            {"field": "payload.type", "op": "exists", "value": "yes"},
            "body.filter_rules.0.value must be a boolean",
        ),
        (
            {"field": "payload.type", "op": "exists", "value": 1},
            "body.filter_rules.0.value must be a boolean",
        ),
        ({"field": "payload.type", "op": "in", "value": "a"}, "body.filter_rules.0.value must be an array"),
        ({"field": "payload.type", "op": "eq"}, "body.filter_rules.0.value is required"),
        ({"op": "eq", "value": 1}, "body.filter_rules.0.field is required"),
        ({"field": "", "op": "eq", "value": 1}, "body.filter_rules.0.field must not be empty"),
        (
            {"field": "payload.a", "op": "eq", "value": 1, "x": 1},
            "body.filter_rules.0.x is not a known field",
        ),
        (
            {"field": "body.type", "op": "eq", "value": 1},
            "body.filter_rules.0.field must be payload, payload.<path>, headers.<name>, method, content_type or source_ip",
        ),
        (
            {"field": "payload..a", "op": "eq", "value": 1},
            "body.filter_rules.0.field must be payload, payload.<path>, headers.<name>, method, content_type or source_ip",
        ),
        (
            {"field": "headers.", "op": "eq", "value": 1},
            "body.filter_rules.0.field must be payload, payload.<path>, headers.<name>, method, content_type or source_ip",
        ),
        (
            {"field": "payload.n", "op": "gt", "value": {"a": 1}},
            "body.filter_rules.0.value must be a number or a string for gt, gte, lt and lte",
        ),
        (
            {"field": "payload.n", "op": "lte", "value": True},
            "body.filter_rules.0.value must be a number or a string for gt, gte, lt and lte",
        ),
        (
            {"field": "payload.n", "op": "gte", "value": None},
            "body.filter_rules.0.value must be a number or a string for gt, gte, lt and lte",
        ),
    ],
)
def test_invalid_filter_rules_are_400(hookstream, rule, message):
    source, destination = create_source(hookstream), create_destination(hookstream)
    valid = {"field": "method", "op": "eq", "value": "POST"}
    body = {
        "source_id": source["id"],
        "destination_id": destination["id"],
        "name": "x",
        "filter_rules": [rule, valid],
    }
    _refused_create(hookstream, ACME, body, 400, message)
    connection = create_connection(hookstream, source_id=source["id"], destination_id=destination["id"])
    before = snapshot(hookstream)
    response = hookstream.patch(
        f"/v1/connections/{connection['id']}", json={"filter_rules": [valid, rule]}, headers=headers()
    )
    error(response, 400, message.replace(".0.", ".1."))
    assert snapshot(hookstream) == before


@pytest.mark.parametrize(
    ("body", "message"),
    [
        ({"destination_id": "a" * 32, "name": "x"}, "body.source_id is required"),
        ({"source_id": "a" * 32, "destination_id": "a" * 32, "name": ""}, "body.name must not be empty"),
        (
            {"source_id": "abc", "destination_id": "a" * 32, "name": "x"},
            "body.source_id must be 32 lowercase hex characters",
        ),
        (
            {"source_id": "a" * 32, "destination_id": "a" * 32, "name": "x", "enabled": 1},
            "body.enabled must be a boolean",
        ),
        (
            {"source_id": "a" * 32, "destination_id": "a" * 32, "name": "x", "filter_rules": "[]"},
            "body.filter_rules must be an array",
        ),
        (
            {"source_id": "a" * 32, "destination_id": "a" * 32, "name": "x", "status": "active"},
            "body.status is not a known field",
        ),
    ],
)
def test_invalid_create_bodies_are_400(hookstream, body, message):
    _refused_create(hookstream, ACME, body, 400, message)


def test_malformed_json_and_wrong_media_type(hookstream):
    error(
        hookstream.post(
            "/v1/connections", content=b"{", headers={**headers(), "Content-Type": "application/json"}
        ),
        400,
    )
    error(
        hookstream.post("/v1/connections", content=b"x", headers={**headers(), "Content-Type": "text/plain"}),
        415,
        "Content-Type must be application/json",
    )


def test_patch_is_partial_and_updated_at_moves_every_time(hookstream):
    connection = create_connection(hookstream, description="keep me", filter_rules=RULES[:1])
    seen = [connection["updated_at"]]
    for change in (
        {"name": "renamed"},
        {"status": "paused"},
        {"filter_rules": None},
        {"transform_expression": "{}", "transform_enabled": True},
        {"name": "renamed"},
    ):
        patched = ok(hookstream.patch(f"/v1/connections/{connection['id']}", json=change, headers=headers()))[
            "connection"
        ]
        for key, value in change.items():
            expected = int(value) if isinstance(value, bool) else value
            assert patched[key] == expected
        assert patched["description"] == "keep me"
        assert patched["created_at"] == connection["created_at"]
        assert patched["updated_at"] > seen[-1]
        seen.append(patched["updated_at"])
    assert get_connection(hookstream, connection["id"])["updated_at"] == seen[-1]


def test_patch_rejects_empty_and_unknown_fields(hookstream):
    connection = create_connection(hookstream)
    path = f"/v1/connections/{connection['id']}"
    error(
        hookstream.patch(path, json={}, headers=headers()),
        400,
        "Request body must contain at least one field",
    )
    error(
        hookstream.patch(path, json={"source_id": "a" * 32}, headers=headers()),
        400,
        "body.source_id is not a known field",
    )
    error(
        hookstream.patch(path, json={"status": "gone"}, headers=headers()),
        400,
        "body.status must be one of active, paused, disabled",
    )


def test_delete_then_gone(hookstream):
    connection = create_connection(hookstream)
    path = f"/v1/connections/{connection['id']}"
    assert ok(hookstream.delete(path, headers=headers())) == {"success": True}
    error(hookstream.get(path, headers=headers()), 404, "Connection not found")
    error(hookstream.delete(path, headers=headers()), 404, "Connection not found")
    error(hookstream.patch(path, json={"name": "x"}, headers=headers()), 404, "Connection not found")


def test_malformed_id_is_400(hookstream):
    error(
        hookstream.get("/v1/connections/xyz", headers=headers()),
        400,
        "path.id must be 32 lowercase hex characters",
    )


def test_other_organizations_connections_are_404(hookstream):
    theirs = create_connection(hookstream, GLOBEX)
    path = f"/v1/connections/{theirs['id']}"
    before = snapshot(hookstream)
    error(hookstream.get(path, headers=headers(ACME)), 404, "Connection not found")
    error(hookstream.patch(path, json={"name": "mine"}, headers=headers(ACME)), 404, "Connection not found")
    error(hookstream.delete(path, headers=headers(ACME)), 404, "Connection not found")
    assert snapshot(hookstream) == before
    assert get_connection(hookstream, theirs["id"], GLOBEX) == theirs


def test_renaming_source_and_destination_shows_in_connections(hookstream):
    connection = create_connection(hookstream)
    updated_at = connection["updated_at"]
    ok(
        hookstream.patch(
            f"/v1/sources/{connection['source_id']}", json={"name": "New source"}, headers=headers()
        )
    )
    ok(
        hookstream.patch(
            f"/v1/destinations/{connection['destination_id']}",
            json={"name": "New destination"},
            headers=headers(),
        )
    )
    fetched = get_connection(hookstream, connection["id"])
    assert (fetched["source_name"], fetched["destination_name"]) == ("New source", "New destination")
    assert fetched["updated_at"] == updated_at
    listed = ok(
        hookstream.get("/v1/connections", params={"source_id": connection["source_id"]}, headers=headers())
    )
    assert [c["source_name"] for c in listed["connections"]] == ["New source"]


def _ids(client, owner=ACME, **query):
    body = ok(client.get("/v1/connections", params=query, headers=headers(owner)))
    return [c["id"] for c in body["connections"]]


def test_list_is_scoped_to_the_callers_organization(hookstream):
    acme_org, _ = org_env(ACME)
    globex_org, _ = org_env(GLOBEX)
    acme = ok(hookstream.get("/v1/connections", headers=headers(ACME)))["connections"]
    globex = ok(hookstream.get("/v1/connections", headers=headers(GLOBEX)))["connections"]
    assert {c["org_id"] for c in acme} == {acme_org} and {c["org_id"] for c in globex} == {globex_org}
    assert _ids(hookstream, org_id=acme_org) == [c["id"] for c in acme]
    assert _ids(hookstream, ACME, org_id=globex_org) == []
    assert _ids(hookstream, ACME, org_id="org_nope") == []
    globex_env = org_env(GLOBEX)[1]
    assert _ids(hookstream, ACME, env_id=globex_env) == []


def test_list_honours_every_filter(hookstream):
    acme_org, acme_env = org_env(ACME)
    _, staging_env = org_env(ACME_STAGING)
    source, destination = create_source(hookstream), create_destination(hookstream)
    first = create_connection(hookstream, source_id=source["id"], destination_id=destination["id"])
    second = create_connection(hookstream, source_id=source["id"])
    ok(hookstream.patch(f"/v1/connections/{second['id']}", json={"status": "disabled"}, headers=headers()))
    staging = create_connection(hookstream, ACME_STAGING)
    everything = ok(hookstream.get("/v1/connections", headers=headers()))["connections"]
    for query in [
        {"env_id": acme_env},
        {"env_id": staging_env},
        {"status": "active"},
        {"status": "paused"},
        {"status": "disabled"},
        {"source_id": source["id"]},
        {"destination_id": destination["id"]},
        {"source_id": source["id"], "status": "active"},
        {"org_id": acme_org, "env_id": staging_env, "status": "active"},
    ]:
        expected = [c["id"] for c in everything if all(c[k] == v for k, v in query.items())]
        assert _ids(hookstream, **query) == expected, query
    assert _ids(hookstream, source_id=source["id"]) == [first["id"], second["id"]]
    assert _ids(hookstream, source_id=source["id"], status="disabled") == [second["id"]]
    assert _ids(hookstream, destination_id=destination["id"]) == [first["id"]]
    assert staging["id"] in _ids(hookstream, env_id=staging_env)
    assert _ids(hookstream, source_id="0" * 32) == []
    error(hookstream.get("/v1/connections", params={"status": "on"}, headers=headers()), 400)
