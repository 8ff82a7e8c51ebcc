"""The `/__mock` control plane: reset, state, users, the request journal and fault rules.

It is served by the same engine as the vendor APIs, from its own OpenAPI document (`control.yaml`),
so its input is validated the same strict way.
"""

from __future__ import annotations

import hmac
import ipaddress
import json
import os
import re
import tempfile
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from starlette.types import Receive, Scope, Send

from .._api import NO_BODY, ApiDefinition, Behaviour, MockResponse, OperationContext, Problem, Reason
from .._jsontext import encode_json
from .._resources import control_spec, package_version
from .._service import ApiService, ServiceOptions
from .._spec import load_spec
from .._validation import Violation
from ._clock import Timeline, TimeWentBackwards, format_instant, parse_instant
from ._faults import FaultBookFull
from ._runtime import DEFAULT_SESSION, MockRuntime

CONTROL_MOUNT = "/__mock"
SNAPSHOT_FORMAT = "mockserver-state/1"


class StateUnavailable(Exception):
    """An API cannot export or import its state."""


def export_snapshot(services: Sequence[ApiService], *, session: str = DEFAULT_SESSION) -> dict[str, Any]:
    apis = {}
    for service in services:
        exported = service.api.export_state(service.state_for(session))
        if exported is None:
            raise StateUnavailable(f"{service.api.name} cannot export its state")
        apis[service.api.name] = exported
    seed = services[0].options.seed if services else 0
    return {"format": SNAPSHOT_FORMAT, "seed": seed, "apis": apis}


def import_snapshot(
    services: Sequence[ApiService], snapshot: Mapping[str, Any], *, session: str = DEFAULT_SESSION
) -> list[str]:
    """Replace the state of every API in the snapshot; nothing changes unless every part is valid."""
    by_name = {service.api.name: service for service in services}
    apis = snapshot.get("apis", {})
    unknown = sorted(set(apis) - set(by_name))
    if unknown:
        raise ValueError(f"the snapshot holds APIs this server does not serve: {', '.join(unknown)}")
    built = {}
    for name, exported in apis.items():
        service = by_name[name]
        try:
            built[name] = service.api.import_state(
                exported,
                seed=service.options.seed,
                options=service.options.api_options,
                clock=service.options.clock,
            )
        except (KeyError, TypeError, ValueError) as exc:
            raise ValueError(f"{name}: {exc}") from exc
    for name, state in built.items():
        by_name[name].replace_state(state, session=session)
    return sorted(built)


def save_snapshot(services: Sequence[ApiService], path: Path) -> int:
    """Write the default state atomically: a temporary file in the same folder, flushed, then renamed."""
    payload = json.dumps(export_snapshot(services), ensure_ascii=False, sort_keys=True).encode("utf-8")
    path.parent.mkdir(parents=True, exist_ok=True)
    handle, temporary = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(handle, "wb") as stream:
            stream.write(payload)
            stream.flush()
            os.fsync(stream.fileno())
        os.replace(temporary, path)
    except BaseException:
        Path(temporary).unlink(missing_ok=True)
        raise
    return len(payload)


def load_snapshot(services: Sequence[ApiService], path: Path) -> list[str]:
    snapshot = json.loads(path.read_text(encoding="utf-8"))
    if not isinstance(snapshot, dict) or snapshot.get("format") != SNAPSHOT_FORMAT:
        raise ValueError(f"{path} is not a {SNAPSHOT_FORMAT} snapshot")
    return import_snapshot(services, snapshot)


