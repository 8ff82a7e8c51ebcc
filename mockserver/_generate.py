"""Data generated from a JSON Schema with a seeded Faker: the same seed gives the same data."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping
from datetime import UTC, datetime, timedelta
from re import _parser as sre_parse  # type: ignore[attr-defined]
from typing import Any

from faker import Faker

from ._spec import Spec

_MAX_DEPTH = 8
_EPOCH = datetime(2025, 1, 1, tzinfo=UTC)


def stable_seed(*parts: object) -> int:
    digest = hashlib.sha256("\x1f".join(map(str, parts)).encode()).digest()
    return int.from_bytes(digest[:8], "big")


def _is_json_media_type(media_type: Any) -> bool:
    if not isinstance(media_type, str):
        return False
    essence = media_type.split(";", 1)[0].strip().lower()
    return essence == "application/json" or essence.endswith("+json")


class RegexSampler:
    """Builds a string that matches a regular expression, from Python's own parse of it."""

    def __init__(self, faker: Faker) -> None:
        self._faker = faker

    def sample(self, pattern: str) -> str:
        return self._emit(sre_parse.parse(pattern))

    def _emit(self, parsed: Any) -> str:
        return "".join(self._emit_node(op, arg) for op, arg in parsed)

    def _emit_node(self, op: Any, arg: Any) -> str:
        name = str(op)
        random: Any = self._faker.random
        if name == "LITERAL":
            return chr(arg)
        if name == "NOT_LITERAL":
            return "a" if chr(arg) != "a" else "b"
        if name == "ANY":
            return str(random.choice("abcdefghijklmnopqrstuvwxyz"))
        if name == "IN":
            return self._emit_class(arg)
        if name in ("MAX_REPEAT", "MIN_REPEAT", "POSSESSIVE_REPEAT"):
            low, high, sub = arg
            high = min(high, low + 3) if high != sre_parse.MAXREPEAT else low + 3
            return "".join(self._emit(sub) for _ in range(random.randint(low, max(low, high))))
        if name == "SUBPATTERN":
            return self._emit(arg[-1])
        if name == "BRANCH":
            return self._emit(random.choice(arg[1]))
        if name == "ATOMIC_GROUP":
            return self._emit(arg)
        if name == "CATEGORY":
            return self._emit_category(str(arg))
        return ""  # AT (anchors), assertions, and groups references produce nothing

    def _emit_category(self, category: str) -> str:
        random: Any = self._faker.random
        if category.endswith("DIGIT"):
            return random.choice("0123456789") if "NOT" not in category else "x"
        if category.endswith("SPACE"):
            return " " if "NOT" not in category else "x"
        return str(random.choice("abcdefghijklmnopqrstuvwxyz"))

    def _emit_class(self, items: list[Any]) -> str:
        if items and str(items[0][0]) == "NEGATE":
            excluded = {chr(arg) for op, arg in items[1:] if str(op) == "LITERAL"}
            return next(c for c in "abcdefghijklmnopqrstuvwxyz0123456789" if c not in excluded)
        op, arg = self._faker.random.choice(items)
        if str(op) == "RANGE":
            return chr(self._faker.random.randint(arg[0], arg[1]))
        if str(op) == "CATEGORY":
            return self._emit_category(str(arg))
        return chr(arg)


