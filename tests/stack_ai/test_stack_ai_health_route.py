"""The mock-only route that flips a connection's health: POST <mount>/__mock/connections/{id}/health."""

from __future__ import annotations

from typing import Any

import pytest
from conftest import make_client
from stack_support import GDRIVE, headers, ok
from starlette.testclient import TestClient

from mockserver.apis.stack_ai._health import DEFAULT_MESSAGE, is_loopback

P = "/stack-ai"  # the route sits under the API's mount; with every API served that is /stack-ai
UNKNOWN = "00000000-0000-4000-8000-000000000000"


@pytest.fixture(scope="module")
def app_client() -> TestClient:
    return make_client(connections=6)


@pytest.fixture
def client(app_client: TestClient) -> TestClient:
    app_client.post("/__mock/reset", json={"api": "stack-ai"})
    return app_client


def flip(client: TestClient, cid: str, body: Any = None, **kwargs: Any) -> Any:
    if body is not None:
        kwargs["json"] = body
    return client.post(f"{P}/__mock/connections/{cid}/health", **kwargs)


def health(client: TestClient, cid: str, extra: dict[str, str] | None = None) -> dict[str, Any]:
    result: dict[str, Any] = ok(
        client.get(f"{P}/connections/{cid}/health", headers={**headers(), **(extra or {})})
    )
    return result


def first_id(client: TestClient) -> str:
    cid: str = ok(client.get(f"{P}/connections", headers=headers()))[0]["connection_id"]
    return cid


def test_unhealthy_then_healthy(client: TestClient) -> None:
    cid = first_id(client)
    before = health(client, cid)
    connection = client.get(f"{P}/connections/{cid}", headers=headers()).content
    assert before["status"] == "healthy"
    flipped = ok(flip(client, cid, {"status": "unhealthy", "message": "Token revoked at the provider"}))
    assert flipped == {**before, "status": "unhealthy", "message": "Token revoked at the provider"}
    assert health(client, cid) == flipped
    assert health(client, cid, {}) == flipped
    assert ok(flip(client, cid, {"status": "unhealthy"}))["message"] == DEFAULT_MESSAGE
    assert ok(flip(client, cid, {"status": "healthy", "message": None})) == before
    assert health(client, cid) == before
    # neither the connection nor the clock moved
    assert client.get(f"{P}/connections/{cid}", headers=headers()).content == connection


def test_healthy_overrides_missing_credentials_until_they_change(client: TestClient) -> None:
    empty = {**GDRIVE, "connection_provider_data": {}}
    cid = ok(client.post(f"{P}/connections", headers=headers(), json=empty), 201)["connection_id"]
    assert health(client, cid)["status"] == "unhealthy"  # no OAuth tokens stored
    assert ok(flip(client, cid, {"status": "healthy"}))["status"] == "healthy"
    assert health(client, cid)["status"] == "healthy"
    ok(client.put(f"{P}/connections/{cid}", headers=headers(), json=GDRIVE))  # new credentials
    ok(client.put(f"{P}/connections/{cid}", headers=headers(), json=empty))  # and none again
    assert health(client, cid)["status"] == "unhealthy"  # derived from the credentials once more


def test_healthy_clears_a_seeded_issue_in_any_organization() -> None:
    seeded = make_client(connections=60)
    service_state = seeded.app.state.services["stack-ai"].state
    revoked = [
        (org.name, c.connection_id)
        for org in service_state.organizations.values()
        for c in org.connections.values()
        if c.health_issue
    ]
    owners = {"Acme Research": "alice", "Globex Labs": "carol"}
    assert {name for name, _ in revoked} == set(owners)
    for name, cid in revoked[:1] + revoked[-1:]:
        url = f"{P}/connections/{cid}/health"
        before = ok(seeded.get(url, headers=headers(owners[name])))
        assert before["status"] == "unhealthy" and "re-authorize" in before["message"]
        assert ok(flip(seeded, cid, {"status": "healthy"})) == {
            **before,
            "status": "healthy",
            "message": None,
        }
        assert ok(seeded.get(url, headers=headers(owners[name])))["status"] == "healthy"


def test_unknown_connection_is_404(client: TestClient) -> None:
    response = flip(client, UNKNOWN, {"status": "healthy"})
    assert response.status_code == 404 and response.json() == {"detail": "Connection not found"}


def _item(
    kind: str, loc: list[Any], msg: str, given: Any, ctx: dict[str, Any] | None = None
) -> dict[str, Any]:
    item = {"type": kind, "loc": loc, "msg": msg, "input": given}
    return {**item, "ctx": ctx} if ctx else item


