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


def issue_token(user: MockUser) -> str:
    header = {"alg": "HS256", "typ": "JWT"}
    claims = {
        "sub": user.user_id,
        "email": user.email,
        "exp": TOKEN_EXPIRY,
        "iat": TOKEN_ISSUED_AT,
        "aud": "authenticated",
        "role": "authenticated",
    }
    signing_input = ".".join(
        _b64url(json.dumps(part, separators=(",", ":")).encode()) for part in (header, claims)
    )
    signature = hmac.new(TOKEN_SIGNING_KEY, signing_input.encode("ascii"), hashlib.sha256).digest()
    return f"{signing_input}.{_b64url(signature)}"


TOKENS = {user.token: user for user in USERS}
