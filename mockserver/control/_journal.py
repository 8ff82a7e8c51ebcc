"""A bounded journal of the requests the mock has answered and of the requests it sent (outbound)."""

from __future__ import annotations

from collections import deque
from collections.abc import Iterator, Sequence
from datetime import UTC, datetime
from typing import Any, NamedTuple


class JournalEntry(NamedTuple):
    """One answered request (a named tuple: built in ~1 µs where a frozen dataclass took ~4 µs)."""

    sequence: int
    time: float
    """When it was answered, in seconds since the epoch; RFC 3339 in `to_json`."""
    api: str
    operation_id: str | None
    method: str
    path: str
    query: Sequence[tuple[str, str]]
    status: int
    duration_ms: float
    session: str
    request_violations: Sequence[str]
    response_violations: Sequence[str]
    """For an outbound request: the error that stopped it, if any."""
    direction: str = "inbound"
    """`inbound` (a request the mock answered) or `outbound` (one it sent; `path` is then the full URL)."""
    target: str | None = None
    """Where an outbound request went (`host:port`); None for inbound ones."""
    simulated: bool = False
    """An outbound request that was not sent: the API answered it itself (a simulated receiver)."""

    def to_json(self) -> dict[str, Any]:
        data = self._asdict()
        data["time"] = datetime.fromtimestamp(self.time, UTC).isoformat(timespec="milliseconds")
        data["query"] = [list(pair) for pair in self.query]
        data["request_violations"] = list(self.request_violations)
        data["response_violations"] = list(self.response_violations)
        return data


class RequestJournal:
    """A ring buffer: the oldest entries go once `capacity` is reached."""

    def __init__(self, *, capacity: int = 1000) -> None:
        if capacity < 1:
            raise ValueError("the journal needs room for at least one entry")
        self.capacity = capacity
        self._entries: deque[JournalEntry] = deque(maxlen=capacity)
        self._sequence = 0

    def next_sequence(self) -> int:
        self._sequence += 1
        return self._sequence

    def record(self, entry: JournalEntry) -> None:
        self._entries.append(entry)

    def clear(self, *, session: str | None = None) -> None:
        if session is None:
            self._entries.clear()
            return
        kept = [entry for entry in self._entries if entry.session != session]
        self._entries = deque(kept, maxlen=self.capacity)

    def __len__(self) -> int:
        return len(self._entries)

    def select(
        self,
        *,
        api: str | None = None,
        operation_id: str | None = None,
        status: int | None = None,
        since: int | None = None,
        session: str | None = None,
    ) -> Iterator[JournalEntry]:
        """Entries in the order they were answered; `since` is a sequence number, exclusive."""
        for entry in self._entries:
            if api is not None and entry.api != api:
                continue
            if operation_id is not None and entry.operation_id != operation_id:
                continue
            if status is not None and entry.status != status:
                continue
            if since is not None and entry.sequence <= since:
                continue
            if session is not None and entry.session != session:
                continue
            yield entry
