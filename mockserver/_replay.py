"""`mockserver replay DIR`: serve recorded exchanges.

Matching. A request matches a recorded exchange of the same API with the same method, the same path and the
same query parameters (as a multiset of name/value pairs: their order does not matter, repeats do), and with
`--match-body` the same body (equal JSON values, or equal bytes). Headers are not compared: recorded
credentials are redacted.

Validation. Every request is checked against the spec first (a credential is present where the operation
needs one, parameters, content type, body). A valid request is served from recorded exchanges whose own
request was valid; an invalid one from recorded exchanges whose request the spec refuses with the same status
(a recorded 401 or 422 replays as recorded), else it gets the mock's own refusal in the API's error format.

Order. The exchanges that match one request are served in recording order (`sequence`, else file name); once
all were served, the last one repeats. `POST /__mock/reset` rewinds every exchange.

No match: a 404 in the API's error format naming the closest recorded exchange and how the request differs
from it (also in the `X-Mock-Replay-Closest` header). A served exchange carries `X-Mock-Replay: <api>/<operationId>/<case>`.
"""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any
from urllib.parse import parse_qsl

from starlette.types import Receive, Scope, Send

from ._api import MockResponse, Problem
from ._asgi import lifespan, read_body, send_response
from ._contract import Contract
from ._exchange import Body, Exchange, LoadedExchange, RecordedRequest

REPLAY_HEADER = "X-Mock-Replay"
CLOSEST_HEADER = "X-Mock-Replay-Closest"
NO_MATCH = "replay_no_match"


