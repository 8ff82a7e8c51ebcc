"""What an API subpackage provides to the engine, and the data the engine hands to it."""

from __future__ import annotations

import argparse
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, ClassVar

from starlette.routing import BaseRoute

from ._outbound import OutboundRunner
from ._parameters import NumberSyntax
from ._spec import Operation, SecurityScheme
from ._validation import Violation
from .control._clock import FROZEN, ClockSettings, Timeline


class _NoBody:
    __slots__ = ()

    def __repr__(self) -> str:
        return "NO_BODY"


NO_BODY: Any = _NoBody()
"""The body of a response that has none (204, say); distinct from a JSON `null` body."""


@dataclass(frozen=True, slots=True)
class Principal:
    """Who is calling: one user (or API key) of one organization."""

    subject_id: str
    organization_id: str
    display_name: str
    attributes: Mapping[str, Any] = field(default_factory=dict)


@dataclass(slots=True)
class MockResponse:
    status: int
    body: Any = NO_BODY
    headers: dict[str, str] = field(default_factory=dict)
    media_type: str = "application/json"


class Reason:
    """Why the engine refused a request; an API renders each in its own error format."""

    NOT_FOUND = "not_found"
    METHOD_NOT_ALLOWED = "method_not_allowed"
    UNAUTHENTICATED = "unauthenticated"
    INVALID_CREDENTIALS = "invalid_credentials"
    VALIDATION = "validation"
    MALFORMED_BODY = "malformed_body"
    UNSUPPORTED_MEDIA_TYPE = "unsupported_media_type"
    INVALID_RESPONSE = "invalid_response"
    INTERNAL = "internal"


@dataclass(slots=True)
class Problem(Exception):
    """A refusal, raised or returned by the engine or by an API's behaviour."""

    status: int
    message: str
    reason: str = ""
    violations: tuple[Violation, ...] = ()
    headers: dict[str, str] = field(default_factory=dict)

    def __str__(self) -> str:
        details = "; ".join(violation.describe() for violation in self.violations)
        return f"{self.status} {self.message}" + (f": {details}" if details else "")


@dataclass(frozen=True, slots=True)
class OperationContext:
    """Everything a behaviour needs to answer one validated request."""

    operation: Operation
    path: Mapping[str, Any]
    query: Mapping[str, Any]
    headers: Mapping[str, Any]
    cookies: Mapping[str, Any]
    body: Any
    principal: Principal | None
    state: Any
    base_url: str
    raw_headers: Mapping[str, str] = field(default_factory=dict)
    client_host: str = ""
    raw_body: bytes = b""
    """The request body exactly as received (what a signature is computed over)."""
    raw_query: tuple[tuple[str, str], ...] = ()
    """Every query pair as sent, declared by the spec or not, in order."""
    session: str = ""
    """The `X-Mock-Session` the request is served in (`""`: the default state); what an API's own pages
    need to carry in their URLs, since a browser sends no such header."""


Behaviour = Callable[[OperationContext], "MockResponse | Problem"]
"""A function that answers one operation from state; it may also raise `Problem`."""


@dataclass(frozen=True, slots=True)
class Credential:
    """One way to authenticate against the mock, shown at startup, by `/__mock/users` and by the docs.

    `how` names the header (`X-API-Key`), the scheme (`Authorization: Bearer`) or the cookie
    (`Cookie: session_token`) that carries `value`; `headers` and `header_line` are what a client sends.
    """

    label: str
    organization_id: str
    how: str
    value: str
    organization_name: str = ""
    user_id: str | None = None
    """The user's own id, where the API has users (RBAC grants name it)."""
    group_ids: tuple[str, ...] = ()
    environment_id: str | None = None

    @property
    def headers(self) -> dict[str, str]:
        name, _, rest = self.how.strip().partition(":")
        if name.lower() == "authorization":
            return {"Authorization": f"{rest.strip() or 'Bearer'} {self.value}"}
        if name.lower() == "cookie":
            return {"Cookie": f"{rest.strip()}={self.value}"}
        return {self.how.strip(): self.value}

    @property
    def header_line(self) -> str:
        """The header as it can be pasted into curl's `-H` or an HTTP client: `Authorization: Bearer eyJ…`."""
        ((name, value),) = self.headers.items()
        return f"{name}: {value}"


