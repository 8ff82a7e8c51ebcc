"""Destinations: CRUD with type-specific checks, slug uniqueness, plan limit, and the in-use guard."""

from __future__ import annotations

from typing import Any

from ..._api import MockResponse, OperationContext, Problem
from ._common import (
    caller_of,
    deleted,
    in_use,
    invalid,
    json_response,
    not_found,
    slug_conflict,
    state_of,
    store_of,
)
from ._present import destination_body
from ._state import rate_limited
from ._store import Destination

DEFAULT_RETRY_INTERVALS = (30, 300, 1800, 7200, 86400)
_URL_REQUIRED = "body.url is required when type is http"


@rate_limited()
def list_destinations(ctx: OperationContext) -> MockResponse | Problem:
    store = store_of(ctx)
    caller = caller_of(ctx)
    query = ctx.query
    found = [
        destination_body(d)
        for d in store.destinations.values()
        if d.org_id == caller.org_id
        and all(name not in query or getattr(d, name) == query[name] for name in ("status", "type"))
    ]
    return json_response(200, {"destinations": found})


@rate_limited()
def create_destination(ctx: OperationContext) -> MockResponse | Problem:
    state = state_of(ctx)
    store = state.store
    caller = caller_of(ctx)
    body: dict[str, Any] = ctx.body
    kind = body.get("type", "http")
    if kind == "http" and "url" not in body:
        return invalid([_URL_REQUIRED])
    taken = slug_conflict(
        "destination",
        store.destinations.values(),
        org_id=caller.org_id,
        env_id=caller.env_id,
        slug=body["slug"],
    )
    if taken is not None:
        return taken
    refused = state.plan.refusal("destination", store.held("destination", caller.org_id))
    if refused is not None:
        return refused
    intervals = list(body.get("retry_intervals", DEFAULT_RETRY_INTERVALS))
    now = store.tick()
    destination = Destination(
        id=store.new_id("destination"),
        org_id=caller.org_id,
        env_id=caller.env_id,
        name=body["name"],
        slug=body["slug"],
        description=body.get("description"),
        type=kind,
        url=body.get("url"),
        method=body.get("method", "POST"),
        headers=body.get("headers"),
        timeout_ms=body.get("timeout_ms", 30000),
        auth_type=body.get("auth_type", "none"),
        auth_config=body.get("auth_config"),
        provider_config=body.get("provider_config"),
        retry_enabled=body.get("retry_enabled", True),
        retry_max_attempts=body.get("retry_max_attempts", len(intervals)),
        retry_backoff_type=body.get("retry_backoff_type", "exponential"),
        retry_intervals=intervals,
        circuit_breaker_enabled=body.get("circuit_breaker_enabled", True),
        circuit_breaker_threshold=body.get("circuit_breaker_threshold", 5),
        circuit_breaker_reset_ms=body.get("circuit_breaker_reset_ms", 60000),
        status="active",
        created_at=now,
        updated_at=now,
        signing_config=body.get("signing_config"),
    )
    store.destinations[destination.id] = destination
    return json_response(201, {"destination": destination_body(destination)})


def _owned(ctx: OperationContext) -> Destination:
    destination = store_of(ctx).destination(caller_of(ctx).org_id, ctx.path["id"])
    if destination is None:
        raise not_found("Destination")
    return destination


@rate_limited()
def get_destination(ctx: OperationContext) -> MockResponse | Problem:
    return json_response(200, {"destination": destination_body(_owned(ctx))})


@rate_limited()
def update_destination(ctx: OperationContext) -> MockResponse | Problem:
    store = store_of(ctx)
    destination = _owned(ctx)
    changes: dict[str, Any] = dict(ctx.body)
    if changes.get("type", destination.type) == "http" and changes.get("url", destination.url) is None:
        return invalid([_URL_REQUIRED])
    slug = changes.get("slug")
    taken = slug is not None and slug_conflict(
        "destination",
        store.destinations.values(),
        org_id=destination.org_id,
        env_id=destination.env_id,
        slug=slug,
        other_than=destination.id,
    )
    if taken:
        return taken
    for name, value in changes.items():
        setattr(destination, name, list(value) if name == "retry_intervals" else value)
    destination.updated_at = store.tick()
    return json_response(200, {"destination": destination_body(destination)})


@rate_limited()
def delete_destination(ctx: OperationContext) -> MockResponse | Problem:
    store = store_of(ctx)
    destination = _owned(ctx)
    users = store.connections_using(destination_id=destination.id)
    if users:
        return in_use("Destination", users)
    del store.destinations[destination.id]
    return deleted()
