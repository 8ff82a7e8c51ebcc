"""`mockserver record`: a reverse proxy to the real API that checks every exchange against the spec.

A client calls the recorder at the API's production paths (as `mockserver serve --api NAME` serves them); the
recorder forwards each request to the upstream base URL (`https://api.example.com/v1`, say: the path after the
API's base path is appended to it), answers with what the upstream answered, and then:
- checks the request and the response against the spec; what disagrees is contract drift, reported on the
  console, in the journal (`GET /__mock/requests`) and in `DIR/drift.json` (also `GET /__mock/drift`);
- writes the exchange, redacted, as `DIR/<api>/<operationId>/<sequence>-<status>.json`.

Drift is: a response the spec does not allow (undeclared status, missing header, a body that does not
validate), a request the spec refuses that the upstream accepted (a status below 400), or a path outside the
spec that the upstream answered below 400. The proxy uses the standard library only (`http.client`).
"""

from __future__ import annotations

import asyncio
import http.client
import json
import sys
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TextIO
from urllib.parse import parse_qsl, urlsplit

from starlette.types import Receive, Scope, Send

from ._api import MockResponse, Problem
from ._asgi import lifespan, read_body, send_response
from ._contract import Contract, RequestCheck
from ._exchange import (
    HOP_BY_HOP_REQUEST_HEADERS,
    SCHEMA_FILE,
    Body,
    Exchange,
    RecordedRequest,
    RecordedResponse,
    iter_exchange_files,
    schema_text,
    serialize,
    stored_request_headers,
    stored_response_headers,
    write_atomically,
    write_exchange,
)
from ._journal import JournalEntry, RequestJournal
from ._redact import Redactor

DRIFT_FILE = "drift.json"
DRIFT_FORMAT = "mockserver-drift/1"
_HOP_BY_HOP_RESPONSE_HEADERS = frozenset(
    {"connection", "keep-alive", "transfer-encoding", "te", "trailer", "upgrade", "content-length"}
)


@dataclass(frozen=True, slots=True)
class Upstream:
    scheme: str
    host: str
    port: int | None
    base_path: str

    @classmethod
    def parse(cls, url: str) -> Upstream:
        parts = urlsplit(url)
        if parts.scheme not in ("http", "https") or not parts.hostname:
            raise ValueError(f"the upstream must be an http:// or https:// URL, not {url!r}")
        if parts.username or parts.password:
            raise ValueError("credentials in the upstream URL are not supported: clients send their own")
        if parts.query or parts.fragment:
            raise ValueError("the upstream URL takes no query or fragment")
        return cls(parts.scheme, parts.hostname, parts.port, parts.path.rstrip("/"))

    def __str__(self) -> str:
        port = f":{self.port}" if self.port else ""
        host = f"[{self.host}]" if ":" in self.host else self.host
        return f"{self.scheme}://{host}{port}{self.base_path}"


@dataclass(frozen=True, slots=True)
class UpstreamAnswer:
    status: int
    headers: tuple[tuple[str, str], ...]
    body: bytes


def forward(
    upstream: Upstream,
    method: str,
    target: str,
    headers: Sequence[tuple[str, str]],
    body: bytes,
    *,
    timeout: float,
) -> UpstreamAnswer:
    """One request to the upstream with `http.client` (no redirects followed, no compression asked for)."""
    connection: http.client.HTTPConnection
    if upstream.scheme == "https":
        connection = http.client.HTTPSConnection(upstream.host, upstream.port, timeout=timeout)
    else:
        connection = http.client.HTTPConnection(upstream.host, upstream.port, timeout=timeout)
    try:
        connection.putrequest(method, target, skip_accept_encoding=True)
        for name, value in headers:
            connection.putheader(name, value)
        connection.putheader("Accept-Encoding", "identity")
        if body or method in ("POST", "PUT", "PATCH"):
            connection.putheader("Content-Length", str(len(body)))
        connection.endheaders(body or None)
        response = connection.getresponse()
        payload = response.read()
        return UpstreamAnswer(response.status, tuple(response.getheaders()), payload)
    finally:
        connection.close()


