"""Helpers shared by the Stack AI tests."""

from __future__ import annotations

import re
import uuid
from typing import Any
from urllib.parse import parse_qs, urlsplit

from conftest import make_client, stack_ai_headers

from mockserver.apis.stack_ai._seed import create_state
from mockserver.apis.stack_ai._state import StackAiState
from mockserver.apis.stack_ai._users import USERS

USER = {user.key: user for user in USERS}
ALICE, BOB, CAROL, DAVE = (USER[key] for key in ("alice", "bob", "carol", "dave"))
ACME, GLOBEX = ALICE.org_id, CAROL.org_id
ISO_MICROS = re.compile(r"\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{6}\+00:00")
POSTGRES = re.compile(r"\d{4}-\d{2}-\d{2} \d{2}:\d{2}:\d{2}\.\d{6}\+00:00")
ISO_MILLIS = re.compile(r"\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}Z")
DRIVE_ID = re.compile(r"1[A-Za-z0-9_-]{32}")
CONNECTION_KEYS = [
    "connection_id",
    "created_by",
    "created_at",
    "updated_by",
    "updated_at",
    "name",
    "org_id",
    "provider_id",
    "connection_type_id",
    "connection_provider_data",
]
PROFILE_KEYS = {
    "avatar_url",
    "full_name",
    "has_completed_onboarding",
    "last_signed_in",
    "updated_at",
    "id",
    "email",
}

GDRIVE = {
    "name": "Team Drive",
    "provider_id": "gdrive",
    "connection_type_id": "gdrive",
    "connection_provider_data": {
        "access_token": "ya29.a0AfB_byC-secret-access-token-0123456789",
        "refresh_token": "1//0gsecret-refresh-token-abcdefghijklmnop",
        "scope": "https://www.googleapis.com/auth/drive.readonly",
        "token_type": "Bearer",
        "can_be_knowledge_base": True,
    },
}
CONFLUENCE = {
    "name": "Wiki",
    "provider_id": "confluence",
    "connection_type_id": "confluence",
    "connection_provider_data": {
        "url": "https://acme.atlassian.net",
        "username": "alice@acme.test",
        "api_token": "ATATT3xFfGF0-very-secret-api-token",
    },
}


def headers(user: str = "alice") -> dict[str, str]:
    return stack_ai_headers(user)


def client(seed: int = 0, **options: Any) -> Any:
    return make_client("stack-ai", seed=seed, **options)


def state_of(test_client: Any) -> StackAiState:
    state = test_client.app.state.services["stack-ai"].state
    assert isinstance(state, StackAiState)
    return state


def listed(test_client: Any, user: str) -> list[dict[str, Any]]:
    response = test_client.get("/connections", headers=headers(user))
    assert response.status_code == 200
    return list(response.json())


def seeded(connections: int = 25, seed: int = 0) -> StackAiState:
    return create_state(seed=seed, connections=connections)


def connection_ids(test_client: Any, user: str = "alice") -> list[str]:
    return [c["connection_id"] for c in listed(test_client, user)]


def role_of(test_client: Any, user: str, connection_id: str) -> str | None:
    response = test_client.get(f"/api/v1/connections/{connection_id}/rbac", headers=headers(user))
    if response.status_code == 404:
        return None
    assert response.status_code == 200, response.text
    role: str | None = response.json()["current_user_effective_role"]
    return role


def find_by_role(test_client: Any, user: str, role: str | None) -> str:
    """A connection of `user`'s organization on which `user` has exactly `role` (None: invisible)."""
    state = state_of(test_client)
    org = state.organizations[USER[user].org_id]
    from mockserver.apis.stack_ai._access import Viewer

    viewer = Viewer(org, USER[user])
    for connection in org.connections.values():
        if viewer.role(connection) == role:
            return connection.connection_id
    raise AssertionError(f"no connection where {user} is {role}")


def query_of(url: str) -> dict[str, str]:
    return {key: values[0] for key, values in parse_qs(urlsplit(url).query).items()}


def is_uuid(text: str) -> bool:
    try:
        return str(uuid.UUID(text)) == text
    except ValueError:
        return False


def detail_locs(response: Any) -> list[list[Any]]:
    body = response.json()
    assert isinstance(body["detail"], list), body
    for item in body["detail"]:
        assert {"type", "loc", "msg", "input"} <= set(item)
    return [item["loc"] for item in body["detail"]]


_SHARED: dict[tuple[Any, ...], Any] = {}


def fresh(seed: int = 0, **options: Any) -> Any:
    """A strict Stack AI client whose state was just re-seeded (the app is built once per options)."""
    key = (seed, *sorted(options.items()))
    if key not in _SHARED:
        _SHARED[key] = client(seed, **options)
    test_client = _SHARED[key]
    test_client.app.state.services["stack-ai"].reset()
    return test_client


def ok(response: Any, status: int = 200) -> Any:
    assert response.status_code == status, response.text
    return response.json() if response.content else None


def create(test_client: Any, user: str = "alice", body: dict[str, Any] | None = None) -> dict[str, Any]:
    result: dict[str, Any] = ok(
        test_client.post("/connections", headers=headers(user), json=body or GDRIVE), 201
    )
    return result
