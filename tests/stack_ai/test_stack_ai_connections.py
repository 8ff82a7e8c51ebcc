"""Connections: seeded data, catalogue, create / read / replace / rename / delete, listing, health."""

from __future__ import annotations

import copy

import pytest
from stack_support import (
    ACME,
    BOB,
    CONFLUENCE,
    CONNECTION_KEYS,
    DAVE,
    GDRIVE,
    GLOBEX,
    ISO_MICROS,
    POSTGRES,
    PROFILE_KEYS,
    USER,
    connection_ids,
    create,
    detail_locs,
    find_by_role,
    fresh,
    headers,
    is_uuid,
    listed,
    ok,
    seeded,
    state_of,
)

from mockserver.apis.stack_ai._catalogue import CATALOGUE

# ---------------------------------------------------------------- seeded state


def test_two_organizations_with_members_and_connections() -> None:
    state = seeded(25)
    assert set(state.organizations) == {ACME, GLOBEX}
    for org in state.organizations.values():
        assert len(org.connections) == 25
        assert len(org.members) >= 6
        providers = {c.provider_id for c in org.connections.values()}
        assert "gdrive" in providers and len(providers) >= 4
        created = [c.created_at for c in org.connections.values()]
        assert created == sorted(created) and len(set(created)) == len(created)


def test_connections_option_sets_the_count_per_organization() -> None:
    c = fresh(connections=3)
    assert len(listed(c, "alice")) == 3
    assert len(listed(c, "carol")) == 3
    assert listed(fresh(connections=0), "alice") == []


def test_every_connection_field_in_the_vendor_format() -> None:
    c = fresh()
    for user in ("alice", "carol"):
        for item in listed(c, user):
            assert list(item) == CONNECTION_KEYS
            assert is_uuid(item["connection_id"]) and item["org_id"] == USER[user].org_id
            assert ISO_MICROS.fullmatch(item["created_at"]) and ISO_MICROS.fullmatch(item["updated_at"])
            assert item["updated_at"] >= item["created_at"]
            for who in ("created_by", "updated_by"):
                profile = item[who]
                assert set(profile) == PROFILE_KEYS
                assert POSTGRES.fullmatch(profile["last_signed_in"])
                assert POSTGRES.fullmatch(profile["updated_at"])
                assert is_uuid(profile["id"]) and "@" in profile["email"]


def test_secrets_are_masked_everywhere() -> None:
    c = fresh()
    state = state_of(c)
    for item in listed(c, "alice"):
        stored = state.organizations[ACME].connections[item["connection_id"]].provider_data
        data = item["connection_provider_data"]
        for key in ("access_token", "refresh_token", "api_token", "client_secret"):
            if key in stored:
                assert stored[key] != data[key] and "****" in data[key]
                assert len(data[key]) < len(stored[key])
        if "scope" in stored:
            assert data["scope"] == stored["scope"] and data["token_type"] == "Bearer"


# ---------------------------------------------------------------- catalogue


def test_catalogue_lists_every_connection_type_without_auth() -> None:
    c = fresh()
    entries = ok(c.get("/connections/available"))
    assert [e["connection_type_id"] for e in entries] == [e.connection_type_id for e in CATALOGUE]
    by_type = {e["connection_type_id"]: e for e in entries}
    assert by_type["gdrive"]["connection_type"] == "oauth2" and by_type["gdrive"]["provider_id"] == "gdrive"
    confluence = by_type["confluence"]
    assert confluence["connection_type"] == "credentials"
    assert {p["name"] for p in confluence["params"] if p["required"]} == {"url", "username", "api_token"}
    for entry in entries:
        assert entry["labels"] and entry["minimum_plan"] and entry["color"].startswith("#")


# ---------------------------------------------------------------- create


def test_create_returns_201_with_the_caller_and_masked_secrets() -> None:
    c = fresh()
    before = state_of(c).clock.now
    item = create(c, "bob")
    assert list(item) == CONNECTION_KEYS
    assert item["created_by"]["id"] == BOB.user_id == item["updated_by"]["id"]
    assert item["created_by"]["email"] == BOB.email and item["created_by"]["full_name"] == BOB.full_name
    assert item["org_id"] == ACME and item["name"] == "Team Drive"
    assert ISO_MICROS.fullmatch(item["created_at"]) and item["updated_at"] >= item["created_at"]
    assert item["created_at"] > "2025-12-01T09:00:00"
    assert state_of(c).clock.now > before
    data = item["connection_provider_data"]
    assert data["access_token"].startswith("ya29.") and data["access_token"].count("****") == 1
    assert "secret" not in data["access_token"] and "secret" not in data["refresh_token"]
    stored = state_of(c).organizations[ACME].connections[item["connection_id"]].provider_data
    assert stored == GDRIVE["connection_provider_data"]
    assert ok(c.get(f"/connections/{item['connection_id']}", headers=headers("bob"))) == item


