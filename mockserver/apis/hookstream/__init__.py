"""hookstream: errors are `{"error", "status", "request_id"}`; every response carries rate-limit headers."""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from collections.abc import Mapping
from typing import Any

from ..._api import ApiDefinition, Credential, MockResponse, Principal, Problem, Reason
from ..._generate import stable_seed
from ..._spec import SecurityScheme
from ._keys import API_KEY_FORMAT, API_KEYS, BY_KEY, BY_SESSION

__all__ = ["API", "HookstreamApi"]

RATE_LIMIT = 1000
RATE_WINDOW_SECONDS = 60

_MESSAGES = {
    Reason.NOT_FOUND: "Not found",
    Reason.METHOD_NOT_ALLOWED: "Method not allowed",
    Reason.UNAUTHENTICATED: "Invalid API key",
    Reason.INVALID_CREDENTIALS: "Invalid API key",
    Reason.UNSUPPORTED_MEDIA_TYPE: None,
}


@dataclass(slots=True)
class HookstreamState:
    seed: int
    requests_served: int = 0
    windows: dict[str, tuple[int, int]] = field(default_factory=dict)

    def next_request_id(self) -> str:
        self.requests_served += 1
        return f"req_{stable_seed('request', self.seed, self.requests_served):016x}"[:16]


class HookstreamApi(ApiDefinition):
    name = "hookstream"
    title = "hookstream API"
    validation_status = 400

    def create_state(self, *, seed: int, options: Mapping[str, Any]) -> HookstreamState:
        return HookstreamState(seed=seed)

    def authenticate(self, state: Any, scheme: SecurityScheme, credential: str) -> Principal | None:
        if scheme.type == "apiKey" and scheme.location == "cookie":
            api_key = BY_SESSION.get(credential)
        elif API_KEY_FORMAT.match(credential):
            api_key = BY_KEY.get(credential)
        else:
            api_key = None
        if api_key is None:
            return None
        environment = api_key.environment
        return Principal(
            subject_id=api_key.owner,
            organization_id=environment.org_id,
            display_name=api_key.owner,
            attributes={"env_id": environment.env_id},
        )

    def credentials(self, state: Any) -> list[Credential]:
        found = []
        for api_key in API_KEYS:
            environment = api_key.environment
            label = f"{api_key.owner} ({environment.org_name}, {environment.name})"
            found.append(Credential(label, environment.org_id, "X-API-Key", api_key.key))
            found.append(
                Credential(
                    label, environment.org_id, "Cookie: better-auth.session_token", api_key.session_token
                )
            )
        return found

    def render_problem(self, problem: Problem, *, state: HookstreamState) -> MockResponse:
        message = _MESSAGES.get(problem.reason) or problem.message
        if problem.violations and problem.reason in (Reason.VALIDATION, Reason.MALFORMED_BODY):
            message = f"{problem.message}: " + "; ".join(
                violation.describe() for violation in problem.violations
            )
        body = {"error": message, "status": problem.status, "request_id": state.next_request_id()}
        return MockResponse(problem.status, body, dict(problem.headers))

    def finalize(
        self, response: MockResponse, *, state: HookstreamState, principal: Principal | None
    ) -> None:
        bucket = principal.organization_id if principal else "anonymous"
        window = int(time.time()) // RATE_WINDOW_SECONDS
        current, used = state.windows.get(bucket, (window, 0))
        if current != window:
            current, used = window, 0
        used += 1
        state.windows[bucket] = (current, used)
        reset = (current + 1) * RATE_WINDOW_SECONDS - int(time.time())
        response.headers["RateLimit-Limit"] = str(RATE_LIMIT)
        response.headers["RateLimit-Remaining"] = str(max(0, RATE_LIMIT - used))
        response.headers["RateLimit-Reset"] = str(max(0, reset))


API = HookstreamApi()
