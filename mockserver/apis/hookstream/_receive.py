"""Receiving one request at an ingest URL: IP lists, verification, dedup, storage and routing.

Plain functions of the store; `_ingest` is the HTTP behaviour around them and `_seed_events` sends the
seeded history through them.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from ..._api import NO_BODY, Problem
from ._event_log import StoredEvent, mock_now
from ._event_view import text_payload
from ._filters import Event, rules_match
from ._store import Source, Store, format_time
from ._verify import DEFAULT_DEDUP_WINDOW, FAILED, SKIPPED, blocked_ip, dedup_key, verify

__all__ = ["DUPLICATE", "UNIQUE", "Outcome", "Received", "make_event", "media_type", "receive", "source_ip"]

DUPLICATE, UNIQUE = "duplicate", "unique"


def media_type(headers: Mapping[str, str]) -> str | None:
    header = headers.get("content-type")
    return None if header is None else header.split(";")[0].strip().lower()


def source_ip(headers: Mapping[str, str], client_host: str) -> str:
    """The first `X-Forwarded-For` address, else the peer's."""
    return headers.get("x-forwarded-for", "").split(",")[0].strip() or client_host


def make_event(body: Any, headers: Mapping[str, str], client_host: str, *, method: str = "POST") -> Event:
    """`body` is the parsed JSON, raw bytes (other content types) or `NO_BODY`."""
    content_type = media_type(headers)
    if isinstance(body, bytes):
        body = text_payload(body, content_type) if body else NO_BODY
    return Event(
        payload=None if body is NO_BODY else body,
        has_payload=body is not NO_BODY,
        headers=dict(headers),
        method=method,
        content_type=content_type,
        source_ip=source_ip(headers, client_host),
    )


def _route(store: Store, source: Source, event: Event, now: str) -> tuple[list[str], list[str]]:
    matched: list[str] = []
    filtered: list[str] = []
    for connection in store.connections.values():
        if connection.source_id != source.id or not connection.enabled or connection.status != "active":
            continue
        if rules_match(connection.filter_rules, event):
            connection.event_count += 1
            connection.last_event_at = now
            matched.append(connection.id)
        else:
            filtered.append(connection.id)
    return matched, filtered


@dataclass(frozen=True, slots=True)
class Received:
    """One request to an ingest URL, as ingest reads it."""

    method: str
    raw: bytes
    headers: Mapping[str, str]
    query: Sequence[tuple[str, str]]
    client_host: str
    parsed: Any = NO_BODY
    """The body the engine parsed (JSON), or `NO_BODY` to parse it here."""


@dataclass(frozen=True, slots=True)
class Outcome:
    """What ingest did: the stored event (if any), and the refusal or the result to answer with."""

    event: StoredEvent | None
    result: dict[str, Any] | None = None
    refusal: Problem | None = None


def receive(store: Store, source_id: str, request: Received, *, at: datetime | None = None) -> Outcome:
    """Check, store and route one event; an unknown source or a blocked IP stores nothing.

    `at` is when the event arrived for seeded history; a live request arrives at the mock's time.
    """
    source = store.sources.get(source_id)
    if source is None:
        return Outcome(None, refusal=Problem(404, "Source not found", "resource_not_found"))
    body: Any = request.parsed if request.parsed is not NO_BODY else request.raw
    event = make_event(body, request.headers, request.client_host, method=request.method)
    blocked = blocked_ip(source, event.source_ip)
    if blocked is not None:
        return Outcome(None, refusal=Problem(403, blocked, "ip_blocked"))
    now = mock_now(store) if at is None else at
    verdict = verify(source, request.raw, request.headers, now=now)
    dedup_hash = None
    duplicate = False
    if source.dedup_enabled and verdict.status != FAILED:  # a refused request is not deduplicated
        dedup_hash = dedup_key(source, request.raw, request.headers, event.payload)
        window = source.dedup_window_seconds or DEFAULT_DEDUP_WINDOW
        if dedup_hash is not None:
            duplicate = store.events.seen_within(source.id, dedup_hash, now=now.timestamp(), window=window)
            if not duplicate:
                store.events.remember(source.id, dedup_hash, now=now.timestamp())
    event_id = store.new_id("event")
    received_at = store.tick() if at is None else format_time(at)
    source.event_count += 1
    matched: list[str] = []
    filtered: list[str] = []
    if verdict.status != FAILED and not duplicate and source.status == "active":
        matched, filtered = _route(store, source, event, received_at)
    stored = StoredEvent(
        id=event_id,
        seq=store.events.next_seq,
        org_id=source.org_id,
        env_id=source.env_id,
        source_id=source.id,
        method=request.method,
        content_type=event.content_type,
        source_ip=event.source_ip or None,
        payload_size=len(request.raw),
        headers=dict(request.headers),
        query_params=dict(request.query),
        body=request.raw.decode("utf-8", errors="replace"),
        verification_status=verdict.status,
        verification_error=verdict.error,
        dedup_status=(DUPLICATE if duplicate else UNIQUE) if dedup_hash is not None else SKIPPED,
        dedup_hash=dedup_hash,
        status="processing" if matched else "received",
        received_at=received_at,
        matched_connections=matched,
    )
    store.keep_event(stored)
    if verdict.status == FAILED:
        return Outcome(
            stored, refusal=Problem(401, verdict.error or "Invalid signature", "verification_failed")
        )
    result = {
        "event_id": event_id,
        "source_id": source.id,
        "accepted": True,
        "duplicate": duplicate,
        "matched_connections": matched,
        "filtered_connections": filtered,
    }
    return Outcome(stored, result=result)
