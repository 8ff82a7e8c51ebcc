"""Tests a user writes for their own code, with the mock standing in for both vendors."""

from __future__ import annotations

import httpx
import pytest


def summarize_connections(client: httpx.Client, base: str) -> dict[str, int]:
    """The user's own code under test: counts hookstream connections by status."""
    response = client.get(f"{base}/connections")
    response.raise_for_status()
    counts: dict[str, int] = {}
    for connection in response.json()["connections"]:
        counts[connection["status"]] = counts.get(connection["status"], 0) + 1
    return counts


def test_stack_ai_lists_connections_in_process(mockserver_client, mockserver_headers) -> None:
    response = mockserver_client.get("/stack-ai/connections", headers=mockserver_headers("stack-ai", "alice"))
    assert response.status_code == 200
    connections = response.json()
    assert connections and {"connection_id", "name", "provider_id"} <= set(connections[0])


def test_a_write_shows_in_the_next_read(mockserver_client, mockserver_headers) -> None:
    headers = mockserver_headers("hookstream", "acme-production")
    created = mockserver_client.post(
        "/hookstream/v1/sources", json={"name": "Orders", "slug": "orders"}, headers=headers
    )
    assert created.status_code == 201, created.text
    source_id = created.json()["source"]["id"]
    fetched = mockserver_client.get(f"/hookstream/v1/sources/{source_id}", headers=headers)
    assert fetched.json()["source"]["name"] == "Orders"


def test_the_app_is_reseeded_for_each_test(mockserver_app, mockserver_client, mockserver_headers) -> None:
    headers = mockserver_headers("hookstream", "acme-production")
    sources = mockserver_client.get("/hookstream/v1/sources", headers=headers).json()["sources"]
    assert all(source["name"] != "Orders" for source in sources)  # the previous test's write is gone
    assert set(mockserver_app.state.services) == {"hookstream", "stack-ai"}


def test_bad_credentials_are_refused_in_the_vendor_format(mockserver_client) -> None:
    response = mockserver_client.get("/hookstream/v1/connections", headers={"X-API-Key": "hs_test_nope"})
    assert response.status_code == 401
    assert response.json()["error"] == "Invalid API key"


def test_my_code_against_a_live_server(mockserver_url, mockserver_headers) -> None:
    with httpx.Client(headers=mockserver_headers("hookstream", "acme-production"), timeout=10) as client:
        counts = summarize_connections(client, f"{mockserver_url}/hookstream/v1")
    assert sum(counts.values()) > 0
    assert set(counts) <= {"active", "paused", "disabled"}


@pytest.mark.mockserver(api="hookstream", api_options={"rate_limit": "2/60"})
def test_my_code_sees_the_rate_limit(mockserver_client) -> None:
    statuses = [mockserver_client.get("/v1/connections").status_code for _ in range(3)]
    assert statuses == [200, 200, 429]
    limited = mockserver_client.get("/v1/connections")
    assert limited.headers["RateLimit-Remaining"] == "0"
    assert limited.json()["status"] == 429