class SchemaDataGenerator:
    """Values for a spec's schemas; property names steer Faker towards realistic text."""

    def __init__(self, spec: Spec) -> None:
        self._spec = spec
        self._faker: Faker | None = None  # built on first use (milliseconds); reseeded for every call

    def generate(self, schema: Mapping[str, Any], *, seed: int, key: str) -> Any:
        if self._faker is None:
            self._faker = Faker("en_US")
        self._faker.seed_instance(stable_seed(seed, key))
        return self._value(schema, self._faker, name="", depth=0)

    def _value(self, schema: Any, faker: Faker, *, name: str, depth: int) -> Any:
        spec = self._spec
        if schema is True or not isinstance(schema, Mapping):
            return faker.word()
        schema = spec.resolve_schema(schema)
        if "const" in schema:
            return schema["const"]
        if schema.get("examples"):
            return schema["examples"][0]
        if "enum" in schema:
            return faker.random.choice(list(schema["enum"]))
        if "allOf" in schema:
            merged: dict[str, Any] = {
                k: v for k, v in schema.items() if k not in ("allOf", "if", "then", "else")
            }
            conditionals = [schema] if "if" in schema else []
            for branch in schema["allOf"]:
                branch = spec.resolve_schema(branch)
                if "if" in branch:
                    conditionals.append(branch)
                for keyword, value in branch.items():
                    if keyword in ("properties",):
                        merged.setdefault("properties", {}).update(value)
                    elif keyword == "required":
                        merged["required"] = [*merged.get("required", []), *value]
                    elif keyword not in ("if", "then", "else"):
                        merged.setdefault(keyword, value)
            value = self._value(merged, faker, name=name, depth=depth)
            for conditional in conditionals:
                value = self._apply_conditional(conditional, value, faker, depth=depth)
            return value
        if "if" in schema:
            plain = {k: v for k, v in schema.items() if k not in ("if", "then", "else")}
            value = self._value(plain, faker, name=name, depth=depth)
            return self._apply_conditional(schema, value, faker, depth=depth)
        for keyword in ("anyOf", "oneOf"):
            if keyword in schema:
                branches = [spec.resolve_schema(b) for b in schema[keyword]]
                preferred = [b for b in branches if b.get("type") != "null"] or branches
                rest = {k: v for k, v in schema.items() if k != keyword}
                if any(k in rest for k in ("type", "properties", "required")):  # the branch with its context
                    return self._value({"allOf": [rest, preferred[0]]}, faker, name=name, depth=depth)
                return self._value(preferred[0], faker, name=name, depth=depth)
        declared = schema.get("type")
        types = [declared] if isinstance(declared, str) else list(declared or [])
        non_null = [t for t in types if t != "null"]
        kind = non_null[0] if non_null else (types[0] if types else self._implied_type(schema))
        if kind == "null":
            return None
        if kind == "object":
            return self._object(schema, faker, depth=depth)
        if kind == "array":
            return self._array(schema, faker, name=name, depth=depth)
        if kind == "integer":
            return self._integer(schema, faker)
        if kind == "number":
            return float(self._integer(schema, faker)) + 0.5
        if kind == "boolean":
            return faker.pybool()
        if _is_json_media_type(schema.get("contentMediaType")):
            return self._json_text(schema, faker, depth=depth)
        return self._string(schema, faker, name=name)

    def _json_text(self, schema: Mapping[str, Any], faker: Faker, *, depth: int) -> str:
        """A string holding JSON: a value of `contentSchema`, or an object where the spec gives none."""
        content = schema.get("contentSchema", {"type": "object"})
        value = self._value(content, faker, name="", depth=depth + 1)
        return json.dumps(value, separators=(",", ":"), ensure_ascii=False)

    def _apply_conditional(self, schema: Mapping[str, Any], value: Any, faker: Faker, *, depth: int) -> Any:
        """Regenerate the properties an `if`/`then`/`else` constrains, once the `if` is decided."""
        if not isinstance(value, dict):
            return value
        branch = schema.get("then") if self._satisfies(schema["if"], value) else schema.get("else")
        if not isinstance(branch, Mapping):
            return value
        branch = self._spec.resolve_schema(branch)
        for prop, prop_schema in branch.get("properties", {}).items():
            if prop in value or prop in branch.get("required", ()):
                value[prop] = self._value(prop_schema, faker, name=prop, depth=depth + 1)
        return value

    def _satisfies(self, condition: Any, value: dict[str, Any]) -> bool:
        """Enough of JSON Schema to decide the usual discriminating `if`: required keys with const/enum."""
        condition = self._spec.resolve_schema(condition)
        if any(key not in value for key in condition.get("required", ())):
            return False
        for prop, prop_schema in condition.get("properties", {}).items():
            if prop not in value:
                continue
            if "const" in prop_schema and value[prop] != prop_schema["const"]:
                return False
            if "enum" in prop_schema and value[prop] not in prop_schema["enum"]:
                return False
        return True

    @staticmethod
    def _implied_type(schema: Mapping[str, Any]) -> str:
        if "properties" in schema or "additionalProperties" in schema:
            return "object"
        if "items" in schema:
            return "array"
        return "string"

    def _object(self, schema: Mapping[str, Any], faker: Faker, *, depth: int) -> dict[str, Any]:
        result: dict[str, Any] = {}
        required = set(schema.get("required", ()))
        for prop, prop_schema in schema.get("properties", {}).items():
            if prop in required or depth < 3:
                result[prop] = self._value(prop_schema, faker, name=prop, depth=depth + 1)
        additional = schema.get("additionalProperties")
        if isinstance(additional, Mapping) and additional and depth < _MAX_DEPTH and not result:
            result[faker.word()] = self._value(additional, faker, name="", depth=depth + 1)
        return result

    def _array(self, schema: Mapping[str, Any], faker: Faker, *, name: str, depth: int) -> list[Any]:
        if depth >= _MAX_DEPTH:
            return []
        low = schema.get("minItems", 1)
        high = max(low, min(schema.get("maxItems", low + 2), low + 2))
        items = schema.get("items", {})
        return [
            self._value(items, faker, name=name, depth=depth + 1)
            for _ in range(faker.random.randint(low, high))
        ]

    @staticmethod
    def _integer(schema: Mapping[str, Any], faker: Faker) -> int:
        low = schema.get("minimum", 0)
        if "exclusiveMinimum" in schema:
            low = schema["exclusiveMinimum"] + 1
        high = schema.get("maximum", max(low, 0) + 100)
        if "exclusiveMaximum" in schema:
            high = schema["exclusiveMaximum"] - 1
        return int(faker.random.randint(int(low), int(max(low, high))))

    def _string(self, schema: Mapping[str, Any], faker: Faker, *, name: str) -> str:
        text_format = schema.get("format")
        if text_format == "uuid":
            return str(faker.uuid4())
        if text_format == "date-time":
            moment = _EPOCH + timedelta(
                seconds=faker.random.randint(0, 365 * 86400), microseconds=faker.random.randint(0, 999999)
            )
            return moment.isoformat()
        if text_format == "date":
            return faker.date()
        if text_format == "email":
            return str(faker.email())
        if text_format in ("uri", "url"):
            return str(faker.url())
        if "pattern" in schema:
            return RegexSampler(faker).sample(schema["pattern"])
        value = self._named_text(name, faker)
        low, high = schema.get("minLength", 0), schema.get("maxLength")
        if len(value) < low:
            value = value + "x" * (low - len(value))
        if high is not None:
            value = value[:high]
        return value

    @staticmethod
    def _named_text(name: str, faker: Faker) -> str:
        lowered = name.lower()
        if "email" in lowered:
            return str(faker.email())
        if lowered.endswith("url"):
            return str(faker.url())
        if lowered in ("name", "full_name", "title"):
            return str(faker.name() if "full" in lowered else faker.catch_phrase())
        if "description" in lowered or "help" in lowered:
            return str(faker.sentence())
        if lowered.endswith("_id") or lowered == "id":
            return str(faker.hexify("^" * 32))
        if "color" in lowered:
            return str(faker.hex_color()).upper()
        return str(faker.word())