class ControlApi(ApiDefinition):
    """The control plane as an API of its own; its behaviours act on the other services."""

    name = "__mock"
    title = "mockserver control API"
    validation_status = 422

    def __init__(
        self, services: Sequence[ApiService], runtime: MockRuntime, *, state_file: Path | None
    ) -> None:
        self._services = list(services)
        self._runtime = runtime
        self._state_file = state_file

    def _session(self, ctx: OperationContext) -> str:
        return str(ctx.headers.get("X-Mock-Session", DEFAULT_SESSION))

    def _selected(self, api: str | None) -> list[ApiService]:
        if api is None:
            return self._services
        chosen = [service for service in self._services if service.api.name == api]
        if not chosen:
            names = ", ".join(service.api.name for service in self._services)
            raise Problem(404, f"No API named {api!r} is served (served: {names})", Reason.NOT_FOUND)
        return chosen

    def behaviours(self) -> Mapping[str, Behaviour]:
        return {
            "getHealth": self._health,
            "reset": self._reset,
            "exportState": self._export_state,
            "importState": self._import_state,
            "saveState": self._save_state,
            "listUsers": self._list_users,
            "listRequests": self._list_requests,
            "clearRequests": self._clear_requests,
            "listFaults": self._list_faults,
            "addFault": self._add_fault,
            "clearFaults": self._clear_faults,
            "deleteFault": self._delete_fault,
            "getClock": self._get_clock,
            "getOutbound": self._get_outbound,
            "moveClock": self._move_clock,
        }

    def _health(self, ctx: OperationContext) -> MockResponse:
        sessions = {name for service in self._services for name in service.sessions}
        body = {
            "status": "ok",
            "version": package_version(),
            "apis": [
                {"name": s.api.name, "title": s.api.title, "base_path": s.mount_path} for s in self._services
            ],
            "seed": self._services[0].options.seed if self._services else 0,
            "uptime_seconds": round(self._runtime.uptime_seconds(), 3),
            "sessions": len(sessions),
            "max_sessions": self._runtime.max_sessions,
        }
        return MockResponse(200, body)

    def _clocks(self, session: str, api: str | None) -> dict[str, Any]:
        """The timelines of one session's states (due work already run), by API name."""
        found = {}
        for service in self._selected(api):
            timeline = service.api.timeline(service.state_for(session))
            if timeline is not None:
                found[service.api.name] = timeline
        return found

    def _clock_answer(self, session: str, api: str | None) -> MockResponse:
        clocks = {name: _clock_json(timeline) for name, timeline in self._clocks(session, api).items()}
        mode = self._services[0].options.clock.mode if self._services else "frozen"
        return MockResponse(200, {"session": session, "mode": mode, "apis": clocks})

    def _get_outbound(self, ctx: OperationContext) -> MockResponse:
        runner = self._runtime.outbound
        hosts = [f"[{h}]" if ":" in h else h for h, _ in runner.allowed_hosts]
        body = {
            "pending": runner.pending,
            "sent": runner.sent,
            "max_in_flight": runner.max_in_flight,
            "max_pending": runner.max_pending,
            "allowed_hosts": [
                host if port is None else f"{host}:{port}"
                for host, (_, port) in zip(hosts, runner.allowed_hosts, strict=True)
            ],
        }
        return MockResponse(200, body)

    def _get_clock(self, ctx: OperationContext) -> MockResponse:
        return self._clock_answer(self._session(ctx), ctx.query.get("api"))

    def _move_clock(self, ctx: OperationContext) -> MockResponse:
        body = ctx.body
        session = self._session(ctx)
        api = body.get("api")
        clocks = self._clocks(session, api)
        if "set" in body:
            try:
                instant = parse_instant(body["set"])
            except ValueError as exc:
                raise _invalid(("body", "set"), str(exc), body["set"]) from exc
            behind = [name for name, timeline in clocks.items() if timeline.now() > instant]
            if behind:
                latest = max(clocks[name].now() for name in behind)
                raise Problem(
                    409,
                    f"The clock never goes backwards: {body['set']} is before {format_instant(latest)} "
                    f"({', '.join(behind)}); nothing moved",
                    Reason.VALIDATION,
                )
            for timeline in clocks.values():
                timeline.set(instant)
        else:
            for timeline in clocks.values():
                try:
                    timeline.advance(body["advance_seconds"])
                except TimeWentBackwards as exc:  # the spec's minimum refuses it first
                    raise _invalid(("body", "advance_seconds"), str(exc), body["advance_seconds"]) from exc
        for timeline in clocks.values():
            timeline.run_due()
        return self._clock_answer(session, api)

    def _reset(self, ctx: OperationContext) -> MockResponse:
        body = ctx.body if isinstance(ctx.body, dict) else {}
        session = self._session(ctx)
        chosen = self._selected(body.get("api"))
        for service in chosen:
            service.reset(seed=body.get("seed"), session=session)
        seed = chosen[0].options.seed if chosen else 0
        return MockResponse(200, {"apis": [s.api.name for s in chosen], "seed": seed, "session": session})

    def _export_state(self, ctx: OperationContext) -> MockResponse:
        try:
            return MockResponse(200, export_snapshot(self._services, session=self._session(ctx)))
        except StateUnavailable as exc:
            raise Problem(422, str(exc), Reason.VALIDATION) from exc

    def _import_state(self, ctx: OperationContext) -> MockResponse:
        session = self._session(ctx)
        try:
            imported = import_snapshot(self._services, ctx.body, session=session)
        except ValueError as exc:
            raise Problem(
                422, f"The snapshot was refused and nothing changed: {exc}", Reason.VALIDATION
            ) from exc
        seed = self._services[0].options.seed if self._services else 0
        return MockResponse(200, {"apis": imported, "seed": seed, "session": session})

    def _save_state(self, ctx: OperationContext) -> MockResponse:
        if self._state_file is None:
            raise Problem(409, "The server was started without --state-file", Reason.VALIDATION)
        size = save_snapshot(self._services, self._state_file)
        return MockResponse(200, {"path": str(self._state_file), "bytes": size})

    def _list_users(self, ctx: OperationContext) -> MockResponse:
        users = {
            service.api.name: [
                {
                    "label": c.label,
                    "organization_id": c.organization_id,
                    "organization_name": c.organization_name,
                    "how": c.how,
                    "value": c.value,
                    "header": c.header_line,
                    "user_id": c.user_id,
                    "group_ids": list(c.group_ids),
                    "environment_id": c.environment_id,
                }
                for c in service.api.credentials(service.state)
            ]
            for service in self._services
        }
        return MockResponse(200, users)

    def _list_requests(self, ctx: OperationContext) -> MockResponse:
        query = ctx.query
        session = ctx.headers.get("X-Mock-Session")
        entries = self._runtime.journal.select(
            api=query.get("api"),
            operation_id=query.get("operation_id"),
            status=query.get("status"),
            since=query.get("since"),
            session=session,
        )
        body = {"capacity": self._runtime.journal.capacity, "entries": [entry.to_json() for entry in entries]}
        return MockResponse(200, body)

    def _clear_requests(self, ctx: OperationContext) -> MockResponse:
        self._runtime.journal.clear(session=ctx.headers.get("X-Mock-Session"))
        return MockResponse(204, NO_BODY)

    def _list_faults(self, ctx: OperationContext) -> MockResponse:
        return MockResponse(200, {"faults": [rule.to_json() for rule in self._runtime.faults.rules()]})

    def _add_fault(self, ctx: OperationContext) -> MockResponse:
        body = dict(ctx.body)
        latency = body.get("latency_ms")
        if isinstance(latency, list) and latency[0] > latency[1]:
            raise _invalid(("body", "latency_ms"), "The range must be [min, max] with min <= max", latency)
        if body.get("api") is not None:
            self._selected(body["api"])
        if body.get("path") is not None:
            try:
                re.compile(body["path"])
            except re.error as exc:
                raise _invalid(("body", "path"), f"Not a regular expression: {exc}", body["path"]) from exc
        try:
            rule = self._runtime.faults.add(body)
        except FaultBookFull as full:
            message = f"{full}: remove one (DELETE /__mock/faults/{{fault_id}}) first"
            raise Problem(409, message, Reason.VALIDATION) from None
        return MockResponse(201, rule.to_json())

    def _clear_faults(self, ctx: OperationContext) -> MockResponse:
        self._runtime.faults.clear()
        return MockResponse(204, NO_BODY)

    def _delete_fault(self, ctx: OperationContext) -> MockResponse:
        if not self._runtime.faults.remove(ctx.path["fault_id"]):
            raise Problem(404, f"No fault rule {ctx.path['fault_id']!r}", Reason.NOT_FOUND)
        return MockResponse(204, NO_BODY)


