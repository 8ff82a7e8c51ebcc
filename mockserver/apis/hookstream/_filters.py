"""Connection filter rules: validation on write, evaluation on ingest.

A rule is `{"field", "op", "value"}`; all rules of a connection must match. Semantics (the documented
parts, plus the choices this mock makes where the docs are silent):

- `eq` / `neq`: strict JSON equality (no coercion: `"5"` is not `5`, `true` is not `1`); `neq` is the
  exact negation of `eq`, so a missing field is "not equal".
- `gt`, `gte`, `lt`, `lte`: both sides numbers, or both strings (code-point order); anything else,
  including a numeric string against a number, does not match.
- `contains`: substring of a string, or an element (strict equality) of an array.
- `in`: the value (an array) has an element strictly equal to the field.
- `exists`: `true` matches a present field (even `null`), `false` a missing one.
- A missing field matches nothing but `neq` and `exists: false`.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

OPERATORS = ("eq", "neq", "contains", "gt", "gte", "lt", "lte", "exists", "in")
ORDERING = frozenset({"gt", "gte", "lt", "lte"})

FIELD_PATTERN = r"^(?:payload(?:\.[^.]+)*|headers\.[A-Za-z0-9!#$%&*+.^_|~-]+|method|content_type|source_ip)$"
"""The five documented field forms; the same pattern as `FilterRule.field` in the spec."""
_FIELD = re.compile(FIELD_PATTERN)
FIELD_HELP = "payload, payload.<path>, headers.<name>, method, content_type or source_ip"


@dataclass(frozen=True, slots=True)
class Event:
    """What a rule can look at: the parsed body and the request around it."""

    payload: Any
    has_payload: bool
    headers: Mapping[str, str]
    method: str
    content_type: str | None
    source_ip: str


def validate_rules(rules: Sequence[Mapping[str, Any]], *, name: str = "body.filter_rules") -> list[str]:
    """Problems with rules, one message each (the spec checks these too; kept for direct callers)."""
    problems = []
    for index, rule in enumerate(rules):
        where = f"{name}.{index}"
        field_path, op, value = rule.get("field"), rule.get("op"), rule.get("value")
        if not isinstance(field_path, str) or not _FIELD.match(field_path):
            problems.append(f"{where}.field must be {FIELD_HELP}")
        if op not in OPERATORS:
            problems.append(f"{where}.op must be one of {', '.join(OPERATORS)}")
        elif op == "exists" and not isinstance(value, bool):
            problems.append(f"{where}.value must be a boolean for exists")
        elif op == "in" and not isinstance(value, list):
            problems.append(f"{where}.value must be an array for in")
        elif op in ORDERING and not (_is_number(value) or isinstance(value, str)):
            problems.append(f"{where}.value must be a number or a string for {op}")
    return problems


def normalize_rules(rules: Sequence[Mapping[str, Any]] | None) -> list[dict[str, Any]] | None:
    """Rules as stored: keys in `field, op, value` order; no rules is `None`."""
    if not rules:
        return None
    return [{"field": r["field"], "op": r["op"], "value": r["value"]} for r in rules]


_RULES_ENCODER = json.JSONEncoder(ensure_ascii=False, separators=(",", ":"))
"""Built once: `json.dumps` with options builds an encoder per call."""


def encode_rules(rules: list[dict[str, Any]] | None) -> str | None:
    if rules is None:
        return None
    return _RULES_ENCODER.encode(rules)


def _is_number(value: Any) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool)


def strict_equal(left: Any, right: Any) -> bool:
    """JSON equality without coercion between types (booleans are not numbers)."""
    if isinstance(left, bool) or isinstance(right, bool):
        return isinstance(left, bool) and isinstance(right, bool) and left == right
    if _is_number(left) or _is_number(right):
        return _is_number(left) and _is_number(right) and left == right
    if isinstance(left, list) and isinstance(right, list):
        return len(left) == len(right) and all(strict_equal(a, b) for a, b in zip(left, right, strict=True))
    if isinstance(left, dict) and isinstance(right, dict):
        return left.keys() == right.keys() and all(strict_equal(left[k], right[k]) for k in left)
    if isinstance(left, str) and isinstance(right, str):
        return left == right
    return left is None and right is None


def resolve(field_path: str, event: Event) -> tuple[bool, Any]:
    """`(found, value)` of a field path in an event."""
    if field_path == "method":
        return True, event.method
    if field_path == "content_type":
        return (event.content_type is not None), event.content_type
    if field_path == "source_ip":
        return True, event.source_ip
    if field_path.startswith("headers."):
        name = field_path[len("headers.") :].lower()
        return (name in event.headers), event.headers.get(name)
    if not event.has_payload or (field_path != "payload" and not field_path.startswith("payload.")):
        return False, None
    value = event.payload
    for segment in field_path.split(".")[1:]:
        if isinstance(value, dict) and segment in value:
            value = value[segment]
        elif (
            isinstance(value, list) and segment.isdigit() and segment.isascii() and int(segment) < len(value)
        ):
            value = value[int(segment)]
        else:
            return False, None
    return True, value


def _compare(op: str, actual: Any, expected: Any) -> bool:
    both_numbers = _is_number(actual) and _is_number(expected)
    both_strings = isinstance(actual, str) and isinstance(expected, str)
    if not (both_numbers or both_strings):
        return False
    if op == "gt":
        return bool(actual > expected)
    if op == "gte":
        return bool(actual >= expected)
    if op == "lt":
        return bool(actual < expected)
    return bool(actual <= expected)


def rule_matches(rule: Mapping[str, Any], event: Event) -> bool:
    op, expected = rule["op"], rule["value"]
    found, actual = resolve(rule["field"], event)
    if op == "exists":
        return found is bool(expected)
    if op == "neq":
        return not (found and strict_equal(actual, expected))
    if not found:
        return False
    if op == "eq":
        return strict_equal(actual, expected)
    if op == "in":
        return isinstance(expected, list) and any(strict_equal(actual, item) for item in expected)
    if op == "contains":
        if isinstance(actual, str):
            return isinstance(expected, str) and expected in actual
        return isinstance(actual, list) and any(strict_equal(item, expected) for item in actual)
    if op in ORDERING:
        return _compare(op, actual, expected)
    return False


def rules_match(rules: Sequence[Mapping[str, Any]] | None, event: Event) -> bool:
    return all(rule_matches(rule, event) for rule in rules or ())