ENUM = "Input should be 'healthy' or 'unhealthy'"
EXPECTED = {"expected": "'healthy' or 'unhealthy'"}
CASES: list[tuple[str, str, dict[str, Any], list[dict[str, Any]]]] = [
    ("no body", UNKNOWN, {}, [_item("missing", ["body"], "Field required", None)]),
    (
        "bad JSON",
        UNKNOWN,
        {"content": b'{"status":', "headers": {"content-type": "application/json"}},
        [_item("json_invalid", ["body", 10], "JSON decode error", {}, {"error": "Expecting value"})],
    ),
    (
        "not JSON",
        UNKNOWN,
        {"content": b"status=healthy", "headers": {"content-type": "application/x-www-form-urlencoded"}},
        [
            _item(
                "model_attributes_type",
                ["body"],
                "Input should be a valid dictionary or object to extract fields from",
                "status=healthy",
            )
        ],
    ),
    (
        "a list",
        UNKNOWN,
        {"json": ["healthy"]},
        [
            _item(
                "model_attributes_type",
                ["body"],
                "Input should be a valid dictionary or object to extract fields from",
                ["healthy"],
            )
        ],
    ),
    ("no status", UNKNOWN, {"json": {}}, [_item("missing", ["body", "status"], "Field required", {})]),
    (
        "bad status",
        UNKNOWN,
        {"json": {"status": "ok"}},
        [_item("enum", ["body", "status"], ENUM, "ok", EXPECTED)],
    ),
    (
        "null status",
        UNKNOWN,
        {"json": {"status": None}},
        [_item("enum", ["body", "status"], ENUM, None, EXPECTED)],
    ),
    (
        "everything wrong",
        "not-a-uuid",
        {"json": {"status": 1, "message": 2, "color": "red"}},
        [
            _item("uuid_parsing", ["path", "connection_id"], "Input should be a valid UUID", "not-a-uuid"),
            _item("enum", ["body", "status"], ENUM, 1, EXPECTED),
            _item("string_type", ["body", "message"], "Input should be a valid string", 2),
            _item("extra_forbidden", ["body", "color"], "Extra inputs are not permitted", "red"),
        ],
    ),
    (
        "empty message",
        UNKNOWN,
        {"json": {"status": "unhealthy", "message": ""}},
        [
            _item(
                "string_too_short",
                ["body", "message"],
                "String should have at least 1 character",
                "",
                {"min_length": 1},
            )
        ],
    ),
    (
        "message when healthy",
        UNKNOWN,
        {"json": {"status": "healthy", "message": "why"}},
        [
            _item(
                "value_error",
                ["body", "message"],
                "Value error, a healthy connection has no message",
                "why",
                {"error": {}},
            )
        ],
    ),
    (
        "NaN",
        UNKNOWN,
        {"content": b'{"status": NaN}', "headers": {"content-type": "application/json"}},
        [_item("json_invalid", ["body", 11], "JSON decode error", {}, {"error": "NaN is not a JSON value"})],
    ),
    (
        "bad session",
        UNKNOWN,
        {"json": {"status": "healthy"}, "headers": {"X-Mock-Session": "no spaces"}},
        [
            _item(
                "string_pattern_mismatch",
                ["header", "X-Mock-Session"],
                "Session names are 1 to 64 letters, digits, dots, dashes or underscores",
                "no spaces",
            )
        ],
    ),
]


@pytest.mark.parametrize(("cid", "kwargs", "detail"), [c[1:] for c in CASES], ids=[c[0] for c in CASES])
def test_input_is_validated_strictly(
    client: TestClient, cid: str, kwargs: dict[str, Any], detail: list[dict[str, Any]]
) -> None:
    before = client.get("/__mock/state").json()
    response = flip(client, cid, **kwargs)
    assert response.status_code == 422 and response.json() == {"detail": detail}
    assert client.get("/__mock/state").json() == before


def test_only_loopback_callers(client: TestClient) -> None:
    app = client.app
    cid = UNKNOWN
    remote = TestClient(app, client=("203.0.113.9", 50000))
    response = remote.post(f"{P}/__mock/connections/{cid}/health", json={"status": "healthy"})
    assert response.status_code == 403 and "loopback" in response.json()["detail"]
    for host in ("127.0.0.1", "::1", "127.8.9.10"):
        local = TestClient(app, client=(host, 50000))
        assert (
            local.post(f"{P}/__mock/connections/{cid}/health", json={"status": "healthy"}).status_code == 404
        )
    assert [is_loopback(h) for h in ("testclient", "::ffff:127.0.0.1", "localhost.evil", "10.0.0.1", "")] == [
        True,
        True,
        False,
        False,
        False,
    ]


def test_sessions_have_their_own_health(client: TestClient) -> None:
    cid = first_id(client)
    session = {"X-Mock-Session": "health-1"}
    assert ok(flip(client, cid, {"status": "unhealthy"}, headers=session))["status"] == "unhealthy"
    assert health(client, cid, session)["status"] == "unhealthy"
    assert health(client, cid)["status"] == "healthy"


def test_a_flipped_health_survives_a_snapshot(client: TestClient) -> None:
    cid = first_id(client)
    ok(flip(client, cid, {"status": "unhealthy", "message": "kept"}))
    snapshot = client.get("/__mock/state").json()
    other = make_client(connections=6)
    ok(other.put("/__mock/state", json=snapshot))
    assert health(other, cid) == health(client, cid)
    assert health(other, cid)["message"] == "kept"


def test_the_route_works_when_stack_ai_is_served_alone_at_the_root() -> None:
    # /__mock/... is also the control plane's prefix; the API's own route must still win.
    alone = make_client("stack-ai", connections=3)
    cid = ok(alone.get("/connections", headers=headers()))[0]["connection_id"]
    flipped = alone.post(
        f"/__mock/connections/{cid}/health", json={"status": "unhealthy", "message": "revoked"}
    )
    assert flipped.status_code == 200, flipped.text
    assert ok(alone.get(f"/connections/{cid}/health", headers=headers()))["status"] == "unhealthy"
    assert alone.get("/__mock/users").status_code == 200  # the control plane is still there
