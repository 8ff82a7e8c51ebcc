"""One API served from its spec: an ASGI app that runs the request pipeline."""

from __future__ import annotations

import asyncio
import logging
import time
from collections import OrderedDict
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from typing import Any
from urllib.parse import parse_qsl

from starlette.routing import BaseRoute, Match, WebSocketRoute
from starlette.types import Receive, Scope, Send

from ._api import NO_BODY, ApiDefinition, MockResponse, OperationContext, Principal, Problem, Reason
from ._jsontext import encode_json
from ._parameters import RawParameters, read_cookies
from ._pipeline import (
    JSON_MEDIA_TYPE,
    CompiledOperation,
    ExampleResponder,
    authenticate,
    compile_operation,
    sample_refusal,
)
from ._routing import RouteMiss, Router
from ._spec import Spec
from ._validation import FORMATS, SpecSchemas, Violation
from .control._clock import FROZEN, ClockSettings
from .control._faults import FaultRule
from .control._journal import JournalEntry
from .control._prefer import Preference, parse_prefer
from .control._runtime import DEFAULT_SESSION, SESSION_HEADER, SESSION_NAME, MockRuntime

logger = logging.getLogger("mockserver")

VIOLATIONS_HEADER = "X-Mock-Violations"
_MAX_BODY_BYTES = 10 * 1024 * 1024
MAX_HEADER_BYTES = 16 * 1024
"""A request's header section at most (names, values, `: ` and line ends), as Node.js and h11 bound it;
beyond it the answer is 431 in the API's error format."""


def header_bytes(headers: list[tuple[bytes, bytes]]) -> int:
    return sum(len(name) + len(value) + 4 for name, value in headers)


@dataclass(frozen=True, slots=True)
class ServiceOptions:
    seed: int
    strict: bool
    api_options: Mapping[str, Any] = field(default_factory=dict)
    clock: ClockSettings = FROZEN


class DroppedConnection(Exception):
    """A fault rule asked for the connection to be cut before any response."""


@dataclass(slots=True)
class _Exchange:
    """What one request became, as the stages fill it in."""

    method: str
    path: str
    query: list[tuple[str, str]]
    headers: dict[str, str]
    session: str
    state: Any = None
    operation_id: str | None = None
    principal: Principal | None = None
    check: CompiledOperation | None = None
    request_violations: tuple[Violation, ...] = ()
    response_violations: tuple[Violation, ...] = ()
    fault: FaultRule | None = None


def _authority(host: str, scope: Scope) -> str:
    """The `Host` header when it is an RFC 3986 authority, else the address the server listens on: URLs
    the mock builds from it (OAuth pages, ingest URLs) must be `format: uri`."""
    if host and FORMATS["uri"](f"http://{host}/") and not set(host) & set("/?#@"):
        return host
    server = scope.get("server") or ("127.0.0.1", None)
    address, port = server[0], server[1]
    address = f"[{address}]" if ":" in str(address) else str(address)
    return f"{address}:{port}" if port else address