def _clock_json(timeline: Timeline) -> dict[str, Any]:
    due = timeline.next_due()
    return {
        "now": format_instant(timeline.now()),
        "pending": timeline.pending,
        "next_due": None if due is None else format_instant(due),
    }


def _invalid(location: tuple[str, ...], message: str, value: Any) -> Problem:
    return Problem(
        422,
        "Request validation failed",
        Reason.VALIDATION,
        (Violation(location, message, "value_error", value),),
    )


def _is_loopback(host: str) -> bool:
    if host in ("testclient", "localhost"):
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


class GuardedControl:
    """Lets the control plane answer loopback callers, and others only with the admin token (`GET /health`
    answers anyone: it tells only what is served and how long it has been up)."""

    def __init__(self, service: ApiService, *, admin_token: str | None) -> None:
        self.service = service
        self.mount_path = service.mount_path
        self._admin_token = admin_token
        self._openapi = encode_json(service.spec.document)
        self._health_path = f"{self.mount_path}/health"

    def allowed(self, scope: Scope) -> bool:
        if scope["path"] == self._health_path and scope["method"] == "GET":
            return True
        client = scope.get("client") or ("", 0)
        if _is_loopback(client[0]):
            return True
        if not self._admin_token:
            return False
        headers: dict[str, str] = {
            k.decode("latin-1").lower(): v.decode("latin-1") for k, v in scope["headers"]
        }
        return hmac.compare_digest(headers.get("authorization", ""), f"Bearer {self._admin_token}")

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if not self.allowed(scope):
            await _send_json(
                send, 403, {"detail": "The control API answers loopback callers, or the admin token"}
            )
            return
        if scope["path"] == f"{self.mount_path}/openapi.json" and scope["method"] in ("GET", "HEAD"):
            await _send_bytes(send, 200, self._openapi)
            return
        await self.service(scope, receive, send)


async def _send_json(send: Send, status: int, body: Any) -> None:
    await _send_bytes(send, status, encode_json(body))


async def _send_bytes(send: Send, status: int, payload: bytes) -> None:
    headers = [(b"content-type", b"application/json"), (b"content-length", str(len(payload)).encode())]
    await send({"type": "http.response.start", "status": status, "headers": headers})
    await send({"type": "http.response.body", "body": payload})


def build_control(
    services: Sequence[ApiService],
    runtime: MockRuntime,
    *,
    admin_token: str | None,
    state_file: Path | None,
    strict: bool,
) -> GuardedControl:
    spec = load_spec(control_spec(), name="__mock")
    api = ControlApi(services, runtime, state_file=state_file)
    options = ServiceOptions(seed=0, strict=strict)
    service = ApiService(
        api, spec, mount_path=spec.base_path, options=options, runtime=_quiet_runtime(runtime)
    )
    return GuardedControl(service, admin_token=admin_token)


def _quiet_runtime(runtime: MockRuntime) -> MockRuntime:
    """The control plane is not journalled, delayed or faulted: it shares nothing but the session limit."""
    return MockRuntime(max_sessions=runtime.max_sessions)