def test_create_defaults_the_name() -> None:
    c = fresh()
    body = {k: v for k, v in GDRIVE.items() if k != "name"}
    assert create(c, body=body)["name"] == "Unnamed connection"


def test_created_connection_is_private_to_its_creator_and_org_admins() -> None:
    c = fresh()
    item = create(c, "bob")
    rbac = ok(c.get(f"/api/v1/connections/{item['connection_id']}/rbac", headers=headers("bob")))
    assert rbac == {
        "org_level_role": None,
        "user_roles": {"admin": [BOB.user_id]},
        "group_roles": {},
        "current_user_effective_role": "admin",
    }
    assert item["connection_id"] in connection_ids(c, "alice")
    item = create(c, "alice")
    assert item["connection_id"] not in connection_ids(c, "bob")


@pytest.mark.parametrize(
    ("change", "locs", "kind"),
    [
        ({"provider_id": "myspace"}, [["body", "provider_id"]], "enum"),
        (
            {"provider_id": "myspace", "connection_type_id": "nope"},
            [["body", "connection_type_id"], ["body", "provider_id"]],
            "enum",
        ),
        # A type of another provider: the variant of the named provider says which type it takes.
        ({"connection_type_id": "confluence"}, [["body", "connection_type_id"]], "enum"),
        ({"connection_type_id": "unknown"}, [["body", "connection_type_id"]], "enum"),
    ],
)
def test_create_rejects_what_is_not_in_the_catalogue(
    change: dict[str, str], locs: list[list[str]], kind: str
) -> None:
    c = fresh()
    before = state_of(c).snapshot()
    response = c.post("/connections", headers=headers(), json={**GDRIVE, **change})
    assert response.status_code == 422
    assert detail_locs(response) == locs
    assert response.json()["detail"][0]["type"] == kind
    assert state_of(c).snapshot() == before


def test_credentials_connection_needs_its_required_params() -> None:
    c = fresh()
    item = create(c, body=CONFLUENCE)
    assert item["connection_provider_data"]["url"] == "https://acme.atlassian.net"
    assert item["connection_provider_data"]["api_token"].startswith("ATATT****")
    data = {"url": "not a url", "api_token": 42}
    response = c.post(
        "/connections", headers=headers(), json={**CONFLUENCE, "connection_provider_data": data}
    )
    assert response.status_code == 422
    detail = response.json()["detail"]
    assert [item["loc"] for item in detail] == [
        ["body", "connection_provider_data", "username"],
        ["body", "connection_provider_data", "api_token"],
        ["body", "connection_provider_data", "url"],
    ]
    assert [item["type"] for item in detail] == ["missing", "string_type", "string_pattern_mismatch"]


def test_create_with_an_invalid_body_is_a_fastapi_422() -> None:
    c = fresh()
    response = c.post("/connections", headers=headers(), json={"name": "x", "connection_type_id": "gdrive"})
    assert response.status_code == 422
    assert sorted(detail_locs(response)) == [["body", "connection_provider_data"], ["body", "provider_id"]]


def test_requests_without_a_valid_token_are_401() -> None:
    c = fresh()
    response = c.get("/connections")
    assert response.status_code == 401 and response.json() == {"detail": "Not authenticated"}
    assert response.headers["www-authenticate"] == "Bearer"
    response = c.get("/connections", headers={"Authorization": "Bearer nope"})
    assert response.status_code == 401


# ---------------------------------------------------------------- read, replace, rename, delete


def test_put_replaces_the_connection() -> None:
    c = fresh()
    item = create(c, "alice")
    url = f"/connections/{item['connection_id']}"
    body = copy.deepcopy(CONFLUENCE)
    updated = ok(c.put(url, headers=headers("alice"), json=body))
    assert updated["provider_id"] == "confluence" and updated["name"] == "Wiki"
    assert updated["created_at"] == item["created_at"] and updated["created_by"] == item["created_by"]
    assert updated["updated_at"] > item["updated_at"]
    assert ok(c.get(url, headers=headers())) == updated
    del body["name"]
    assert ok(c.put(url, headers=headers(), json=body))["name"] == "Unnamed connection"


