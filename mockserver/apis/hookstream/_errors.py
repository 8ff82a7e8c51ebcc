"""hookstream error messages: the engine's violations rewritten as short `field must …` sentences."""

from __future__ import annotations

from collections.abc import Sequence
from types import MappingProxyType
from typing import Any

from ..._validation import Violation
from ._filters import FIELD_HELP, FIELD_PATTERN

_ID_PATTERN = "^[0-9a-f]{32}$"
_PATTERNS = MappingProxyType(
    {
        _ID_PATTERN: "must be 32 lowercase hex characters",
        "^org_[0-9a-f]+$": "must be org_ followed by lowercase hex",
        "^env_[0-9a-f]+$": "must be env_ followed by lowercase hex",
        "^[a-z0-9]+(?:-[a-z0-9]+)*$": "must be lowercase letters and digits joined by single hyphens",
        FIELD_PATTERN: f"must be {FIELD_HELP}",
    }
)
_TYPES = MappingProxyType(
    {
        "int": "an integer",
        "float": "a number",
        "bool": "a boolean",
        "string": "a string",
        "dict": "an object",
        "list": "an array",
        "none": "null",
    }
)
_BOUNDS = MappingProxyType(
    {
        "greater_than_equal": ("at least", "ge"),
        "greater_than": ("greater than", "gt"),
        "less_than_equal": ("at most", "le"),
        "less_than": ("less than", "lt"),
    }
)


def field_path(location: Sequence[Any]) -> str:
    """`("body", "filter_rules", 0, "op")` → `body.filter_rules.0.op` (the engine's own dotted form)."""
    return ".".join(str(part) for part in location)


def _is_rule_value(location: Sequence[Any]) -> bool:
    return len(location) >= 4 and location[-1] == "value" and location[-3] == "filter_rules"


def _choices(values: Any) -> str:
    return ", ".join("null" if value is None else str(value) for value in values)


def describe(violation: Violation) -> str:
    where = field_path(violation.location)
    context = dict(violation.context or {})
    kind = violation.kind
    if kind == "json_invalid":
        return f"Malformed JSON body: {context.get('error', 'invalid JSON')}"
    if len(violation.location) <= 1:
        if kind == "missing":
            return "Request body is required"
        if kind == "too_short":
            return "Request body must contain at least one field"
        if kind.endswith("_type"):
            return f"Request body must be {_TYPES.get(kind.removesuffix('_type'), 'valid JSON')}"
        return f"Request body is invalid: {violation.message}"
    if kind == "missing":
        return f"{where} is required"
    if kind == "extra_forbidden":
        return f"{where} is not a known field"
    if kind == "enum":
        return f"{where} must be one of {_choices(context.get('expected', ()))}"
    if kind == "float_type" and _is_rule_value(violation.location):  # FilterRule's ordering if/then
        return f"{where} must be a number or a string for gt, gte, lt and lte"
    if kind.endswith("_type") or kind.endswith("_parsing"):
        wanted = _TYPES.get(kind.removesuffix("_type").removesuffix("_parsing"))
        if wanted is not None:
            return f"{where} must be {wanted}"
    if kind == "string_pattern_mismatch":
        pattern = str(context.get("pattern", ""))
        return f"{where} {_PATTERNS.get(pattern, f'must match {pattern}')}"
    if kind == "string_too_short":
        minimum = context.get("min_length", 1)
        return (
            f"{where} must not be empty" if minimum == 1 else f"{where} must be at least {minimum} characters"
        )
    if kind == "string_too_long":
        return f"{where} must be at most {context.get('max_length')} characters"
    if kind in _BOUNDS:
        words, key = _BOUNDS[kind]
        return f"{where} must be {words} {context.get(key)}"
    if kind == "too_short":
        return f"{where} must not be empty"
    return f"{where}: {violation.message}"


def describe_all(violations: Sequence[Violation]) -> str:
    """One message per field (the first violation found there), in the engine's order."""
    messages: dict[str, str] = {}
    for violation in violations:
        messages.setdefault(field_path(violation.location), describe(violation))
    return "; ".join(messages.values())
