"""Seeded state, determinism, authentication."""

from __future__ import annotations

import json

import pytest
from hs_support import (
    ACME,
    ACME_STAGING,
    GLOBEX,
    ID,
    TIMESTAMP,
    create_connection,
    create_destination,
    create_source,
    error,
    fresh_hookstream_fixture,
    headers,
    ingest,
    new_client,
    ok,
    org_env,
    signed_ingest,
)

from mockserver.apis.hookstream._keys import API_KEYS, ENVIRONMENTS

hookstream = fresh_hookstream_fixture()

OWNERS = [k.owner for k in API_KEYS]


def test_fixed_organizations_environments_and_keys_are_stable():
    names = {(e.org_name, e.name) for e in ENVIRONMENTS}
    assert names == {
        ("Acme Webhooks", "production"),
        ("Acme Webhooks", "staging"),
        ("Globex Payments", "production"),
        ("Globex Payments", "development"),
    }
    for key in API_KEYS:
        assert key.key.startswith("hs_test_") and len(key.key) == len("hs_test_") + 64
        assert key.environment.org_id.startswith("org_") and key.environment.env_id.startswith("env_")
    acme = next(k for k in API_KEYS if k.owner == ACME)
    assert acme.environment.org_id == "org_ddb26a80d1f8f18859602af9"


@pytest.mark.parametrize("owner", OWNERS)
def test_each_environment_is_seeded(hookstream, owner):
    org_id, env_id = org_env(owner)
    query = {"env_id": env_id}
    sources = ok(hookstream.get("/v1/sources", params=query, headers=headers(owner)))["sources"]
    destinations = [
        d
        for d in ok(hookstream.get("/v1/destinations", headers=headers(owner)))["destinations"]
        if d["env_id"] == env_id
    ]
    connections = ok(hookstream.get("/v1/connections", params=query, headers=headers(owner)))["connections"]
    assert {"stripe", "github"} <= {s["template"] for s in sources}
    assert len({d["type"] for d in destinations}) >= 2
    assert connections
    assert any(c["filter_rules"] is not None for c in connections)
    assert any(c["transform_enabled"] == 1 and c["transform_expression"] for c in connections)
    assert any(c["status"] in ("paused", "disabled") for c in connections)
    for item in sources + destinations + connections:
        assert ID.match(item["id"])
        assert item["org_id"] == org_id and item["env_id"] == env_id
        assert TIMESTAMP.match(item["created_at"]) and item["created_at"] <= item["updated_at"]
        assert item["updated_at"] < "2026-02-28T12:00:00Z"
    for connection in connections:
        assert connection["enabled"] in (0, 1) and connection["transform_enabled"] in (0, 1)
        if connection["filter_rules"] is not None:
            assert isinstance(json.loads(connection["filter_rules"]), list)
        assert connection["source_name"] and connection["destination_name"]
        assert (connection["last_event_at"] is None) == (connection["event_count"] == 0)
    for source in sources:
        secret = source["verification_secret"]
        assert secret is None or "****" in secret


def test_nullable_fields_are_present_as_null(hookstream):
    connections = ok(hookstream.get("/v1/connections", headers=headers()))["connections"]
    assert all(len(c) == 18 for c in connections)
    assert any(c["transform_expression"] is None for c in connections)


def _transcript(seed: int) -> list[bytes]:
    with new_client(seed=seed) as client:
        source = create_source(client, slug="fixed-source")
        destination = create_destination(client, slug="fixed-destination")
        created = create_connection(
            client,
            source_id=source["id"],
            destination_id=destination["id"],
            filter_rules=[{"field": "payload.n", "op": "gt", "value": 1}],
        )
        bodies = [client.get("/v1/connections", headers=headers(owner)).content for owner in (ACME, GLOBEX)]
        bodies.append(client.get("/v1/sources", headers=headers()).content)
        bodies.append(client.get("/v1/destinations", headers=headers(GLOBEX)).content)
        bodies.append(ingest(client, created["source_id"], {"n": 2}).content)
        bodies.append(
            client.patch(f"/v1/connections/{created['id']}", json={"name": "x"}, headers=headers()).content
        )
        bodies.append(client.get("/v1/connections/" + "0" * 32, headers=headers()).content)
        return bodies


