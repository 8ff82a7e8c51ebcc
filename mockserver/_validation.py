"""Compiled JSON Schema validators that report violations as data instead of raising."""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from functools import lru_cache
from typing import TYPE_CHECKING, Any
from urllib.parse import quote

import jsonschema_rs
from rfc3986_validator import validate_rfc3986

from ._spec import JsonPointer, Spec

if TYPE_CHECKING:
    from jsonschema import Draft202012Validator, FormatChecker
    from jsonschema.exceptions import ValidationError
    from referencing import Registry

Location = tuple[str | int, ...]
Resolve = Callable[[str], Any]
"""Looks up a `$ref` of the spec (the schema it points to)."""


@dataclass(frozen=True, slots=True)
class Violation:
    """One reason a request or response does not match the spec.

    `kind` uses pydantic's error type names (`missing`, `int_parsing`, `enum`, ...) so that an API with
    FastAPI-style errors can render it unchanged; `location` starts with the part of the message
    (`path`, `query`, `header`, `cookie`, `body`, or `response`).
    """

    location: Location
    message: str
    kind: str
    input: Any = None
    context: Mapping[str, Any] | None = field(default=None)

    def describe(self) -> str:
        where = ".".join(str(part) for part in self.location)
        return f"{where}: {self.message}" if where else self.message


def malformed_json(error: json.JSONDecodeError) -> Violation:
    """A body that is not JSON, as pydantic names it: `json_invalid` at `("body", <position>)`."""
    return Violation(("body", error.pos), "JSON decode error", "json_invalid", {}, {"error": error.msg})


_UUID = re.compile(r"[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}")
_DATE_TIME = re.compile(
    r"(\d{4})-(0[1-9]|1[0-2])-(\d\d)T(?:[01]\d|2[0-3]):[0-5]\d:[0-5]\d(?:\.\d+)?(?:Z|[+-](?:[01]\d|2[0-3]):[0-5]\d)",
    re.ASCII,
)
_DAYS_IN_MONTH = (0, 31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31)


def _is_uuid(value: str) -> bool:
    """RFC 4122 text: 32 hex digits, hyphens after the 8th, 12th, 16th and 20th."""
    return _UUID.fullmatch(value) is not None


def _is_date_time(value: str) -> bool:
    """RFC 3339 `date-time` (`T` and `Z` upper case, no leap second), a real calendar day of year 1 or later."""
    match = _DATE_TIME.fullmatch(value)
    if match is None:
        return False
    year, month, day = int(match[1]), int(match[2]), int(match[3])
    if day <= 28:
        return day > 0 and year > 0
    leap = month == 2 and year % 4 == 0 and (year % 100 != 0 or year % 400 == 0)
    return year > 0 and day <= _DAYS_IN_MONTH[month] + leap


_DATE = re.compile(r"\d{4}-\d{2}-\d{2}")
_EMAIL = re.compile(r"[^@\s]+@[^@\s]+\.[^@\s]+")


def _is_date(value: str) -> bool:
    return _DATE.fullmatch(value) is not None


def _is_email(value: str) -> bool:
    return _EMAIL.fullmatch(value) is not None


def _is_uri(value: str) -> bool:
    """An absolute RFC 3986 URI (`URI` rule): ASCII, `%` + two hex digits, no `{`, `|`, space or second `#`.

    The validator's pattern ends in Python's `$`, which also matches before a final newline: refused here.
    """
    return not value.endswith("\n") and validate_rfc3986(value, rule="URI") is not None


_FORMAT_CACHE_SIZE = 8192
"""Per format: a response repeats the same ids, times and emails, and answering a cached string skips the
check (a quarter of a 25-connection list's time went to format checks called back from jsonschema-rs)."""

FORMATS: dict[str, Callable[[str], bool]] = {
    name: lru_cache(maxsize=_FORMAT_CACHE_SIZE)(check)
    for name, check in (
        ("uuid", _is_uuid),
        ("date-time", _is_date_time),
        ("date", _is_date),
        ("email", _is_email),
        ("uri", _is_uri),
    )
}
"""The formats the mock checks, the same for both validators below."""