class ApiDefinition:
    """Base class of an API subpackage's `API` object. Override what the API needs.

    `name` is the URL prefix when several APIs are served together and the name of the spec file
    (`spec/<name>.yaml`).
    """

    name: ClassVar[str] = ""
    title: ClassVar[str] = ""
    validation_status: ClassVar[int] = 422
    parameter_numbers: ClassVar[NumberSyntax] = NumberSyntax.JSON
    """How numbers in the URL and headers are read: as JSON, or as pydantic (FastAPI) reads them."""
    bookkeeping_keys: ClassVar[frozenset[str]] = frozenset()
    """Top-level keys of `export_state` that count requests rather than hold data (a refused request may
    move them; contract tests ignore them when they check that a refusal changed nothing)."""

    def add_arguments(self, group: argparse._ArgumentGroup) -> None:
        """Add this API's own `mockserver serve` options; they reach `create_state` as `options`."""

    def create_state(self, *, seed: int, options: Mapping[str, Any], clock: ClockSettings = FROZEN) -> Any:
        """A fresh seeded state; one that keeps time builds its own `Timeline` from `clock`."""
        return None

    def timeline(self, state: Any) -> Timeline | None:
        """The state's clock and schedule of due work, or None for an API that keeps no time."""
        return None

    def connect(self, state: Any, *, outbound: OutboundRunner, session: str) -> None:
        """Hand a state the engine's outbound runner (called for every state the engine creates, imports or
        installs, with the session it serves); an API that sends requests of its own keeps it."""

    def export_state(self, state: Any) -> dict[str, Any] | None:
        """A JSON-ready snapshot of the state, or `None` if the API cannot export it."""
        return None

    def import_state(
        self,
        snapshot: Mapping[str, Any],
        *,
        seed: int,
        options: Mapping[str, Any],
        clock: ClockSettings = FROZEN,
    ) -> Any:
        """The state a snapshot from `export_state` describes; `ValueError` names what is wrong with it."""
        raise ValueError(f"{self.name} cannot import state")

    def fixture_cases(self) -> Any:
        """The scripted exchanges `mockserver fixtures generate` records for this API (an `ApiCases`), or
        `None` for none."""
        return None

    def extra_routes(self, get_state: Callable[..., Any]) -> Sequence[BaseRoute]:
        """Starlette routes outside the spec (an OAuth consent page, say), relative to the API's mount path.

        `get_state()` is the default state; `get_state(name)` a named session's (`X-Mock-Session`), created
        on first use (a name that is not a valid session name reads the default state).

        They are matched before the spec's operations and are neither validated nor authenticated. A
        `WebSocketRoute` here is how an API serves a WebSocket (the engine passes upgrades only to these).
        """
        return ()

    def authenticate(self, state: Any, scheme: SecurityScheme, credential: str) -> Principal | None:
        return None

    def behaviours(self) -> Mapping[str, Behaviour]:
        return {}

    def admit(self, state: Any, *, operation: Operation, principal: Principal | None) -> Problem | None:
        """Refuse a request before it is validated or served (a 429 from a rate limiter, say)."""
        return None

    def credentials(self, state: Any) -> list[Credential]:
        return []

    def render_problem(self, problem: Problem, *, state: Any) -> MockResponse:
        body: dict[str, Any] = {"detail": problem.message}
        if problem.violations:
            body["violations"] = [violation.describe() for violation in problem.violations]
        return MockResponse(problem.status, body, dict(problem.headers))

    def finalize(self, response: MockResponse, *, state: Any, principal: Principal | None) -> None:
        """Add what every response of the API carries (rate-limit headers, say)."""
