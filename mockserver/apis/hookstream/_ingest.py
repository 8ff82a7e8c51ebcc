"""`POST /ingest/{source_id}` (public): route one event through the source's connections; and health."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any
from urllib.parse import parse_qsl

from ..._api import NO_BODY, MockResponse, OperationContext, Problem
from ..._jsontext import decode_json
from ._common import json_response, not_found, state_of, store_of
from ._filters import Event, rules_match
from ._state import ANONYMOUS, rate_limited
from ._store import Store

_FORM = "application/x-www-form-urlencoded"


def media_type(headers: Mapping[str, str]) -> str | None:
    header = headers.get("content-type")
    return None if header is None else header.split(";")[0].strip().lower()


def text_payload(raw: bytes, content_type: str | None) -> Any:
    """A non-JSON body as rules see it: a form as an object of strings; other text that parses as JSON
    (AWS SNS, say, posts JSON as `text/plain`) as that JSON; anything else as the text itself."""
    text = raw.decode("utf-8", errors="replace")
    if content_type == _FORM:
        return dict(parse_qsl(text, keep_blank_values=True))
    try:
        return decode_json(text)
    except ValueError:
        return text


def source_ip(headers: Mapping[str, str], client_host: str) -> str:
    """The first `X-Forwarded-For` address, else the peer's."""
    return headers.get("x-forwarded-for", "").split(",")[0].strip() or client_host


def make_event(body: Any, headers: Mapping[str, str], client_host: str) -> Event:
    """`body` is the parsed JSON, raw bytes (other content types) or `NO_BODY`."""
    content_type = media_type(headers)
    if isinstance(body, bytes):
        body = text_payload(body, content_type) if body else NO_BODY
    return Event(
        payload=None if body is NO_BODY else body,
        has_payload=body is not NO_BODY,
        headers=dict(headers),
        method="POST",
        content_type=content_type,
        source_ip=source_ip(headers, client_host),
    )


def ingest_bucket(store: Store, source_id: str) -> str:
    """Ingest counts against the organization that owns the source."""
    source = store.sources.get(source_id)
    return source.org_id if source is not None else ANONYMOUS


def route_event(store: Store, source_id: str, event: Event) -> dict[str, Any] | None:
    """Count the event and route it; `None` when no source has this id (nothing changes then)."""
    source = store.sources.get(source_id)
    if source is None:
        return None
    event_id = store.new_id("event")
    now = store.tick()
    source.event_count += 1
    matched: list[str] = []
    filtered: list[str] = []
    if source.status == "active":
        for connection in store.connections.values():
            if connection.source_id != source.id or not connection.enabled or connection.status != "active":
                continue
            if rules_match(connection.filter_rules, event):
                connection.event_count += 1
                connection.last_event_at = now
                matched.append(connection.id)
            else:
                filtered.append(connection.id)
    return {
        "accepted": True,
        "event_id": event_id,
        "source_id": source.id,
        "matched_connections": matched,
        "filtered_connections": filtered,
    }


@rate_limited(lambda ctx: ingest_bucket(store_of(ctx), ctx.path["source_id"]))
def ingest_event(ctx: OperationContext) -> MockResponse | Problem:
    event = make_event(ctx.body, ctx.raw_headers, ctx.client_host)
    result = route_event(store_of(ctx), ctx.path["source_id"], event)
    return not_found("Source") if result is None else json_response(200, result)


@rate_limited()
def get_health(ctx: OperationContext) -> MockResponse | Problem:
    return json_response(200, {"status": "ok", "timestamp": state_of(ctx).store.now()})
