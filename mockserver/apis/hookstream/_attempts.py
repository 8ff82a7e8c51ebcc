"""Delivery attempts (`GET /delivery-attempts`, `GET|POST /delivery-attempts/{id}[/retry]`), event retries
(`POST /events/{id}/retry`) and destination circuits (`GET /destinations/{id}/circuit`, `POST .../reset`)."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

from ..._api import MockResponse, OperationContext, Problem
from ._attempt_log import DeliveryAttempt
from ._attempt_view import attempt_body, circuit_body
from ._common import caller_of, json_response, not_found, state_of, store_of
from ._delivery import Circuit
from ._state import rate_limited
from ._store import Destination

__all__ = [
    "get_circuit",
    "get_delivery_attempt",
    "list_delivery_attempts",
    "reset_circuit",
    "retry_delivery_attempt",
    "retry_event",
]

DEFAULT_LIMIT = 50
_INDEXED = ("event_id", "connection_id", "destination_id")


def _predicate(query: Mapping[str, Any], skip: str | None) -> Callable[[DeliveryAttempt], bool] | None:
    checks: list[Callable[[DeliveryAttempt], bool]] = []
    for name in _INDEXED:
        if name in query and name != skip:
            wanted = query[name]
            checks.append(_field_is(name, wanted))
    if "status" in query:
        status = query["status"]
        checks.append(lambda a: a.status == status)
    if "is_dlq" in query:
        dlq = query["is_dlq"] == "1"
        checks.append(lambda a: a.is_dlq == dlq)
    if not checks:
        return None
    return lambda attempt: all(check(attempt) for check in checks)


def _field_is(name: str, wanted: Any) -> Callable[[DeliveryAttempt], bool]:
    return lambda attempt: bool(getattr(attempt, name) == wanted)


@rate_limited()
def list_delivery_attempts(ctx: OperationContext) -> MockResponse | Problem:
    store = store_of(ctx)
    query = ctx.query
    limit = query.get("limit", DEFAULT_LIMIT)
    offset = query.get("offset", 0)
    index_name = next((name for name in _INDEXED if name in query), None)
    page = store.attempts.page(
        caller_of(ctx).org_id,
        index=(index_name, query[index_name]) if index_name is not None else None,
        predicate=_predicate(query, index_name),
        limit=limit,
        offset=offset,
    )
    pagination = {
        "total": page.total,
        "limit": limit,
        "offset": offset,
        "has_more": offset + len(page.attempts) < page.total,
        "next_cursor": None,
        "prev_cursor": None,
    }
    return json_response(
        200, {"delivery_attempts": [attempt_body(a) for a in page.attempts], "pagination": pagination}
    )


def _owned_attempt(ctx: OperationContext) -> DeliveryAttempt:
    attempt = store_of(ctx).attempts.get(caller_of(ctx).org_id, ctx.path["id"])
    if attempt is None:
        raise not_found("Delivery attempt")
    return attempt


@rate_limited()
def get_delivery_attempt(ctx: OperationContext) -> MockResponse | Problem:
    return json_response(200, {"delivery_attempt": attempt_body(_owned_attempt(ctx))})


@rate_limited()
def retry_delivery_attempt(ctx: OperationContext) -> MockResponse | Problem:
    previous = _owned_attempt(ctx)
    made = state_of(ctx).deliveries.retry(previous)
    if isinstance(made, str):
        return Problem(400, made, "retry_failed")
    return json_response(200, {"delivery_attempt": attempt_body(made)})


@rate_limited()
def retry_event(ctx: OperationContext) -> MockResponse | Problem:
    state = state_of(ctx)
    event = state.store.events.get(caller_of(ctx).org_id, ctx.path["id"])
    if event is None:
        return not_found("Event")
    retried: list[dict[str, Any]] = []
    errors: list[str] = []
    for previous in state.deliveries.failed_latest(event):
        made = state.deliveries.retry(previous)
        if isinstance(made, str):
            errors.append(f"{previous.id}: {made}")
        else:
            retried.append(attempt_body(made))
    if retried or errors:
        message = f"Retried {len(retried)} delivery attempt{'s' if len(retried) != 1 else ''}"
        if errors:
            message += f", {len(errors)} could not be retried"
    else:
        message = "No failed delivery attempts to retry"
    return json_response(200, {"retried": retried, "errors": errors, "message": message})


def _owned_destination(ctx: OperationContext) -> Destination:
    destination = store_of(ctx).destination(caller_of(ctx).org_id, ctx.path["id"])
    if destination is None:
        raise not_found("Destination")
    return destination


def _circuit_response(destination: Destination, circuit: Circuit) -> MockResponse:
    body = circuit_body(
        circuit,
        threshold=destination.circuit_breaker_threshold,
        reset_ms=destination.circuit_breaker_reset_ms,
        enabled=destination.circuit_breaker_enabled,
    )
    return json_response(200, {"circuit": body})


@rate_limited()
def get_circuit(ctx: OperationContext) -> MockResponse | Problem:
    destination = _owned_destination(ctx)
    return _circuit_response(destination, state_of(ctx).deliveries.circuit_of(destination))


@rate_limited()
def reset_circuit(ctx: OperationContext) -> MockResponse | Problem:
    destination = _owned_destination(ctx)
    return _circuit_response(destination, state_of(ctx).deliveries.reset_circuit(destination))
