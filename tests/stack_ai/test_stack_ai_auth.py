"""Sign-in as the vendor's auth service answers it, and the tokens it issues."""

from __future__ import annotations

from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st
from stack_support import ALICE, BOB, USER, client, state_of

from mockserver.apis.stack_ai._state import MAX_REFRESH_TOKENS
from mockserver.apis.stack_ai._users import verified_claims

TOKEN = "/auth/v1/token"
CLIENT = client()


def sign_in(c: Any, user: str = "alice", password: str | None = None) -> Any:
    body = {
        "email": USER[user].email,
        "password": password or USER[user].password,
        "gotrue_meta_security": {},
    }
    return c.post(TOKEN, params={"grant_type": "password"}, json=body, headers={"Apikey": "anon-key"})


def refresh(c: Any, refresh_token: str) -> Any:
    return c.post(TOKEN, params={"grant_type": "refresh_token"}, json={"refresh_token": refresh_token})


def bearer(session: dict[str, Any]) -> dict[str, str]:
    return {"Authorization": f"Bearer {session['access_token']}"}


def test_every_mock_user_signs_in_with_the_documented_password() -> None:
    c = client()
    for key, user in USER.items():
        response = sign_in(c, key)
        assert response.status_code == 200, response.text
        session = response.json()
        assert session["token_type"] == "bearer" and session["expires_in"] == 3600
        assert session["user"]["email"] == user.email and session["user"]["id"] == user.user_id
        assert user.password == f"mock-password-{key}"
        current = c.get("/organizations/me/current", headers=bearer(session))
        assert current.json() == {"org_id": user.org_id}


def test_the_access_token_is_a_jwt_of_the_mock_that_opens_the_api() -> None:
    c = client()
    session = sign_in(c).json()
    claims = verified_claims(session["access_token"])
    assert claims is not None and claims["sub"] == ALICE.user_id
    assert claims["exp"] == session["expires_at"] == claims["iat"] + 3600
    assert c.get("/connections", headers=bearer(session)).status_code == 200


def test_a_tampered_token_is_401() -> None:
    c = client()
    token = sign_in(c).json()["access_token"]
    head, payload, signature = token.split(".")
    forged = f"{head}.{payload}.{signature[:-2]}xx"
    response = c.get("/connections", headers={"Authorization": f"Bearer {forged}"})
    assert response.status_code == 401 and response.headers["www-authenticate"] == "Bearer"


def test_the_access_token_expires_after_an_hour_on_the_mock_clock() -> None:
    c = client()
    session = sign_in(c).json()
    c.post("/__mock/clock", json={"advance_seconds": 3599})
    assert c.get("/organizations/me/current", headers=bearer(session)).status_code == 200
    c.post("/__mock/clock", json={"advance_seconds": 1})
    response = c.get("/organizations/me/current", headers=bearer(session))
    assert response.status_code == 401 and response.json() == {"detail": "Could not validate credentials"}


@pytest.mark.parametrize(
    ("user", "password"), [("alice", "wrong"), ("alice", "mock-password-bob"), ("nobody", "x")]
)
def test_wrong_credentials_get_the_auth_services_400(user: str, password: str) -> None:
    c = client()
    before = state_of(c).snapshot()
    email = USER[user].email if user in USER else "nobody@acme.test"
    response = c.post(TOKEN, params={"grant_type": "password"}, json={"email": email, "password": password})
    assert response.status_code == 400
    assert response.json() == {"code": "invalid_credentials", "message": "Invalid login credentials"}
    assert state_of(c).snapshot() == before


def test_refresh_rotates_the_pair_and_works_once() -> None:
    c = client()
    first = sign_in(c, "bob").json()
    c.post("/__mock/clock", json={"advance_seconds": 60})  # on a frozen clock, the same instant, the same JWT
    second = refresh(c, first["refresh_token"])
    assert second.status_code == 200
    rotated = second.json()
    assert rotated["user"]["id"] == BOB.user_id
    assert rotated["refresh_token"] != first["refresh_token"]
    assert rotated["access_token"] != first["access_token"]
    again = refresh(c, first["refresh_token"])
    assert again.status_code == 400 and again.json()["code"] == "refresh_token_not_found"
    assert refresh(c, rotated["refresh_token"]).status_code == 200


