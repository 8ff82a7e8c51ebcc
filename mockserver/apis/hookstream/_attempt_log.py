"""Stored delivery attempts: per organization, oldest first, indexed by event, connection and destination.

Bounded: at most `retention` attempts per organization (default `DEFAULT_ATTEMPT_RETENTION`); the oldest go
first, with their indexes. An event's attempts also go with the event (`drop_event`, when event retention
drops it), so attempts never outlive what they delivered. A page of `GET /delivery-attempts` unfiltered or
filtered by one id costs O(offset + limit) (the index holds the filter's attempts, newest read first);
`status` and `is_dlq` filters scan the chosen index (at most the retention bound).
"""

from __future__ import annotations

from collections import deque
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, fields
from typing import Any

__all__ = [
    "DEFAULT_ATTEMPT_RETENTION",
    "AttemptLog",
    "AttemptPage",
    "DeliveryAttempt",
    "attempt_as_plain",
]

DEFAULT_ATTEMPT_RETENTION = 10_000
"""Delivery attempts kept per organization; the oldest are dropped first."""

PENDING, SUCCESS, FAILED = "pending", "success", "failed"


@dataclass(slots=True)
class DeliveryAttempt:
    """One delivery of one event over one connection (headers in clear; masked when presented)."""

    id: str
    seq: int
    org_id: str
    env_id: str
    event_id: str
    connection_id: str
    destination_id: str
    request_url: str
    request_method: str
    request_headers: dict[str, str] | None
    request_body_size: int
    response_status: int | None
    response_headers: dict[str, str] | None
    response_body: str | None
    duration_ms: int | None
    status: str
    error: str | None
    created_at: str
    attempt_number: int
    next_retry_at: str | None
    is_dlq: bool
    dlq_at: str | None
    trigger_type: str
    connection_name: str | None
    destination_name: str | None
    held: bool = False
    """Waiting for the destination's circuit to let it through (status `pending`)."""


def attempt_as_plain(attempt: DeliveryAttempt) -> dict[str, Any]:
    return {item.name: getattr(attempt, item.name) for item in fields(DeliveryAttempt)}


def _remove_identical(items: deque[DeliveryAttempt], attempt: DeliveryAttempt) -> None:
    """`items.remove(attempt)` by identity (attempts compare field by field), searching from the oldest."""
    for position, item in enumerate(items):
        if item is attempt:
            del items[position]
            return


@dataclass(frozen=True, slots=True)
class AttemptPage:
    attempts: list[DeliveryAttempt]
    total: int


class AttemptLog:
    """Every organization's attempts, a lookup by id, and per-event, -connection and -destination indexes."""

    def __init__(self, *, retention: int = DEFAULT_ATTEMPT_RETENTION) -> None:
        self.retention = retention
        self.next_seq = 1
        self._by_id: dict[str, DeliveryAttempt] = {}
        self._by_org: dict[str, deque[DeliveryAttempt]] = {}
        self._by_event: dict[str, list[DeliveryAttempt]] = {}
        """Each event's attempts, oldest first (a few each: a list costs less than a deque)."""
        self._by_key: dict[tuple[str, str], deque[DeliveryAttempt]] = {}
        """Each connection's and destination's attempts, oldest first."""

    def __len__(self) -> int:
        return len(self._by_id)

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, AttemptLog):
            return NotImplemented
        mine = (self.retention, self.next_seq, list(self.chronological()))
        return mine == (other.retention, other.next_seq, list(other.chronological()))

    __hash__ = None  # type: ignore[assignment]

    def __contains__(self, attempt_id: object) -> bool:
        return attempt_id in self._by_id

    def find(self, attempt_id: str) -> DeliveryAttempt | None:
        return self._by_id.get(attempt_id)

    def get(self, org_id: str, attempt_id: str) -> DeliveryAttempt | None:
        found = self._by_id.get(attempt_id)
        return found if found is not None and found.org_id == org_id else None

    @staticmethod
    def _keys(attempt: DeliveryAttempt) -> tuple[tuple[str, str], ...]:
        return (("connection_id", attempt.connection_id), ("destination_id", attempt.destination_id))

    def add(self, attempt: DeliveryAttempt) -> list[DeliveryAttempt]:
        """Store an attempt; returns those retention dropped (oldest first)."""
        self.next_seq = max(self.next_seq, attempt.seq + 1)
        org = self._by_org.setdefault(attempt.org_id, deque())
        org.append(attempt)
        self._by_id[attempt.id] = attempt
        self._by_event.setdefault(attempt.event_id, []).append(attempt)
        for key in self._keys(attempt):
            self._by_key.setdefault(key, deque()).append(attempt)
        dropped = []
        while len(org) > self.retention:
            oldest = org.popleft()
            del self._by_id[oldest.id]
            # Appended in the same order, so the organization's oldest is the first of each index too.
            self._unindex_first(self._by_event, oldest.event_id)
            for key in self._keys(oldest):
                self._unindex_first(self._by_key, key)
            dropped.append(oldest)
        return dropped

    @staticmethod
    def _unindex_first(indexes: dict[Any, Any], key: Any) -> None:
        index = indexes[key]
        if len(index) == 1:
            del indexes[key]
        elif isinstance(index, deque):
            index.popleft()
        else:
            del index[0]

    def drop_event(self, event_id: str) -> list[DeliveryAttempt]:
        """Remove an event's attempts (the event is gone); returns them. Cheap for old events: their attempts
        sit near the front of each index, where the search starts."""
        gone = self._by_event.pop(event_id, [])
        for attempt in gone:
            del self._by_id[attempt.id]
            org = self._by_org[attempt.org_id]
            _remove_identical(org, attempt)
            if not org:
                del self._by_org[attempt.org_id]
            for key in self._keys(attempt):
                index = self._by_key[key]
                _remove_identical(index, attempt)
                if not index:
                    del self._by_key[key]
        return gone

    def of_event(self, event_id: str) -> list[DeliveryAttempt]:
        return list(self._by_event.get(event_id, ()))

    def latest(self, event_id: str, connection_id: str) -> DeliveryAttempt | None:
        """The newest attempt of the event over this connection: the one a due retry must still be."""
        for attempt in reversed(self._by_event.get(event_id, ())):
            if attempt.connection_id == connection_id:
                return attempt
        return None

    def chronological(self) -> Iterator[DeliveryAttempt]:
        for org in self._by_org.values():
            yield from org

    def page(
        self,
        org_id: str,
        *,
        index: tuple[str, str] | None = None,
        predicate: Callable[[DeliveryAttempt], bool] | None = None,
        limit: int,
        offset: int,
    ) -> AttemptPage:
        """Newest first; `index` is one `(field, id)` filter served from its index, `predicate` the rest."""
        items: Sequence[DeliveryAttempt] | None
        if index is None:
            items = self._by_org.get(org_id)
        elif index[0] == "event_id":
            items = self._by_event.get(index[1])
        else:
            items = self._by_key.get(index)
        if items and items[0].org_id != org_id:
            items = [a for a in items if a.org_id == org_id]
        if not items:
            return AttemptPage([], 0)
        if predicate is None:
            total = len(items)
            end = total - offset
            start = max(0, end - limit)
            found = [items[i] for i in range(end - 1, start - 1, -1)] if end > 0 else []
            return AttemptPage(found, total)
        matching = [attempt for attempt in reversed(items) if predicate(attempt)]
        return AttemptPage(matching[offset : offset + limit], len(matching))