_ECMA_OUTSIDE_CLASS = {"$": r"\Z", ".": r"[^\n\r\u2028\u2029]"}
_ECMA_ESCAPES = {"d": "0-9", "w": "A-Za-z0-9_"}


@lru_cache(maxsize=1024)
def ecma_regex(pattern: str) -> re.Pattern[str]:
    """A JSON Schema `pattern` (ECMA-262, no flags) as Python's `re` must read it to agree with jsonschema-rs.

    `$` is the end of the string (Python's also matches before a final newline), `.` stops at any line
    terminator, and `\\d`, `\\w` are ASCII (Python's are Unicode); `\\s` is Unicode in both.
    """
    out: list[str] = []
    in_class = False
    index = 0
    while index < len(pattern):
        char = pattern[index]
        if char == "\\" and index + 1 < len(pattern):
            escaped = pattern[index + 1]
            if escaped.lower() in _ECMA_ESCAPES and not (in_class and escaped.isupper()):
                letters = _ECMA_ESCAPES[escaped.lower()]
                if in_class:
                    out.append(letters)
                else:
                    out.append(f"[^{letters}]" if escaped.isupper() else f"[{letters}]")
            else:
                out.append(char + escaped)
            index += 2
            continue
        if in_class:
            in_class = char != "]" or out[-1] in ("[", "[^")
        elif char == "[":
            in_class = True
            if pattern.startswith("[^", index):
                out.append("[^")
                index += 2
                continue
        elif char in _ECMA_OUTSIDE_CLASS:
            char = _ECMA_OUTSIDE_CLASS[char]
        out.append(char)
        index += 1
    return re.compile("".join(out))


def _build_ecma_validator_class() -> Any:
    """Draft 2020-12 with `pattern`, `patternProperties` and `additionalProperties` read by `ecma_regex`."""
    from jsonschema import Draft202012Validator, validators
    from jsonschema.exceptions import ValidationError

    def pattern(validator: Any, expected: str, instance: Any, schema: Any) -> Any:
        if validator.is_type(instance, "string") and not ecma_regex(expected).search(instance):
            yield ValidationError(f"{instance!r} does not match {expected!r}")

    def pattern_properties(validator: Any, patterns: Any, instance: Any, schema: Any) -> Any:
        if not validator.is_type(instance, "object"):
            return
        for expected, subschema in patterns.items():
            for key, value in instance.items():
                if ecma_regex(expected).search(key):
                    yield from validator.descend(value, subschema, path=key, schema_path=expected)

    def additional_properties(validator: Any, additional: Any, instance: Any, schema: Any) -> Any:
        if not validator.is_type(instance, "object"):
            return
        extras = [key for key in instance if not _declared_key(schema, key)]
        if validator.is_type(additional, "object"):
            for extra in extras:
                yield from validator.descend(instance[extra], additional, path=extra)
        elif additional is False and extras:
            listed = ", ".join(repr(extra) for extra in extras)
            yield ValidationError(f"Additional properties are not allowed ({listed} unexpected)")

    extend: Any = validators.extend  # untyped in types-jsonschema
    return extend(
        Draft202012Validator,
        {
            "pattern": pattern,
            "patternProperties": pattern_properties,
            "additionalProperties": additional_properties,
        },
    )


def _declared_key(schema: Mapping[str, Any], key: str) -> bool:
    """Whether `properties` or `patternProperties` (read as ECMA-262) name `key`."""
    if key in schema.get("properties", {}):
        return True
    return any(ecma_regex(expected).search(key) for expected in schema.get("patternProperties", {}))


def build_format_checker() -> FormatChecker:
    from jsonschema import FormatChecker

    checker = FormatChecker(formats=())
    for name, check in FORMATS.items():
        checker.checks(name)(lambda value, check=check: not isinstance(value, str) or check(value))
    return checker


def build_registry(spec: Spec) -> Registry[Any]:
    from referencing import Registry, Resource
    from referencing.jsonschema import DRAFT202012

    resource: Resource[Any] = DRAFT202012.create_resource(spec.document)
    registry: Registry[Any] = Registry().with_resource(uri=spec.base_uri, resource=resource)
    return registry


