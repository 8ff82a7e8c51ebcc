"""Stored events: per organization, oldest first, with a per-source index and a retention bound.

Pages are read newest first. An unfiltered page, a page filtered on one field that never changes
(`INDEXED`: source, verification, dedup, method) and every cursor step on them cost O(limit + log n):
positions are found by bisecting on the event's sequence number, which grows with every stored event.
Other filters (and combinations) scan the smallest matching index (at most the retention bound).
"""

from __future__ import annotations

import bisect
from collections import OrderedDict
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field, fields, replace
from datetime import datetime
from typing import TYPE_CHECKING, Any, cast

if TYPE_CHECKING:
    from ._store import Store

__all__ = [
    "DEFAULT_RETENTION",
    "INDEXED",
    "EventLog",
    "Page",
    "StoredEvent",
    "as_plain",
    "mock_now",
]

DEFAULT_RETENTION = 1000
"""Events kept per organization unless `--event-retention` says otherwise; the oldest go first."""

INLINE_LIMIT = 10 * 1024
"""Bodies under 10 KB are shown inline (`payload_inline`); larger ones get a `payload_ref`."""


def mock_now(store: Store) -> datetime:
    """The mock's current time, read only through the store's clock accessor."""
    return datetime.fromisoformat(store.now())


@dataclass(slots=True)
class StoredEvent:
    """One received request, kept as it arrived (headers in clear, body as text)."""

    id: str
    seq: int
    org_id: str
    env_id: str
    source_id: str
    method: str
    content_type: str | None
    source_ip: str | None
    payload_size: int
    headers: dict[str, str]
    query_params: dict[str, str]
    body: str
    verification_status: str
    verification_error: str | None
    dedup_status: str
    dedup_hash: str | None
    status: str
    received_at: str
    matched_connections: list[str] = field(default_factory=list)


_GONE = cast(StoredEvent, None)
"""What a trimmed slot holds until the list is compacted."""


class _Sequence:
    """Events in increasing `seq`, trimmed from the front in amortized O(1)."""

    __slots__ = ("_head", "_items", "_seqs")

    def __init__(self) -> None:
        self._items: list[StoredEvent] = []
        self._seqs: list[int] = []
        self._head = 0

    def __len__(self) -> int:
        return len(self._items) - self._head

    def append(self, event: StoredEvent) -> None:
        self._items.append(event)
        self._seqs.append(event.seq)

    def pop_oldest(self) -> StoredEvent:
        event = self._items[self._head]
        self._items[self._head] = _GONE  # released now, not at the next compaction
        self._head += 1
        if self._head > 64 and self._head * 2 > len(self._items):
            del self._items[: self._head]
            del self._seqs[: self._head]
            self._head = 0
        return event

    def oldest(self) -> StoredEvent | None:
        return self._items[self._head] if len(self) else None

    def count_newer(self, seq: int) -> int:
        """How many events have a larger `seq`."""
        return len(self._items) - bisect.bisect_right(self._seqs, seq, lo=self._head)

    def newest_first(self, *, skip: int = 0) -> Iterator[StoredEvent]:
        index = len(self._items) - 1 - skip
        while index >= self._head:
            yield self._items[index]
            index -= 1

    def older_than(self, seq: int) -> Iterator[StoredEvent]:
        index = bisect.bisect_left(self._seqs, seq, lo=self._head) - 1
        while index >= self._head:
            yield self._items[index]
            index -= 1

    def newer_than(self, seq: int, count: int) -> list[StoredEvent]:
        """The `count` events just after `seq` (the closest ones), newest first."""
        start = bisect.bisect_right(self._seqs, seq, lo=self._head)
        return list(reversed(self._items[start : start + count]))

    def chronological(self) -> Iterator[StoredEvent]:
        for index in range(self._head, len(self._items)):
            yield self._items[index]


@dataclass(frozen=True, slots=True)
class Page:
    events: list[StoredEvent]
    total: int
    offset: int
    has_more: bool
    has_newer: bool


Predicate = Callable[[StoredEvent], bool]


