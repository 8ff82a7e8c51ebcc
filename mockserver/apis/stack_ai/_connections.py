"""Connections: the catalogue, listing, create / read / replace / rename / delete, and health."""

from __future__ import annotations

import sys
from collections.abc import Hashable, Iterable, Iterator, Mapping
from itertools import islice
from typing import Any

from ..._api import NO_BODY, MockResponse, OperationContext, Problem
from ..._validation import Violation
from ._access import Viewer, invalid, load, organization_of
from ._catalogue import BY_TYPE, CATALOGUE, CREDENTIALS, CatalogueEntry, check_params, resolve
from ._filters import Predicate, parse_filters
from ._index import index_of, writing
from ._masking import is_secret_key, merge_secrets
from ._rand import Rand, Weighted
from ._render import connection_json
from ._state import Connection, Organization, StackAiState, iso

DEFAULT_NAME = "Unnamed connection"
TREE_WEIGHTS = Weighted((("small", 50), ("medium", 35), ("large", 15)))


def get_available_connections(ctx: OperationContext) -> MockResponse:
    return MockResponse(200, [entry.to_json() for entry in CATALOGUE])


def _visible(organization: Organization, viewer: Viewer) -> Iterator[Connection]:
    connections: Iterable[Connection] = organization.connections.values()
    if viewer.is_org_admin:
        return iter(connections)
    return (connection for connection in connections if viewer.can_see(connection))


def get_connections(ctx: OperationContext) -> MockResponse:
    """Creation order (oldest first), so pages stay stable while connections are added."""
    _, organization, user = organization_of(ctx)
    provider = ctx.query.get("connection_provider") or None
    offset = max(0, int(ctx.query["offset"]))
    limit = max(0, int(ctx.query["limit"]))
    connections = _visible(organization, Viewer(organization, user))
    if provider is not None:
        connections = (c for c in connections if c.provider_id == provider)
    # The spec sets no maximum: an offset or limit beyond any list just means "to the end".
    page = islice(connections, min(offset, sys.maxsize), min(offset + limit, sys.maxsize))
    return MockResponse(200, [connection_json(organization, c) for c in page])


def get_paginated_connections(ctx: OperationContext) -> MockResponse:
    state, organization, user = organization_of(ctx)
    raw_filters: Mapping[str, Any] = ctx.query.get("filters") or {}
    filters, violations = parse_filters(raw_filters)
    if violations:
        raise invalid(violations)
    offset = max(0, int(ctx.query["offset"]))
    limit = max(0, int(ctx.query["limit"]))
    sort_by, sort_dir = str(ctx.query["sort_by"]), str(ctx.query["sort_dir"])
    viewer = Viewer(organization, user)
    if viewer.is_org_admin:  # sees everything: the matches depend on the filters only
        checks: list[Predicate] = []
        cache_key: Hashable | None = tuple(sorted((key, repr(value)) for key, value in raw_filters.items()))
    else:  # what a member sees changes with RBAC grants, which the index does not follow: never cached
        checks, cache_key = [viewer.can_see], None
    matches = index_of(state, organization).matches(
        state, organization, sort_by, sort_dir == "desc", filters, checks, cache_key
    )
    total = matches.total
    page = matches.page(offset, limit)
    has_more = limit > 0 and offset + len(page) < total
    meta = {
        "sort_by": sort_by,
        "sort_dir": sort_dir,
        "filters": {item.key: item.value for item in filters},
        "count": len(page),
        "has_more": has_more,
        "next_offset": offset + limit if has_more else None,
        "previous_offset": max(0, offset - limit) if offset > 0 and limit > 0 else None,
    }
    body = {
        "status_code": 200,
        "response_code": "OK",
        "meta": meta,
        "data": [connection_json(organization, c) for c in page],
        "offset": offset,
        "limit": limit,
        "total": total,
    }
    return MockResponse(200, body)


def checked_entry(body: Mapping[str, Any]) -> CatalogueEntry:
    """The catalogue entry of a create/update body; 422 with exact `loc`s otherwise."""
    entry, violations = resolve(body.get("provider_id"), body.get("connection_type_id"))
    if entry is not None and entry.connection_type == CREDENTIALS:
        violations += check_params(entry, body["connection_provider_data"])
    if violations or entry is None:
        raise invalid(violations)
    return entry


def check_room(state: StackAiState, organization: Organization) -> None:
    """Refuse (409) a new connection for an organization that holds `state.max_connections` already."""
    if len(organization.connections) >= state.max_connections:
        raise Problem(409, f"An organization holds at most {state.max_connections} connections", "conflict")


def new_connection(
    state: StackAiState,
    organization: Organization,
    user_id: str,
    *,
    name: str,
    entry: CatalogueEntry,
    data: dict[str, Any],
) -> Connection:
    """Stores a new connection: the creator is its admin, no org-level role (private until shared)."""
    check_room(state, organization)
    connection_id = state.next_connection_id()
    with writing(state, organization, connection_id):
        created_at = state.clock.tick()
        connection = Connection(
            connection_id=connection_id,
            org_id=organization.org_id,
            name=name,
            provider_id=entry.provider_id,
            connection_type_id=entry.connection_type_id,
            provider_data=data,
            created_at=created_at,
            updated_at=created_at + 10 + state.clock.rand.below(60),
            created_by=user_id,
            updated_by=user_id,
            org_level_role=None,
            user_roles={"admin": [user_id]},
            group_roles={},
            tree=Rand.of(state.tree_key(connection_id), "size").weighted(TREE_WEIGHTS),
        )
        organization.connections[connection_id] = connection
    return connection


