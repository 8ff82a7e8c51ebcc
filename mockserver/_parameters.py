"""Deserializing path, query, header and cookie parameters per OpenAPI `style`/`explode`."""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation
from enum import Enum
from http.cookies import CookieError, SimpleCookie
from typing import Any

from ._spec import Parameter, Spec
from ._validation import Violation

_TRUE = frozenset({"true", "1", "yes", "on", "t", "y"})
_FALSE = frozenset({"false", "0", "no", "off", "f", "n"})


@dataclass(frozen=True, slots=True)
class RawParameters:
    """What a request carries, before the spec gives it types."""

    path: Mapping[str, str]
    query: Sequence[tuple[str, str]]
    headers: Mapping[str, str]
    cookies: Mapping[str, str]


def schema_types(spec: Spec, schema: Mapping[str, Any]) -> set[str]:
    """The JSON types a schema admits, looking through `$ref`, `anyOf`, `oneOf` and `allOf`."""
    schema = spec.resolve_schema(schema)
    declared = schema.get("type")
    if isinstance(declared, str):
        return {declared}
    if isinstance(declared, list):
        return set(declared)
    types: set[str] = set()
    for keyword in ("anyOf", "oneOf", "allOf"):
        for branch in schema.get(keyword, ()):
            types |= schema_types(spec, branch)
    if not types and "enum" in schema:
        types = {_json_type(value) for value in schema["enum"]}
    return types


def _json_type(value: Any) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "boolean"
    if isinstance(value, int):
        return "integer"
    if isinstance(value, float):
        return "number"
    return "string" if isinstance(value, str) else "object"


class NumberSyntax(Enum):
    """How an API reads a number from a URL or a header (text the schema then checks)."""

    JSON = "json"
    """A JSON number in ASCII, nothing around it; an `integer` is one with no fractional part (`1e2`, `1.0`)."""
    PYDANTIC = "pydantic"
    """As pydantic's lax mode (FastAPI's parameters): Unicode whitespace around, a sign, `_` between digits,
    and for an integer a fraction of zeros (`+1_000.0`), in ASCII digits; floats also take `inf` and `nan`."""


_JSON_NUMBER = re.compile(r"-?(?:0|[1-9][0-9]*)(?:\.[0-9]+)?(?:[eE][+-]?[0-9]+)?", re.ASCII)
_PYDANTIC_INT = re.compile(r"[+-]?[0-9]+(?:_[0-9]+)*(?:\.0+)?", re.ASCII)
_PYDANTIC_FLOAT = re.compile(
    r"[+-]?(?:(?:[0-9]+\.?[0-9]*|\.[0-9]+)(?:[eE][+-]?[0-9]+)?|inf|infinity|nan)", re.ASCII | re.IGNORECASE
)
_UNICODE_WHITESPACE = "\t\n\x0b\x0c\r \x85\xa0\u1680\u2000\u2001\u2002\u2003\u2004\u2005\u2006\u2007\u2008\u2009\u200a\u2028\u2029\u202f\u205f\u3000"
"""Unicode's White_Space, which pydantic trims (Python's `str.strip` also trims U+001C to U+001F)."""
_MAX_INTEGER_DIGITS = 4300
"""Longer integers are refused, by pydantic and by Python's `int()` alike."""


def _pydantic_float_text(text: str) -> str | None:
    """`text` trimmed and without its `_` separators, or None where pydantic refuses the separators."""
    text = text.strip(_UNICODE_WHITESPACE)
    if text.startswith("_") or text.endswith("_") or "__" in text:
        return None
    return text.replace("_", "")


def parse_integer(text: str, syntax: NumberSyntax) -> int | None:
    if syntax is NumberSyntax.PYDANTIC:
        trimmed = text.strip(_UNICODE_WHITESPACE)
        if _PYDANTIC_INT.fullmatch(trimmed) is None:
            return None
        whole = trimmed.partition(".")[0].replace("_", "")
        return int(whole) if len(whole.lstrip("+-")) <= _MAX_INTEGER_DIGITS else None
    if _JSON_NUMBER.fullmatch(text) is None:
        return None
    try:
        value = Decimal(text)
    except InvalidOperation:  # pragma: no cover - the pattern admits only decimal text
        return None
    if value.adjusted() >= _MAX_INTEGER_DIGITS or value != value.to_integral_value():
        return None
    return int(value)


def parse_number(text: str, syntax: NumberSyntax) -> float | None:
    if syntax is NumberSyntax.PYDANTIC:
        cleaned = _pydantic_float_text(text)
        if cleaned is None or _PYDANTIC_FLOAT.fullmatch(cleaned) is None:
            return None
        return float(cleaned)
    if _JSON_NUMBER.fullmatch(text) is None:
        return None
    value = float(text)
    return value if value not in (float("inf"), float("-inf")) else None


def coerce_scalar(
    text: str, types: set[str] | frozenset[str], numbers: NumberSyntax = NumberSyntax.JSON
) -> Any:
    """Give a string from the URL or a header the first type the schema admits; keep it if none fits."""
    if "string" in types:
        return text
    if "integer" in types:
        integer = parse_integer(text, numbers)
        if integer is not None:
            return integer
    if "number" in types:
        number = parse_number(text, numbers)
        if number is not None:
            return number
    if "boolean" in types:
        lowered = text.lower()
        if lowered in _TRUE:
            return True
        if lowered in _FALSE:
            return False
    return text


