"""The fixed mock users of Stack AI and their deterministic JWT-shaped bearer tokens."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import uuid
from dataclasses import dataclass
from functools import lru_cache

# Signs the mock's tokens; it is public on purpose: these tokens only open this mock.
TOKEN_SIGNING_KEY = b"mockserver-stack-ai-not-a-secret"
TOKEN_EXPIRY = 4102444800  # 2100-01-01T00:00:00Z
TOKEN_ISSUED_AT = 1735689600  # 2025-01-01T00:00:00Z
_NAMESPACE = uuid.UUID("6f1c2f8e-4d0a-4b8e-9a51-5e0f3c1d2b7a")


@dataclass(frozen=True, slots=True)
class MockUser:
    key: str
    email: str
    full_name: str
    organization: str
    org_role: str

    @property
    def user_id(self) -> str:
        return _name_uuid(f"user:{self.email}")

    @property
    def org_id(self) -> str:
        return organization_id(self.organization)

    @property
    def token(self) -> str:
        return issue_token(self)

    @property
    def password(self) -> str:
        """The documented sign-in password of the mock user (`POST /auth/v1/token?grant_type=password`)."""
        return f"mock-password-{self.key}"


def organization_id(organization: str) -> str:
    return _name_uuid(f"org:{organization}")


@lru_cache(maxsize=256)
def _name_uuid(name: str) -> str:
    """A fixed user's or organization's id (asked on every request: computed once per name)."""
    return str(uuid.uuid5(_NAMESPACE, name))


ORGANIZATIONS = ("Acme Research", "Globex Labs")

USERS = (
    MockUser("alice", "alice@acme.test", "Alice Admin", "Acme Research", "admin"),
    MockUser("bob", "bob@acme.test", "Bob Builder", "Acme Research", "member"),
    MockUser("carol", "carol@globex.test", "Carol Chen", "Globex Labs", "admin"),
    MockUser("dave", "dave@globex.test", "Dave Diaz", "Globex Labs", "member"),
)


def _b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def issue_token(
    user: MockUser, *, issued_at: int = TOKEN_ISSUED_AT, expires_at: int = TOKEN_EXPIRY, session_id: str = ""
) -> str:
    """A signed JWT for the user: the fixed one (the defaults), or a session's from sign-in."""
    header = {"alg": "HS256", "typ": "JWT"}
    claims: dict[str, object] = {
        "sub": user.user_id,
        "email": user.email,
        "exp": expires_at,
        "iat": issued_at,
        "aud": "authenticated",
        "role": "authenticated",
    }
    if session_id:
        claims["session_id"] = session_id
    signing_input = ".".join(
        _b64url(json.dumps(part, separators=(",", ":")).encode()) for part in (header, claims)
    )
    signature = hmac.new(TOKEN_SIGNING_KEY, signing_input.encode("ascii"), hashlib.sha256).digest()
    return f"{signing_input}.{_b64url(signature)}"


def verified_claims(token: str) -> dict[str, object] | None:
    """The claims of a JWT this mock signed, or None (expiry is the caller's to check, on the mock clock)."""
    parts = token.split(".")
    if len(parts) != 3:
        return None
    signing_input = f"{parts[0]}.{parts[1]}".encode("ascii", "replace")
    expected = _b64url(hmac.new(TOKEN_SIGNING_KEY, signing_input, hashlib.sha256).digest())
    if not hmac.compare_digest(expected, parts[2]):
        return None
    try:
        claims = json.loads(base64.urlsafe_b64decode(parts[1] + "=" * (-len(parts[1]) % 4)))
    except ValueError:
        return None
    return claims if isinstance(claims, dict) else None


TOKENS = {user.token: user for user in USERS}
BY_ID = {user.user_id: user for user in USERS}
BY_EMAIL = {user.email: user for user in USERS}
