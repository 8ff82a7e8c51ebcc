"""Mock-only: flip a connection's health for tests (not a Stack AI endpoint).

`POST <api mount>/__mock/connections/{connection_id}/health` with `{"status": "healthy" | "unhealthy",
"message": "optional reason"}` sets what `GET /connections/{connection_id}/health` answers:
- `unhealthy`: reported with `message` (or a default one) until its credentials change (a PUT with new
  secrets, an OAuth re-authorization) or the route is called again;
- `healthy`: reported whatever the stored credentials, until they change or the route is called again.
Neither changes `updated_at` nor moves the clock. The answer is the health as `GET .../health` now gives it.

Only loopback callers may use it (403 otherwise); it acts on any organization's connection (404 for an
unknown id) in the state of the `X-Mock-Session` header's session (the default state without it).
Invalid input is a FastAPI-style 422 with the exact `loc` of each problem.

When Stack AI is served alone at the root, the engine's own `/__mock` control plane takes these paths:
the route is reachable when Stack AI has a mount prefix (`/stack-ai/__mock/...` with every API served).
"""

from __future__ import annotations

import email.message
import ipaddress
import json
import uuid
from collections.abc import Callable, Sequence
from typing import Any

from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import BaseRoute, Route

from ..._jsontext import decode_json
from ..._validation import Violation, malformed_json
from ...control._runtime import DEFAULT_SESSION, SESSION_NAME
from ._access import CONNECTION_NOT_FOUND, value_error
from ._connections import health_json
from ._render import validation_item
from ._state import Connection, StackAiState

HEALTH_PATH = "/__mock/connections/{connection_id}/health"
STATUSES = ("healthy", "unhealthy")
DEFAULT_MESSAGE = "Marked unhealthy through the mock's health route."
_EXPECTED = "'healthy' or 'unhealthy'"


def is_loopback(host: str) -> bool:
    if host == "testclient":  # Starlette's TestClient
        return True
    try:
        address = ipaddress.ip_address(host)
    except ValueError:
        return False
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped is not None:
        return address.ipv4_mapped.is_loopback
    return address.is_loopback


def _is_json(content_type: str | None) -> bool:
    if not content_type:
        return True  # FastAPI parses a body without a content type as JSON
    message = email.message.Message()
    message["content-type"] = content_type
    subtype = message.get_content_subtype()
    return message.get_content_maintype() == "application" and (
        subtype == "json" or subtype.endswith("+json")
    )


def _body_violations(raw: bytes, content_type: str | None) -> tuple[dict[str, Any], list[Violation]]:
    """The body as FastAPI would validate it against `{status: Literal, message: str | None}`."""
    if not raw:
        return {}, [Violation(("body",), "Field required", "missing", None)]
    if not _is_json(content_type):
        text = raw.decode("utf-8", "replace")
        return {}, [_not_an_object(text)]
    try:
        body = decode_json(raw)
    except json.JSONDecodeError as exc:
        return {}, [malformed_json(exc)]
    if not isinstance(body, dict):
        return {}, [_not_an_object(body)]
    violations: list[Violation] = []
    if "status" not in body:
        violations.append(Violation(("body", "status"), "Field required", "missing", body))
    elif body["status"] not in STATUSES:
        violations.append(
            Violation(
                ("body", "status"),
                f"Input should be {_EXPECTED}",
                "enum",
                body["status"],
                {"expected": _EXPECTED},
            )
        )
    message = body.get("message")
    if message is not None:
        if not isinstance(message, str):
            violations.append(
                Violation(("body", "message"), "Input should be a valid string", "string_type", message)
            )
        elif not message:
            violations.append(
                Violation(
                    ("body", "message"),
                    "String should have at least 1 character",
                    "string_too_short",
                    message,
                    {"min_length": 1},
                )
            )
        elif body.get("status") == "healthy":
            violations.append(
                value_error(("body", "message"), "a healthy connection has no message", message)
            )
    for key in body:
        if key not in ("status", "message"):
            violations.append(
                Violation(("body", key), "Extra inputs are not permitted", "extra_forbidden", body[key])
            )
    return body, violations


def _not_an_object(given: Any) -> Violation:
    return Violation(
        ("body",),
        "Input should be a valid dictionary or object to extract fields from",
        "model_attributes_type",
        given,
    )


def _invalid(violations: list[Violation]) -> Response:
    return JSONResponse({"detail": [validation_item(v) for v in violations]}, status_code=422)


def _find(state: StackAiState, connection_id: str) -> Connection | None:
    for organization in state.organizations.values():
        connection = organization.connections.get(connection_id)
        if connection is not None:
            return connection
    return None


def set_health(connection: Connection, status: str, message: str | None) -> None:
    if status == "healthy":
        connection.health_issue, connection.health_forced = None, True
    else:
        connection.health_issue, connection.health_forced = message or DEFAULT_MESSAGE, False


def routes(get_state: Callable[[], Any], api_name: str) -> Sequence[BaseRoute]:
    def state_for(request: Request, session: str) -> StackAiState:
        # The engine keeps every session's state on its service (`app.state.services`); without it,
        # only the default state is reachable.
        services = getattr(getattr(request.scope.get("app"), "state", None), "services", None)
        service = services.get(api_name) if isinstance(services, dict) else None
        state = service.state_for(session) if service is not None else get_state()
        assert isinstance(state, StackAiState)
        return state

    async def flip(request: Request) -> Response:
        host = request.client.host if request.client else ""
        if not is_loopback(host):
            return JSONResponse(
                {"detail": "This mock-only route answers loopback callers only"}, status_code=403
            )
        violations: list[Violation] = []
        session = request.headers.get("x-mock-session", DEFAULT_SESSION)
        if session and not SESSION_NAME.match(session):
            violations.append(
                Violation(
                    ("header", "X-Mock-Session"),
                    "Session names are 1 to 64 letters, digits, dots, dashes or underscores",
                    "string_pattern_mismatch",
                    session,
                )
            )
        raw_id = str(request.path_params["connection_id"])
        try:
            connection_id = str(uuid.UUID(raw_id)) if len(raw_id) == 36 else ""
        except ValueError:
            connection_id = ""
        if not connection_id:
            violations.append(
                Violation(("path", "connection_id"), "Input should be a valid UUID", "uuid_parsing", raw_id)
            )
        body, body_violations = _body_violations(await request.body(), request.headers.get("content-type"))
        violations += body_violations
        if violations:
            return _invalid(violations)
        state = state_for(request, session)
        connection = _find(state, connection_id)
        if connection is None:
            return JSONResponse({"detail": CONNECTION_NOT_FOUND}, status_code=404)
        set_health(connection, body["status"], body.get("message"))
        return JSONResponse(health_json(state, connection))

    return (Route(HEALTH_PATH, flip, methods=["POST"]),)
