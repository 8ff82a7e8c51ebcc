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
from operator import attrgetter
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
Accepts = Callable[[Any], bool]
"""A filter's test of one value of its field."""


@dataclass(frozen=True, slots=True)
class Filter:
    key: str
    field: str
    operator: str
    value: str
    accepts: Accepts
    predicate: Predicate
    """`accepts` of the connection's `field`."""


def _on_field(field: str, accepts: Accepts) -> Predicate:
    read = attrgetter(field)
    return lambda connection: accepts(read(connection))


def _parse_time(text: str) -> int:
    if not FORMATS["date-time"](text):
        raise ValueError(text)
    return to_micros(datetime.fromisoformat(text))


def _string_test(operator: str, value: str) -> Accepts:
    if operator == "eq":
        return value.__eq__
    if operator == "neq":
        return value.__ne__
    if operator == "in":
        return frozenset(value.split(",")).__contains__
    if operator == "contains":
        return lambda text: value in text
    if operator == "icontains":
        folded = value.casefold()
        return lambda text: folded in text.casefold()
    return _compared_with(operator, value)


def _time_test(operator: str, value: str) -> Accepts:
    if operator == "contains":
        return lambda micros: value in iso(micros)
    if operator == "icontains":
        folded = value.casefold()
        return lambda micros: folded in iso(micros).casefold()
    instant = _parse_time(value)
    if operator == "eq":
        return instant.__eq__
    if operator == "neq":
        return instant.__ne__
    return _compared_with(operator, instant)


def _compared_with(operator: str, bound: Any) -> Accepts:
    """`x > bound` as `bound.__lt__`, and so on: a bound method, no Python frame per value."""
    test: Accepts = getattr(
        bound, {"gt": "__lt__", "gte": "__le__", "lt": "__gt__", "lte": "__ge__"}[operator]
    )
    return test


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
            accepts = _time_test(operator, value) if field in TIME_FIELDS else _string_test(operator, value)
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
        filters.append(Filter(key, field, operator, value, accepts, _on_field(field, accepts)))
    return filters, violations


def sort_key(sort_by: str) -> Callable[[Connection], Any]:
    if sort_by == "name":
        return lambda c: (c.name.casefold(), c.name, c.created_at, c.connection_id)
    if sort_by == "updated_at":
        return lambda c: (c.updated_at, c.created_at, c.connection_id)
    return lambda c: (c.created_at, c.connection_id)
