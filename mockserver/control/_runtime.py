"""What every served API shares: the request journal, fault rules, latency, session limits and outbound work."""

from __future__ import annotations

import random
import re
import time
from dataclasses import dataclass, field

from .._outbound import OutboundRunner
from ._faults import FaultBook
from ._journal import RequestJournal

SESSION_HEADER = "x-mock-session"
SESSION_NAME = re.compile(r"^[A-Za-z0-9._-]{1,64}$")
DEFAULT_SESSION = ""


def parse_latency(text: str) -> tuple[int, int]:
    """`250` or `100-400` (milliseconds) → (min, max)."""
    low, separator, high = text.partition("-")
    try:
        bounds = (int(low), int(high) if separator else int(low))
    except ValueError as exc:
        raise ValueError(f"latency must be MS or MIN-MAX in milliseconds, not {text!r}") from exc
    if bounds[0] < 0 or bounds[1] < bounds[0]:
        raise ValueError(f"latency must be MS or MIN-MAX with 0 <= MIN <= MAX, not {text!r}")
    return bounds


@dataclass(slots=True)
class MockRuntime:
    journal: RequestJournal = field(default_factory=RequestJournal)
    faults: FaultBook = field(default_factory=FaultBook)
    latency_ms: tuple[int, int] | None = None
    max_sessions: int = 32
    random: random.Random = field(default_factory=lambda: random.Random(0))
    started: float = field(default_factory=time.monotonic)
    outbound: OutboundRunner = field(default_factory=OutboundRunner)

    def uptime_seconds(self) -> float:
        return time.monotonic() - self.started

    def latency_seconds(self) -> float:
        if self.latency_ms is None:
            return 0.0
        low, high = self.latency_ms
        return self.random.uniform(low, high) / 1000.0