def test_put_keeps_secrets_sent_back_masked() -> None:
    c = fresh()
    item = create(c)
    url = f"/connections/{item['connection_id']}"
    edited = {key: item[key] for key in ("provider_id", "connection_type_id", "connection_provider_data")}
    edited["name"] = "Renamed through PUT"
    updated = ok(c.put(url, headers=headers(), json=edited))
    assert updated["connection_provider_data"] == item["connection_provider_data"]
    stored = state_of(c).organizations[ACME].connections[item["connection_id"]].provider_data
    assert stored == GDRIVE["connection_provider_data"]


def test_put_validates_against_the_catalogue_and_changes_nothing() -> None:
    c = fresh()
    item = create(c)
    before = state_of(c).snapshot()
    response = c.put(
        f"/connections/{item['connection_id']}",
        headers=headers(),
        json={**CONFLUENCE, "connection_provider_data": {}},
    )
    assert response.status_code == 422
    assert ["body", "connection_provider_data", "url"] in detail_locs(response)
    assert state_of(c).snapshot() == before


def test_patch_renames_and_bumps_updated_fields() -> None:
    c = fresh()
    connection_id = find_by_role(c, "bob", "editor")
    url = f"/connections/{connection_id}"
    original = ok(c.get(url, headers=headers("bob")))
    renamed = ok(c.patch(url, headers=headers("bob"), json={"name": "Renamed"}))
    assert renamed["name"] == "Renamed"
    assert renamed["updated_at"] > original["updated_at"]
    assert renamed["updated_by"]["id"] == BOB.user_id
    assert renamed["created_at"] == original["created_at"] and renamed["created_by"] == original["created_by"]
    assert {k: v for k, v in renamed.items() if k not in ("name", "updated_at", "updated_by")} == {
        k: v for k, v in original.items() if k not in ("name", "updated_at", "updated_by")
    }
    second = ok(c.patch(url, headers=headers("alice"), json={"name": "Again"}))
    assert second["updated_at"] > renamed["updated_at"]
    response = c.patch(url, headers=headers("alice"), json={})
    assert response.status_code == 422 and detail_locs(response) == [["body", "name"]]


def test_delete_is_204_then_every_operation_is_404() -> None:
    c = fresh()
    item = create(c)
    cid = item["connection_id"]
    response = c.delete(f"/connections/{cid}", headers=headers())
    assert response.status_code == 204 and response.content == b""
    rbac = {"subject_type": "user", "role": "viewer", "subject_id": BOB.user_id}
    attempts = [
        c.get(f"/connections/{cid}", headers=headers()),
        c.put(f"/connections/{cid}", headers=headers(), json=GDRIVE),
        c.patch(f"/connections/{cid}", headers=headers(), json={"name": "x"}),
        c.delete(f"/connections/{cid}", headers=headers()),
        c.get(f"/connections/{cid}/health", headers=headers()),
        c.get(f"/connections/{cid}/resources", headers=headers()),
        c.get(f"/connections/{cid}/resources/children", headers=headers()),
        c.get(f"/connections/{cid}/resources/search", params={"query": "a"}, headers=headers()),
        c.get(f"/api/v1/connections/{cid}/rbac", headers=headers()),
        c.put(f"/api/v1/connections/{cid}/rbac", headers=headers(), json=rbac),
        c.delete(
            f"/api/v1/connections/{cid}/rbac",
            params={"subject_type": "user", "subject_id": BOB.user_id},
            headers=headers(),
        ),
        c.patch(f"/api/v1/connections/{cid}/organization-role", headers=headers(), json={"role": None}),
        c.put(f"/connections/oauth/callback/{cid}", params={"code": "x"}, headers=headers(), json=GDRIVE),
    ]
    for response in attempts:
        assert response.status_code == 404, response.text
        assert response.json() == {"detail": "Connection not found"}
    assert cid not in connection_ids(c)
    total = ok(c.get("/api/v1/connections", params={"connection_id__eq": cid}, headers=headers()))["total"]
    assert total == 0


def test_unknown_and_malformed_ids() -> None:
    c = fresh()
    response = c.get("/connections/123e4567-e89b-42d3-a456-426614174000", headers=headers())
    assert response.status_code == 404 and response.json() == {"detail": "Connection not found"}
    response = c.get("/connections/not-a-uuid", headers=headers())
    assert response.status_code == 422 and detail_locs(response) == [["path", "connection_id"]]