@lru_cache(maxsize=1)
def _ecma_validator_class() -> Any:
    return _build_ecma_validator_class()


class SpecSchemas:
    """The schemas of one spec, for the `SchemaValidator`s of its operations (`validator(pointer)`).

    `jsonschema`, which names the violations of an invalid instance, is imported and given its registry and
    format checker when the first invalid instance comes: a start that does not need it saves ~0.1 s.
    """

    __slots__ = ("_format_checker", "_registry", "spec")

    def __init__(self, spec: Spec) -> None:
        self.spec = spec
        self._registry: Registry[Any] | None = None
        self._format_checker: FormatChecker | None = None

    def validator(self, pointer: JsonPointer) -> SchemaValidator:
        return SchemaValidator(self, pointer)

    def _load(self) -> tuple[Registry[Any], FormatChecker]:
        if self._registry is None or self._format_checker is None:
            self._registry = build_registry(self.spec)
            self._format_checker = build_format_checker()
        return self._registry, self._format_checker

    def resolve(self, ref: str) -> Any:
        """The schema a `$ref` of this spec points to."""
        registry, _ = self._load()
        return registry.resolver(base_uri=self.spec.base_uri).lookup(ref).contents

    def explaining_validator(self, pointer: JsonPointer) -> Draft202012Validator:
        registry, format_checker = self._load()
        validator: Draft202012Validator = _ecma_validator_class()(
            {"$ref": f"{self.spec.base_uri}{pointer}"},
            registry=registry,
            format_checker=format_checker,
        )
        return validator


class SchemaValidator:
    """A Draft 2020-12 validator for one schema inside a spec, built once, on first use.

    Whether an instance is valid is asked of jsonschema-rs first (microseconds); only an invalid instance
    goes through `jsonschema`, which names every violation. Both use `FORMATS`.
    """

    __slots__ = ("_explaining", "_fast", "_schemas", "pointer")

    def __init__(self, schemas: SpecSchemas, pointer: JsonPointer) -> None:
        self.pointer = pointer
        self._schemas = schemas
        self._fast: Any = None
        self._explaining: Draft202012Validator | None = None

    def _quick_check(self, instance: Any) -> bool:
        if self._fast is None:
            # The whole spec is the root, so its local `$ref`s resolve; its other keys are not keywords.
            root = {**self._schemas.spec.document, "$ref": quote(self.pointer, safe="#/~!$&'()*+,;=:@")}
            self._fast = jsonschema_rs.Draft202012Validator(root, validate_formats=True, formats=FORMATS)
        return bool(self._fast.is_valid(instance))

    @property
    def _validator(self) -> Draft202012Validator:
        if self._explaining is None:
            self._explaining = self._schemas.explaining_validator(self.pointer)
        return self._explaining

    def is_valid(self, instance: Any) -> bool:
        return self._quick_check(instance) or bool(self._validator.is_valid(instance))

    def violations(self, instance: Any, *, at: Location, from_text: bool = False) -> list[Violation]:
        """Every violation, each located at `at` + the path inside `instance`.

        `from_text` says the instance was parsed from a string (a query value, say), so a type error
        is reported as a parsing error, as FastAPI does.
        """
        if self._quick_check(instance):
            return []
        errors = sorted(self._validator.iter_errors(instance), key=lambda e: list(map(str, e.absolute_path)))
        direct = [error for error in errors if error.validator not in ("anyOf", "oneOf")]
        if direct:  # a plain error says more than "no variant matches", which would guess at one
            errors = direct
        found: dict[Location, Violation] = {}
        for error in errors:
            for violation in violations_from_error(
                error, at=at, from_text=from_text, resolve=self._schemas.resolve
            ):
                # One violation per place, as pydantic reports: the first rule that refuses it.
                found.setdefault(violation.location, violation)
        if not found:
            # The two disagree (they should not: same formats, same regex dialect): the stricter one decides.
            return [_violation_from_fast_error(error, at=at) for error in self._fast.iter_errors(instance)]
        return list(found.values())


