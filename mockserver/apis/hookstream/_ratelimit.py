"""Per-organization fixed-window rate limiting and the `RateLimit-*` headers.

Without `--rate-limit` the limiter only counts (1000 requests per 60 s, never refuses); with
`--rate-limit N/SECONDS` it refuses the (N+1)th request of a window with 429.
"""

from __future__ import annotations

import argparse
import math
import re
import time
from collections.abc import Callable
from dataclasses import dataclass, field

DEFAULT_LIMIT = 1000
DEFAULT_WINDOW_SECONDS = 60

_SPEC = re.compile(r"^\s*(\d+)\s*/\s*(\d+)\s*$")


@dataclass(frozen=True, slots=True)
class RateLimit:
    limit: int
    window_seconds: int

    def __str__(self) -> str:
        return f"{self.limit}/{self.window_seconds}"


def parse_rate_limit(text: str) -> RateLimit:
    """`N/SECONDS`, both positive integers (e.g. `100/60`)."""
    match = _SPEC.match(text)
    if match is None:
        raise ValueError(f"invalid rate limit {text!r}: expected N/SECONDS, e.g. 100/60")
    limit, window = int(match.group(1)), int(match.group(2))
    if limit < 1 or window < 1:
        raise ValueError(f"invalid rate limit {text!r}: N and SECONDS must both be at least 1")
    return RateLimit(limit, window)


def rate_limit_argument(text: str) -> RateLimit:
    """`argparse` type for `--rate-limit`."""
    try:
        return parse_rate_limit(text)
    except ValueError as exc:
        raise argparse.ArgumentTypeError(str(exc)) from exc


@dataclass(frozen=True, slots=True)
class Decision:
    allowed: bool
    limit: int
    remaining: int
    reset_seconds: int

    def headers(self) -> dict[str, str]:
        headers = {
            "RateLimit-Limit": str(self.limit),
            "RateLimit-Remaining": str(self.remaining),
            "RateLimit-Reset": str(self.reset_seconds),
        }
        if not self.allowed:
            headers["Retry-After"] = str(self.reset_seconds)
        return headers


@dataclass(slots=True)
class _Window:
    started: float
    used: int


@dataclass(slots=True)
class RateLimiter:
    """One fixed window per bucket (an organization id, or `anonymous`), opened by its first request."""

    rate: RateLimit = field(default_factory=lambda: RateLimit(DEFAULT_LIMIT, DEFAULT_WINDOW_SECONDS))
    enforce: bool = False
    clock: Callable[[], float] = time.monotonic
    windows: dict[str, _Window] = field(default_factory=dict)

    def admit(self, bucket: str) -> Decision:
        """Count one request of `bucket`; refused (and not counted) when enforcing and the window is full."""
        now = self.clock()
        window = self.windows.get(bucket)
        if window is None or now >= window.started + self.rate.window_seconds:
            window = self.windows[bucket] = _Window(started=now, used=0)
        # elapsed first: `started + window - now` can round up past the window (60.000…01 → 61)
        reset = max(0, math.ceil(self.rate.window_seconds - (now - window.started)))
        if self.enforce and window.used >= self.rate.limit:
            return Decision(False, self.rate.limit, 0, reset)
        window.used += 1
        return Decision(True, self.rate.limit, max(0, self.rate.limit - window.used), reset)
