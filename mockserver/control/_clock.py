"""Mock time: one clock and one schedule of due work per state (each `X-Mock-Session` state has its own).

A clock is `frozen` (it moves only when a write ticks it or the control API advances or sets it, so the
same seed and requests give the same bytes) or `running` (its start, plus the wall time since the state
was made, plus every move). Time never goes backwards.

The schedule holds work that falls due at an instant of the clock. An API says *what* happens (a handler
per kind of work, registered on its state's timeline); the engine decides *when*: due work runs at the
start of every request to that state, and before the state is exported, so a read after an advance
already sees the result. API code never sleeps, spawns tasks or reads the wall clock: it reads
`Timeline.now()`.

Bounded: a schedule holds at most `MAX_DUE` entries; `schedule` raises `ScheduleFull` beyond that (an API
turns it into its own error). Entries are JSON-ready (`kind`, `key`, `due`), so the schedule is part of
every snapshot.
"""

from __future__ import annotations

import heapq
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

__all__ = [
    "CLOCK_MODES",
    "FROZEN",
    "MAX_DUE",
    "ClockSettings",
    "ScheduleFull",
    "TimeWentBackwards",
    "Timeline",
    "format_instant",
    "parse_instant",
    "to_micros",
]

CLOCK_MODES = ("frozen", "running")
MAX_DUE = 100_000
"""Entries one schedule holds at most (an API schedules work in aggregate: one entry per job, not per item)."""

_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_MICROS = 1_000_000

Handler = Callable[[str, int], None]
"""Runs one due entry: its key and the instant (microseconds since the epoch) it fell due."""


class TimeWentBackwards(ValueError):
    """A `set` to an instant before the clock's current time."""


class ScheduleFull(RuntimeError):
    """The schedule already holds `MAX_DUE` entries."""


def to_micros(moment: datetime) -> int:
    return (moment - _EPOCH) // timedelta(microseconds=1)


def format_instant(micros: int) -> str:
    """RFC 3339 in UTC with microseconds: `2025-12-01T09:00:00.000000Z`."""
    return (_EPOCH + timedelta(microseconds=micros)).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def parse_instant(text: str) -> int:
    """An RFC 3339 date-time with an offset (`Z` or `±hh:mm`), as microseconds since the epoch."""
    try:
        moment = datetime.fromisoformat(text.replace("z", "Z"))
    except ValueError as exc:
        raise ValueError(f"not an RFC 3339 date-time: {text!r}") from exc
    if moment.tzinfo is None or "T" not in text.upper():
        raise ValueError(f"not an RFC 3339 date-time with an offset: {text!r}")
    return to_micros(moment)


@dataclass(frozen=True, slots=True)
class ClockSettings:
    """How every state's clock runs: its mode, and a start instant that replaces the API's seeded one."""

    mode: str = "frozen"
    start: int | None = None
    """Microseconds since the epoch, or None for each API's own seeded start."""

    def __post_init__(self) -> None:
        if self.mode not in CLOCK_MODES:
            raise ValueError(f"clock mode must be one of {', '.join(CLOCK_MODES)}, not {self.mode!r}")


FROZEN = ClockSettings()


