"""Fault rules: latency, an error status, or a dropped connection, for the requests a rule matches."""

from __future__ import annotations

import random
import re
from collections.abc import Mapping
from dataclasses import asdict, dataclass, field
from typing import Any


@dataclass(slots=True)
class FaultRule:
    id: str
    api: str | None = None
    operation_id: str | None = None
    method: str | None = None
    path: str | None = None
    """A regular expression matched against the whole path the API sees (after its mount)."""
    latency_ms: tuple[int, int] | None = None
    status: int | None = None
    message: str | None = None
    drop: bool = False
    target: str | None = None
    """An outbound target (an API names its own: a destination id, say): the rule then applies to the requests
    the mock sends there (a status is answered in their place; latency is added to a simulated one or waited
    before a real one is sent), never to inbound ones."""
    probability: float = 1.0
    remaining: int | None = None
    """How many more times the rule may fire; `None` is forever."""
    fired: int = 0
    _path_regex: re.Pattern[str] | None = field(default=None, repr=False)

    def __post_init__(self) -> None:
        self._path_regex = re.compile(self.path) if self.path else None

    def matches(self, *, api: str, operation_id: str | None, method: str, path: str) -> bool:
        if self.remaining is not None and self.remaining <= 0:
            return False
        if self.target is not None:
            return False
        if self.api is not None and self.api != api:
            return False
        if self.operation_id is not None and self.operation_id != operation_id:
            return False
        if self.method is not None and self.method.upper() != method:
            return False
        return self._path_regex is None or self._path_regex.fullmatch(path) is not None

    def to_json(self) -> dict[str, Any]:
        data = asdict(self)
        data.pop("_path_regex")
        data["latency_ms"] = list(self.latency_ms) if self.latency_ms else None
        return data


MAX_FAULT_RULES = 256
"""Fault rules active at once, for the whole server."""


class FaultBookFull(Exception):
    """The book already holds `MAX_FAULT_RULES` rules that may still fire."""


class FaultBook:
    """The active fault rules, tried in the order they were added; the first that fires wins."""

    def __init__(self, *, seed: int = 0) -> None:
        self._rules: dict[str, FaultRule] = {}
        self._counter = 0
        self._random = random.Random(seed)

    def add(self, spec: Mapping[str, Any]) -> FaultRule:
        """Adds a rule; at `MAX_FAULT_RULES`, spent rules (`times` used up) make room, else `FaultBookFull`."""
        if len(self._rules) >= MAX_FAULT_RULES:
            for spent in [rule.id for rule in self._rules.values() if rule.remaining == 0]:
                del self._rules[spent]
            if len(self._rules) >= MAX_FAULT_RULES:
                raise FaultBookFull(f"At most {MAX_FAULT_RULES} fault rules can be active at once")
        self._counter += 1
        latency = spec.get("latency_ms")
        if isinstance(latency, int):
            latency = (latency, latency)
        elif isinstance(latency, list):
            latency = (int(latency[0]), int(latency[1]))
        rule = FaultRule(
            id=f"fault-{self._counter}",
            api=spec.get("api"),
            operation_id=spec.get("operation_id"),
            method=spec.get("method"),
            path=spec.get("path"),
            latency_ms=latency,
            status=spec.get("status"),
            message=spec.get("message"),
            drop=bool(spec.get("drop", False)),
            target=spec.get("target"),
            probability=float(spec.get("probability", 1.0)),
            remaining=spec.get("times"),
        )
        self._rules[rule.id] = rule
        return rule

    def rules(self) -> list[FaultRule]:
        return list(self._rules.values())

    def remove(self, rule_id: str) -> bool:
        return self._rules.pop(rule_id, None) is not None

    def clear(self) -> None:
        self._rules.clear()

    def fire(self, *, api: str, operation_id: str | None, method: str, path: str) -> FaultRule | None:
        for rule in self._rules.values():
            if rule.matches(api=api, operation_id=operation_id, method=method, path=path) and self._fires(
                rule
            ):
                return rule
        return None

    def fire_outbound(self, *, api: str, target: str) -> FaultRule | None:
        """The first rule aimed at this outbound target (and API, if it names one) that fires."""
        for rule in self._rules.values():
            if rule.target != target or (rule.api is not None and rule.api != api):
                continue
            if rule.remaining is not None and rule.remaining <= 0:
                continue
            if self._fires(rule):
                return rule
        return None

    def _fires(self, rule: FaultRule) -> bool:
        """A matching rule's roll of its probability; when it fires, it counts down."""
        if rule.probability < 1.0 and self._random.random() >= rule.probability:
            return False
        rule.fired += 1
        if rule.remaining is not None:
            rule.remaining -= 1
        return True

    def latency_seconds(self, rule: FaultRule) -> float:
        if rule.latency_ms is None:
            return 0.0
        low, high = rule.latency_ms
        return self._random.uniform(low, high) / 1000.0