_TYPE_KINDS = {
    "integer": ("int", "a valid integer"),
    "number": ("float", "a valid number"),
    "boolean": ("bool", "a valid boolean"),
    "string": ("string", "a valid string"),
    "object": ("dict", "a valid dictionary or object"),
    "array": ("list", "a valid list"),
    "null": ("none", "None"),
}
_PARSING_DETAIL = {
    "integer": ", unable to parse string as an integer",
    "number": ", unable to parse string as a number",
    "boolean": ", unable to interpret input",
}


def _describe_choices(values: Sequence[Any]) -> str:
    rendered = [repr(value) if isinstance(value, str) else str(value) for value in values]
    if len(rendered) <= 1:
        return "".join(rendered)
    return f"{', '.join(rendered[:-1])} or {rendered[-1]}"


def _closest_branch(errors: Sequence[ValidationError], resolve: Resolve | None) -> list[ValidationError]:
    """The errors of the `anyOf`/`oneOf` branch the instance nearly matches.

    A branch that only refuses the instance's type loses to any other; then the branch that fails deepest
    (its shallowest error is furthest down: it agrees on the outer fields), then the one that agrees on more of
    its leading properties (a variant naming the given `provider_id` beats one naming the given type), then
    the one with the fewest errors, then the first.
    """
    branches: dict[Any, list[ValidationError]] = {}
    for inner in errors:
        branches.setdefault(inner.relative_schema_path[0], []).append(inner)

    def depth(error: ValidationError) -> int:
        return len(error.absolute_path) + (error.validator == "required")  # `required` is about a child

    def rank(found: list[ValidationError]) -> tuple[bool, int, int, int]:
        wrong_type = all(e.validator == "type" and not e.relative_path for e in found)
        return (wrong_type, -min(map(depth, found)), -_declared_before(found[0], resolve), len(found))

    return sorted(branches.values(), key=rank)[0]


def _declared_before(error: ValidationError, resolve: Resolve | None) -> int:
    """How many properties the failing branch declares before the one this error is about (0 if unknown)."""
    node: Any = error.parent.validator_value if error.parent is not None else None
    path = list(error.relative_schema_path)
    for index, token in enumerate(path):
        while resolve is not None and isinstance(node, Mapping) and "$ref" in node and token not in node:
            node = resolve(node["$ref"])  # a named variant: jsonschema's path does not show the `$ref`
        if isinstance(node, Mapping) and token == "properties" and index + 1 < len(path):
            names = list(node.get("properties", {}))
            return names.index(path[index + 1]) if path[index + 1] in names else 0
        in_mapping = isinstance(node, Mapping) and isinstance(token, str) and token in node
        in_list = isinstance(node, list) and isinstance(token, int) and token < len(node)
        if not (in_mapping or in_list):
            return 0
        node = node[token]
    return 0


def _violation_from_fast_error(error: Any, *, at: Location) -> Violation:
    location = at + tuple(error.instance_path)
    pattern = getattr(error.kind, "pattern", None)
    if isinstance(pattern, str):
        return Violation(
            location,
            f"String should match pattern '{pattern}'",
            "string_pattern_mismatch",
            error.instance,
            {"pattern": pattern},
        )
    return Violation(location, _safe_message(error.message, error.instance), "value_error", error.instance)


def _safe_message(message: str, instance: Any) -> str:
    """A validator's message, unless it repeats an object or array (whose secrets are masked only in `input`)."""
    if isinstance(instance, dict | list):
        return "Input does not match the schema"
    return message


def violations_from_error(
    error: ValidationError, *, at: Location, from_text: bool = False, resolve: Resolve | None = None
) -> list[Violation]:
    """What one error says; for an `anyOf`/`oneOf`, what the branch the instance nearly matches says."""
    if error.validator in ("anyOf", "oneOf") and error.context:
        # A branch's error knows its whole path: its `absolute_path` starts at the root instance.
        inner = sorted(_closest_branch(error.context, resolve), key=lambda e: list(map(str, e.absolute_path)))
        return [
            v for e in inner for v in violations_from_error(e, at=at, from_text=from_text, resolve=resolve)
        ]
    return [violation_from_error(error, at=at, from_text=from_text)]


