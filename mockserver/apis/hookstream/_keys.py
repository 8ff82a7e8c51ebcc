"""The fixed organizations, environments and credentials of the hookstream mock."""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass
from functools import lru_cache

API_KEY_FORMAT = re.compile(r"^hs_(live|test)_[a-f0-9]{64}$")


@lru_cache(maxsize=256)
def _hex(label: str, length: int) -> str:
    return hashlib.sha256(f"mockserver:hookstream:{label}".encode()).hexdigest()[:length]


@dataclass(frozen=True, slots=True)
class Environment:
    org_name: str
    name: str

    @property
    def org_id(self) -> str:
        return f"org_{_hex('org:' + self.org_name, 24)}"

    @property
    def env_id(self) -> str:
        return f"env_{_hex(f'env:{self.org_name}:{self.name}', 24)}"


@dataclass(frozen=True, slots=True)
class ApiKey:
    """A `hs_test_…` key, bound to one organization and environment, and its browser session."""

    owner: str
    environment: Environment

    @property
    def key(self) -> str:
        return f"hs_test_{_hex('key:' + self.owner, 64)}"

    @property
    def session_token(self) -> str:
        return _hex("session:" + self.owner, 32)


ENVIRONMENTS = (
    Environment("Acme Webhooks", "production"),
    Environment("Acme Webhooks", "staging"),
    Environment("Globex Payments", "production"),
    Environment("Globex Payments", "development"),
)

API_KEYS = (
    ApiKey("acme-production", ENVIRONMENTS[0]),
    ApiKey("acme-staging", ENVIRONMENTS[1]),
    ApiKey("globex-production", ENVIRONMENTS[2]),
    ApiKey("globex-development", ENVIRONMENTS[3]),
)

BY_KEY = {api_key.key: api_key for api_key in API_KEYS}
BY_SESSION = {api_key.session_token: api_key for api_key in API_KEYS}
