"""pytest plugin (entry point `pytest11: mockserver`): the mock as fixtures of your own test suite.

- `mockserver_app`: the ASGI app, freshly seeded for each test (apps are built once per configuration).
- `mockserver_client`: a Starlette `TestClient` on that app (needs httpx). Served alone, an API's client is
  already authenticated as its default user (the first the API lists; see the README); with every API,
  use `mockserver_headers(api, user)`.
- `mockserver_headers`: `mockserver_headers(api=None, user=None)` → the headers that authenticate `user`.
- `mockserver_drain`: `mockserver_drain(timeout=60.0)` waits until the requests the mock itself sends (webhook
  deliveries to a receiver on loopback) have finished, in `mockserver_client`'s event loop; then assert on
  what your receiver got, or advance `POST /__mock/clock` to make retries due.
- `mockserver_url`: the base URL of a live uvicorn server on a free loopback port. Servers are session-scoped
  (one per configuration); each test starts from the seeded state (`POST /__mock/reset`), no fault rules and
  an empty journal.

Configuration, strongest first: the marker `@pytest.mark.mockserver(api=..., seed=..., strict=..., user=...,
clock=..., api_options={...})` (`clock`: `"frozen"`, the default, or `"running"`; `api_options` are the APIs' own
`serve` options by `dest` name, e.g. `{"rate_limit": "5/60", "connections": 3}`; they may also be given as keyword
arguments), the
command-line options `--mockserver-api`, `--mockserver-seed`, `--mockserver-strict` / `--mockserver-no-strict`,
then the ini options `mockserver_api`, `mockserver_seed`, `mockserver_strict`, `mockserver_user`.
Defaults: every API (`all`), seed 0, strict.
"""

from __future__ import annotations

import http.client
import json
import warnings
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit

import pytest

if TYPE_CHECKING:
    from starlette.applications import Starlette
    from starlette.testclient import TestClient

    from ._live import LiveServer

__all__ = ["MockserverSettings", "auth_headers", "reset_app"]

MARKER = "mockserver"
_MARKER_FIELDS = ("api", "seed", "strict", "user", "clock")


@dataclass(frozen=True, slots=True)
class MockserverSettings:
    api: str = "all"
    seed: int = 0
    strict: bool = True
    user: str | None = None
    api_options: tuple[tuple[str, Any], ...] = ()
    clock: str = "frozen"

    @property
    def app_key(self) -> tuple[Any, ...]:
        """What the app depends on (the user only changes the client)."""
        return (self.api, self.seed, self.strict, self.api_options, self.clock)


def pytest_addoption(parser: pytest.Parser) -> None:
    group = parser.getgroup("mockserver", "the mockserver fixtures")
    group.addoption("--mockserver-api", default=None, help="API of the mockserver fixtures: all or one API")
    group.addoption("--mockserver-seed", type=int, default=None, help="seed of the mockserver fixtures")
    group.addoption(
        "--mockserver-strict",
        action="store_true",
        default=None,
        dest="mockserver_strict",
        help="a response of the mock that violates the spec becomes a 500 (the default)",
    )
    group.addoption(
        "--mockserver-no-strict",
        action="store_false",
        dest="mockserver_strict",
        help="send responses that violate the spec, with X-Mock-Violations",
    )
    parser.addini("mockserver_api", "API of the mockserver fixtures: all (default) or one API", default="all")
    parser.addini("mockserver_seed", "seed of the mockserver fixtures (default 0)", default="0")
    parser.addini("mockserver_strict", "strict mockserver fixtures (default true)", type="bool", default=True)
    parser.addini(
        "mockserver_user", "default user of mockserver_client (default: the API's first)", default=""
    )


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line(
        "markers",
        "mockserver(api='all', seed=0, strict=True, user=None, clock='frozen', api_options={}): "
        "configure the mockserver_app, mockserver_client and mockserver_url fixtures",
    )


def _settings(request: pytest.FixtureRequest) -> MockserverSettings:
    config = request.config
    api = config.getoption("mockserver_api") or str(config.getini("mockserver_api") or "all")
    seed_option = config.getoption("mockserver_seed")
    seed = int(seed_option) if seed_option is not None else int(str(config.getini("mockserver_seed") or 0))
    strict_option = config.getoption("mockserver_strict")
    strict = bool(strict_option) if strict_option is not None else bool(config.getini("mockserver_strict"))
    user = str(config.getini("mockserver_user") or "") or None
    options: dict[str, Any] = {}
    clock = "frozen"
    marker = request.node.get_closest_marker(MARKER)
    if marker is not None:
        if marker.args:
            raise pytest.UsageError("@pytest.mark.mockserver takes keyword arguments only")
        api = marker.kwargs.get("api", api)
        seed = int(marker.kwargs.get("seed", seed))
        strict = bool(marker.kwargs.get("strict", strict))
        user = marker.kwargs.get("user", user)
        clock = str(marker.kwargs.get("clock", clock))
        named = marker.kwargs.get("api_options", {})
        if not isinstance(named, dict):
            raise pytest.UsageError("@pytest.mark.mockserver(api_options=...) takes a dict")
        options = {k: v for k, v in marker.kwargs.items() if k not in (*_MARKER_FIELDS, "api_options")}
        options.update(named)
    return MockserverSettings(str(api), seed, strict, user, tuple(sorted(options.items())), clock)


def _build_app(settings: MockserverSettings) -> Starlette:
    from . import MockConfig, create_app
    from .control._clock import ClockSettings

    try:
        config = MockConfig(
            api=settings.api,
            seed=settings.seed,
            strict=settings.strict,
            api_options=dict(settings.api_options),
            clock=ClockSettings(mode=settings.clock),
        )
        return create_app(config)
    except ValueError as exc:
        raise pytest.UsageError(f"mockserver: {exc}") from exc


