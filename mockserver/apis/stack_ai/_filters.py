"""Dynamic `field__operator` filters and sorting of `GET /api/v1/connections` (semantics inferred).

Fields: every scalar connection field (`connection_id`, `name`, `org_id`, `provider_id`,
`connection_type_id`, `created_at`, `updated_at`). Operators:
- `eq`, `neq`: equality (timestamps compare as instants, so any offset works);
- `in`: comma-separated list of accepted values (string fields only);
- `contains`, `icontains`: substring, case-sensitive or not (timestamps match their rendered text);
- `gt`, `gte`, `lt`, `lte`: order (strings compare by code point, timestamps chronologically).
Timestamps take RFC 3339 (`2025-01-01T00:00:00Z`), the spec's `date-time`. All filters must match.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from ..._validation import FORMATS, Violation
from ._access import value_error
from ._state import Connection, iso, to_micros

STRING_FIELDS = ("connection_id", "name", "org_id", "provider_id", "connection_type_id")
TIME_FIELDS = ("created_at", "updated_at")
FIELDS = STRING_FIELDS + TIME_FIELDS
OPERATORS = ("eq", "neq", "in", "contains", "icontains", "gt", "gte", "lt", "lte")
TIME_OPERATORS = tuple(operator for operator in OPERATORS if operator != "in")

Predicate = Callable[[Connection], bool]


@dataclass(frozen=True, slots=True)
class Filter:
    key: str
    field: str
    operator: str
    value: str
    predicate: Predicate


def _parse_time(text: str) -> int:
    if not FORMATS["date-time"](text):
        raise ValueError(text)
    return to_micros(datetime.fromisoformat(text))


def _string_predicate(field: str, operator: str, value: str) -> Predicate:
    def get(connection: Connection) -> str:
        text: str = getattr(connection, field)
        return text

    if operator == "eq":
        return lambda c: get(c) == value
    if operator == "neq":
        return lambda c: get(c) != value
    if operator == "in":
        accepted = frozenset(value.split(","))
        return lambda c: get(c) in accepted
    if operator == "contains":
        return lambda c: value in get(c)
    if operator == "icontains":
        folded = value.casefold()
        return lambda c: folded in get(c).casefold()
    compare = _ORDER[operator]
    return lambda c: compare(get(c), value)


def _time_predicate(field: str, operator: str, value: str) -> Predicate:
    def get(connection: Connection) -> int:
        micros: int = getattr(connection, field)
        return micros

    if operator == "contains":
        return lambda c: value in iso(get(c))
    if operator == "icontains":
        folded = value.casefold()
        return lambda c: folded in iso(get(c)).casefold()
    instant = _parse_time(value)
    if operator == "eq":
        return lambda c: get(c) == instant
    if operator == "neq":
        return lambda c: get(c) != instant
    compare = _ORDER[operator]
    return lambda c: compare(get(c), instant)


_ORDER: Mapping[str, Callable[[Any, Any], bool]] = {
    "gt": lambda a, b: a > b,
    "gte": lambda a, b: a >= b,
    "lt": lambda a, b: a < b,
    "lte": lambda a, b: a <= b,
}


def parse_filters(raw: Mapping[str, Any]) -> tuple[list[Filter], list[Violation]]:
    """Filters from the query's extra keys, or violations located at `["query", "filters", key]`."""
    filters: list[Filter] = []
    violations: list[Violation] = []
    for key, given in raw.items():
        location = ("query", "filters", key)
        field, separator, operator = key.rpartition("__")
        if not separator or field not in FIELDS:
            fields = ", ".join(FIELDS)
            violations.append(
                value_error(location, f"unknown filter field '{field or key}'; use one of: {fields}", given)
            )
            continue
        allowed = TIME_OPERATORS if field in TIME_FIELDS else OPERATORS
        if operator not in allowed:
            operators = ", ".join(allowed)
            violations.append(
                value_error(location, f"unknown filter operator '{operator}'; use one of: {operators}", given)
            )
            continue
        value = str(given)
        try:
            if field in TIME_FIELDS:
                predicate = _time_predicate(field, operator, value)
            else:
                predicate = _string_predicate(field, operator, value)
        except ValueError:
            violations.append(
                Violation(
                    location,
                    "Input should be a valid datetime (RFC 3339, e.g. 2025-01-01T00:00:00Z)",
                    "datetime_parsing",
                    given,
                )
            )
            continue
        filters.append(Filter(key, field, operator, value, predicate))
    return filters, violations


def sort_key(sort_by: str) -> Callable[[Connection], Any]:
    if sort_by == "name":
        return lambda c: (c.name.casefold(), c.name, c.created_at, c.connection_id)
    if sort_by == "updated_at":
        return lambda c: (c.updated_at, c.created_at, c.connection_id)
    return lambda c: (c.created_at, c.connection_id)