def test_same_seed_gives_byte_identical_responses():
    assert _transcript(7) == _transcript(7)


def test_other_seed_gives_other_data_but_same_organizations():
    first, second = _transcript(1), _transcript(2)
    assert first[0] != second[0]
    for body in (first[0], second[0]):
        assert org_env(ACME)[0] in body.decode()


@pytest.mark.parametrize(
    "auth",
    [
        lambda key: {"headers": {"X-API-Key": key.key}},
        lambda key: {"headers": {"Authorization": f"Bearer {key.key}"}},
        lambda key: {"cookies": {"better-auth.session_token": key.session_token}},
    ],
    ids=["x-api-key", "bearer", "cookie"],
)
@pytest.mark.parametrize("owner", [ACME, GLOBEX])
def test_every_credential_kind_authenticates_to_its_own_organization(owner, auth):
    key = next(k for k in API_KEYS if k.owner == owner)
    with new_client() as client:
        kwargs = auth(key)
        client.cookies.update(kwargs.pop("cookies", {}))
        connections = ok(client.get("/v1/connections", **kwargs))["connections"]
        assert connections and {c["org_id"] for c in connections} == {key.environment.org_id}


@pytest.mark.parametrize(
    "sent",
    [
        {},
        {"X-API-Key": "not-a-key"},
        {"X-API-Key": "hs_test_" + "g" * 64},
        {"X-API-Key": "hs_test_" + "a" * 63},
        {"X-API-Key": "hs_live_" + "a" * 64},
        {"X-API-Key": "HS_TEST_" + "a" * 64},
        {"Authorization": "Bearer nope"},
        {"Authorization": "Basic " + "a" * 10},
        {"Cookie": "better-auth.session_token=unknown"},
    ],
)
def test_missing_or_bad_credentials_get_401_invalid_api_key(hookstream, sent):
    response = hookstream.get("/v1/connections", headers=sent)
    error(response, 401, "Invalid API key")
    for name in ("RateLimit-Limit", "RateLimit-Remaining", "RateLimit-Reset"):
        assert int(response.headers[name]) >= 0


def test_public_endpoints_need_no_credentials(hookstream):
    assert ok(hookstream.get("/v1/health")) == {"status": "ok", "timestamp": "2026-02-28T12:00:00Z"}
    source = ok(hookstream.get("/v1/sources", headers=headers()))["sources"][0]
    assert ok(signed_ingest(hookstream, source["id"], {"a": 1}))["accepted"] is True


@pytest.mark.parametrize(
    ("method", "path"),
    [
        ("get", "/v1/sources"),
        ("get", "/v1/sources/templates"),
        ("get", "/v1/destinations"),
        ("post", "/v1/connections"),
        ("delete", "/v1/sources/" + "0" * 32),
    ],
)
def test_other_operations_need_credentials(hookstream, method, path):
    error(hookstream.request(method, path), 401, "Invalid API key")


def test_no_put_on_connections(hookstream):
    connection = ok(hookstream.get("/v1/connections", headers=headers()))["connections"][0]
    response = hookstream.put(f"/v1/connections/{connection['id']}", json={"name": "x"}, headers=headers())
    error(response, 405)
    assert "PUT" not in response.headers["Allow"]


def test_staging_key_belongs_to_the_same_organization(hookstream):
    acme = {c["id"] for c in ok(hookstream.get("/v1/connections", headers=headers()))["connections"]}
    staging = {
        c["id"] for c in ok(hookstream.get("/v1/connections", headers=headers(ACME_STAGING)))["connections"]
    }
    assert acme == staging
