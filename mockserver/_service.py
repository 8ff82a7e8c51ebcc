"""One API served from its spec: an ASGI app that runs the request pipeline."""

from __future__ import annotations

import json
import logging
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from http.cookies import CookieError, SimpleCookie
from typing import Any
from urllib.parse import parse_qsl

from starlette.routing import Match
from starlette.types import Receive, Scope, Send

from ._api import NO_BODY, ApiDefinition, MockResponse, OperationContext, Principal, Problem, Reason
from ._generate import stable_seed
from ._parameters import RawParameters
from ._pipeline import CompiledOperation, ExampleResponder, authenticate, compile_operation
from ._routing import RouteMiss, Router
from ._spec import Spec
from ._validation import Violation, build_format_checker, build_registry

logger = logging.getLogger("mockserver")

VIOLATIONS_HEADER = "X-Mock-Violations"
_MAX_BODY_BYTES = 10 * 1024 * 1024


@dataclass(frozen=True, slots=True)
class ServiceOptions:
    seed: int
    strict: bool
    api_options: Mapping[str, Any] = field(default_factory=dict)


def encode_json(body: Any) -> bytes:
    return json.dumps(body, ensure_ascii=False, allow_nan=False, separators=(",", ":")).encode("utf-8")


def _read_cookies(header: str) -> dict[str, str]:
    if not header:
        return {}
    jar: SimpleCookie = SimpleCookie()
    try:
        jar.load(header)
    except CookieError:
        return {}
    return {name: morsel.value for name, morsel in jar.items()}


