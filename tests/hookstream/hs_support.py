"""Helpers shared by the hookstream tests (hookstream served alone at `/v1`, strict)."""

from __future__ import annotations

import base64
import copy
import functools
import hashlib
import hmac
import itertools
import json
import re
from collections.abc import Callable
from typing import Any

import pytest
from conftest import hookstream_headers, make_client
from starlette.testclient import TestClient

from mockserver.apis.hookstream._keys import API_KEYS
from mockserver.apis.hookstream._store import Store

ACME = "acme-production"
ACME_STAGING = "acme-staging"
GLOBEX = "globex-production"
ID = re.compile(r"^[0-9a-f]{32}$")
REQUEST_ID = re.compile(r"^req_[0-9a-f]{12}$")
TIMESTAMP = re.compile(r"^2026-\d\d-\d\dT\d\d:\d\d:\d\dZ$")
MOCK_EPOCH = 1772280000
"""2026-02-28T12:00:00Z, the mock clock's start, as a Unix time."""

_slugs = itertools.count(1)


def new_client(**options: Any) -> TestClient:
    return make_client("hookstream", **options)


@functools.cache
def shared_client() -> TestClient:
    """One hookstream app for the whole session; tests reset its state instead of building a new app."""
    client = new_client()
    client.__enter__()
    return client


def fresh_hookstream_fixture() -> Callable[[], TestClient]:
    """A `hookstream` fixture (overriding conftest's) that gives the shared app with a fresh seeded state.

    `reset` rebuilds the whole state (store, clock, rate limiter, request ids), so each test sees exactly
    what a new app would, without paying for compiling the spec again.
    """

    @pytest.fixture
    def hookstream() -> TestClient:
        client = shared_client()
        reset(client)
        client.cookies.clear()
        return client

    return hookstream


def headers(owner: str = ACME) -> dict[str, str]:
    return hookstream_headers(owner)


def org_env(owner: str) -> tuple[str, str]:
    key = next(k for k in API_KEYS if k.owner == owner)
    return key.environment.org_id, key.environment.env_id


def store_of(client: TestClient) -> Store:
    store: Store = client.app.state.services["hookstream"].state.store
    return store


def snapshot(client: TestClient) -> Store:
    return copy.deepcopy(store_of(client))


def reset(client: TestClient) -> None:
    client.app.state.services["hookstream"].reset()


def unique_slug(prefix: str = "t") -> str:
    return f"{prefix}-{next(_slugs)}"


def ok(response: Any, status: int = 200) -> Any:
    assert response.status_code == status, response.text
    return response.json()


def error(response: Any, status: int, message: str | None = None) -> str:
    assert response.status_code == status, response.text
    body = response.json()
    assert set(body) == {"error", "status", "request_id"}
    assert body["status"] == status
    assert REQUEST_ID.match(body["request_id"])
    if message is not None:
        assert body["error"] == message
    text: str = body["error"]
    return text


def create_source(client: TestClient, owner: str = ACME, **fields: Any) -> dict[str, Any]:
    body = {"name": "Test source", "slug": unique_slug("src"), **fields}
    return ok(client.post("/v1/sources", json=body, headers=headers(owner)), 201)["source"]


def create_destination(client: TestClient, owner: str = ACME, **fields: Any) -> dict[str, Any]:
    body = {
        "name": "Test destination",
        "slug": unique_slug("dst"),
        "url": "https://example.com/hook",
        **fields,
    }
    response = client.post("/v1/destinations", json=body, headers=headers(owner))
    return ok(response, 201)["destination"]


def create_connection(
    client: TestClient, owner: str = ACME, *, source_id: str = "", destination_id: str = "", **fields: Any
) -> dict[str, Any]:
    source_id = source_id or create_source(client, owner)["id"]
    destination_id = destination_id or create_destination(client, owner)["id"]
    body = {"source_id": source_id, "destination_id": destination_id, "name": "Test connection", **fields}
    response = client.post("/v1/connections", json=body, headers=headers(owner))
    return ok(response, 201)["connection"]


def get_connection(client: TestClient, connection_id: str, owner: str = ACME) -> dict[str, Any]:
    return ok(client.get(f"/v1/connections/{connection_id}", headers=headers(owner)))["connection"]


def ingest(client: TestClient, source_id: str, payload: Any = None, **kwargs: Any) -> Any:
    if payload is not None:
        kwargs["json"] = payload
    return client.post(f"/v1/ingest/{source_id}", **kwargs)


def signature_headers(
    client: TestClient, source_id: str, body: bytes, *, at: int | None = None
) -> dict[str, str]:
    """The headers a provider signs `body` with for this source (its real secret, read from the store)."""
    source = store_of(client).sources[source_id]
    if not source.verification_enabled:
        return {}
    secret = source.verification_secret or ""
    if source.verification_type == "standard_webhooks":
        timestamp = str(at if at is not None else MOCK_EPOCH)
        key = base64.b64decode(secret.removeprefix("whsec_"))
        signed = f"msg_test.{timestamp}.".encode() + body
        signature = base64.b64encode(hmac.new(key, signed, hashlib.sha256).digest()).decode()
        return {
            "webhook-id": "msg_test",
            "webhook-timestamp": timestamp,
            "webhook-signature": f"v1,{signature}",
        }
    algorithm = hashlib.sha1 if source.verification_type == "hmac_sha1" else hashlib.sha256
    digest = hmac.new(secret.encode(), body, algorithm).hexdigest()
    return {source.verification_header or "": digest}


def signed_ingest(client: TestClient, source_id: str, payload: Any, **kwargs: Any) -> Any:
    """POST `payload` as JSON, signed the way the source verifies."""
    body = json.dumps(payload).encode()
    sent = {
        "Content-Type": "application/json",
        **signature_headers(client, source_id, body),
        **kwargs.pop("headers", {}),
    }
    return client.post(f"/v1/ingest/{source_id}", content=body, headers=sent, **kwargs)