def violation_from_error(error: ValidationError, *, at: Location, from_text: bool = False) -> Violation:
    location = at + tuple(error.absolute_path)
    value = error.instance
    keyword = error.validator
    expected: Any = error.validator_value
    parent: Any = error.schema

    if "propertyNames" in error.relative_schema_path:
        return Violation(
            (*location, str(value)), f"Unknown key '{value}': {error.message}", "value_error", value
        )

    if keyword == "required":
        missing = re.match(r"'(.+?)' is a required property", error.message)
        name = missing.group(1) if missing else str(error.message)
        return Violation((*location, name), "Field required", "missing", value)
    if keyword == "type":
        types = [expected] if isinstance(expected, str) else list(expected)
        primary = next((t for t in types if t != "null"), types[0])
        prefix, wanted = _TYPE_KINDS.get(primary, (primary, f"of type {primary}"))
        if from_text and isinstance(value, str) and primary in _PARSING_DETAIL:
            return Violation(
                location, f"Input should be {wanted}{_PARSING_DETAIL[primary]}", f"{prefix}_parsing", value
            )
        return Violation(location, f"Input should be {wanted}", f"{prefix}_type", value)
    if keyword == "enum":
        return Violation(
            location, f"Input should be {_describe_choices(expected)}", "enum", value, {"expected": expected}
        )
    if keyword == "const":
        return Violation(location, f"Input should be {_describe_choices([expected])}", "literal_error", value)
    if keyword in ("minimum", "exclusiveMinimum", "maximum", "exclusiveMaximum"):
        words = {
            "minimum": ("greater than or equal to", "greater_than_equal", "ge"),
            "exclusiveMinimum": ("greater than", "greater_than", "gt"),
            "maximum": ("less than or equal to", "less_than_equal", "le"),
            "exclusiveMaximum": ("less than", "less_than", "lt"),
        }[keyword]
        return Violation(
            location, f"Input should be {words[0]} {expected}", words[1], value, {words[2]: expected}
        )
    if keyword == "minLength":
        unit = "character" if expected == 1 else "characters"
        return Violation(
            location,
            f"String should have at least {expected} {unit}",
            "string_too_short",
            value,
            {"min_length": expected},
        )
    if keyword == "maxLength":
        return Violation(
            location,
            f"String should have at most {expected} characters",
            "string_too_long",
            value,
            {"max_length": expected},
        )
    if keyword == "pattern":
        return Violation(
            location,
            f"String should match pattern '{expected}'",
            "string_pattern_mismatch",
            value,
            {"pattern": expected},
        )
    if keyword == "format":
        kind = {"uuid": "uuid_parsing", "date-time": "datetime_from_date_parsing"}.get(
            expected, "value_error"
        )
        readable = {
            "uuid": "a valid UUID",
            "date-time": "a valid datetime (RFC 3339)",
            "email": "a valid email address",
        }
        return Violation(
            location, f"Input should be {readable.get(expected, f'a valid {expected}')}", kind, value
        )
    if keyword == "additionalProperties" and isinstance(value, dict):
        extras = [k for k in value if not _declared_key(parent, k)]
        extra = extras[0] if extras else ""
        return Violation(
            (*location, extra), "Extra inputs are not permitted", "extra_forbidden", value.get(extra)
        )
    if keyword in ("minItems", "minProperties"):
        return Violation(location, f"Input should have at least {expected} item(s)", "too_short", value)
    if keyword in ("maxItems", "maxProperties"):
        return Violation(location, f"Input should have at most {expected} item(s)", "too_long", value)
    if keyword == "propertyNames":
        return Violation(location, f"Invalid key: {error.message}", "value_error", value)
    if keyword in ("oneOf", "anyOf"):
        several = keyword == "oneOf" and not error.context
        wanted = "exactly one of" if several else "one of"
        return Violation(
            location, f"Input should match {wanted} the schemas in '{keyword}'", "value_error", value
        )
    return Violation(location, _safe_message(error.message, value), "value_error", value)