def reset_app(app: Starlette, *, seed: int | None = None) -> None:
    """Every API back to its seeded state (named sessions dropped), no fault rules, an empty journal."""
    for service in app.state.services.values():
        for session in service.sessions:
            service.reset(session=session)
        service.reset(seed=seed)
    app.state.runtime.journal.clear()
    app.state.runtime.faults.clear()


def auth_headers(app: Starlette, api: str | None = None, user: str | None = None) -> dict[str, str]:
    """The headers that authenticate `user` (default: the API's first user) on `api` (default: the only one)."""
    from ._credentials import headers_by_owner

    services = app.state.services
    if api is None:
        if len(services) != 1:
            raise ValueError(f"several APIs are served ({', '.join(services)}): name one")
        api = next(iter(services))
    if api not in services:
        raise ValueError(f"{api!r} is not served (served: {', '.join(services)})")
    service = services[api]
    users = headers_by_owner(service.api.credentials(service.state))
    if user is None:
        return dict(next(iter(users.values()))) if users else {}
    if user not in users:
        raise ValueError(f"{api} has no user {user!r} (users: {', '.join(users)})")
    return dict(users[user])


# ---------------------------------------------------------------- in-process fixtures


@pytest.fixture(scope="session")
def _mockserver_apps() -> dict[tuple[Any, ...], Starlette]:
    return {}


@pytest.fixture
def mockserver_app(
    request: pytest.FixtureRequest, _mockserver_apps: dict[tuple[Any, ...], Starlette]
) -> Starlette:
    """The mock's ASGI app, in the seeded state (api, seed, strictness: the marker, options or ini)."""
    settings = _settings(request)
    app = _mockserver_apps.get(settings.app_key)
    if app is None:
        app = _mockserver_apps[settings.app_key] = _build_app(settings)
    reset_app(app, seed=settings.seed)
    return app


@pytest.fixture
def mockserver_headers(
    request: pytest.FixtureRequest, mockserver_app: Starlette
) -> Callable[..., dict[str, str]]:
    """`mockserver_headers(api=None, user=None)`: headers that authenticate a user of the mock."""

    def headers(api: str | None = None, user: str | None = None) -> dict[str, str]:
        try:
            return auth_headers(mockserver_app, api, user)
        except ValueError as exc:
            raise pytest.UsageError(f"mockserver_headers: {exc}") from exc

    return headers


@pytest.fixture
def mockserver_client(request: pytest.FixtureRequest, mockserver_app: Starlette) -> Iterator[TestClient]:
    """A TestClient on `mockserver_app`, authenticated as the default user when one API is served."""
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            from starlette.testclient import TestClient
    except (ImportError, RuntimeError) as exc:  # starlette's TestClient needs httpx
        pytest.fail(f"mockserver_client needs httpx: {exc}", pytrace=False)
    settings = _settings(request)
    headers: dict[str, str] = {}
    if len(mockserver_app.state.services) == 1:
        try:
            headers = auth_headers(mockserver_app, None, settings.user)
        except ValueError as exc:
            raise pytest.UsageError(f"mockserver_client: {exc}") from exc
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)
        client = TestClient(mockserver_app, headers=headers)
    with client:
        yield client


@pytest.fixture
def mockserver_drain(mockserver_client: TestClient) -> Callable[..., int]:
    """`mockserver_drain(timeout=60.0)`: wait for the mock's outbound requests; how many finished meanwhile."""
    import functools

    runner = mockserver_client.app.state.runtime.outbound  # type: ignore[attr-defined]

    def drain(timeout: float = 60.0) -> int:
        finished = mockserver_client.portal.call(functools.partial(runner.drain, timeout_s=timeout))  # type: ignore[union-attr]
        return int(finished)

    return drain


# ---------------------------------------------------------------- the live server


@pytest.fixture(scope="session")
def _mockserver_servers() -> Iterator[dict[tuple[Any, ...], LiveServer]]:
    servers: dict[tuple[Any, ...], LiveServer] = {}
    yield servers
    for server in servers.values():
        server.stop()


def _control(url: str, method: str, path: str, body: Any = None) -> None:
    parts = urlsplit(url)
    connection = http.client.HTTPConnection(parts.hostname or "127.0.0.1", parts.port, timeout=10)
    try:
        payload = json.dumps(body).encode() if body is not None else None
        headers = {"Content-Type": "application/json"} if payload is not None else {}
        connection.request(method, path, body=payload, headers=headers)
        response = connection.getresponse()
        text = response.read()
        if response.status >= 300:
            raise RuntimeError(f"{method} {path} on the live mock answered {response.status}: {text[:300]!r}")
    finally:
        connection.close()


@pytest.fixture
def mockserver_url(
    request: pytest.FixtureRequest, _mockserver_servers: dict[tuple[Any, ...], LiveServer]
) -> str:
    """The base URL (`http://127.0.0.1:PORT`) of a live mock; its state is reset before each test."""
    from ._live import LiveServer

    settings = _settings(request)
    server = _mockserver_servers.get(settings.app_key)
    if server is None:
        server = _mockserver_servers[settings.app_key] = LiveServer(_build_app(settings)).start()
    _control(server.url, "POST", "/__mock/reset", {"seed": settings.seed})
    _control(server.url, "DELETE", "/__mock/faults")
    _control(server.url, "DELETE", "/__mock/requests")
    return server.url
