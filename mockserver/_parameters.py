"""Deserializing path, query, header and cookie parameters per OpenAPI `style`/`explode`."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
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


def coerce_scalar(text: str, types: set[str] | frozenset[str]) -> Any:
    """Give a string from the URL or a header the first type the schema admits; keep it if none fits."""
    if "string" in types:
        return text
    if "integer" in types:
        try:
            return int(text, 10)
        except ValueError:
            pass
    if "number" in types:
        try:
            return float(text)
        except ValueError:
            pass
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

    __slots__ = ("_compiled", "_declared_query")

    def __init__(self, spec: Spec, parameters: Sequence[Parameter]) -> None:
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
            c.parameter.name for c in compiled if c.parameter.location == "query" and not _is_exploded_object(c)
        )

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
            return True, [coerce_scalar(item, compiled.item_types) for item in _split(text, parameter.style)]
        return True, coerce_scalar(text, compiled.types)

    def _read_query(self, compiled: _CompiledParameter, query: Sequence[tuple[str, str]]) -> tuple[bool, Any]:
        parameter = compiled.parameter
        if _is_exploded_object(compiled):
            extra = {key: value for key, value in query if key not in self._declared_query}
            if not extra:
                return False, None
            types = compiled.property_types
            return True, {
                key: coerce_scalar(value, types.get(key, types[""])) for key, value in extra.items()
            }
        occurrences = [value for key, value in query if key == parameter.name]
        if not occurrences:
            return False, None
        if "array" in compiled.types:
            items = occurrences if parameter.explode else _split(occurrences[-1], parameter.style)
            return True, [coerce_scalar(item, compiled.item_types) for item in items]
        return True, coerce_scalar(occurrences[-1], compiled.types)


def read_cookies(header: str) -> dict[str, str]:
    if not header:
        return {}
    jar: SimpleCookie = SimpleCookie()
    try:
        jar.load(header)
    except CookieError:
        return {}
    return {name: morsel.value for name, morsel in jar.items()}