@dataclass(frozen=True, slots=True)
class DriftEntry:
    api: str
    sequence: int
    operation_id: str | None
    method: str
    path: str
    query: tuple[tuple[str, str], ...]
    status: int
    file: str | None
    request_violations: tuple[str, ...]
    response_violations: tuple[str, ...]

    def to_json(self) -> dict[str, Any]:
        return {
            "api": self.api,
            "sequence": self.sequence,
            "operation_id": self.operation_id,
            "method": self.method,
            "path": self.path,
            "query": [list(pair) for pair in self.query],
            "status": self.status,
            "file": self.file,
            "request_violations": list(self.request_violations),
            "response_violations": list(self.response_violations),
        }


class Recorder:
    """The recording proxy, an ASGI app."""

    def __init__(
        self,
        contract: Contract,
        *,
        upstream: str,
        out: Path,
        redactor: Redactor,
        console: TextIO | None = None,
        timeout: float = 30.0,
        journal_size: int = 1000,
    ) -> None:
        self.contract = contract
        self.api = contract.api.name
        self.upstream = Upstream.parse(upstream)
        self.out = out
        self.redactor = redactor
        self.console = console if console is not None else sys.stderr
        self.timeout = timeout
        self.journal = RequestJournal(capacity=journal_size)
        self.recorded = 0
        self._drift: list[dict[str, Any]] = []
        self._sequence = 0
        out.mkdir(parents=True, exist_ok=True)
        for _, document in iter_exchange_files(out):
            self._sequence = max(self._sequence, int(document.get("sequence") or 0))
        drift_file = out / DRIFT_FILE
        if drift_file.exists():
            previous = json.loads(drift_file.read_text(encoding="utf-8"))
            self._drift = list(previous.get("drift", []))
        if not (out / SCHEMA_FILE).exists():
            write_atomically(out / SCHEMA_FILE, schema_text())
        self._write_summary()

    # ---------------------------------------------------------------- reporting

    def _say(self, line: str) -> None:
        print(line, file=self.console, flush=True)

    def summary(self) -> dict[str, Any]:
        return {
            "format": DRIFT_FORMAT,
            "api": self.api,
            "upstream": str(self.upstream),
            "recorded_this_run": self.recorded,
            "drifted": len(self._drift),
            "drift": self._drift,
        }

    def _write_summary(self) -> None:
        write_atomically(self.out / DRIFT_FILE, serialize(self.summary()))

    # ---------------------------------------------------------------- ASGI

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "lifespan":
            await lifespan(receive, send)
            return
        if scope["type"] != "http":
            return
        path: str = scope["path"]
        if path in ("/__mock/requests", "/__mock/drift") and scope["method"] in ("GET", "HEAD"):
            if path == "/__mock/drift":
                body: Any = self.summary()
            else:
                entries = [entry.to_json() for entry in self.journal.select()]
                body = {"capacity": self.journal.capacity, "entries": entries}
            await send_response(send, MockResponse(200, body))
            return
        await self._proxy(scope, receive, send)

    async def _proxy(self, scope: Scope, receive: Receive, send: Send) -> None:
        started = time.perf_counter()
        method = scope["method"].upper()
        path: str = scope["path"]
        raw_query: bytes = scope.get("query_string", b"")
        query = tuple(parse_qsl(raw_query.decode("latin-1"), keep_blank_values=True))
        header_pairs = [(k.decode("latin-1"), v.decode("latin-1")) for k, v in scope["headers"]]
        headers = {name.lower(): value for name, value in header_pairs}
        payload = await read_body(receive)
        operation_path = self.contract.operation_path(path)
        if operation_path is None:
            outside = Problem(
                404, f"{path} is outside the API's base path {self.contract.base_path}", "outside"
            )
            await send_response(send, self.contract.render(outside))
            return
        self._sequence += 1
        sequence = self._sequence
        check = self.contract.check_request(method, path, query, headers, payload)
        raw_path = scope.get("raw_path") or path.encode("latin-1")
        target = self.upstream.base_path + raw_path.decode("latin-1")[len(self.contract.base_path) :]
        if raw_query:
            target += "?" + raw_query.decode("latin-1")
        forwarded = [(n, v) for n, v in header_pairs if n.lower() not in HOP_BY_HOP_REQUEST_HEADERS]
        try:
            answer = await asyncio.to_thread(
                forward, self.upstream, method, target, forwarded, payload, timeout=self.timeout
            )
        except (OSError, http.client.HTTPException) as exc:
            self._say(f"upstream error {method} {path}: {exc!r}")
            failure = Problem(502, f"The upstream {self.upstream} did not answer: {exc}", "upstream_error")
            await send_response(send, self.contract.render(failure))
            return
        # On disk (redacted) before the client has its answer: a test may read the files right after.
        self._after(sequence, method, path, query, header_pairs, payload, check, answer, started)
        await _send_raw(send, answer, head=method == "HEAD")

    def _after(
        self,
        sequence: int,
        method: str,
        path: str,
        query: tuple[tuple[str, str], ...],
        header_pairs: Sequence[tuple[str, str]],
        payload: bytes,
        check: RequestCheck,
        answer: UpstreamAnswer,
        started: float,
    ) -> None:
        request_headers = stored_request_headers(header_pairs)
        response_headers = stored_response_headers(answer.headers)
        request_body = Body.from_bytes(payload, request_headers.get("content-type"))
        response_body = Body.from_bytes(answer.body, response_headers.get("content-type"))
        operation = check.operation
        request_violations = [v.describe() for v in check.violations]
        response_violations: list[str] = []
        file: str | None = None
        exchange = Exchange(
            api=self.api,
            operation_id=operation.operation_id if operation is not None else "-",
            case=f"{sequence:04d}-{answer.status}",
            source="recorded",
            sequence=sequence,
            request=RecordedRequest(method, path, query, request_headers, request_body),
            response=RecordedResponse(answer.status, response_headers, response_body),
        )
        redacted = self.redactor.exchange(exchange)  # before anything is written, or even kept
        redacted_query = redacted.request.query
        if operation is not None:
            response_violations = [
                v.describe()
                for v in self.contract.check_response(
                    operation.operation_id, answer.status, response_headers, response_body
                )
            ]
            file = write_exchange(self.out, redacted).relative_to(self.out).as_posix()
            self.recorded += 1
        elif answer.status < 400:
            request_violations = [f"no operation of the spec matches {method} {path}"]
        request_violations = [self.redactor.scrub(text) for text in request_violations]
        response_violations = [self.redactor.scrub(text) for text in response_violations]
        self.journal.record(
            JournalEntry(
                sequence=sequence,
                time=time.time(),
                api=self.api,
                operation_id=operation.operation_id if operation is not None else None,
                method=method,
                path=path,
                query=redacted_query,
                status=answer.status,
                duration_ms=round((time.perf_counter() - started) * 1000, 3),
                session="",
                request_violations=tuple(request_violations),
                response_violations=tuple(response_violations),
            )
        )
        accepted_invalid = bool(request_violations) and answer.status < 400
        where = f"{method} {path} → {answer.status}"
        if response_violations or accepted_invalid:
            entry = DriftEntry(
                api=self.api,
                sequence=sequence,
                operation_id=operation.operation_id if operation is not None else None,
                method=method,
                path=path,
                query=redacted_query,
                status=answer.status,
                file=file,
                request_violations=tuple(request_violations) if accepted_invalid else (),
                response_violations=tuple(response_violations),
            )
            self._drift.append(entry.to_json())
            for text in (*entry.request_violations, *entry.response_violations):
                self._say(f"DRIFT {self.api} {entry.operation_id or '-'} {where}: {text}")
        elif file is not None:
            self._say(f"recorded {where} as {file}")
        self._write_summary()


async def _send_raw(send: Send, answer: UpstreamAnswer, *, head: bool) -> None:
    headers = [
        (k.lower().encode("latin-1"), v.encode("latin-1"))
        for k, v in answer.headers
        if k.lower() not in _HOP_BY_HOP_RESPONSE_HEADERS or (head and k.lower() == "content-length")
    ]
    if not head:
        headers.append((b"content-length", str(len(answer.body)).encode("latin-1")))
    await send({"type": "http.response.start", "status": answer.status, "headers": headers})
    await send({"type": "http.response.body", "body": b"" if head else answer.body})