def _body_key(body: Body) -> str:
    if body.encoding == "json":
        return "json:" + json.dumps(body.value, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    return f"{body.encoding}:{body.value if body.value is not None else ''}"


@dataclass(frozen=True, slots=True)
class _Recorded:
    exchange: Exchange
    valid: bool
    refused_with: int | None
    refusal: str

    @property
    def label(self) -> str:
        return f"{self.exchange.api}/{self.exchange.operation_id}/{self.exchange.case}"


@dataclass(frozen=True, slots=True)
class _Incoming:
    method: str
    path: str
    query: tuple[tuple[str, str], ...]
    body: Body


class ApiReplay:
    """The recorded exchanges of one API, matched and served in order."""

    def __init__(self, contract: Contract, recorded: Sequence[LoadedExchange], *, match_body: bool):
        self.contract = contract
        self.match_body = match_body
        self._groups: dict[tuple[Any, ...], list[_Recorded]] = {}
        self._all: list[_Recorded] = []
        self._cursors: Counter[tuple[Any, ...]] = Counter()
        ordered = sorted(recorded, key=lambda item: (item.exchange.sequence or 0, str(item.path)))
        for item in ordered:
            request = item.exchange.request
            check = contract.check_request(
                request.method, request.path, request.query, request.headers, request.body.to_bytes()
            )
            refusal = "" if check.problem is None else "; ".join(v.describe() for v in check.violations)
            entry = _Recorded(
                exchange=item.exchange,
                valid=check.valid,
                refused_with=None if check.problem is None else check.problem.status,
                refusal=refusal,
            )
            self._all.append(entry)
            self._groups.setdefault(
                self._key(request.method, request.path, request.query, request.body), []
            ).append(entry)

    def _key(self, method: str, path: str, query: Sequence[tuple[str, str]], body: Body) -> tuple[Any, ...]:
        key: tuple[Any, ...] = (method.upper(), path, tuple(sorted(query)))
        return (*key, _body_key(body)) if self.match_body else key

    def rewind(self) -> None:
        self._cursors.clear()

    def answer(self, incoming: _Incoming, headers: Mapping[str, str], payload: bytes) -> MockResponse:
        check = self.contract.check_request(incoming.method, incoming.path, incoming.query, headers, payload)
        key = self._key(incoming.method, incoming.path, incoming.query, incoming.body)
        group = self._groups.get(key, [])
        if check.problem is not None and check.problem.status == 405:
            return self.contract.render(check.problem)
        if check.operation is not None and check.problem is not None:
            candidates = [r for r in group if not r.valid and r.refused_with == check.problem.status]
            if not candidates:
                return self.contract.render(check.problem)
            partition: tuple[Any, ...] = (*key, "refused", check.problem.status)
        else:
            candidates = [r for r in group if r.valid]
            partition = (*key, "valid")
        if not candidates:
            return self._no_match(incoming, check.valid)
        index = min(self._cursors[partition], len(candidates) - 1)
        self._cursors[partition] += 1
        return _served(candidates[index])

    # ---------------------------------------------------------------- near misses

    def _no_match(self, incoming: _Incoming, valid: bool) -> MockResponse:
        target = RecordedRequest(incoming.method, incoming.path, incoming.query).target
        if not self._all:
            problem = Problem(404, f"No recorded exchange matches {target}: none was recorded", NO_MATCH)
            return self.contract.render(problem)
        scored = [(self._distance(incoming, valid, recorded), recorded) for recorded in self._all]
        (_, differences), closest = min(scored, key=lambda item: item[0][0])
        message = (
            f"No recorded exchange matches {target}. The closest is {closest.label} "
            f"({closest.exchange.request.target}): {'; '.join(differences) or 'no difference'}"
        )
        problem = Problem(404, message, NO_MATCH, headers={CLOSEST_HEADER: closest.label})
        return self.contract.render(problem)

    def _distance(self, incoming: _Incoming, valid: bool, recorded: _Recorded) -> tuple[int, list[str]]:
        request = recorded.exchange.request
        score = 0
        differences: list[str] = []
        if incoming.method != request.method:
            score += 8
            differences.append(f"method is {incoming.method}, recorded {request.method}")
        if incoming.path != request.path:
            ours, theirs = incoming.path.split("/"), request.path.split("/")
            score += (
                4 + sum(a != b for a, b in zip(ours, theirs, strict=False)) + abs(len(ours) - len(theirs))
            )
            differences.append(f"path is {incoming.path}, recorded {request.path}")
        score += _query_differences(incoming.query, request.query, differences)
        if self.match_body and _body_key(incoming.body) != _body_key(request.body):
            score += 1
            differences.append(_body_difference(incoming.body, request.body))
        if valid and not recorded.valid:
            score += 1
            differences.append(
                f"the recorded request was refused by the spec ({recorded.refused_with}: {recorded.refusal}), "
                "this one is valid"
            )
        return score, differences


def _query_differences(
    ours: Sequence[tuple[str, str]], theirs: Sequence[tuple[str, str]], differences: list[str]
) -> int:
    extra = Counter(ours) - Counter(theirs)
    missing = Counter(theirs) - Counter(ours)
    score = 0
    for name in sorted({n for n, _ in extra} | {n for n, _ in missing}):
        sent = sorted(v for (n, v), count in extra.items() if n == name for _ in range(count))
        wanted = sorted(v for (n, v), count in missing.items() if n == name for _ in range(count))
        score += max(len(sent), len(wanted))
        if sent and wanted:
            differences.append(f"query {name} is {_values(sent)}, recorded {_values(wanted)}")
        elif sent:
            differences.append(f"query {name}={_values(sent)} was not recorded")
        else:
            differences.append(f"query {name}={_values(wanted)} is missing")
    return score


def _values(values: list[str]) -> str:
    return ", ".join(repr(value) for value in values)


def _body_difference(ours: Body, theirs: Body) -> str:
    if ours.encoding == "json" and theirs.encoding == "json":
        where = _first_difference(ours.value, theirs.value, "")
        if where is not None:
            pointer, sent, recorded = where
            return f"body differs at {pointer or '/'}: {_short(sent)}, recorded {_short(recorded)}"
    return f"body is {_short(ours.value)}, recorded {_short(theirs.value)}"


def _short(value: Any) -> str:
    text = json.dumps(value, ensure_ascii=False) if value is not _MISSING else "(absent)"
    return text if len(text) <= 80 else text[:77] + "..."


_MISSING: Any = object()


def _first_difference(ours: Any, theirs: Any, pointer: str) -> tuple[str, Any, Any] | None:
    if isinstance(ours, dict) and isinstance(theirs, dict):
        for key in sorted(set(ours) | set(theirs)):
            found = _first_difference(ours.get(key, _MISSING), theirs.get(key, _MISSING), f"{pointer}/{key}")
            if found is not None:
                return found
        return None
    if isinstance(ours, list) and isinstance(theirs, list) and len(ours) == len(theirs):
        for index, (a, b) in enumerate(zip(ours, theirs, strict=True)):
            found = _first_difference(a, b, f"{pointer}/{index}")
            if found is not None:
                return found
        return None
    if ours is theirs or (type(ours) is type(theirs) and ours == theirs):
        return None
    return pointer, ours, theirs


def _served(recorded: _Recorded) -> MockResponse:
    response = recorded.exchange.response
    headers = {name: value for name, value in response.headers.items() if name != "content-type"}
    headers[REPLAY_HEADER] = recorded.label
    media_type = response.headers.get("content-type", "")
    return MockResponse(response.status, response.body, headers, media_type)


class Replayer:
    """The replay server, an ASGI app: each API at its production paths, or under `/<api>` when several."""

    def __init__(self, apis: Mapping[str, ApiReplay]) -> None:
        self.apis = dict(apis)
        several = len(self.apis) > 1
        self._mounts = sorted(
            ((f"/{name}" if several else "", replay) for name, replay in self.apis.items()),
            key=lambda item: len(item[0]),
            reverse=True,
        )

    def mount_of(self, api: str) -> str:
        return f"/{api}" if len(self.apis) > 1 else ""

    def rewind(self) -> None:
        for replay in self.apis.values():
            replay.rewind()

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "lifespan":
            await lifespan(receive, send)
            return
        if scope["type"] != "http":
            return
        path: str = scope["path"]
        method = scope["method"].upper()
        payload = await read_body(receive)
        if path == "/__mock/reset" and method == "POST":
            self.rewind()
            await send_response(send, MockResponse(200, {"rewound": sorted(self.apis)}))
            return
        for prefix, replay in self._mounts:
            if prefix and not (path == prefix or path.startswith(prefix + "/")):
                continue
            production_path = path[len(prefix) :] or "/"
            headers = {k.decode("latin-1").lower(): v.decode("latin-1") for k, v in scope["headers"]}
            query = tuple(parse_qsl(scope.get("query_string", b"").decode("latin-1"), keep_blank_values=True))
            incoming = _Incoming(
                method, production_path, query, Body.from_bytes(payload, headers.get("content-type"))
            )
            await send_response(send, replay.answer(incoming, headers, payload), head=method == "HEAD")
            return
        await send_response(
            send, MockResponse(404, {"detail": "Not Found", "apis": [p for p, _ in self._mounts]})
        )


def build_replayer(
    contracts: Mapping[str, Contract], loaded: Sequence[LoadedExchange], *, match_body: bool
) -> Replayer:
    by_api: dict[str, list[LoadedExchange]] = {name: [] for name in contracts}
    for item in loaded:
        if item.exchange.api in by_api:
            by_api[item.exchange.api].append(item)
    return Replayer(
        {name: ApiReplay(contracts[name], items, match_body=match_body) for name, items in by_api.items()}
    )
