"""Export and import of the hookstream state (the engine's `/__mock/state` and `--state-file`).

The snapshot is the store as plain JSON: records with their request-side values (secrets in clear,
since a restored mock must verify with them), the clock, and the id counter. Rate-limit windows are
not part of it; they start afresh.
"""

from __future__ import annotations

import re
import types
import typing
from collections.abc import Mapping
from dataclasses import asdict, fields
from datetime import UTC, datetime
from typing import Any

from ...control._clock import FROZEN, ClockSettings, Timeline
from ._attempt_log import DEFAULT_ATTEMPT_RETENTION, AttemptLog, DeliveryAttempt, attempt_as_plain
from ._delivery import CIRCUIT_STATES, Circuit
from ._event_log import DEFAULT_RETENTION, EventLog, StoredEvent, as_plain
from ._keys import ENVIRONMENTS
from ._store import TIME_FORMAT, Connection, Destination, Source, Store

_ID = re.compile(r"^[0-9a-f]{32}$")
_TABLES: tuple[tuple[str, type[Source] | type[Destination] | type[Connection]], ...] = (
    ("sources", Source),
    ("destinations", Destination),
    ("connections", Connection),
)


def export_store(store: Store) -> dict[str, Any]:
    return {
        "clock": store.timeline.export(),
        "serial": store.serial,
        "sources": [asdict(s) for s in store.sources.values()],
        "destinations": [asdict(d) for d in store.destinations.values()],
        "connections": [asdict(c) for c in store.connections.values()],
        "events": [as_plain(e) for e in store.events.chronological()],
        "attempts": [attempt_as_plain(a) for a in store.attempts.chronological()],
        "circuits": [_circuit_plain(c) for c in store.circuits.values()],
    }


def _circuit_plain(circuit: Circuit) -> dict[str, Any]:
    return {
        "destination_id": circuit.destination_id,
        "state": circuit.state,
        "failure_count": circuit.failure_count,
        "last_transition_at": circuit.last_transition_at,
        "opened_at": circuit.opened_at,
        "next_probe_at": circuit.next_probe_at,
        "held": list(circuit.held),
        "probe_attempt_id": circuit.probe_attempt_id,
    }


def _import_attempts(items: Any, *, environments: set[tuple[str, str]]) -> AttemptLog:
    if not isinstance(items, list):
        raise ValueError("attempts must be a list")
    log = AttemptLog(retention=DEFAULT_ATTEMPT_RETENTION)
    last_seq = 0
    for item in items:
        attempt: DeliveryAttempt = _record("attempts", DeliveryAttempt, item)
        if attempt.id in log:
            raise ValueError(f"attempts: id {attempt.id} appears twice")
        if (attempt.org_id, attempt.env_id) not in environments:
            raise ValueError(f"attempts {attempt.id}: unknown organization or environment")
        if attempt.seq <= 0:
            raise ValueError(f"attempts {attempt.id}: seq must be positive")
        last_seq = max(last_seq, attempt.seq)
        log.add(attempt)
    log.next_seq = last_seq + 1
    return log


def _import_circuits(items: Any) -> dict[str, Circuit]:
    if not isinstance(items, list):
        raise ValueError("circuits must be a list")
    found: dict[str, Circuit] = {}
    names = {
        "destination_id",
        "state",
        "failure_count",
        "last_transition_at",
        "opened_at",
        "next_probe_at",
        "held",
        "probe_attempt_id",
    }
    for item in items:
        if not isinstance(item, Mapping) or set(item) != names:
            raise ValueError(
                f"circuits: every item must be an object with exactly: {', '.join(sorted(names))}"
            )
        if item["state"] not in CIRCUIT_STATES:
            raise ValueError(
                f"circuits {item['destination_id']!r}: state must be one of {', '.join(CIRCUIT_STATES)}"
            )
        count = item["failure_count"]
        held = item["held"]
        if isinstance(count, bool) or not isinstance(count, int) or count < 0:
            raise ValueError("circuits: failure_count must be a non-negative integer")
        if not isinstance(held, list) or not all(isinstance(h, str) for h in held):
            raise ValueError("circuits: held must be a list of attempt ids")
        texts = ("destination_id", "last_transition_at", "opened_at", "next_probe_at", "probe_attempt_id")
        if not all(item[n] is None or isinstance(item[n], str) for n in texts):
            raise ValueError("circuits: ids and times are strings or null")
        circuit = Circuit(
            destination_id=item["destination_id"],
            state=item["state"],
            failure_count=count,
            last_transition_at=item["last_transition_at"],
            opened_at=item["opened_at"],
            next_probe_at=item["next_probe_at"],
            probe_attempt_id=item["probe_attempt_id"],
        )
        circuit.held.extend(held)
        found[circuit.destination_id] = circuit
    return found