class ApiService:
    """Serves one API: routes, validates, answers from behaviours or examples, checks the answer."""

    def __init__(self, api: ApiDefinition, spec: Spec, *, mount_path: str, options: ServiceOptions) -> None:
        self.api = api
        self.spec = spec
        self.mount_path = mount_path
        self.options = options
        registry = build_registry(spec)
        format_checker = build_format_checker()
        self._operations: dict[str, CompiledOperation] = {
            operation.operation_id: compile_operation(
                spec, operation, registry=registry, format_checker=format_checker
            )
            for operation in spec.operations
        }
        self._router = Router(spec.operations)
        self._behaviours = dict(api.behaviours())
        unknown = set(self._behaviours) - set(self._operations)
        if unknown:
            raise ValueError(f"{api.name}: behaviours for operations not in the spec: {sorted(unknown)}")
        self._examples = ExampleResponder(spec, seed=options.seed)
        self.state: Any = api.create_state(seed=options.seed, options=options.api_options)
        self._extra_routes = tuple(api.extra_routes(lambda: self.state))

    def reset(self, *, seed: int | None = None) -> None:
        """Fresh seeded state, optionally from a new seed."""
        if seed is not None:
            self.options = replace(self.options, seed=seed)
            self._examples = ExampleResponder(self.spec, seed=seed)
        self.state = self.api.create_state(seed=self.options.seed, options=self.options.api_options)

    @property
    def operations(self) -> dict[str, CompiledOperation]:
        return self._operations

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if self._extra_routes:
            child_scope = {**scope, "root_path": scope.get("root_path", "") + self.mount_path}
            for route in self._extra_routes:
                match, matched_scope = route.matches(child_scope)
                if match == Match.FULL:
                    await route.handle({**child_scope, **matched_scope}, receive, send)
                    return
        response, principal, checked = await self._answer(scope, receive)
        self.api.finalize(response, state=self.state, principal=principal)
        if checked is not None:
            response = self._checked(checked, response)
        await self._send(response, scope, send)

    async def _answer(
        self, scope: Scope, receive: Receive
    ) -> tuple[MockResponse, Principal | None, CompiledOperation | None]:
        path = scope["path"][len(self.mount_path) :] or "/"
        method = scope["method"].upper()
        found = self._router.match(method, path)
        if isinstance(found, RouteMiss):
            return self._route_miss(found, method, path), None, None
        compiled = self._operations[found.operation.operation_id]
        principal: Principal | None = None
        try:
            headers = {k.decode("latin-1").lower(): v.decode("latin-1") for k, v in scope["headers"]}
            raw = RawParameters(
                path=found.path_params,
                query=parse_qsl(scope.get("query_string", b"").decode("latin-1"), keep_blank_values=True),
                headers=headers,
                cookies=_read_cookies(headers.get("cookie", "")),
            )
            outcome = authenticate(compiled.operation, self.spec, self.api, self.state, raw)
            if isinstance(outcome, Problem):
                return self._render(outcome), None, _declared(compiled, outcome)
            principal = outcome
            refusal = self.api.admit(self.state, operation=compiled.operation, principal=principal)
            if refusal is not None:
                return self._render(refusal), principal, compiled
            context_or_problem = await self._validated_context(compiled, raw, principal, scope, receive)
            if isinstance(context_or_problem, Problem):
                return self._render(context_or_problem), principal, _declared(compiled, context_or_problem)
            return self._run(compiled, context_or_problem), principal, compiled
        except Problem as problem:
            return self._render(problem), principal, compiled
        except Exception as exc:  # a bug in a behaviour: answer in the API's format, never a bare 500
            logger.exception("%s %s failed", self.api.name, compiled.operation.operation_id)
            failure = Problem(
                500, f"Internal mock error in {compiled.operation.operation_id}: {exc!r}", Reason.INTERNAL
            )
            return self._render(failure), principal, None

    async def _validated_context(
        self,
        compiled: CompiledOperation,
        raw: RawParameters,
        principal: Principal | None,
        scope: Scope,
        receive: Receive,
    ) -> OperationContext | Problem:
        values, violations = compiled.parameters.read(raw)
        violations += compiled.check_parameters(values)
        body: Any = NO_BODY
        if compiled.body is not None:
            try:
                payload = await _read_payload(receive)
            except Problem as too_large:
                return too_large
            body, body_violations, unsupported = compiled.body.read(raw.headers.get("content-type"), payload)
            if unsupported is not None:
                return unsupported
            violations += body_violations
        if violations:
            return self._validation_problem(violations)
        host = raw.headers.get("host", "127.0.0.1")
        return OperationContext(
            operation=compiled.operation,
            path=values["path"],
            query=values["query"],
            headers=values["header"],
            cookies=values["cookie"],
            body=body,
            principal=principal,
            state=self.state,
            base_url=f"{scope.get('scheme', 'http')}://{host}{self.mount_path}",
            raw_headers=raw.headers,
            client_host=(scope.get("client") or ("", 0))[0],
        )

    def _validation_problem(self, violations: list[Violation]) -> Problem:
        malformed = any(v.kind == "json_invalid" for v in violations)
        return Problem(
            self.api.validation_status,
            "Malformed JSON body" if malformed else "Request validation failed",
            Reason.MALFORMED_BODY if malformed else Reason.VALIDATION,
            tuple(violations),
        )

    def _run(self, compiled: CompiledOperation, context: OperationContext) -> MockResponse:
        behaviour = self._behaviours.get(compiled.operation.operation_id)
        if behaviour is None:
            return self._examples.respond(compiled.operation)
        outcome = behaviour(context)
        return self._render(outcome) if isinstance(outcome, Problem) else outcome

    def _route_miss(self, miss: RouteMiss, method: str, path: str) -> MockResponse:
        if miss.status == 405:
            allow = ", ".join(miss.allowed)
            problem = Problem(405, "Method Not Allowed", Reason.METHOD_NOT_ALLOWED, headers={"Allow": allow})
        else:
            problem = Problem(404, "Not Found", Reason.NOT_FOUND)
        return self._render(problem)

    def render_not_found(self) -> MockResponse:
        response = self._render(Problem(404, "Not Found", Reason.NOT_FOUND))
        self.api.finalize(response, state=self.state, principal=None)
        return response

    def _render(self, problem: Problem) -> MockResponse:
        response = self.api.render_problem(problem, state=self.state)
        for name, value in problem.headers.items():
            response.headers.setdefault(name, value)
        return response

    def _checked(self, compiled: CompiledOperation, response: MockResponse) -> MockResponse:
        violations = compiled.responses.violations(response)
        if not violations:
            return response
        summary = "; ".join(violation.describe() for violation in violations)
        operation_id = compiled.operation.operation_id
        if self.options.strict:
            logger.error("%s %s sent an invalid response: %s", self.api.name, operation_id, summary)
            problem = Problem(
                500,
                f"The mock's response to {operation_id} does not match the spec: {summary}",
                Reason.INVALID_RESPONSE,
                tuple(violations),
            )
            failure = self._render(problem)
            self.api.finalize(failure, state=self.state, principal=None)
            return failure
        logger.warning("%s %s response violates the spec: %s", self.api.name, operation_id, summary)
        response.headers[VIOLATIONS_HEADER] = summary.encode("ascii", "backslashreplace").decode()[:2000]
        return response

    async def _send(self, response: MockResponse, scope: Scope, send: Send) -> None:
        if response.body is NO_BODY:
            payload = b""
        elif isinstance(response.body, bytes):
            payload = response.body
        elif response.media_type.startswith("text/") and isinstance(response.body, str):
            payload = response.body.encode("utf-8")
        else:
            payload = encode_json(response.body)
        headers = [
            (name.lower().encode("latin-1"), value.encode("latin-1"))
            for name, value in response.headers.items()
        ]
        if response.body is not NO_BODY:
            content_type = response.media_type
            if content_type.startswith("text/") and "charset" not in content_type:
                content_type += "; charset=utf-8"
            headers.append((b"content-type", content_type.encode("latin-1")))
        headers.append((b"content-length", str(len(payload)).encode("latin-1")))
        await send({"type": "http.response.start", "status": response.status, "headers": headers})
        await send({"type": "http.response.body", "body": b"" if scope["method"] == "HEAD" else payload})


def _declared(compiled: CompiledOperation, problem: Problem) -> CompiledOperation | None:
    """The engine's own refusals are checked against the spec only where the operation declares their status."""
    return compiled if compiled.operation.response_for(problem.status) is not None else None


async def _read_payload(receive: Receive) -> bytes:
    chunks: list[bytes] = []
    size = 0
    while True:
        message = await receive()
        if message["type"] == "http.disconnect":
            break
        chunk = message.get("body", b"")
        size += len(chunk)
        if size > _MAX_BODY_BYTES:
            raise Problem(413, f"Request body larger than {_MAX_BODY_BYTES} bytes", Reason.VALIDATION)
        chunks.append(chunk)
        if not message.get("more_body", False):
            break
    return b"".join(chunks)


def request_id(seed: int, counter: int) -> str:
    """A deterministic request id: the same seed and request number give the same id."""
    return f"{stable_seed('request', seed, counter):016x}"[:12]
