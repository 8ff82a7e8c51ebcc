"""One API's spec as stateless checks of a request and of a response (for `record` and `replay`).

The same compiled validators as the mock's pipeline; only the credential's presence is checked, since a
recorded or replayed credential is redacted or belongs to the real API.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from ._api import NO_BODY, MockResponse, Problem, Reason
from ._exchange import Body
from ._parameters import RawParameters, read_cookies
from ._pipeline import extract_credentials
from ._routing import RouteMiss
from ._service import ApiService
from ._spec import Operation
from ._validation import Violation


@dataclass(frozen=True, slots=True)
class RequestCheck:
    """What the spec says of one request: its operation, and the refusal the mock would send (if any)."""

    operation: Operation | None
    problem: Problem | None = None

    @property
    def violations(self) -> tuple[Violation, ...]:
        if self.problem is None:
            return ()
        if self.problem.violations:
            return self.problem.violations
        return (Violation(("request",), self.problem.message, self.problem.reason),)

    @property
    def valid(self) -> bool:
        return self.operation is not None and self.problem is None


class Contract:
    """Checks requests and responses of one API against its spec, the mock's way."""

    def __init__(self, service: ApiService) -> None:
        self.service = service
        self.api = service.api
        self.spec = service.spec

    @property
    def base_path(self) -> str:
        return self.spec.base_path

    def operation_path(self, production_path: str) -> str | None:
        """`/v1/sources` → `/sources` (the spec's path); None outside the API's base path."""
        base = self.base_path
        if not base:
            return production_path
        if production_path == base or production_path.startswith(base + "/"):
            return production_path[len(base) :] or "/"
        return None

    def check_request(
        self,
        method: str,
        production_path: str,
        query: Sequence[tuple[str, str]],
        headers: Mapping[str, str],
        payload: bytes,
    ) -> RequestCheck:
        path = self.operation_path(production_path)
        if path is None:
            return RequestCheck(None, Problem(404, "Not Found", Reason.NOT_FOUND))
        found = self.service.router.match(method.upper(), path)
        if isinstance(found, RouteMiss):
            return RequestCheck(None, found.problem())
        operation = found.operation
        compiled = self.service.operations[operation.operation_id]
        lowered = {name.lower(): value for name, value in headers.items()}
        raw = RawParameters(
            path=found.path_params,
            query=list(query),
            headers=lowered,
            cookies=read_cookies(lowered.get("cookie", "")),
        )
        if operation.requires_auth and not extract_credentials(operation, self.spec, raw):
            return RequestCheck(operation, Problem(401, "Not authenticated", Reason.UNAUTHENTICATED))
        values, violations = compiled.parameters.read(raw)
        violations += compiled.check_parameters(values)
        if compiled.body is not None:
            _, body_violations, unsupported = compiled.body.read(lowered.get("content-type"), payload)
            if unsupported is not None:
                return RequestCheck(operation, unsupported)
            violations += body_violations
        if violations:
            return RequestCheck(operation, self.service.validation_problem(violations))
        return RequestCheck(operation)

    def check_response(
        self, operation_id: str, status: int, headers: Mapping[str, str], body: Body
    ) -> list[Violation]:
        compiled = self.service.operations[operation_id]
        value: Any
        if body.encoding == "none":
            value = NO_BODY
        elif body.encoding == "base64":
            value = body.to_bytes()
        else:
            value = body.value
        content_type = next((v for k, v in headers.items() if k.lower() == "content-type"), "")
        media_type = content_type.split(";")[0].strip() or "application/json"
        is_json = media_type == "application/json" or media_type.endswith("+json")
        if is_json and body.encoding in ("text", "base64"):
            return [Violation(("response", "body"), "The body is not valid JSON", "json_invalid")]
        return compiled.responses.violations(MockResponse(status, value, dict(headers), media_type))

    def render(self, problem: Problem) -> MockResponse:
        """A refusal in the API's own error format, with what every response of the API carries."""
        response = self.api.render_problem(problem, state=self.service.state)
        for name, value in problem.headers.items():
            response.headers.setdefault(name, value)
        self.api.finalize(response, state=self.service.state, principal=None)
        return response