def _record(kind: str, record_type: Any, item: Any) -> Any:
    if not isinstance(item, Mapping):
        raise ValueError(f"{kind}: every item must be an object")
    names = {f.name for f in fields(record_type)}
    missing, unknown = names - set(item), set(item) - names
    if missing or unknown:
        raise ValueError(f"{kind} {item.get('id')!r}: missing {sorted(missing)}, unknown {sorted(unknown)}")
    if not isinstance(item["id"], str) or not _ID.match(item["id"]):
        raise ValueError(f"{kind}: id {item['id']!r} is not 32 lowercase hex characters")
    for name, hint in typing.get_type_hints(record_type).items():
        if not _conforms(item[name], hint):
            raise ValueError(f"{kind} {item['id']}: {name} has the wrong type ({item[name]!r})")
    return record_type(**item)


def _conforms(value: Any, hint: Any) -> bool:
    """Whether a JSON value fits a record field's type (`bool` is not an `int` here)."""
    origin = typing.get_origin(hint)
    if origin in (typing.Union, types.UnionType):
        return any(_conforms(value, branch) for branch in typing.get_args(hint))
    if hint is Any:
        return True
    if hint is type(None):
        return value is None
    if origin is not None:
        return isinstance(value, origin)
    if hint is int:
        return isinstance(value, int) and not isinstance(value, bool)
    return isinstance(value, hint)


def _import_events(items: Any, *, retention: int, environments: set[tuple[str, str]]) -> EventLog:
    """The event log of a snapshot (oldest first per organization); each source's dedup window is rebuilt
    from the unique events it holds."""
    if not isinstance(items, list):
        raise ValueError("events must be a list")
    log = EventLog(retention=retention)
    last_seq: dict[str, int] = {}
    for item in items:
        event: StoredEvent = _record("events", StoredEvent, item)
        if event.id in log:
            raise ValueError(f"events: id {event.id} appears twice")
        if (event.org_id, event.env_id) not in environments:
            raise ValueError(f"events {event.id}: unknown organization or environment")
        if event.seq <= last_seq.get(event.org_id, 0):
            raise ValueError(f"events {event.id}: seq must grow within an organization")
        try:
            received = datetime.strptime(event.received_at, TIME_FORMAT).replace(tzinfo=UTC)
        except ValueError as exc:
            raise ValueError(f"events {event.id}: received_at must look like 2026-02-28T12:00:00Z") from exc
        last_seq[event.org_id] = event.seq
        log.add(event)
        if (
            event.dedup_hash is not None
            and event.dedup_status == "unique"
            and event.verification_status != "failed"
        ):
            log.remember(event.source_id, event.dedup_hash, now=received.timestamp())
    return log


def import_store(
    snapshot: Mapping[str, Any],
    *,
    seed: int,
    retention: int = DEFAULT_RETENTION,
    clock_settings: ClockSettings = FROZEN,
) -> Store:
    """A store from `export_store`'s output; `ValueError` names the first thing that is wrong."""
    timeline = Timeline.restore(snapshot["clock"], settings=clock_settings)
    serial = snapshot["serial"]
    if isinstance(serial, bool) or not isinstance(serial, int) or serial < 0:
        raise ValueError("serial must be a non-negative integer")
    environments = {(env.org_id, env.env_id) for env in ENVIRONMENTS}
    events = _import_events(snapshot.get("events", []), retention=retention, environments=environments)
    attempts = _import_attempts(snapshot.get("attempts", []), environments=environments)
    circuits = _import_circuits(snapshot.get("circuits", []))
    store = Store(
        seed=seed, timeline=timeline, serial=serial, events=events, attempts=attempts, circuits=circuits
    )
    for kind, record_type in _TABLES:
        items = snapshot[kind]
        if not isinstance(items, list):
            raise ValueError(f"{kind} must be a list")
        table: dict[str, Any] = getattr(store, kind)
        for item in items:
            record = _record(kind, record_type, item)
            if record.id in table:
                raise ValueError(f"{kind}: id {record.id} appears twice")
            if (record.org_id, record.env_id) not in environments:
                raise ValueError(f"{kind} {record.id}: unknown organization or environment")
            table[record.id] = record
    for connection in store.connections.values():
        source = store.sources.get(connection.source_id)
        destination = store.destinations.get(connection.destination_id)
        if source is None or destination is None:
            raise ValueError(f"connection {connection.id}: its source or destination is not in the snapshot")
        if {source.org_id, destination.org_id} != {connection.org_id}:
            raise ValueError(
                f"connection {connection.id}: its source or destination is in another organization"
            )
    return store
