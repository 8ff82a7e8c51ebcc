"""Connections: CRUD with referential integrity, list filters, and rule validation."""

from __future__ import annotations

from typing import Any

from ..._api import MockResponse, OperationContext, Problem
from ._common import (
    caller_of,
    deleted,
    environment_ids,
    invalid,
    json_response,
    not_found,
    state_of,
    store_of,
)
from ._filters import normalize_rules, validate_rules
from ._present import connection_body
from ._state import rate_limited
from ._store import Connection

_LIST_FILTERS = ("env_id", "status", "source_id", "destination_id")


@rate_limited()
def list_connections(ctx: OperationContext) -> MockResponse | Problem:
    store = store_of(ctx)
    caller = caller_of(ctx)
    query = ctx.query
    if query.get("org_id", caller.org_id) != caller.org_id:
        return json_response(200, {"connections": []})
    found = [
        connection_body(c, store)
        for c in store.connections.values()
        if c.org_id == caller.org_id
        and all(name not in query or getattr(c, name) == query[name] for name in _LIST_FILTERS)
    ]
    return json_response(200, {"connections": found})


def _checked_rules(body: dict[str, Any]) -> list[dict[str, Any]] | None:
    rules = body.get("filter_rules")
    if rules is None:
        return None
    problems = validate_rules(rules)
    if problems:
        raise invalid(problems)
    return normalize_rules(rules)


@rate_limited()
def create_connection(ctx: OperationContext) -> MockResponse | Problem:
    store = store_of(ctx)
    caller = caller_of(ctx)
    body: dict[str, Any] = ctx.body
    rules = _checked_rules(body)
    org_id = body.get("org_id", caller.org_id)
    if org_id != caller.org_id:
        return not_found("Organization")
    env_id = body.get("env_id", caller.env_id)
    if env_id not in environment_ids(org_id):
        return not_found("Environment")
    source = store.source(org_id, body["source_id"])
    destination = store.destination(org_id, body["destination_id"])
    if source is None or destination is None or source.env_id != env_id or destination.env_id != env_id:
        return not_found("Source or destination")
    refused = state_of(ctx).plan.refusal("connection", store.held("connection", org_id))
    if refused is not None:
        return refused
    now = store.tick()
    connection = Connection(
        id=store.new_id("connection"),
        org_id=org_id,
        env_id=env_id,
        source_id=source.id,
        destination_id=destination.id,
        name=body["name"],
        description=body.get("description"),
        enabled=body.get("enabled", True),
        filter_rules=rules,
        status="active",
        event_count=0,
        last_event_at=None,
        created_at=now,
        updated_at=now,
        transform_enabled=body.get("transform_enabled", False),
        transform_expression=body.get("transform_expression"),
    )
    store.connections[connection.id] = connection
    return json_response(201, {"connection": connection_body(connection, store)})


def _owned(ctx: OperationContext) -> Connection:
    connection = store_of(ctx).connection(caller_of(ctx).org_id, ctx.path["id"])
    if connection is None:
        raise not_found("Connection")
    return connection


@rate_limited()
def get_connection(ctx: OperationContext) -> MockResponse | Problem:
    return json_response(200, {"connection": connection_body(_owned(ctx), store_of(ctx))})


@rate_limited()
def update_connection(ctx: OperationContext) -> MockResponse | Problem:
    store = store_of(ctx)
    connection = _owned(ctx)
    changes: dict[str, Any] = dict(ctx.body)
    if "filter_rules" in changes:
        changes["filter_rules"] = _checked_rules(changes)
    for name, value in changes.items():
        setattr(connection, name, value)
    connection.updated_at = store.tick()
    return json_response(200, {"connection": connection_body(connection, store)})


@rate_limited()
def delete_connection(ctx: OperationContext) -> MockResponse | Problem:
    connection = _owned(ctx)
    del store_of(ctx).connections[connection.id]
    return deleted()