def test_refresh_oauth_tokens_rotates_the_access_token() -> None:
    c = fresh()
    item = create(c)
    url = f"/connections/{item['connection_id']}"
    stored = state_of(c).organizations[ACME].connections[item["connection_id"]]
    first = stored.provider_data["access_token"]
    same = ok(c.get(url, headers=headers()))
    assert same == item
    refreshed = ok(c.get(url, params={"refresh_oauth_tokens": "true"}, headers=headers()))
    assert stored.provider_data["access_token"] != first
    assert stored.provider_data["refresh_token"] == GDRIVE["connection_provider_data"]["refresh_token"]
    data, old = refreshed["connection_provider_data"], item["connection_provider_data"]
    assert data["access_token"] != old["access_token"] and data["access_token"].startswith("ya29.****")
    assert refreshed["updated_at"] > item["updated_at"]
    again = ok(c.get(url, params={"refresh_oauth_tokens": "true"}, headers=headers()))
    assert again["connection_provider_data"]["access_token"] != data["access_token"]


def test_refresh_does_nothing_for_credentials_connections() -> None:
    c = fresh()
    item = create(c, body=CONFLUENCE)
    refreshed = ok(
        c.get(
            f"/connections/{item['connection_id']}", params={"refresh_oauth_tokens": True}, headers=headers()
        )
    )
    assert refreshed == item


# ---------------------------------------------------------------- GET /connections


def test_list_filters_by_provider_and_pages_in_a_stable_order() -> None:
    c = fresh()
    everything = listed(c, "alice")
    assert len(everything) == 25
    ids = [item["connection_id"] for item in everything]
    assert [item["created_at"] for item in everything] == sorted(item["created_at"] for item in everything)
    pages = [
        ok(c.get("/connections", params={"limit": 7, "offset": offset}, headers=headers()))
        for offset in range(0, 28, 7)
    ]
    assert [item["connection_id"] for page in pages for item in page] == ids
    gdrive = ok(c.get("/connections", params={"connection_provider": "gdrive"}, headers=headers()))
    assert gdrive and all(item["provider_id"] == "gdrive" for item in gdrive)
    assert [item["connection_id"] for item in gdrive] == [
        i["connection_id"] for i in everything if i["provider_id"] == "gdrive"
    ]
    assert ok(c.get("/connections", params={"connection_provider": "nope"}, headers=headers())) == []
    new = create(c)
    assert connection_ids(c) == [*ids, new["connection_id"]]


def test_list_limit_and_offset_edges() -> None:
    c = fresh()
    assert ok(c.get("/connections", params={"limit": 0}, headers=headers())) == []
    assert ok(c.get("/connections", params={"offset": 1000}, headers=headers())) == []
    assert len(ok(c.get("/connections", params={"offset": -5, "limit": 3}, headers=headers()))) == 3
    response = c.get("/connections", params={"limit": "many"}, headers=headers())
    assert response.status_code == 422 and detail_locs(response) == [["query", "limit"]]


def test_organizations_are_isolated() -> None:
    c = fresh()
    acme = connection_ids(c, "alice")
    globex = connection_ids(c, "carol")
    assert not set(acme) & set(globex)
    assert set(connection_ids(c, "dave")) <= set(globex)
    for cid in acme[:5]:
        for user in ("carol", "dave"):
            assert c.get(f"/connections/{cid}", headers=headers(user)).status_code == 404
            assert (
                c.patch(f"/connections/{cid}", headers=headers(user), json={"name": "x"}).status_code == 404
            )
            assert c.delete(f"/connections/{cid}", headers=headers(user)).status_code == 404
    item = create(c, "dave")
    assert item["org_id"] == GLOBEX and item["created_by"]["id"] == DAVE.user_id
    assert item["connection_id"] not in connection_ids(c, "alice")
    assert ok(c.get("/api/v1/connections", params={"limit": 1000}, headers=headers("alice")))["total"] == 25


# ---------------------------------------------------------------- health