class ApiService:
    """Serves one API: routes, validates, answers from behaviours or examples, checks the answer."""

    def __init__(
        self,
        api: ApiDefinition,
        spec: Spec,
        *,
        mount_path: str,
        options: ServiceOptions,
        runtime: MockRuntime | None = None,
    ) -> None:
        self.api = api
        self.spec = spec
        self.mount_path = mount_path
        self.options = options
        self.runtime = runtime or MockRuntime()
        schemas = SpecSchemas(spec)
        self._operations: dict[str, CompiledOperation] = {
            operation.operation_id: compile_operation(
                spec, operation, schemas=schemas, numbers=api.parameter_numbers
            )
            for operation in spec.operations
        }
        self._router = Router(spec.operations)
        self._behaviours = dict(api.behaviours())
        unknown = set(self._behaviours) - set(self._operations)
        if unknown:
            raise ValueError(f"{api.name}: behaviours for operations not in the spec: {sorted(unknown)}")
        self._examples = ExampleResponder(spec, seed=options.seed)
        self.state: Any = self.fresh_state(session=DEFAULT_SESSION)
        self._sessions: OrderedDict[str, Any] = OrderedDict()
        self._extra_routes = tuple(
            (route, getattr(route, "path_regex", None)) for route in api.extra_routes(self._extra_state)
        )

    # ------------------------------------------------------------------ state and sessions

    def _extra_state(self, session: str = DEFAULT_SESSION) -> Any:
        """What an API's own routes read: the default state, or a named session's (created on first use)."""
        return self.state_for(session if SESSION_NAME.match(session) else DEFAULT_SESSION)

    def fresh_state(self, *, session: str = DEFAULT_SESSION) -> Any:
        state = self.api.create_state(
            seed=self.options.seed, options=self.options.api_options, clock=self.options.clock
        )
        self.api.connect(state, outbound=self.runtime.outbound, session=session)
        return state

    def reset(self, *, seed: int | None = None, session: str = DEFAULT_SESSION) -> None:
        """Fresh seeded state for one session (the default one if none is named), optionally from a new seed.

        Outbound work the replaced states had submitted is cancelled (their due work goes with them).
        """
        if seed is not None and seed != self.options.seed:
            self.options = replace(self.options, seed=seed)
            self._examples = ExampleResponder(self.spec, seed=seed)
            for dropped in self._sessions.values():
                self.runtime.outbound.cancel(dropped)
            self._sessions.clear()
        if session == DEFAULT_SESSION:
            self.runtime.outbound.cancel(self.state)
            self.state = self.fresh_state()
        else:
            dropped = self._sessions.pop(session, None)
            if dropped is not None:
                self.runtime.outbound.cancel(dropped)

    def state_for(self, session: str) -> Any:
        """The state of a session, created from the seed on first use; the least recently used goes first.

        Work that fell due on the state's clock has run when it is returned.
        """
        state = self._session_state(session)
        timeline = self.api.timeline(state)
        if timeline is not None:
            timeline.run_due()
        return state

    def _session_state(self, session: str) -> Any:
        if session == DEFAULT_SESSION:
            return self.state
        state = self._sessions.get(session)
        if state is None:
            state = self.fresh_state(session=session)
            self._sessions[session] = state
            while len(self._sessions) > self.runtime.max_sessions:
                evicted, evicted_state = self._sessions.popitem(last=False)
                self.runtime.outbound.cancel(evicted_state)
                logger.info("%s: session %r evicted (least recently used)", self.api.name, evicted)
        else:
            self._sessions.move_to_end(session)
        return state

    def replace_state(self, state: Any, *, session: str = DEFAULT_SESSION) -> None:
        self.api.connect(state, outbound=self.runtime.outbound, session=session)
        previous = self.state if session == DEFAULT_SESSION else self._sessions.get(session)
        if previous is not None and previous is not state:
            self.runtime.outbound.cancel(previous)
        if session == DEFAULT_SESSION:
            self.state = state
        else:
            self._sessions[session] = state

    def run_due_work(self) -> int:
        """Run the work that fell due on every state's clock (a running clock moves without requests)."""
        ran = 0
        for state in (self.state, *self._sessions.values()):
            timeline = self.api.timeline(state)
            if timeline is not None:
                ran += timeline.run_due()
        return ran

    def seconds_until_due(self) -> float | None:
        """How long until the earliest due work of any state, by its clock (None: nothing is scheduled)."""
        found = []
        for state in (self.state, *self._sessions.values()):
            timeline = self.api.timeline(state)
            due = timeline.next_due() if timeline is not None else None
            if timeline is not None and due is not None:
                found.append((due - timeline.now()) / 1_000_000)
        return min(found, default=None)

    @property
    def sessions(self) -> list[str]:
        return list(self._sessions)

    @property
    def operations(self) -> dict[str, CompiledOperation]:
        return self._operations

    @property
    def serves_websockets(self) -> bool:
        """Whether the API declared a WebSocket route (the server must then take upgrades)."""
        return any(isinstance(route, WebSocketRoute) for route, _ in self._extra_routes)

    # ------------------------------------------------------------------ ASGI

    def extra_route_for(self, scope: Scope) -> tuple[BaseRoute, Scope] | None:
        """The API's own non-spec route for this request, with the scope to hand it, if one matches."""
        if not self._extra_routes:
            return None
        root_path = scope.get("root_path", "") + self.mount_path
        route_path = _route_path(scope["path"], root_path)
        # A route whose path pattern refuses the path cannot match: most requests build no scope for them.
        candidates = [route for route, path in self._extra_routes if path is None or path.match(route_path)]
        if not candidates:
            return None
        child_scope = {**scope, "root_path": root_path}
        for route in candidates:
            match, matched_scope = route.matches(child_scope)
            if match == Match.FULL:
                return route, {**child_scope, **matched_scope}
        return None

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        """Answers a request for the spec's operations; the dispatcher has already tried `extra_route_for`."""
        started = time.perf_counter()
        headers = {k.decode("latin-1").lower(): v.decode("latin-1") for k, v in scope["headers"]}
        exchange = _Exchange(
            method=scope["method"].upper(),
            path=scope["path"][len(self.mount_path) :] or "/",
            query=parse_qsl(scope.get("query_string", b"").decode("latin-1"), keep_blank_values=True),
            headers=headers,
            session=headers.get(SESSION_HEADER, DEFAULT_SESSION),
        )
        response = await self._answer(exchange, scope, receive)
        self.api.finalize(response, state=exchange.state, principal=exchange.principal)
        if exchange.check is not None:
            response = self._checked(exchange, response)
        latency = self.runtime.latency_seconds()
        if exchange.fault is not None:
            latency += self.runtime.faults.latency_seconds(exchange.fault)
        if latency:
            await asyncio.sleep(latency)
        self._record(exchange, response, started)
        if exchange.fault is not None and exchange.fault.drop:
            # Servers answer an app that fails before its response starts with a 500; failing after the
            # start makes them close the connection mid-response, which is the drop a client should see.
            await send(
                {"type": "http.response.start", "status": 200, "headers": [(b"content-length", b"64")]}
            )
            raise DroppedConnection(f"fault {exchange.fault.id} dropped the connection")
        await self._send(response, scope, send)

    async def _answer(self, exchange: _Exchange, scope: Scope, receive: Receive) -> MockResponse:
        size = header_bytes(scope["headers"])
        if size > MAX_HEADER_BYTES:
            exchange.state = self.state
            message = f"Request header fields too large: {size} bytes, at most {MAX_HEADER_BYTES}"
            return self._render(Problem(431, message, Reason.VALIDATION), exchange)
        if exchange.session and not SESSION_NAME.match(exchange.session):
            exchange.state = self.state
            violation = Violation(
                ("header", "X-Mock-Session"),
                "Session names are 1 to 64 letters, digits, dots, dashes or underscores",
                "string_pattern_mismatch",
                exchange.session,
            )
            return self._render(self.validation_problem([violation]), exchange)
        exchange.state = self.state_for(exchange.session)
        found = self._router.match(exchange.method, exchange.path)
        if isinstance(found, RouteMiss):
            return self._render(found.problem(), exchange)
        compiled = self._operations[found.operation.operation_id]
        exchange.operation_id = compiled.operation.operation_id
        exchange.fault = self.runtime.faults.fire(
            api=self.api.name, operation_id=exchange.operation_id, method=exchange.method, path=exchange.path
        )
        if exchange.fault is not None and exchange.fault.status is not None:
            message = exchange.fault.message or f"Injected fault {exchange.fault.id}"
            return self._render(Problem(exchange.fault.status, message, "fault"), exchange)
        try:
            raw = RawParameters(
                path=found.path_params,
                query=exchange.query,
                headers=exchange.headers,
                cookies=read_cookies(exchange.headers.get("cookie", "")),
            )
            outcome = authenticate(compiled.operation, self.spec, self.api, exchange.state, raw)
            if isinstance(outcome, Problem):
                return self._refuse(outcome, compiled, exchange)
            exchange.principal = outcome
            refusal = self.api.admit(exchange.state, operation=compiled.operation, principal=outcome)
            if refusal is not None:
                exchange.check = compiled
                return self._render(refusal, exchange)
            context = await self._validated_context(compiled, raw, exchange, scope, receive)
            if isinstance(context, Problem):
                return self._refuse(context, compiled, exchange)
            preference, prefer_violations = parse_prefer(exchange.headers.get("prefer", ""))
            if prefer_violations:
                return self._refuse(self.validation_problem(prefer_violations), compiled, exchange)
            if not preference.is_empty:
                preferred = self._preferred(compiled, preference, exchange)
                if isinstance(preferred, Problem):
                    return self._refuse(preferred, compiled, exchange)
                exchange.check = compiled
                return preferred
            exchange.check = compiled
            return self._run(compiled, context, exchange)
        except Problem as problem:
            exchange.check = compiled
            return self._render(problem, exchange)
        except Exception as exc:  # a bug in a behaviour: answer in the API's format, never a bare 500
            logger.exception("%s %s failed", self.api.name, compiled.operation.operation_id)
            exchange.check = None
            failure = Problem(
                500, f"Internal mock error in {compiled.operation.operation_id}: {exc!r}", Reason.INTERNAL
            )
            return self._render(failure, exchange)

    async def _validated_context(
        self,
        compiled: CompiledOperation,
        raw: RawParameters,
        exchange: _Exchange,
        scope: Scope,
        receive: Receive,
    ) -> OperationContext | Problem:
        values, violations = compiled.parameters.read(raw)
        violations += compiled.check_parameters(values)
        body: Any = NO_BODY
        payload = b""
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
            return self.validation_problem(violations)
        host = _authority(raw.headers.get("host", ""), scope)
        return OperationContext(
            operation=compiled.operation,
            path=values["path"],
            query=values["query"],
            headers=values["header"],
            cookies=values["cookie"],
            body=body,
            principal=exchange.principal,
            state=exchange.state,
            base_url=f"{scope.get('scheme', 'http')}://{host}{self.mount_path}",
            raw_headers=raw.headers,
            client_host=(scope.get("client") or ("", 0))[0],
            raw_body=payload,
            raw_query=tuple(exchange.query),
            session=exchange.session,
        )

    def validation_problem(self, violations: list[Violation]) -> Problem:
        """The refusal for request violations, with this API's validation status."""
        malformed = any(v.kind == "json_invalid" for v in violations)
        return Problem(
            self.api.validation_status,
            "Malformed JSON body" if malformed else "Request validation failed",
            Reason.MALFORMED_BODY if malformed else Reason.VALIDATION,
            tuple(violations),
        )

    @property
    def router(self) -> Router:
        return self._router

    def _run(
        self, compiled: CompiledOperation, context: OperationContext, exchange: _Exchange
    ) -> MockResponse:
        operation = compiled.operation
        behaviour = self._behaviours.get(operation.operation_id)
        if behaviour is None:
            return self._examples.respond(operation)
        outcome = behaviour(context)
        return self._render(outcome, exchange) if isinstance(outcome, Problem) else outcome

    def _preferred(
        self, compiled: CompiledOperation, preference: Preference, exchange: _Exchange
    ) -> MockResponse | Problem:
        """Prism's conventions: the spec's response for a code, a named example, or generated data.

        The validation status without a named example is a refusal this operation really makes (its own
        body or parameters), not the spec's shared example, which may name fields the operation lacks.
        """
        operation = compiled.operation
        location = ("header", "Prefer")
        if preference.code is not None and operation.response_for(preference.code) is None:
            listed = ", ".join(operation.responses)
            message = (
                f"{operation.operation_id} declares no {preference.code} response (it declares {listed})"
            )
            return self.validation_problem([Violation(location, message, "value_error", preference.code)])
        examples = self._examples
        if preference.example is not None:
            found = examples.find_example(operation, preference.example, status=preference.code)
            if found is None:
                names = ", ".join(examples.example_names(operation, status=preference.code)) or "none"
                message = (
                    f"{operation.operation_id} has no example named {preference.example!r} (it has: {names})"
                )
                return self.validation_problem(
                    [Violation(location, message, "value_error", preference.example)]
                )
            return found
        if preference.code == self.api.validation_status and not preference.dynamic:
            refusal = sample_refusal(compiled)
            if refusal:
                return self._render(self.validation_problem(refusal), exchange)
        return examples.respond(
            operation, status=preference.code, dynamic=preference.dynamic, seed=preference.seed
        )

    def _refuse(self, problem: Problem, compiled: CompiledOperation, exchange: _Exchange) -> MockResponse:
        """The engine's own refusals are checked only where the operation declares their status."""
        exchange.request_violations = problem.violations
        if compiled.operation.response_for(problem.status) is not None:
            exchange.check = compiled
        return self._render(problem, exchange)

    def render_not_found(self) -> MockResponse:
        response = self.api.render_problem(Problem(404, "Not Found", Reason.NOT_FOUND), state=self.state)
        self.api.finalize(response, state=self.state, principal=None)
        return response

    def _render(self, problem: Problem, exchange: _Exchange) -> MockResponse:
        response = self.api.render_problem(problem, state=exchange.state)
        for name, value in problem.headers.items():
            response.headers.setdefault(name, value)
        return response

    def _checked(self, exchange: _Exchange, response: MockResponse) -> MockResponse:
        assert exchange.check is not None
        violations = exchange.check.responses.violations(response)
        if not violations:
            return response
        exchange.response_violations = tuple(violations)
        summary = "; ".join(violation.describe() for violation in violations)
        operation_id = exchange.check.operation.operation_id
        if self.options.strict:
            logger.error("%s %s sent an invalid response: %s", self.api.name, operation_id, summary)
            problem = Problem(
                500,
                f"The mock's response to {operation_id} does not match the spec: {summary}",
                Reason.INVALID_RESPONSE,
                tuple(violations),
            )
            failure = self._render(problem, exchange)
            self.api.finalize(failure, state=exchange.state, principal=None)
            return failure
        logger.warning("%s %s response violates the spec: %s", self.api.name, operation_id, summary)
        response.headers[VIOLATIONS_HEADER] = summary.encode("ascii", "backslashreplace").decode()[:2000]
        return response

    def _record(self, exchange: _Exchange, response: MockResponse, started: float) -> None:
        journal = self.runtime.journal
        journal.record(
            JournalEntry(
                sequence=journal.next_sequence(),
                time=time.time(),
                api=self.api.name,
                operation_id=exchange.operation_id,
                method=exchange.method,
                path=exchange.path,
                query=tuple(exchange.query),
                status=response.status,
                duration_ms=round((time.perf_counter() - started) * 1000, 3),
                session=exchange.session,
                request_violations=tuple(map(Violation.describe, exchange.request_violations)),
                response_violations=tuple(map(Violation.describe, exchange.response_violations)),
            )
        )

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
            content_type = response.media_type or JSON_MEDIA_TYPE
            if content_type.startswith("text/") and "charset" not in content_type:
                content_type += "; charset=utf-8"
            headers.append((b"content-type", content_type.encode("latin-1")))
        headers.append((b"content-length", str(len(payload)).encode("latin-1")))
        await send({"type": "http.response.start", "status": response.status, "headers": headers})
        await send({"type": "http.response.body", "body": b"" if scope["method"] == "HEAD" else payload})


def _route_path(path: str, root_path: str) -> str:
    """The part of `path` a route under `root_path` matches, as Starlette's routes read it."""
    if root_path and path.startswith(root_path) and path[len(root_path) : len(root_path) + 1] in ("", "/"):
        return path[len(root_path) :]
    return path


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
