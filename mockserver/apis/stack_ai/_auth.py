"""Sign-in as the vendor's auth service (Supabase GoTrue) answers it, and the tokens it issues.

- `POST /auth/v1/token?grant_type=password` with a mock user's e-mail and documented password
  (`mock-password-<key>`, e.g. `mock-password-alice`) answers a session: an access token (a JWT this mock
  signs, valid `expires_in` = 3600 seconds on the mock clock), a refresh token and the user.
- `grant_type=refresh_token` rotates the pair: the refresh token works once.
- Errors are the auth service's 400 `{"code", "message"}` (inferred, as current Supabase Auth sends them).
- `GET /auth/v1/user` answers the caller's user object, `POST /auth/v1/logout` revokes refresh tokens
  (inferred, GoTrue's routes: what the Supabase client's `getUser()` and `signOut()` call).
The fixed tokens of the README (valid until 2100) keep working beside the issued ones.
Bounded: `MAX_REFRESH_TOKENS` live refresh tokens per state; the oldest goes first.
"""

from __future__ import annotations

from typing import Any

from ..._api import NO_BODY, MockResponse, OperationContext
from ..._clock import format_instant
from ._access import caller, state_of
from ._rand import Rand, stable_uuid
from ._state import MAX_REFRESH_TOKENS, StackAiState
from ._users import BY_EMAIL, BY_ID, TOKENS, MockUser, issue_token, verified_claims

__all__ = [
    "ACCESS_TOKEN_SECONDS",
    "MAX_REFRESH_TOKENS",
    "get_auth_user",
    "get_current_organization",
    "sign_in",
    "sign_out",
    "user_of_token",
]

ACCESS_TOKEN_SECONDS = 3600
_USERS_CREATED = "2025-01-01T00:00:00.000000Z"


def user_of_token(state: StackAiState, token: str) -> MockUser | None:
    """The mock user a bearer token opens the API for: a fixed token, or an unexpired issued one."""
    user = TOKENS.get(token)
    if user is not None:
        return user
    claims = verified_claims(token)
    if claims is None:
        return None
    expires = claims.get("exp")
    if not isinstance(expires, int) or expires * 1_000_000 <= state.clock.now:
        return None
    return BY_ID.get(str(claims.get("sub")))


def _refused(code: str, message: str) -> MockResponse:
    return MockResponse(400, {"code": code, "message": message})


def sign_in(ctx: OperationContext) -> MockResponse:
    state = state_of(ctx)
    body = ctx.body
    if ctx.query["grant_type"] == "password":
        if "email" not in body or "password" not in body:
            return _refused("validation_failed", "Sign in requires an email and a password")
        user = BY_EMAIL.get(str(body["email"]).strip().lower())
        if user is None or body["password"] != user.password:
            return _refused("invalid_credentials", "Invalid login credentials")
    else:
        if "refresh_token" not in body:
            return _refused("validation_failed", "A refresh_token is required")
        owner = state.auth.refresh_tokens.pop(str(body["refresh_token"]), None)
        if owner is None:
            return _refused("refresh_token_not_found", "Invalid Refresh Token: Refresh Token Not Found")
        return MockResponse(200, _session(state, BY_ID[owner[0]], session_id=owner[1]))
    return MockResponse(200, _session(state, user))


def _session(state: StackAiState, user: MockUser, *, session_id: str | None = None) -> dict[str, Any]:
    """A new access and refresh token for the user: of a new session, or of the one a refresh continues."""
    auth = state.auth
    auth.issued += 1
    now = state.clock.now
    issued_at = now // 1_000_000
    expires_at = issued_at + ACCESS_TOKEN_SECONDS
    session_id = session_id or stable_uuid("stack-ai", state.seed, "session", auth.issued)
    refresh_token = Rand.of("stack-ai", state.seed, "refresh-token", auth.issued).alnum(22)
    auth.refresh_tokens[refresh_token] = (user.user_id, session_id)
    while len(auth.refresh_tokens) > MAX_REFRESH_TOKENS:
        auth.refresh_tokens.popitem(last=False)
    return {
        "access_token": issue_token(user, issued_at=issued_at, expires_at=expires_at, session_id=session_id),
        "token_type": "bearer",
        "expires_in": ACCESS_TOKEN_SECONDS,
        "expires_at": expires_at,
        "refresh_token": refresh_token,
        "user": _user_json(state, user),
    }


def _user_json(state: StackAiState, user: MockUser) -> dict[str, Any]:
    """GoTrue's user object; `last_sign_in_at` is the mock clock's now (inferred: the mock keeps no sign-in log)."""
    now = format_instant(state.clock.now)
    return {
        "id": user.user_id,
        "aud": "authenticated",
        "role": "authenticated",
        "email": user.email,
        "email_confirmed_at": _USERS_CREATED,
        "phone": "",
        "confirmed_at": _USERS_CREATED,
        "last_sign_in_at": now,
        "app_metadata": {"provider": "email", "providers": ["email"]},
        "user_metadata": {"full_name": user.full_name},
        "identities": [],
        "created_at": _USERS_CREATED,
        "updated_at": now,
        "is_anonymous": False,
    }


def get_auth_user(ctx: OperationContext) -> MockResponse:
    return MockResponse(200, _user_json(state_of(ctx), caller(ctx)))


def sign_out(ctx: OperationContext) -> MockResponse:
    """Revoke the user's refresh tokens: every session's (`global`), this one's (`local`) or the others'."""
    state, user = state_of(ctx), caller(ctx)
    token = ctx.raw_headers.get("authorization", "").partition(" ")[2].strip()
    claims = verified_claims(token) or {}
    current = str(claims.get("session_id", ""))
    scope = ctx.query.get("scope", "global")
    tokens = state.auth.refresh_tokens
    for refresh_token, (user_id, session_id) in list(tokens.items()):
        mine = session_id == current
        if user_id == user.user_id and (scope == "global" or (scope == "local") == mine):
            del tokens[refresh_token]
    return MockResponse(204, NO_BODY)


def get_current_organization(ctx: OperationContext) -> MockResponse:
    return MockResponse(200, {"org_id": caller(ctx).org_id})
