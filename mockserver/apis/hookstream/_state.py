"""The mock's whole state, its options, and the rate-limit gate every behaviour goes through."""

from __future__ import annotations

import functools
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from ..._api import Behaviour, MockResponse, OperationContext, Problem
from ..._generate import stable_seed
from ...control._clock import FROZEN, ClockSettings, Timeline, to_micros
from ._delivery import Deliveries
from ._event_log import DEFAULT_RETENTION, EventLog
from ._plan import PlanLimits
from ._ratelimit import RateLimit, RateLimiter, parse_rate_limit
from ._seed import populate
from ._store import CLOCK_START, Store
from ._stream import EventStream

RATE_LIMITED = "rate_limited"
ANONYMOUS = "anonymous"


@dataclass(slots=True)
class HookstreamState:
    seed: int
    store: Store
    limiter: RateLimiter
    plan: PlanLimits = field(default_factory=PlanLimits)
    requests_served: int = 0
    stream: EventStream = field(default_factory=EventStream)
    deliveries: Deliveries = field(init=False)

    def __post_init__(self) -> None:
        self.deliveries = Deliveries(
            store=self.store,
            seed=self.seed,
            publish=lambda attempt: self.stream.publish_delivery(attempt),
        )
        self.deliveries.owner = self

    def next_request_id(self) -> str:
        self.requests_served += 1
        return f"req_{stable_seed('request', self.seed, self.requests_served):016x}"[:16]

    def error_body(self, status: int, message: str) -> dict[str, Any]:
        return {"error": message, "status": status, "request_id": self.next_request_id()}


def read_rate_limit(value: Any) -> RateLimit | None:
    """`--rate-limit` as parsed by argparse, or as a string passed straight to the app (tests)."""
    if value is None:
        return None
    if isinstance(value, RateLimit):
        return value
    if isinstance(value, str):
        return parse_rate_limit(value)
    raise ValueError(f"invalid rate limit {value!r}: expected N/SECONDS, e.g. 100/60")


def read_event_retention(value: Any) -> int:
    if value is None:
        return DEFAULT_RETENTION
    if isinstance(value, bool) or not isinstance(value, int) or value < 1:
        raise ValueError(f"invalid event retention {value!r}: expected a positive integer")
    return value


def new_state(
    seed: int,
    options: Mapping[str, Any],
    *,
    store: Store | None = None,
    clock: ClockSettings = FROZEN,
) -> HookstreamState:
    """A state from the options, with `store` (restored from a snapshot) or a freshly seeded one.

    Rate-limit windows run on the store's mock clock (a frozen clock's windows move with writes and
    `POST /__mock/clock` only).
    """
    seeded = store is None
    if store is None:
        store = Store(
            seed=seed,
            timeline=Timeline(start=to_micros(CLOCK_START), settings=clock),
            events=EventLog(retention=read_event_retention(options.get("event_retention"))),
        )
        populate(store)
    timeline = store.timeline

    def seconds() -> float:
        return timeline.now() / 1_000_000

    rate = read_rate_limit(options.get("rate_limit"))
    limiter = (
        RateLimiter(rate, enforce=True, clock=seconds) if rate is not None else RateLimiter(clock=seconds)
    )
    state = HookstreamState(
        seed=seed,
        store=store,
        limiter=limiter,
        plan=PlanLimits.from_options(options),
    )
    if seeded:  # the seeded history's routed events got (simulated) deliveries too
        for event in list(store.events.chronological()):
            if event.matched_connections:
                state.deliveries.replay(event)
    return state


def org_bucket(ctx: OperationContext) -> str:
    return ctx.principal.organization_id if ctx.principal is not None else ANONYMOUS


def rate_limited(
    bucket: Callable[[OperationContext], str] = org_bucket,
) -> Callable[[Behaviour], Behaviour]:
    """Admit the request before the behaviour runs (a refused request changes nothing) and add the headers."""

    def decorate(behaviour: Behaviour) -> Behaviour:
        @functools.wraps(behaviour)
        def run(ctx: OperationContext) -> MockResponse | Problem:
            state: HookstreamState = ctx.state
            decision = state.limiter.admit(bucket(ctx))
            if not decision.allowed:
                return Problem(429, "Rate limit exceeded", RATE_LIMITED, headers=decision.headers())
            try:
                outcome = behaviour(ctx)
            except Problem as problem:
                problem.headers.update(decision.headers())
                raise
            outcome.headers.update(decision.headers())
            return outcome

        return run

    return decorate