class EventLog:
    """Every organization's events, a lookup by id, and each source's dedup window."""

    def __init__(self, *, retention: int = DEFAULT_RETENTION) -> None:
        self.retention = retention
        self.next_seq = 1
        self._by_org: dict[str, _Sequence] = {}
        self._indexes: dict[tuple[str, str, str], _Sequence] = {}
        self._by_id: dict[str, StoredEvent] = {}
        self._dedup: dict[str, OrderedDict[str, float]] = {}

    def __len__(self) -> int:
        return len(self._by_id)

    def __eq__(self, other: object) -> bool:
        """The same events (the dedup windows are derived from them and pruned lazily, so not compared)."""
        if not isinstance(other, EventLog):
            return NotImplemented
        mine = (self.retention, self.next_seq, list(self.chronological()))
        return mine == (other.retention, other.next_seq, list(other.chronological()))

    __hash__ = None  # type: ignore[assignment]

    def __deepcopy__(self, memo: dict[int, Any]) -> EventLog:
        """A copy that shares what is never changed after storage (an event's headers, query and body)."""
        copied = EventLog(retention=self.retention)
        for event in self.chronological():
            copied.add(replace(event, matched_connections=list(event.matched_connections)))
        copied.next_seq = self.next_seq
        copied._dedup = {source: OrderedDict(seen) for source, seen in self._dedup.items()}
        return copied

    def __contains__(self, event_id: object) -> bool:
        return event_id in self._by_id

    def get(self, org_id: str, event_id: str) -> StoredEvent | None:
        found = self._by_id.get(event_id)
        return found if found is not None and found.org_id == org_id else None

    def add(self, event: StoredEvent) -> list[StoredEvent]:
        """Store an event (its `seq` must be `next_seq`); returns the events retention dropped."""
        self.next_seq = max(self.next_seq, event.seq + 1)
        org = self._by_org.setdefault(event.org_id, _Sequence())
        org.append(event)
        for key in _index_keys(event):
            self._indexes.setdefault(key, _Sequence()).append(event)
        self._by_id[event.id] = event
        dropped = []
        while len(org) > self.retention:
            oldest = org.pop_oldest()
            for key in _index_keys(oldest):  # the oldest of the organization is the oldest of each index
                index = self._indexes[key]
                index.pop_oldest()
                if not len(index):
                    del self._indexes[key]
            del self._by_id[oldest.id]
            dropped.append(oldest)
        return dropped

    def chronological(self) -> Iterator[StoredEvent]:
        """Every stored event, oldest first within each organization."""
        for org in self._by_org.values():
            yield from org.chronological()

    # ------------------------------------------------------------------ dedup

    def seen_within(self, source_id: str, key: str, *, now: float, window: int) -> bool:
        """Whether `key` was first seen at this source less than `window` seconds before `now`."""
        seen = self._dedup.get(source_id)
        if not seen:
            return False
        while seen:
            first_key, first_at = next(iter(seen.items()))
            if now - first_at < window:
                break
            del seen[first_key]  # the oldest entry has left the window
        at = seen.get(key)
        return at is not None and now - at < window

    def forget_dedup(self, source_id: str) -> None:
        """A deleted source's dedup window goes with it (its stored events stay, under retention)."""
        self._dedup.pop(source_id, None)

    def remember(self, source_id: str, key: str, *, now: float) -> None:
        seen = self._dedup.setdefault(source_id, OrderedDict())
        if key not in seen:
            seen[key] = now
        while len(seen) > self.retention:
            seen.popitem(last=False)

    # ------------------------------------------------------------------ reading pages

    def page(
        self,
        org_id: str,
        *,
        equal: Mapping[str, str] | None = None,
        predicate: Predicate | None = None,
        limit: int,
        offset: int = 0,
        cursor: int | None = None,
        newer: bool = False,
    ) -> Page:
        """A newest-first page of the events whose `INDEXED` fields equal `equal` and that pass `predicate`;
        `cursor` (a `seq`) pages past it: older events, or newer ones with `newer`."""
        candidates = [self._by_org.get(org_id)]
        checks = [predicate] if predicate is not None else []
        for name, value in (equal or {}).items():
            candidates.append(self._indexes.get((org_id, name, value)))
            checks.append(_field_equals(name, value))
        if any(events is None for events in candidates):
            return Page([], 0, offset if cursor is None else 0, False, False)
        found = [events for events in candidates if events is not None]
        smallest = min(found, key=len)
        if len(found) - 1 <= 1 and predicate is None:  # one index (or none) answers exactly
            return _indexed_page(smallest, limit=limit, offset=offset, cursor=cursor, newer=newer)
        return _scanned_page(
            smallest,
            lambda event: all(check(event) for check in checks),
            limit=limit,
            offset=offset,
            cursor=cursor,
            newer=newer,
        )


INDEXED = ("source_id", "verification_status", "dedup_status", "method")
"""Fields that never change once an event is stored: each value has its own newest-first index."""


def _index_keys(event: StoredEvent) -> Iterator[tuple[str, str, str]]:
    for name in INDEXED:
        yield event.org_id, name, getattr(event, name)


def _field_equals(name: str, wanted: Any) -> Predicate:
    return lambda event: bool(getattr(event, name) == wanted)


def _indexed_page(events: _Sequence, *, limit: int, offset: int, cursor: int | None, newer: bool) -> Page:
    total = len(events)
    if cursor is None:
        found = [event for _, event in zip(range(limit), events.newest_first(skip=offset), strict=False)]
        start = offset
    elif newer:
        found = events.newer_than(cursor, limit)
        start = events.count_newer(found[0].seq) if found else 0
    else:
        found = [event for _, event in zip(range(limit), events.older_than(cursor), strict=False)]
        start = events.count_newer(cursor - 1)  # the events at or after the cursor come before the page
    return Page(found, total, start, start + len(found) < total, start > 0 and bool(found))


def _scanned_page(
    events: _Sequence, predicate: Predicate, *, limit: int, offset: int, cursor: int | None, newer: bool
) -> Page:
    matching = [event for event in events.newest_first() if predicate(event)]
    total = len(matching)
    end = None
    if cursor is None:
        start = offset
    elif newer:
        end = sum(1 for event in matching if event.seq > cursor)  # matching is newest first
        start = max(0, end - limit)
    else:
        start = sum(1 for event in matching if event.seq >= cursor)
    found = matching[start : start + limit if end is None else end]
    return Page(found, total, start, start + len(found) < total, start > 0 and bool(found))


def as_plain(event: StoredEvent) -> dict[str, Any]:
    """The snapshot form of an event."""
    return {item.name: getattr(event, item.name) for item in fields(StoredEvent)}