def test_health_is_meaningful_and_deterministic() -> None:
    c = fresh()
    state = state_of(c)
    statuses = set()
    for cid in connection_ids(c):
        health = ok(c.get(f"/connections/{cid}/health", headers=headers()))
        assert set(health) == {"status", "checked_at", "provider_id", "connection_id", "message"}
        assert health["connection_id"] == cid and ISO_MICROS.fullmatch(health["checked_at"])
        connection = state.organizations[ACME].connections[cid]
        assert health["provider_id"] == connection.provider_id
        assert (health["status"] == "healthy") == (health["message"] is None)
        statuses.add(health["status"])
        assert ok(c.get(f"/connections/{cid}/health", headers=headers())) == health
    assert "healthy" in statuses


def test_oauth_connection_without_tokens_is_unhealthy_until_given_tokens() -> None:
    c = fresh()
    item = create(c, body={**GDRIVE, "connection_provider_data": {}})
    url = f"/connections/{item['connection_id']}"
    health = ok(c.get(f"{url}/health", headers=headers()))
    assert health["status"] == "unhealthy" and "OAuth" in health["message"]
    ok(c.put(url, headers=headers(), json=GDRIVE))
    assert ok(c.get(f"{url}/health", headers=headers()))["status"] == "healthy"


def test_seeded_revoked_connection_heals_after_new_credentials() -> None:
    c = fresh(connections=60)
    state = state_of(c)
    revoked = next(conn for conn in state.organizations[ACME].connections.values() if conn.health_issue)
    url = f"/connections/{revoked.connection_id}"
    health = ok(c.get(f"{url}/health", headers=headers()))
    assert health["status"] == "unhealthy" and "re-authorize" in health["message"]
    current = ok(c.get(url, headers=headers()))
    body = {key: current[key] for key in ("name", "provider_id", "connection_type_id")}
    body["connection_provider_data"] = {
        **current["connection_provider_data"],
        "refresh_token": "1//0g-brand-new-refresh-token-xyz",
    }
    ok(c.put(url, headers=headers(), json=body))
    assert ok(c.get(f"{url}/health", headers=headers()))["status"] == "healthy"


def test_validation_errors_do_not_echo_secrets() -> None:
    c = fresh()
    secret = "ya29.this-is-a-very-secret-token-value"
    body = {"connection_type_id": "gdrive", "connection_provider_data": {"access_token": secret}}
    response = c.post("/connections", headers=headers(), json=body)
    assert response.status_code == 422 and secret not in response.text and "ya29.****" in response.text
    body = {**CONFLUENCE, "connection_provider_data": {"api_token": 1234567, "url": "https://x.test"}}
    response = c.post("/connections", headers=headers(), json=body)
    assert response.status_code == 422 and "1234567" not in response.text


def test_a_connection_read_after_each_kind_of_write_shows_the_write() -> None:
    """Rendered connections are kept per version: every write path must show through the next read."""
    from mockserver.apis.stack_ai._render import _render

    c = fresh()
    item = create(c)
    url = f"/connections/{item['connection_id']}"
    organization = state_of(c).organizations[ACME]
    edited = copy.deepcopy(GDRIVE) | {"name": "Edited"}
    writes = [
        lambda: c.put(url, headers=headers(), json=edited),
        lambda: c.patch(url, headers=headers(), json={"name": "Renamed"}),
        lambda: c.get(url, params={"refresh_oauth_tokens": "true"}, headers=headers()),
        lambda: c.patch(url, headers=headers(), json={"name": "Renamed"}),  # the same name: a new updated_at
    ]
    before = ok(c.get(url, headers=headers()))
    for write in writes:
        assert write().status_code == 200
        after = ok(c.get(url, headers=headers()))
        assert after != before
        assert after == _render(organization, organization.connections[item["connection_id"]])
        assert [entry for entry in listed(c, "alice") if entry["connection_id"] == item["connection_id"]] == [
            after
        ]
        before = after


def test_rendered_connections_keep_one_entry_per_live_connection() -> None:
    """Connections made and deleted, or edited, leave nothing behind in the rendering cache."""
    c = fresh()
    organization = state_of(c).organizations[ACME]
    listed(c, "alice")
    held = len(organization.rendered._entries)
    for n in range(50):
        made = create(c)
        ok(c.patch(f"/connections/{made['connection_id']}", headers=headers(), json={"name": f"n{n}"}))
        assert c.delete(f"/connections/{made['connection_id']}", headers=headers()).status_code == 204
    edited = connection_ids(c)[0]
    for n in range(20):
        ok(c.patch(f"/connections/{edited}", headers=headers(), json={"name": f"renamed {n}"}))
    assert ok(c.get(f"/connections/{edited}", headers=headers()))["name"] == "renamed 19"
    assert len(organization.rendered._entries) == held
