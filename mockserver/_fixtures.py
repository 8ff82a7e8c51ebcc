"""`mockserver fixtures generate`: one exchange file per documented case of every operation.

Each case runs on a freshly seeded app (seed 0, strict): a script makes whatever requests it needs to find
ids (they are not written), then the request of the case is sent and the exchange is written, redacted, as
`<out>/<api>/<operationId>/<status>-<what>.json`. The same code gives the same bytes.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

from ._app import MockConfig, create_app, discover_apis
from ._asgi import AsgiDriver, AsgiResponse
from ._credentials import headers_by_owner
from ._exchange import (
    SCHEMA_FILE,
    Body,
    Exchange,
    RecordedRequest,
    RecordedResponse,
    exchange_path,
    iter_exchange_files,
    schema_text,
    serialize,
    stored_request_headers,
    stored_response_headers,
    write_atomically,
)
from ._redact import FIXTURE_KEY, Redactor, known_credentials
from ._resources import spec_file
from ._service import ApiService
from ._spec import load_spec

FIXTURE_SEED = 0
FIXTURE_HOST = "127.0.0.1:4010"
_NO_JSON: Any = object()


class GenerationError(RuntimeError):
    """A case did not get the answer it documents: the mock or the script changed."""


@dataclass(frozen=True, slots=True)
class Call:
    """One request, as a case script builds it."""

    method: str
    path: str
    query: tuple[tuple[str, str], ...] = ()
    headers: Mapping[str, str] = field(default_factory=dict)
    body: bytes = b""

    @property
    def target(self) -> str:
        return f"{self.method} {self.path}" + (
            "?" + "&".join(f"{k}={v}" for k, v in self.query) if self.query else ""
        )


class Session:
    """A client of one freshly seeded API, for the setup requests of a case."""

    def __init__(self, api: str, driver: AsgiDriver, users: Mapping[str, dict[str, str]], default_user: str):
        self.api = api
        self._driver = driver
        self._users = dict(users)
        self.default_user = default_user

    def auth(self, user: str | None = None) -> dict[str, str]:
        return dict(self._users[user or self.default_user])

    def call(
        self,
        method: str,
        path: str,
        *,
        user: str | None = None,
        anonymous: bool = False,
        query: Sequence[tuple[str, Any]] | Mapping[str, Any] = (),
        json_body: Any = _NO_JSON,
        headers: Mapping[str, str] | None = None,
        content: bytes | None = None,
    ) -> Call:
        all_headers: dict[str, str] = {} if anonymous else self.auth(user)
        body = b""
        if json_body is not _NO_JSON:
            all_headers["Content-Type"] = "application/json"
            body = Body("json", json_body).to_bytes()
        if content is not None:
            body = content
        all_headers.update(headers or {})
        pairs = query.items() if isinstance(query, Mapping) else query
        return Call(
            method.upper(),
            path,
            tuple((str(k), _query_text(v)) for k, v in pairs),
            {k.lower(): v for k, v in all_headers.items()},
            body,
        )

    def send(self, call: Call) -> AsgiResponse:
        return self._driver.request(
            call.method, call.path, query=call.query, headers=call.headers, body=call.body
        )

    def expect(self, call: Call, status: int = 200) -> Any:
        """Send a setup request; its status must be `status`; its JSON body (or None)."""
        response = self.send(call)
        if response.status != status:
            raise GenerationError(
                f"setup request {call.target} answered {response.status}, expected {status}: "
                f"{response.body[:500]!r}"
            )
        return response.json() if response.body else None

    def get(self, path: str, *, user: str | None = None, **query: Any) -> Any:
        return self.expect(self.call("GET", path, user=user, query=query))


def _query_text(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


Build = Callable[[Session], Call]


@dataclass(frozen=True, slots=True)
class Case:
    """One documented exchange of an operation: `build` returns the request (after any setup requests)."""

    operation_id: str
    status: int
    what: str
    description: str
    build: Build
    app: str = "default"
    send_twice: bool = False
    """Send the request twice and keep the second exchange (the rate limit's 429)."""

    @property
    def name(self) -> str:
        return f"{self.status}-{self.what}"


@dataclass(frozen=True, slots=True)
class ApiCases:
    """Every case of one API, the options of each app they run on, and what to do after every reset."""

    api: str
    default_user: str
    cases: Sequence[Case]
    apps: Mapping[str, Mapping[str, Any]] = field(default_factory=lambda: {"default": {}})
    prepare: Callable[[ApiService], None] = lambda service: None


def without_credentials(build: Build) -> Build:
    def run(session: Session) -> Call:
        call = build(session)
        secret = {name.lower() for name in session.auth()}
        return replace(call, headers={k: v for k, v in call.headers.items() if k not in secret})

    return run


def as_plain_text(build: Build) -> Build:
    def run(session: Session) -> Call:
        call = build(session)
        return replace(call, headers={**call.headers, "content-type": "text/plain"})

    return run


def derived_cases(
    operation_id: str,
    success: Case,
    declared: Iterable[int],
    *,
    requires_auth: bool,
    has_body: bool,
    rate_limit_app: str | None = None,
) -> list[Case]:
    """The 401, 415 and 429 of an operation, from its success request."""
    statuses = set(declared)
    found = []
    if 401 in statuses and requires_auth:
        found.append(
            Case(
                operation_id,
                401,
                "unauthenticated",
                "The same request without credentials.",
                without_credentials(success.build),
            )
        )
    if 415 in statuses and has_body:
        found.append(
            Case(
                operation_id,
                415,
                "unsupported-media-type",
                "The same request with its JSON body sent as Content-Type text/plain.",
                as_plain_text(success.build),
            )
        )
    if 429 in statuses and rate_limit_app is not None:
        found.append(
            Case(
                operation_id,
                429,
                "rate-limited",
                "The same request, sent twice to a server started with --rate-limit 1/60: the second one.",
                success.build,
                app=rate_limit_app,
                send_twice=True,
            )
        )
    return found


# ---------------------------------------------------------------- running the cases


class _ApiRunner:
    def __init__(self, cases: ApiCases, *, seed: int) -> None:
        self.cases = cases
        self._seed = seed
        self._apps: dict[str, tuple[ApiService, AsgiDriver]] = {}

    def _app(self, name: str) -> tuple[ApiService, AsgiDriver]:
        if name not in self._apps:
            options = self.cases.apps[name]
            app = create_app(
                MockConfig(api=self.cases.api, seed=self._seed, strict=True, api_options=options)
            )
            self._apps[name] = (app.state.services[self.cases.api], AsgiDriver(app, host=FIXTURE_HOST))
        return self._apps[name]

    def close(self) -> None:
        for _, driver in self._apps.values():
            driver.close()

    def session(self, app: str = "default") -> Session:
        service, driver = self._app(app)
        service.runtime.journal.clear()
        service.runtime.faults.clear()
        service.reset()
        self.cases.prepare(service)
        users = headers_by_owner(service.api.credentials(service.state))
        return Session(self.cases.api, driver, users, self.cases.default_user)

    def redactor(self) -> Redactor:
        service, _ = self._app("default")
        return Redactor(
            FIXTURE_KEY, known=known_credentials(service.api.name, service.api.credentials(service.state))
        )

    def run(self, case: Case) -> Exchange:
        if case.send_twice:
            # The request is built on the default app (same seed, so the same ids), then sent twice.
            call = case.build(self.session())
            session = self.session(case.app)
            session.send(call)
        else:
            session = self.session(case.app)
            call = case.build(session)
        response = session.send(call)
        if response.status != case.status:
            raise GenerationError(
                f"{self.cases.api} {case.operation_id} {case.name}: {call.target} answered "
                f"{response.status}, expected {case.status}: {response.body[:1000]!r}"
            )
        return Exchange(
            api=self.cases.api,
            operation_id=case.operation_id,
            case=case.name,
            source="generated",
            description=case.description,
            request=RecordedRequest(
                method=call.method,
                path=call.path,
                query=call.query,
                headers=stored_request_headers(call.headers.items()),
                body=Body.from_bytes(call.body, call.headers.get("content-type")),
            ),
            response=RecordedResponse(
                status=response.status,
                headers=stored_response_headers(response.headers),
                body=Body.from_bytes(response.body, response.header("content-type")),
            ),
        )


class CaseBook:
    """The explicit cases of an API's operations, added with `@book.add(operation_id, status, what, ...)`."""

    def __init__(self) -> None:
        self.by_operation: dict[str, list[Case]] = {}

    def add(
        self, operation_id: str, status: int, what: str, description: str, *, app: str = "default"
    ) -> Callable[[Build], Build]:
        def register(build: Build) -> Build:
            case = Case(operation_id, status, what, description, build, app=app)
            self.by_operation.setdefault(operation_id, []).append(case)
            return build

        return register


def with_derived(
    api: str, book: CaseBook, *, rate_limit_app: str | None = None, spec_dir: Path | None = None
) -> list[Case]:
    """Every operation's cases in spec order, by name: the book's, and the 401, 415 and 429 derived from them."""
    spec = load_spec(spec_file(api, spec_dir), name=api)
    missing = [op.operation_id for op in spec.operations if op.operation_id not in book.by_operation]
    if missing:
        raise GenerationError(f"{api}: no cases for {missing}")
    cases: list[Case] = []
    for operation in spec.operations:
        own = book.by_operation[operation.operation_id]
        success = next((case for case in own if case.status < 300), None)
        if success is None:
            raise GenerationError(f"{api}: no success case for {operation.operation_id}")
        declared = [int(code) for code in operation.responses if code.isdigit()]
        derived = derived_cases(
            operation.operation_id,
            success,
            declared,
            requires_auth=operation.requires_auth,
            has_body=operation.request_body is not None,
            rate_limit_app=rate_limit_app,
        )
        cases.extend(sorted([*own, *derived], key=lambda case: case.name))
    return cases


def all_cases() -> list[ApiCases]:
    """The cases of every API subpackage that scripts some (`ApiDefinition.fixture_cases`), by API name."""
    found = []
    for _, definition in sorted(discover_apis().items()):
        cases = definition.fixture_cases()
        if cases is not None:
            found.append(cases)
    return found


def generate_exchanges(*, seed: int = FIXTURE_SEED, apis: Sequence[ApiCases] | None = None) -> list[Exchange]:
    """Every case of every API, redacted, in a stable order."""
    exchanges: list[Exchange] = []
    for cases in apis if apis is not None else all_cases():
        runner = _ApiRunner(cases, seed=seed)
        try:
            redactor = runner.redactor()
            names = [(case.operation_id, case.name) for case in cases.cases]
            duplicates = sorted({name for name in names if names.count(name) > 1})
            if duplicates:
                raise GenerationError(f"{cases.api}: cases named twice: {duplicates}")
            for case in cases.cases:
                exchanges.append(redactor.exchange(runner.run(case)))
        finally:
            runner.close()
    return exchanges


def generate(out: Path, *, seed: int = FIXTURE_SEED, apis: Sequence[ApiCases] | None = None) -> list[Path]:
    """Write the schema and every exchange under `out`; earlier generated files no case writes go."""
    exchanges = generate_exchanges(seed=seed, apis=apis)
    written = [out / SCHEMA_FILE]
    write_atomically(out / SCHEMA_FILE, schema_text())
    for exchange in exchanges:
        path = exchange_path(out, exchange)
        write_atomically(path, serialize(exchange.to_json()))
        written.append(path)
    keep = set(written)
    api_names = {exchange.api for exchange in exchanges}
    for path, document in list(iter_exchange_files(out)):
        if path not in keep and document.get("source") == "generated" and document.get("api") in api_names:
            path.unlink()
            for parent in (path.parent, path.parent.parent):
                if parent != out and parent.is_dir() and not any(parent.iterdir()):
                    parent.rmdir()
    return written


def describe_counts(paths: Sequence[Path], out: Path) -> str:
    by_api: dict[str, int] = {}
    for path in paths:
        relative = path.relative_to(out).parts
        if len(relative) == 3:
            by_api[relative[0]] = by_api.get(relative[0], 0) + 1
    parts = ", ".join(f"{api}: {count}" for api, count in sorted(by_api.items()))
    return f"{sum(by_api.values())} exchanges ({parts}) and {SCHEMA_FILE} in {out}"
