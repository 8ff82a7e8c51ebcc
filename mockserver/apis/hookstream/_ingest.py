"""`/ingest/{source_id}` (public, any method): check, store and route one event; and health."""

from __future__ import annotations

from ..._api import NO_BODY, MockResponse, OperationContext, Problem
from ._common import json_response, state_of, store_of
from ._receive import Received, receive
from ._state import ANONYMOUS, rate_limited
from ._store import Store

__all__ = ["get_health", "ingest_bucket", "ingest_event"]


def ingest_bucket(store: Store, source_id: str) -> str:
    """Ingest counts against the organization that owns the source."""
    source = store.sources.get(source_id)
    return source.org_id if source is not None else ANONYMOUS


@rate_limited(lambda ctx: ingest_bucket(store_of(ctx), ctx.path["source_id"]))
def ingest_event(ctx: OperationContext) -> MockResponse | Problem:
    state = state_of(ctx)
    request = Received(
        method=ctx.operation.method.upper(),
        raw=ctx.raw_body,
        headers=ctx.raw_headers,
        query=ctx.raw_query,
        client_host=ctx.client_host,
        parsed=ctx.body if not isinstance(ctx.body, bytes) else NO_BODY,
    )
    outcome = receive(state.store, ctx.path["source_id"], request)
    if outcome.event is not None:
        state.stream.publish(outcome.event, state.store)
        if outcome.event.matched_connections:
            state.deliveries.deliver(outcome.event)
    if outcome.refusal is not None:
        return outcome.refusal
    return json_response(200, outcome.result)


@rate_limited()
def get_health(ctx: OperationContext) -> MockResponse | Problem:
    return json_response(200, {"status": "ok", "timestamp": state_of(ctx).store.now()})