def create_connection(ctx: OperationContext) -> MockResponse:
    state, organization, user = organization_of(ctx)
    body = ctx.body
    entry = checked_entry(body)
    connection = new_connection(
        state,
        organization,
        user.user_id,
        name=body.get("name", DEFAULT_NAME),
        entry=entry,
        data=dict(body["connection_provider_data"]),
    )
    return MockResponse(201, connection_json(organization, connection))


def refresh_tokens(state: StackAiState, connection: Connection) -> None:
    """`refresh_oauth_tokens=true`: a new access token (the refresh token stays, as with Google)."""
    entry = BY_TYPE.get(connection.connection_type_id)
    if entry is None or entry.oauth is None or not connection.provider_data.get("refresh_token"):
        return
    organization = state.organizations[connection.org_id]
    with writing(state, organization, connection.connection_id):
        connection.refreshes += 1
        rand = Rand.of("stack-ai", state.seed, "refresh", connection.connection_id, connection.refreshes)
        connection.provider_data["access_token"] = entry.oauth.access_prefix + rand.text(
            entry.oauth.access_length
        )
        connection.updated_at = state.clock.tick()


def get_connection_by_id(ctx: OperationContext) -> MockResponse:
    state, organization, connection, _ = load(ctx)
    if ctx.query.get("refresh_oauth_tokens"):
        refresh_tokens(state, connection)
    return MockResponse(200, connection_json(organization, connection))


def _secrets(data: Mapping[str, Any]) -> dict[str, Any]:
    return {key: value for key, value in data.items() if is_secret_key(key)}


def update_connection(ctx: OperationContext) -> MockResponse:
    """PUT replaces name, provider, type and data; a secret sent back masked keeps its stored value."""
    state, organization, connection, user = load(ctx, need="editor")
    body = ctx.body
    entry = checked_entry(body)
    data = merge_secrets(body["connection_provider_data"], connection.provider_data)
    if _secrets(data) != _secrets(connection.provider_data):
        connection.health_issue = None  # new credentials: the provider accepts them again
        connection.health_forced = False  # and the health is derived from them again
    with writing(state, organization, connection.connection_id):
        connection.name = body.get("name", DEFAULT_NAME)
        connection.provider_id = entry.provider_id
        connection.connection_type_id = entry.connection_type_id
        connection.provider_data = data
        connection.updated_at = state.clock.tick()
        connection.updated_by = user.user_id
    return MockResponse(200, connection_json(organization, connection))


def patch_connection(ctx: OperationContext) -> MockResponse:
    state, organization, connection, user = load(ctx, need="editor")
    with writing(state, organization, connection.connection_id):
        connection.name = ctx.body["name"]
        connection.updated_at = state.clock.tick()
        connection.updated_by = user.user_id
    return MockResponse(200, connection_json(organization, connection))


def delete_connection(ctx: OperationContext) -> MockResponse:
    state, organization, connection, _ = load(ctx, need="admin")
    with writing(state, organization, connection.connection_id):
        del organization.connections[connection.connection_id]
    organization.rendered.discard(connection.connection_id)
    # Inferred: the knowledge bases built from a connection go with it (their files come from it).
    for kb_id in [
        k for k, kb in organization.knowledge_bases.items() if kb.connection_id == connection.connection_id
    ]:
        del organization.knowledge_bases[kb_id]
    return MockResponse(204, NO_BODY)


def _health_problem(connection: Connection) -> str | None:
    if connection.health_issue:
        return connection.health_issue
    if connection.health_forced:
        return None
    entry = BY_TYPE.get(connection.connection_type_id)
    if entry is None:
        return f"Unknown connection type '{connection.connection_type_id}'."
    if entry.oauth is not None and not connection.provider_data.get("access_token"):
        return "No OAuth tokens are stored; complete the OAuth flow to authorize this connection."
    missing: list[Violation] = check_params(entry, connection.provider_data, at=())
    if missing:
        names = ", ".join(str(violation.location[0]) for violation in missing)
        return f"Invalid or missing parameters: {names}."
    return None


def health_json(state: StackAiState, connection: Connection) -> dict[str, Any]:
    problem = _health_problem(connection)
    return {
        "status": "unhealthy" if problem else "healthy",
        "checked_at": iso(max(state.clock.now, connection.updated_at)),
        "provider_id": connection.provider_id,
        "connection_id": connection.connection_id,
        "message": problem,
    }


def get_connection_health(ctx: OperationContext) -> MockResponse:
    """Inferred: `unhealthy` when credentials are missing or were seeded as revoked, `healthy` otherwise.

    The mock-only route of `_health.py` can force either answer.
    """
    state, _, connection, _ = load(ctx)
    return MockResponse(200, health_json(state, connection))
