"""Events as the API shows them: the list item, and the detail with headers, query and payload."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any
from urllib.parse import parse_qsl

from ..._jsontext import decode_json
from ._event_log import INLINE_LIMIT, StoredEvent
from ._store import Store

__all__ = ["event_detail", "event_item", "parsed_payload", "text_payload"]

_FORM = "application/x-www-form-urlencoded"
_CREDENTIAL_HEADERS = frozenset({"authorization", "proxy-authorization", "cookie", "x-api-key"})


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


def _masked_headers(headers: Mapping[str, str]) -> dict[str, str]:
    """Headers as received, but credentials a sender should never have posted are masked."""
    return {
        name: ("****" + value[-4:] if len(value) >= 12 else "****") if name in _CREDENTIAL_HEADERS else value
        for name, value in headers.items()
    }


def event_item(event: StoredEvent, store: Store) -> dict[str, Any]:
    source = store.sources.get(event.source_id)
    return {
        "id": event.id,
        "source_id": event.source_id,
        "org_id": event.org_id,
        "env_id": event.env_id,
        "method": event.method,
        "content_type": event.content_type,
        "source_ip": event.source_ip,
        "payload_size": event.payload_size,
        "verification_status": event.verification_status,
        "dedup_status": event.dedup_status,
        "status": event.status,
        "received_at": event.received_at,
        "source_name": source.name if source is not None else None,
        "source_slug": source.slug if source is not None else None,
    }


def _payload(event: StoredEvent) -> Any:
    """The body as filter rules read it: JSON parsed, a form as an object, other text as text."""
    if not event.body:
        return None
    if (
        event.content_type is None
        or event.content_type == "application/json"
        or event.content_type.endswith("+json")
    ):
        try:
            return decode_json(event.body)
        except ValueError:
            return event.body
    return text_payload(event.body.encode(), event.content_type)


def parsed_payload(event: StoredEvent) -> Any:
    """The body as filter rules and transforms read it."""
    return _payload(event)


def event_detail(event: StoredEvent, store: Store) -> dict[str, Any]:
    inline = event.payload_size < INLINE_LIMIT
    return event_item(event, store) | {
        "headers": _masked_headers(event.headers),
        "query_params": dict(event.query_params),
        "payload_inline": event.body if inline and event.body else None,
        "payload_ref": None if inline else f"events/{event.org_id}/{event.id}",
        "payload": _payload(event),
        "verification_error": event.verification_error,
        "dedup_hash": event.dedup_hash,
        "topic": None,
    }
