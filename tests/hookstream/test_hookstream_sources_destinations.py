"""Sources and destinations: CRUD, enums, masking, slugs, the 409 guard on delete, plan limit."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
import yaml
from hs_support import (
    ACME,
    ACME_STAGING,
    GLOBEX,
    create_connection,
    create_destination,
    create_source,
    error,
    fresh_hookstream_fixture,
    headers,
    new_client,
    ok,
    org_env,
    snapshot,
    store_of,
    unique_slug,
)

from mockserver.apis.hookstream._templates import TEMPLATES

hookstream = fresh_hookstream_fixture()


def test_templates(hookstream):
    templates = ok(hookstream.get("/v1/sources/templates", headers=headers()))["templates"]
    ids = [t["id"] for t in templates]
    assert {"stripe", "github", "generic"} <= set(ids)
    assert all(set(t) == {"id", "name", "description", "verification_type"} for t in templates)
    assert next(t for t in templates if t["id"] == "generic")["verification_type"] is None


def test_create_source_with_every_field_masks_the_secret(hookstream):
    body = {
        "name": "Stripe production",
        "slug": "stripe-prod-x",
        "description": "from stripe",
        "template": "stripe",
        "type": "http",
        "source_config": {"note": "x"},
        "verification_enabled": True,
        "verification_type": "hmac_sha1",
        "verification_secret": "whsec_5f8a2c9e1b7d4a6c3e0f9b2d8a1c7e4f",
        "verification_header": "X-Sig",
        "dedup_enabled": True,
        "dedup_strategy": "header_field",
        "dedup_field": "X-Id",
        "dedup_window_seconds": 60,
        "ip_allowlist": ["10.0.0.0/8"],
        "ip_denylist": [],
    }
    source = ok(hookstream.post("/v1/sources", json=body, headers=headers()), 201)["source"]
    org_id, env_id = org_env(ACME)
    assert source["org_id"] == org_id and source["env_id"] == env_id
    assert source["verification_secret"] == "whsec_****7e4f"
    assert "5f8a2c9e" not in json.dumps(source)
    assert source["verification_enabled"] == 1 and source["dedup_enabled"] == 1
    assert source["verification_type"] == "hmac_sha1" and source["verification_header"] == "X-Sig"
    assert source["source_config"] == '{"note":"x"}'
    assert source["ip_allowlist"] == '["10.0.0.0/8"]' and source["ip_denylist"] == "[]"
    assert source["ingest_url"] == f"http://testserver/v1/ingest/{source['id']}"
    assert source["status"] == "active" and source["event_count"] == 0
    assert ok(hookstream.get(f"/v1/sources/{source['id']}", headers=headers()))["source"] == source


def test_minimal_source_and_template_defaults(hookstream):
    minimal = create_source(hookstream)
    assert minimal["template"] is None and minimal["type"] == "http"
    assert minimal["verification_enabled"] == 0 and minimal["verification_secret"] is None
    for key in ("description", "source_config", "verification_type", "dedup_strategy", "ip_allowlist"):
        assert minimal[key] is None
    github = create_source(hookstream, template="github", verification_secret="abc")
    assert github["verification_type"] == "hmac_sha256"
    assert github["verification_header"] == "X-Hub-Signature-256"
    assert github["verification_enabled"] == 1 and github["verification_secret"] == "****"


def test_source_enums_and_template_are_validated(hookstream):
    for body, message in [
        (
            {"template": "paypal"},
            "body.template must be one of stripe, github, shopify, slack, twilio, standard-webhooks, generic",
        ),
        ({"type": "grpc"}, "body.type must be one of http, websocket"),
        (
            {"verification_type": "md5"},
            "body.verification_type must be one of hmac_sha256, hmac_sha1, standard_webhooks",
        ),
        (
            {"dedup_strategy": "x"},
            "body.dedup_strategy must be one of payload_hash, header_field, body_field",
        ),
        ({"slug": "Not A Slug"}, "body.slug must be lowercase letters and digits joined by single hyphens"),
        ({"dedup_window_seconds": 0}, "body.dedup_window_seconds must be at least 1"),
        ({"verification_enabled": "true"}, "body.verification_enabled must be a boolean"),
    ]:
        before = snapshot(hookstream)
        sent = {"name": "n", "slug": "ok-slug", **body}
        error(hookstream.post("/v1/sources", json=sent, headers=headers()), 400, message)
        assert snapshot(hookstream) == before


def test_source_slug_is_unique_per_environment(hookstream):
    create_source(hookstream, slug="shared-slug")
    before = snapshot(hookstream)
    response = hookstream.post("/v1/sources", json={"name": "n", "slug": "shared-slug"}, headers=headers())
    error(response, 409, "A source with slug 'shared-slug' already exists in this environment")
    assert snapshot(hookstream) == before
    create_source(hookstream, ACME_STAGING, slug="shared-slug")
    create_source(hookstream, GLOBEX, slug="shared-slug")
    other = create_source(hookstream, slug="other-slug")
    response = hookstream.patch(f"/v1/sources/{other['id']}", json={"slug": "shared-slug"}, headers=headers())
    error(response, 409)
    assert ok(hookstream.patch(f"/v1/sources/{other['id']}", json={"slug": "other-slug"}, headers=headers()))


def test_patch_source(hookstream):
    source = create_source(hookstream, verification_secret="whsec_0123456789abcdef")
    patched = ok(
        hookstream.patch(
            f"/v1/sources/{source['id']}",
            json={"status": "paused", "verification_secret": "whsec_fedcba9876543210", "description": None},
            headers=headers(),
        )
    )["source"]
    assert patched["status"] == "paused" and patched["verification_secret"] == "whsec_****3210"
    assert patched["updated_at"] > source["updated_at"] and patched["name"] == source["name"]


def test_source_list_filters(hookstream):
    acme_org, acme_env = org_env(ACME)
    globex_org, _ = org_env(GLOBEX)
    paused = create_source(hookstream)
    ok(hookstream.patch(f"/v1/sources/{paused['id']}", json={"status": "paused"}, headers=headers()))
    staging = create_source(hookstream, ACME_STAGING)
    everything = ok(hookstream.get("/v1/sources", headers=headers()))["sources"]
    assert {s["org_id"] for s in everything} == {acme_org}

    def ids(**query):
        return [
            s["id"] for s in ok(hookstream.get("/v1/sources", params=query, headers=headers()))["sources"]
        ]

    assert ids(status="paused") == [paused["id"]]
    assert staging["id"] in ids(env_id=org_env(ACME_STAGING)[1]) and staging["id"] not in ids(env_id=acme_env)
    assert ids(org_id=acme_org) == [s["id"] for s in everything]
    assert ids(org_id=globex_org) == []


def test_sources_of_other_organizations_are_404(hookstream):
    theirs = create_source(hookstream, GLOBEX)
    path = f"/v1/sources/{theirs['id']}"
    before = snapshot(hookstream)
    error(hookstream.get(path, headers=headers()), 404, "Source not found")
    error(hookstream.patch(path, json={"name": "x"}, headers=headers()), 404, "Source not found")
    error(hookstream.delete(path, headers=headers()), 404, "Source not found")
    assert snapshot(hookstream) == before


def test_deleting_a_used_source_is_409_naming_the_connections(hookstream):
    source = create_source(hookstream)
    first = create_connection(hookstream, source_id=source["id"], name="First route")
    second = create_connection(hookstream, source_id=source["id"], name="Second route")
    before = snapshot(hookstream)
    message = error(hookstream.delete(f"/v1/sources/{source['id']}", headers=headers()), 409)
    assert message == (
        f'Source is used by 2 connections: "First route" ({first["id"]}), "Second route" ({second["id"]}); '
        "delete them first"
    )
    assert snapshot(hookstream) == before
    ok(hookstream.delete(f"/v1/connections/{first['id']}", headers=headers()))
    message = error(hookstream.delete(f"/v1/sources/{source['id']}", headers=headers()), 409)
    assert message == f'Source is used by 1 connection: "Second route" ({second["id"]}); delete it first'
    ok(hookstream.delete(f"/v1/connections/{second['id']}", headers=headers()))
    assert ok(hookstream.delete(f"/v1/sources/{source['id']}", headers=headers())) == {"success": True}
    error(hookstream.get(f"/v1/sources/{source['id']}", headers=headers()), 404, "Source not found")


def test_seeded_sources_in_use_cannot_be_deleted(hookstream):
    connection = ok(hookstream.get("/v1/connections", headers=headers()))["connections"][0]
    error(hookstream.delete(f"/v1/sources/{connection['source_id']}", headers=headers()), 409)
    error(hookstream.delete(f"/v1/destinations/{connection['destination_id']}", headers=headers()), 409)


def test_create_destination_with_every_field_masks_credentials(hookstream):
    body = {
        "name": "Orders",
        "slug": "orders-x",
        "description": "orders api",
        "url": "https://orders.example.com/hook",
        "method": "PUT",
        "headers": {"X-Source": "hookstream", "Authorization": "Bearer abcdefgh12345678"},
        "timeout_ms": 10000,
        "auth_type": "bearer_token",
        "auth_config": {"token": "sk_orders_7f3e9a1c5b2d8e4f6a0c9b3de9f2"},
        "type": "http",
        "retry_enabled": False,
        "retry_max_attempts": 2,
        "retry_backoff_type": "linear",
        "retry_intervals": [1, 2],
        "circuit_breaker_enabled": False,
        "circuit_breaker_threshold": 3,
        "circuit_breaker_reset_ms": 1000,
    }
    destination = ok(hookstream.post("/v1/destinations", json=body, headers=headers()), 201)["destination"]
    assert destination["auth_config"] == '{"token":"****e9f2"}'
    assert json.loads(destination["headers"]) == {"X-Source": "hookstream", "Authorization": "****5678"}
    assert "7f3e9a1c" not in json.dumps(destination)
    assert destination["retry_enabled"] == 0 and destination["circuit_breaker_enabled"] == 0
    assert destination["retry_intervals"] == "[1,2]" and destination["method"] == "PUT"
    assert destination["provider_config"] is None and destination["status"] == "active"


def test_destination_defaults_and_provider_masking(hookstream):
    http = create_destination(hookstream)
    assert (http["type"], http["method"], http["timeout_ms"], http["auth_type"]) == (
        "http",
        "POST",
        30000,
        "none",
    )
    assert http["retry_intervals"] == "[30,300,1800,7200,86400]" and http["retry_max_attempts"] == 5
    assert http["retry_enabled"] == 1 and http["auth_config"] is None and http["headers"] is None
    sqs = ok(
        hookstream.post(
            "/v1/destinations",
            json={
                "name": "Queue",
                "slug": "queue-x",
                "type": "aws_sqs",
                "provider_config": {
                    "queue_url": "https://sqs.us-east-1.amazonaws.com/1/q",
                    "access_key_id": "AKIAIOSFODNN7EXAMPLE",
                    "secret_access_key": "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY",
                },
            },
            headers=headers(),
        ),
        201,
    )["destination"]
    assert sqs["url"] is None
    assert json.loads(sqs["provider_config"]) == {
        "queue_url": "https://sqs.us-east-1.amazonaws.com/1/q",
        "access_key_id": "****MPLE",
        "secret_access_key": "****",
    }


def test_http_destination_needs_a_url(hookstream):
    before = snapshot(hookstream)
    for body in ({"name": "n", "slug": "no-url"}, {"name": "n", "slug": "no-url", "type": "http"}):
        error(hookstream.post("/v1/destinations", json=body, headers=headers()), 400)
    assert snapshot(hookstream) == before
    queue = create_destination(hookstream, type="kafka", url="https://x.example")
    kafka = ok(
        hookstream.post(
            "/v1/destinations", json={"name": "k", "slug": "k-1", "type": "kafka"}, headers=headers()
        ),
        201,
    )
    path = f"/v1/destinations/{kafka['destination']['id']}"
    error(
        hookstream.patch(path, json={"type": "http"}, headers=headers()),
        400,
        "body.url is required when type is http",
    )
    patched = ok(
        hookstream.patch(path, json={"type": "http", "url": "https://a.example/x"}, headers=headers())
    )
    assert patched["destination"]["type"] == "http"
    assert queue["url"] == "https://x.example"


def test_destination_list_filters_and_scope(hookstream):
    acme_org, _ = org_env(ACME)
    everything = ok(hookstream.get("/v1/destinations", headers=headers()))["destinations"]
    assert everything and {d["org_id"] for d in everything} == {acme_org}
    for query in [
        {"type": "http"},
        {"status": "active"},
        {"status": "paused"},
        {"type": "http", "status": "active"},
    ]:
        listed = ok(hookstream.get("/v1/destinations", params=query, headers=headers()))["destinations"]
        assert listed == [d for d in everything if all(d[k] == v for k, v in query.items())]
    error(hookstream.get("/v1/destinations", params={"type": "ftp"}, headers=headers()), 400)


def test_destination_slug_conflict_patch_and_cross_org(hookstream):
    create_destination(hookstream, slug="dup")
    error(
        hookstream.post(
            "/v1/destinations",
            json={"name": "n", "slug": "dup", "url": "https://a.example"},
            headers=headers(),
        ),
        409,
    )
    theirs = create_destination(hookstream, GLOBEX, slug="dup")
    path = f"/v1/destinations/{theirs['id']}"
    error(hookstream.get(path, headers=headers()), 404, "Destination not found")
    error(hookstream.patch(path, json={"name": "x"}, headers=headers()), 404, "Destination not found")
    error(hookstream.delete(path, headers=headers()), 404, "Destination not found")
    patched = ok(
        hookstream.patch(
            path, json={"timeout_ms": 5000, "auth_config": {"key": "0123456789"}}, headers=headers(GLOBEX)
        )
    )
    assert (
        patched["destination"]["timeout_ms"] == 5000
        and patched["destination"]["auth_config"] == '{"key":"****6789"}'
    )
    assert patched["destination"]["updated_at"] > theirs["updated_at"]


def test_deleting_a_used_destination_is_409(hookstream):
    destination = create_destination(hookstream)
    connection = create_connection(hookstream, destination_id=destination["id"], name="Only route")
    before = snapshot(hookstream)
    message = error(hookstream.delete(f"/v1/destinations/{destination['id']}", headers=headers()), 409)
    assert (
        message == f'Destination is used by 1 connection: "Only route" ({connection["id"]}); delete it first'
    )
    assert snapshot(hookstream) == before
    ok(hookstream.delete(f"/v1/connections/{connection['id']}", headers=headers()))
    assert ok(hookstream.delete(f"/v1/destinations/{destination['id']}", headers=headers())) == {
        "success": True
    }


def _new_body(client: Any, kind: str, owner: str = ACME) -> dict[str, Any]:
    if kind == "source":
        return {"name": "n", "slug": unique_slug(kind)}
    if kind == "destination":
        return {"name": "n", "slug": unique_slug(kind), "url": "https://a.example/hook"}
    sources = ok(client.get("/v1/sources", headers=headers(owner)))["sources"]
    destinations = ok(client.get("/v1/destinations", headers=headers(owner)))["destinations"]
    return {"name": "n", "source_id": sources[0]["id"], "destination_id": destinations[0]["id"]}


@pytest.mark.parametrize("kind", ["source", "destination", "connection"])
def test_plan_limits_answer_403_and_change_nothing(kind):
    with new_client(**{f"{kind}_limit": 30}) as client:
        org_id = ok(client.get(f"/v1/{kind}s", headers=headers()))[f"{kind}s"][0]["org_id"]
        existing = store_of(client).held(kind, org_id)  # in all the organization's environments
        assert 0 < existing < 30
        for _ in range(30 - existing):
            ok(client.post(f"/v1/{kind}s", json=_new_body(client, kind), headers=headers()), 201)
        before = snapshot(client)
        refused = client.post(f"/v1/{kind}s", json=_new_body(client, kind), headers=headers())
        assert error(refused, 403) == (
            f"{kind.capitalize()} limit reached for your plan (30 per organization)"
        )
        assert snapshot(client) == before
        other = _new_body(client, kind, GLOBEX)  # the limit is per organization
        ok(client.post(f"/v1/{kind}s", json=other, headers=headers(GLOBEX)), 201)


def test_plan_limits_default_to_1000_each():
    with new_client() as client:
        plan = client.app.state.services["hookstream"].state.plan
        assert (plan.sources, plan.destinations, plan.connections) == (1000, 1000, 1000)


@pytest.mark.parametrize("option", ["source_limit", "destination_limit", "connection_limit"])
@pytest.mark.parametrize("value", [0, -1, "3", True])
def test_invalid_plan_limit_option(option, value):
    with pytest.raises(ValueError):
        new_client(**{option: value})


def test_template_ids_match_the_spec():
    spec = yaml.safe_load((Path(__file__).resolve().parents[2] / "spec" / "hookstream.yaml").read_text())
    schemas = spec["components"]["schemas"]
    ids = [t.id for t in TEMPLATES]
    assert schemas["SourceCreate"]["properties"]["template"]["enum"] == ids
    assert schemas["SourceUpdate"]["properties"]["template"]["enum"] == ids