def test_a_grant_without_its_fields_is_the_auth_services_400() -> None:
    c = client()
    missing = c.post(TOKEN, params={"grant_type": "password"}, json={"email": ALICE.email})
    assert missing.status_code == 400 and missing.json()["code"] == "validation_failed"
    no_token = c.post(TOKEN, params={"grant_type": "refresh_token"}, json={})
    assert no_token.status_code == 400 and no_token.json()["code"] == "validation_failed"


@given(grant=st.text(min_size=1, max_size=12).filter(lambda g: g not in ("password", "refresh_token")))
def test_an_unknown_grant_type_is_a_422_naming_the_query_field(grant: str) -> None:
    response = CLIENT.post(TOKEN, params={"grant_type": grant}, json={"email": ALICE.email, "password": "x"})
    assert response.status_code == 422
    assert response.json()["detail"][0]["loc"] == ["query", "grant_type"]


def test_refresh_tokens_are_bounded_and_in_snapshots() -> None:
    c = client()
    for _ in range(3):
        sign_in(c)
    exported = c.get("/__mock/state").json()["apis"]["stack-ai"]["auth"]
    assert exported["issued"] == 3 and len(exported["refresh_tokens"]) == 3
    state = state_of(c)
    for index in range(MAX_REFRESH_TOKENS + 5):
        state.auth.refresh_tokens[f"token-{index}"] = (ALICE.user_id, "5f0e4f4e-0000-4000-8000-000000000000")
    sign_in(c)
    assert len(state.auth.refresh_tokens) == MAX_REFRESH_TOKENS
    token = next(reversed(state.auth.refresh_tokens))
    snapshot = c.get("/__mock/state").json()
    fresh = client()
    assert fresh.put("/__mock/state", json=snapshot).status_code == 200
    assert refresh(fresh, token).status_code == 200


def test_the_user_of_a_session_as_the_auth_client_reads_it() -> None:
    c = client()
    session = sign_in(c, "carol").json()
    response = c.get("/auth/v1/user", headers=bearer(session))
    assert response.status_code == 200 and response.json() == session["user"]
    assert c.get("/auth/v1/user").status_code == 401


def test_a_refresh_keeps_the_session() -> None:
    c = client()
    first = sign_in(c).json()
    second = refresh(c, first["refresh_token"]).json()
    claims = [verified_claims(s["access_token"]) for s in (first, second)]
    assert claims[0] is not None and claims[1] is not None
    assert claims[0]["session_id"] == claims[1]["session_id"]


@pytest.mark.parametrize(("scope", "left"), [("global", []), ("local", ["other"]), ("others", ["this"])])
def test_sign_out_revokes_refresh_tokens_by_scope(scope: str, left: list[str]) -> None:
    c = client()
    sessions = {"this": sign_in(c).json(), "other": sign_in(c).json()}
    bob = sign_in(c, "bob").json()
    response = c.post("/auth/v1/logout", params={"scope": scope}, headers=bearer(sessions["this"]))
    assert response.status_code == 204 and response.content == b""
    working = [
        name for name, s in sessions.items() if refresh(client_copy(c), s["refresh_token"]).status_code == 200
    ]
    assert working == left
    assert refresh(c, bob["refresh_token"]).status_code == 200  # another user's sessions are untouched
    assert c.get("/connections", headers=bearer(sessions["this"])).status_code == 200  # JWTs live until exp


def client_copy(c: Any) -> Any:
    """A client on a copy of `c`'s state (a refresh would rotate the token it checks)."""
    copy = client()
    assert copy.put("/__mock/state", json=c.get("/__mock/state").json()).status_code == 200
    return copy


def test_the_same_requests_give_the_same_tokens() -> None:
    assert sign_in(client()).json() == sign_in(client()).json()