class Timeline:
    """One state's clock and its schedule of due work."""

    __slots__ = (
        "_base",
        "_cancelled",
        "_due",
        "_handlers",
        "_live",
        "_order",
        "_pending",
        "_started",
        "_wall",
        "mode",
    )

    def __init__(
        self,
        *,
        start: int,
        settings: ClockSettings = FROZEN,
        wall: Callable[[], float] = time.monotonic,
    ) -> None:
        self.mode = settings.mode
        self._base = start if settings.start is None else settings.start
        self._wall = wall
        self._started = wall()
        self._due: list[tuple[int, int, str, str]] = []
        self._order = 0
        self._live: dict[tuple[str, str], int] = {}
        """Entries still to run, per (kind, key)."""
        self._pending = 0
        self._cancelled: dict[tuple[str, str], list[int]] = {}
        """(kind, key) → [order up to which its entries are cancelled, how many of them are still in `_due`]."""
        self._handlers: dict[str, Handler] = {}

    def __eq__(self, other: object) -> bool:
        """Same mode, same instant and the same schedule (tests compare states before and after)."""
        if not isinstance(other, Timeline):
            return NotImplemented
        return (self.mode, self.now(), self._entries()) == (other.mode, other.now(), other._entries())

    def _entries(self) -> list[tuple[int, str, str]]:
        return [
            (due, kind, key)
            for due, order, kind, key in sorted(self._due)
            if not self._is_cancelled(order, kind, key)
        ]

    def _is_cancelled(self, order: int, kind: str, key: str) -> bool:
        cancelled = self._cancelled.get((kind, key))
        return cancelled is not None and order <= cancelled[0]

    __hash__ = None  # type: ignore[assignment]

    def __repr__(self) -> str:
        return f"Timeline(mode={self.mode!r}, now={format_instant(self.now())}, pending={self.pending})"

    # ------------------------------------------------------------------ time

    def now(self) -> int:
        """The current instant, in microseconds since the epoch."""
        if self.mode == "frozen":
            return self._base
        return self._base + int((self._wall() - self._started) * _MICROS)

    def tick(self, micros: int) -> int:
        """A write moves the clock `micros` forward; the new instant."""
        self._base += max(0, micros)
        return self.now()

    def advance(self, seconds: float) -> int:
        if seconds < 0:
            raise TimeWentBackwards("the clock never goes backwards: advance_seconds must be 0 or more")
        return self.tick(round(seconds * _MICROS))

    def set(self, instant: int) -> int:
        """Move to `instant`; `TimeWentBackwards` if it is before now."""
        now = self.now()
        if instant < now:
            raise TimeWentBackwards(
                f"the clock never goes backwards: {format_instant(instant)} is before {format_instant(now)}"
            )
        self._base += instant - now
        return self.now()

    # ------------------------------------------------------------------ due work

    def handle(self, kind: str, handler: Handler) -> None:
        """What happens when an entry of `kind` falls due (an API registers one per kind of work)."""
        self._handlers[kind] = handler

    def schedule(self, due: int, kind: str, key: str) -> None:
        if len(self._due) >= MAX_DUE:
            self._compact()
        if len(self._due) >= MAX_DUE:
            raise ScheduleFull(f"the schedule already holds {MAX_DUE} entries")
        self._order += 1
        heapq.heappush(self._due, (due, self._order, kind, key))
        self._live[(kind, key)] = self._live.get((kind, key), 0) + 1
        self._pending += 1

    def cancel(self, kind: str, key: str) -> int:
        """Drop the entries of `kind` for `key` (work whose subject went early, e.g. past a cap); how many."""
        dropped = self._live.pop((kind, key), 0)
        self._pending -= dropped
        if dropped:  # O(1): the entries stay in the heap, skipped when popped; compacted when they pile up
            previous = self._cancelled.get((kind, key), [0, 0])
            self._cancelled[(kind, key)] = [self._order, previous[1] + dropped]
            if len(self._due) - self.pending > self.pending // 8 + 64:
                self._compact()  # dead entries kept to an eighth of the live ones: O(1) amortized still
        return dropped

    def _compact(self) -> None:
        self._due = [entry for entry in self._due if not self._is_cancelled(entry[1], entry[2], entry[3])]
        heapq.heapify(self._due)
        self._cancelled.clear()

    @property
    def pending(self) -> int:
        return self._pending

    def _pop(self) -> tuple[tuple[int, int, str, str], bool]:
        """The earliest entry, and whether it was cancelled (then it is only dropped)."""
        entry = heapq.heappop(self._due)
        subject = (entry[2], entry[3])
        cancelled = self._cancelled.get(subject)
        if cancelled is not None and entry[1] <= cancelled[0]:
            cancelled[1] -= 1
            if not cancelled[1]:
                del self._cancelled[subject]
            return entry, True
        left = self._live[subject] - 1
        if left:
            self._live[subject] = left
        else:
            del self._live[subject]
        self._pending -= 1
        return entry, False

    def _drop_cancelled_head(self) -> None:
        while self._due and self._is_cancelled(self._due[0][1], self._due[0][2], self._due[0][3]):
            self._pop()

    def next_due(self) -> int | None:
        self._drop_cancelled_head()
        return self._due[0][0] if self._due else None

    def run_due(self) -> int:
        """Run every entry due by now, earliest first (ties in scheduling order); how many ran.

        A handler may schedule more work; work it schedules at or before now runs in the same call.
        """
        ran = 0
        now = self.now()
        while self._due and self._due[0][0] <= now:
            (due, _, kind, key), cancelled = self._pop()
            if cancelled:
                continue
            handler = self._handlers.get(kind)
            if handler is not None:
                handler(key, due)
            ran += 1
        return ran

    # ------------------------------------------------------------------ snapshots

    def export(self) -> dict[str, Any]:
        """The current instant and the schedule, JSON-ready (the mode is the server's, not the state's)."""
        return {
            "now": format_instant(self.now()),
            "due": [
                {"due": format_instant(due), "kind": kind, "key": key} for due, kind, key in self._entries()
            ],
        }

    @classmethod
    def restore(
        cls,
        data: Mapping[str, Any],
        *,
        settings: ClockSettings = FROZEN,
        wall: Callable[[], float] = time.monotonic,
    ) -> Timeline:
        """A timeline from `export`'s output; it goes on from the exported instant. ValueError names the fault."""
        if not isinstance(data, Mapping) or set(data) != {"now", "due"}:
            raise ValueError("clock must be an object with exactly: now, due")
        if not isinstance(data["now"], str):
            raise ValueError("clock.now must be an RFC 3339 date-time")
        timeline = cls(start=parse_instant(data["now"]), settings=FROZEN, wall=wall)
        timeline.mode = settings.mode
        entries = data["due"]
        if not isinstance(entries, list) or len(entries) > MAX_DUE:
            raise ValueError(f"clock.due must be a list of at most {MAX_DUE} entries")
        for index, entry in enumerate(entries):
            where = f"clock.due[{index}]"
            if not isinstance(entry, Mapping) or set(entry) != {"due", "kind", "key"}:
                raise ValueError(f"{where} must be an object with exactly: due, kind, key")
            if not all(isinstance(entry[name], str) for name in ("due", "kind", "key")):
                raise ValueError(f"{where}: due, kind and key are strings")
            timeline.schedule(parse_instant(entry["due"]), entry["kind"], entry["key"])
        return timeline
