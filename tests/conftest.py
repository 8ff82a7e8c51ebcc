"""Shared fixtures: apps for each API, authenticated clients, and hypothesis profiles."""

from __future__ import annotations

import os
import warnings
from collections.abc import Iterator

import pytest
from hypothesis import HealthCheck, settings

with warnings.catch_warnings():
    warnings.simplefilter("ignore")
    from starlette.testclient import TestClient

from mockserver import MockConfig, create_app
from mockserver.apis.hookstream._keys import API_KEYS
from mockserver.apis.stack_ai._users import USERS

settings.register_profile(
    "ci",
    max_examples=40,
    deadline=None,
    derandomize=True,
    print_blob=True,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture],
)
settings.register_profile(
    "dev", max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
settings.register_profile("deep", max_examples=1000, deadline=None, suppress_health_check=list(HealthCheck))
settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "dev"))


def make_client(api: str = "all", *, seed: int = 0, strict: bool = True, **api_options: object) -> TestClient:
    """A client for a fresh app; `api` is `all` (prefixed paths) or one API served at the root."""
    app = create_app(MockConfig(api=api, seed=seed, strict=strict, api_options=api_options))
    return TestClient(app, raise_server_exceptions=True)


def stack_ai_headers(user: str = "alice") -> dict[str, str]:
    token = next(u.token for u in USERS if u.key == user)
    return {"Authorization": f"Bearer {token}"}


def hookstream_headers(owner: str = "acme-production") -> dict[str, str]:
    key = next(k.key for k in API_KEYS if k.owner == owner)
    return {"X-API-Key": key}


@pytest.fixture
def client() -> Iterator[TestClient]:
    """Both APIs under their prefixes (`/stack-ai`, `/hookstream/v1`), strict."""
    with make_client() as test_client:
        yield test_client


@pytest.fixture
def stack_ai() -> Iterator[TestClient]:
    """Stack AI alone, at its production paths."""
    with make_client("stack-ai") as test_client:
        yield test_client


@pytest.fixture
def hookstream() -> Iterator[TestClient]:
    """hookstream alone, at its production paths (`/v1/...`)."""
    with make_client("hookstream") as test_client:
        yield test_client
