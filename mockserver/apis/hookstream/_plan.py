"""Plan limits: how many sources, destinations and connections one organization may hold.

The vendor documents a 403 when a plan's destination limit is reached; the same answer for sources and
connections is inferred. The defaults also bound what clients can make a long-running mock hold.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from ..._api import Problem

__all__ = ["DEFAULT_PLAN_LIMIT", "PlanLimits", "read_plan_limit"]

DEFAULT_PLAN_LIMIT = 1000
"""Sources, destinations and connections per organization, each, unless an option says otherwise."""


def read_plan_limit(value: Any, what: str) -> int:
    if value is None:
        return DEFAULT_PLAN_LIMIT
    if isinstance(value, bool) or not isinstance(value, int) or value < 1:
        raise ValueError(f"invalid {what} limit {value!r}: expected a positive integer")
    return value


@dataclass(frozen=True, slots=True)
class PlanLimits:
    sources: int = DEFAULT_PLAN_LIMIT
    destinations: int = DEFAULT_PLAN_LIMIT
    connections: int = DEFAULT_PLAN_LIMIT

    @classmethod
    def from_options(cls, options: Any) -> PlanLimits:
        return cls(
            sources=read_plan_limit(options.get("source_limit"), "source"),
            destinations=read_plan_limit(options.get("destination_limit"), "destination"),
            connections=read_plan_limit(options.get("connection_limit"), "connection"),
        )

    def refusal(self, kind: str, held: int) -> Problem | None:
        """The 403 for one more `kind` (`source`, `destination`, `connection`) when the organization holds
        `held` already, or None."""
        limit = {"source": self.sources, "destination": self.destinations, "connection": self.connections}[
            kind
        ]
        if held < limit:
            return None
        return Problem(
            403,
            f"{kind.capitalize()} limit reached for your plan ({limit} per organization)",
            "plan_limit",
        )
