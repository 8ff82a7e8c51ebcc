"""Sources: CRUD, templates, slug uniqueness per environment, and the in-use guard on delete."""

from __future__ import annotations

from typing import Any

from ..._api import MockResponse, OperationContext, Problem
from ._common import caller_of, deleted, in_use, json_response, not_found, slug_conflict, state_of, store_of
from ._present import source_body
from ._state import rate_limited
from ._store import Source
from ._templates import BY_ID, TEMPLATES


@rate_limited()
def list_sources(ctx: OperationContext) -> MockResponse | Problem:
    store = store_of(ctx)
    caller = caller_of(ctx)
    query = ctx.query
    if query.get("org_id", caller.org_id) != caller.org_id:
        return json_response(200, {"sources": []})
    found = [
        source_body(s, base_url=ctx.base_url)
        for s in store.sources.values()
        if s.org_id == caller.org_id
        and all(name not in query or getattr(s, name) == query[name] for name in ("env_id", "status"))
    ]
    return json_response(200, {"sources": found})


@rate_limited()
def list_source_templates(ctx: OperationContext) -> MockResponse | Problem:
    caller_of(ctx)
    return json_response(200, {"templates": [template.body() for template in TEMPLATES]})


@rate_limited()
def create_source(ctx: OperationContext) -> MockResponse | Problem:
    store = store_of(ctx)
    caller = caller_of(ctx)
    body: dict[str, Any] = ctx.body
    taken = slug_conflict(
        "source", store.sources.values(), org_id=caller.org_id, env_id=caller.env_id, slug=body["slug"]
    )
    if taken is not None:
        return taken
    refused = state_of(ctx).plan.refusal("source", store.held("source", caller.org_id))
    if refused is not None:
        return refused
    template = BY_ID.get(body.get("template", ""))
    secret = body.get("verification_secret")
    verification_type = body.get("verification_type", template.verification_type if template else None)
    now = store.tick()
    source = Source(
        id=store.new_id("source"),
        org_id=caller.org_id,
        env_id=caller.env_id,
        name=body["name"],
        slug=body["slug"],
        description=body.get("description"),
        template=body.get("template"),
        type=body.get("type", "http"),
        status="active",
        source_config=body.get("source_config"),
        verification_enabled=body.get("verification_enabled", secret is not None),
        verification_type=verification_type,
        verification_secret=secret,
        verification_header=body.get(
            "verification_header", template.verification_header if template else None
        ),
        dedup_enabled=body.get("dedup_enabled", False),
        dedup_strategy=body.get("dedup_strategy"),
        dedup_field=body.get("dedup_field"),
        dedup_window_seconds=body.get("dedup_window_seconds"),
        ip_allowlist=body.get("ip_allowlist"),
        ip_denylist=body.get("ip_denylist"),
        event_count=0,
        created_at=now,
        updated_at=now,
    )
    store.sources[source.id] = source
    return json_response(201, {"source": source_body(source, base_url=ctx.base_url)})


def _owned(ctx: OperationContext) -> Source:
    source = store_of(ctx).source(caller_of(ctx).org_id, ctx.path["id"])
    if source is None:
        raise not_found("Source")
    return source


@rate_limited()
def get_source(ctx: OperationContext) -> MockResponse | Problem:
    return json_response(200, {"source": source_body(_owned(ctx), base_url=ctx.base_url)})


@rate_limited()
def update_source(ctx: OperationContext) -> MockResponse | Problem:
    store = store_of(ctx)
    source = _owned(ctx)
    changes: dict[str, Any] = dict(ctx.body)
    slug = changes.get("slug")
    taken = slug is not None and slug_conflict(
        "source",
        store.sources.values(),
        org_id=source.org_id,
        env_id=source.env_id,
        slug=slug,
        other_than=source.id,
    )
    if taken:
        return taken
    for name, value in changes.items():
        setattr(source, name, value)
    source.updated_at = store.tick()
    return json_response(200, {"source": source_body(source, base_url=ctx.base_url)})


@rate_limited()
def delete_source(ctx: OperationContext) -> MockResponse | Problem:
    store = store_of(ctx)
    source = _owned(ctx)
    users = store.connections_using(source_id=source.id)
    if users:
        return in_use("Source", users)
    del store.sources[source.id]
    store.events.forget_dedup(source.id)
    return deleted()