def _array_items_types(spec: Spec, schema: Mapping[str, Any]) -> set[str]:
    resolved = spec.resolve_schema(schema)
    for keyword in ("anyOf", "oneOf"):
        for branch in resolved.get(keyword, ()):
            branch = spec.resolve_schema(branch)
            if branch.get("type") == "array":
                resolved = branch
    return schema_types(spec, resolved.get("items", {})) if "items" in resolved else {"string"}


def _object_property_types(spec: Spec, schema: Mapping[str, Any]) -> dict[str, frozenset[str]]:
    resolved = spec.resolve_schema(schema)
    types = {name: frozenset(schema_types(spec, sub)) for name, sub in resolved.get("properties", {}).items()}
    additional = resolved.get("additionalProperties")
    types[""] = frozenset(schema_types(spec, additional) if isinstance(additional, Mapping) else {"string"})
    return types


def _split(text: str, style: str) -> list[str]:
    separator = {"spaceDelimited": " ", "pipeDelimited": "|"}.get(style, ",")
    return text.split(separator) if text else []


@dataclass(frozen=True, slots=True)
class _CompiledParameter:
    parameter: Parameter
    types: frozenset[str]
    item_types: frozenset[str]
    has_default: bool
    default: Any
    property_types: Mapping[str, frozenset[str]]
    """For a form-exploded object: the types of its named properties, and of any other key under ""."""


def _is_exploded_object(compiled: _CompiledParameter) -> bool:
    parameter = compiled.parameter
    return "object" in compiled.types and parameter.explode and parameter.style == "form"


class ParameterReader:
    """Reads the declared parameters of one operation from a request."""

    __slots__ = ("_compiled", "_declared_query", "_numbers", "empty_refused")

    def __init__(
        self, spec: Spec, parameters: Sequence[Parameter], *, numbers: NumberSyntax = NumberSyntax.JSON
    ) -> None:
        self._numbers = numbers
        compiled = []
        for parameter in parameters:
            schema = spec.resolve_schema(parameter.schema)
            compiled.append(
                _CompiledParameter(
                    parameter=parameter,
                    types=frozenset(schema_types(spec, parameter.schema)),
                    item_types=frozenset(_array_items_types(spec, parameter.schema)),
                    has_default="default" in schema,
                    default=schema.get("default"),
                    property_types=_object_property_types(spec, parameter.schema),
                )
            )
        self._compiled = tuple(compiled)
        # A form-exploded object has no key of its own: its name sent as a key is one of its properties.
        self._declared_query = frozenset(
            c.parameter.name
            for c in compiled
            if c.parameter.location == "query" and not _is_exploded_object(c)
        )
        # OpenAPI's `allowEmptyValue` defaults to false; an exploded object's keys are its properties.
        self.empty_refused = frozenset(
            c.parameter.name
            for c in compiled
            if c.parameter.location == "query"
            and not c.parameter.allow_empty_value
            and not _is_exploded_object(c)
        )
        """Query parameters whose `name=` is refused where the schema would admit `""`."""

    def read(self, raw: RawParameters) -> tuple[dict[str, dict[str, Any]], list[Violation]]:
        """Values by location and name (defaults filled in), and the required ones that are missing."""
        values: dict[str, dict[str, Any]] = {"path": {}, "query": {}, "header": {}, "cookie": {}}
        violations: list[Violation] = []
        for compiled in self._compiled:
            parameter = compiled.parameter
            present, value = self._read_one(compiled, raw)
            if present:
                values[parameter.location][parameter.name] = value
            elif parameter.required:
                violations.append(
                    Violation((parameter.location, parameter.name), "Field required", "missing", None)
                )
            elif compiled.has_default:
                values[parameter.location][parameter.name] = compiled.default
        return values, violations

    def _read_one(self, compiled: _CompiledParameter, raw: RawParameters) -> tuple[bool, Any]:
        parameter = compiled.parameter
        if parameter.location == "query":
            return self._read_query(compiled, raw.query)
        if parameter.location == "path":
            text: str | None = raw.path.get(parameter.name)
        elif parameter.location == "header":
            text = raw.headers.get(parameter.name.lower())
        else:
            text = raw.cookies.get(parameter.name)
        if text is None:
            return False, None
        if "array" in compiled.types and "string" not in compiled.types:
            return True, [
                coerce_scalar(item, compiled.item_types, self._numbers)
                for item in _split(text, parameter.style)
            ]
        return True, coerce_scalar(text, compiled.types, self._numbers)

    def _read_query(self, compiled: _CompiledParameter, query: Sequence[tuple[str, str]]) -> tuple[bool, Any]:
        parameter = compiled.parameter
        if _is_exploded_object(compiled):
            extra = {key: value for key, value in query if key not in self._declared_query}
            if not extra:
                return False, None
            types = compiled.property_types
            return True, {
                key: coerce_scalar(value, types.get(key, types[""]), self._numbers)
                for key, value in extra.items()
            }
        occurrences = [value for key, value in query if key == parameter.name]
        if not occurrences:
            return False, None
        if "array" in compiled.types:
            items = occurrences if parameter.explode else _split(occurrences[-1], parameter.style)
            return True, [coerce_scalar(item, compiled.item_types, self._numbers) for item in items]
        return True, coerce_scalar(occurrences[-1], compiled.types, self._numbers)


def read_cookies(header: str) -> dict[str, str]:
    if not header:
        return {}
    jar: SimpleCookie = SimpleCookie()
    try:
        jar.load(header)
    except CookieError:
        return {}
    return {name: morsel.value for name, morsel in jar.items()}
