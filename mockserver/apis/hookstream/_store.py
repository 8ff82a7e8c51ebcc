"""The hookstream data: sources, destinations and connections, stored SQLite-style behind plain records.

Records keep request-side types (booleans, lists, dicts, secrets in clear); `_present` turns them into
the storage style the API returns (0/1, JSON-encoded strings, masked secrets).
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from ...control._clock import Timeline, to_micros
from ._attempt_log import AttemptLog
from ._event_log import EventLog, StoredEvent

CLOCK_START = datetime(2026, 2, 28, 12, 0, 0, tzinfo=UTC)
"""The seeded start of the mock clock (the first write's time); every write advances it by one second."""
_SECOND = 1_000_000

TIME_FORMAT = "%Y-%m-%dT%H:%M:%SZ"


def format_time(moment: datetime) -> str:
    return moment.astimezone(UTC).strftime(TIME_FORMAT)


def format_micros(micros: int) -> str:
    return format_time(datetime(1970, 1, 1, tzinfo=UTC) + timedelta(microseconds=micros))


@dataclass(slots=True)
class Source:
    id: str
    org_id: str
    env_id: str
    name: str
    slug: str
    description: str | None
    template: str | None
    type: str
    status: str
    source_config: dict[str, Any] | None
    verification_enabled: bool
    verification_type: str | None
    verification_secret: str | None
    verification_header: str | None
    dedup_enabled: bool
    dedup_strategy: str | None
    dedup_field: str | None
    dedup_window_seconds: int | None
    ip_allowlist: list[str] | None
    ip_denylist: list[str] | None
    event_count: int
    created_at: str
    updated_at: str


@dataclass(slots=True)
class Destination:
    id: str
    org_id: str
    env_id: str
    name: str
    slug: str
    description: str | None
    type: str
    url: str | None
    method: str
    headers: dict[str, str] | None
    timeout_ms: int
    auth_type: str
    auth_config: dict[str, Any] | None
    provider_config: dict[str, Any] | None
    retry_enabled: bool
    retry_max_attempts: int
    retry_backoff_type: str
    retry_intervals: list[int]
    circuit_breaker_enabled: bool
    circuit_breaker_threshold: int
    circuit_breaker_reset_ms: int
    status: str
    created_at: str
    updated_at: str
    signing_config: dict[str, Any] | None = None
    """Outbound signing (guide only, inferred): secret, algorithm, header, prefix, include_timestamp."""


@dataclass(slots=True)
class Connection:
    id: str
    org_id: str
    env_id: str
    source_id: str
    destination_id: str
    name: str
    description: str | None
    enabled: bool
    filter_rules: list[dict[str, Any]] | None
    status: str
    event_count: int
    last_event_at: str | None
    created_at: str
    updated_at: str
    transform_enabled: bool
    transform_expression: str | None


@dataclass(slots=True)
class Store:
    """All resources of every organization, in creation order, plus the mock clock and deterministic ids."""

    seed: int
    timeline: Timeline = field(default_factory=lambda: Timeline(start=to_micros(CLOCK_START)))
    serial: int = 0
    sources: dict[str, Source] = field(default_factory=dict)
    destinations: dict[str, Destination] = field(default_factory=dict)
    connections: dict[str, Connection] = field(default_factory=dict)
    events: EventLog = field(default_factory=EventLog)
    attempts: AttemptLog = field(default_factory=AttemptLog)
    circuits: dict[str, Any] = field(default_factory=dict)
    """Each destination's circuit breaker (`_delivery.Circuit`), made on its first attempt."""

    def new_id(self, kind: str) -> str:
        """A fresh 32-hex id; the same seed and history give the same ids."""
        while True:
            self.serial += 1
            digest = hashlib.sha256(f"hookstream:{self.seed}:{kind}:{self.serial}".encode()).hexdigest()
            candidate = digest[:32]
            tables = (self.sources, self.destinations, self.connections, self.events, self.attempts)
            if all(candidate not in table for table in tables):
                return candidate

    def now(self) -> str:
        return format_micros(self.timeline.now())

    def tick(self) -> str:
        """The time of one write; the clock then moves one second, so `updated_at` always moves."""
        moment = self.timeline.now()
        self.timeline.tick(_SECOND)
        return format_micros(moment)

    def source(self, org_id: str, source_id: str) -> Source | None:
        found = self.sources.get(source_id)
        return found if found is not None and found.org_id == org_id else None

    def destination(self, org_id: str, destination_id: str) -> Destination | None:
        found = self.destinations.get(destination_id)
        return found if found is not None and found.org_id == org_id else None

    def connection(self, org_id: str, connection_id: str) -> Connection | None:
        found = self.connections.get(connection_id)
        return found if found is not None and found.org_id == org_id else None

    def keep_event(self, event: StoredEvent) -> None:
        """Store an event; those event retention drops take their delivery attempts with them."""
        for dropped in self.events.add(event):
            self.attempts.drop_event(dropped.id)

    def held(self, kind: str, org_id: str) -> int:
        """How many sources, destinations or connections (`kind`) the organization holds."""
        tables: dict[str, Mapping[str, Source | Destination | Connection]] = {
            "source": self.sources,
            "destination": self.destinations,
            "connection": self.connections,
        }
        return sum(item.org_id == org_id for item in tables[kind].values())

    def connections_using(self, *, source_id: str = "", destination_id: str = "") -> list[Connection]:
        return [
            c
            for c in self.connections.values()
            if (source_id and c.source_id == source_id)
            or (destination_id and c.destination_id == destination_id)
        ]
