"""`GET /events` and `GET /events/{id}`: the stored events of the caller's organization, newest first."""

from __future__ import annotations

import base64
import binascii
from collections.abc import Mapping
from datetime import datetime
from typing import Any

from ..._api import MockResponse, OperationContext, Problem
from ._common import caller_of, json_response, not_found, store_of
from ._event_log import INDEXED, Predicate, StoredEvent
from ._event_view import event_detail, event_item
from ._state import rate_limited

__all__ = ["decode_cursor", "encode_cursor", "get_event", "list_events"]

DEFAULT_LIMIT = 50
_CURSOR_PREFIX = "evt:"


def encode_cursor(seq: int) -> str:
    return base64.urlsafe_b64encode(f"{_CURSOR_PREFIX}{seq}".encode()).decode().rstrip("=")


def decode_cursor(cursor: str) -> int | None:
    try:
        text = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)).decode()
    except (binascii.Error, ValueError):
        return None
    number = text.removeprefix(_CURSOR_PREFIX)
    if not text.startswith(_CURSOR_PREFIX) or not number.isdigit() or len(number) > 18:
        return None
    return int(number)


def _moment(text: str) -> datetime:
    return datetime.fromisoformat(text)


def _field_equals(name: str, wanted: Any) -> Predicate:
    return lambda event: bool(getattr(event, name) == wanted)


def _predicate(query: Mapping[str, Any]) -> Predicate | None:
    checks: list[Predicate] = []
    if "status" in query:  # the lifecycle moves on after storage: not indexed
        checks.append(_field_equals("status", query["status"]))
    if query.get("search"):
        needle = str(query["search"]).casefold()
        checks.append(lambda event: needle in event.body.casefold())
    if "after" in query:
        after = _moment(query["after"])
        checks.append(lambda event: _moment(event.received_at) > after)
    if "before" in query:
        before = _moment(query["before"])
        checks.append(lambda event: _moment(event.received_at) < before)
    if not checks:
        return None
    return lambda event: all(check(event) for check in checks)


@rate_limited()
def list_events(ctx: OperationContext) -> MockResponse | Problem:
    store = store_of(ctx)
    caller = caller_of(ctx)
    query = ctx.query
    limit = query.get("limit", DEFAULT_LIMIT)
    offset = query.get("offset", 0)
    cursor = None
    if "cursor" in query:
        cursor = decode_cursor(query["cursor"])
        if cursor is None:  # well-formed (the spec's pattern) but not one this server made
            return Problem(404, f"Cursor not found: {query['cursor']}", "resource_not_found")
    if query.get("org_id", caller.org_id) != caller.org_id:
        page_events: list[StoredEvent] = []
        total, start, has_more, has_newer = 0, 0, False, False
    else:
        page = store.events.page(
            caller.org_id,
            equal={name: query[name] for name in INDEXED if name in query},
            predicate=_predicate(query),
            limit=limit,
            offset=offset,
            cursor=cursor,
            newer=query.get("direction") == "prev",
        )
        page_events, total, start, has_more, has_newer = (
            page.events,
            page.total,
            page.offset,
            page.has_more,
            page.has_newer,
        )
    pagination = {
        "total": total,
        "limit": limit,
        "offset": start,
        "has_more": has_more,
        "next_cursor": encode_cursor(page_events[-1].seq) if has_more and page_events else None,
        "prev_cursor": encode_cursor(page_events[0].seq) if has_newer and page_events else None,
    }
    return json_response(
        200, {"events": [event_item(event, store) for event in page_events], "pagination": pagination}
    )


@rate_limited()
def get_event(ctx: OperationContext) -> MockResponse | Problem:
    store = store_of(ctx)
    event = store.events.get(caller_of(ctx).org_id, ctx.path["id"])
    if event is None:
        return not_found("Event")
    return json_response(200, {"event": event_detail(event, store)})
