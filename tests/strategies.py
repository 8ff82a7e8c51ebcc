"""Hypothesis strategies built from any spec: valid requests, and requests with exactly one violation."""

from __future__ import annotations

import json
import re
import string
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field, replace
from datetime import UTC
from typing import Any
from urllib.parse import quote

import jsonschema_rs
from hypothesis import strategies as st

from mockserver._parameters import schema_types
from mockserver._spec import Operation, Parameter, Spec
from mockserver._validation import FORMATS, SchemaValidator, SpecSchemas

JSON_TYPES = ("application/json",)
_CONSTRAINING_KEYS = ("type", "properties", "required", "allOf", "additionalProperties", "items", "enum")
NOT_JSON = (
    b'{"name": ',
    b'{"name": NaN}',
    b"[Infinity]",
    b'{"n": 1e400}',
    b'{"name": "\\ud800"}',
    b"[" * 5000 + b"]" * 5000,
    b"1" * 5000,
    b'{"name": "\xff"}',
)
"""Bodies Python's `json` reads or chokes on that are not JSON: each must be a 4xx in the API's format."""
_SAFE_TEXT = st.text(alphabet=string.ascii_letters + string.digits + "-_. ", min_size=0, max_size=20)


@dataclass(frozen=True)
class RequestCase:
    """One request, and for a negative case what must go wrong."""

    method: str
    path: str
    query: tuple[tuple[str, str], ...] = ()
    headers: Mapping[str, str] = field(default_factory=dict)
    body: Any = None
    has_body: bool = False
    raw_body: bytes | None = None
    content_type: str | None = "application/json"
    expect_status: int | None = None
    expect_location: tuple[Any, ...] | None = None
    violation: str = ""

    def send(self, client: Any, prefix: str = "") -> Any:
        headers = dict(self.headers)
        content: bytes | None = None
        if self.raw_body is not None:
            content = self.raw_body
        elif self.has_body:
            content = json.dumps(self.body).encode()
        if content is not None and self.content_type is not None:
            headers["content-type"] = self.content_type
        return client.request(
            self.method, prefix + self.path, params=list(self.query), headers=headers, content=content
        )


class SchemaStrategies:
    """Strategies for the JSON Schemas of one spec, with `$ref`s resolved through the spec."""

    def __init__(self, spec: Spec) -> None:
        self.spec = spec
        self._schemas = SpecSchemas(spec)
        self._condition_validators: dict[int, Any] = {}

    def validator(self, pointer: str) -> SchemaValidator:
        return self._schemas.validator(pointer)

    def from_pointer(self, pointer: str) -> st.SearchStrategy[Any]:
        validator = self.validator(pointer)
        return self.from_schema(self.spec.resolve_pointer(pointer)).filter(validator.is_valid)

    def from_schema(self, schema: Any, depth: int = 0) -> st.SearchStrategy[Any]:
        if schema is True or schema == {}:
            return _any_json(depth)
        schema = self.spec.resolve_schema(schema)
        if "const" in schema:
            return st.just(schema["const"])
        if "enum" in schema:  # empty when rules contradict the values drawn so far
            return st.sampled_from(list(schema["enum"])) if schema["enum"] else st.nothing()
        for keyword in ("anyOf", "oneOf"):
            if keyword in schema:
                rest = {key: value for key, value in schema.items() if key != keyword}
                if any(key in rest for key in _CONSTRAINING_KEYS):  # each branch with what surrounds it
                    branches = [{"allOf": [rest, branch]} for branch in schema[keyword]]
                else:
                    branches = list(schema[keyword])
                return st.one_of([self.from_schema(branch, depth) for branch in branches])
        if "allOf" in schema or "if" in schema:
            merged, rules = self._merge_all_of(schema)
            return self._conditioned(
                self.from_schema(merged, depth), merged.get("properties", {}), rules, depth
            )
        declared = schema.get("type")
        types = [declared] if isinstance(declared, str) else list(declared or [])
        if not types:
            if "properties" in schema or "additionalProperties" in schema or "propertyNames" in schema:
                types = ["object"]
            elif "items" in schema:
                types = ["array"]
            else:
                return _any_json(depth)
        return st.one_of([self._typed(schema, kind, depth) for kind in types])

    def _merge_all_of(self, schema: Mapping[str, Any]) -> tuple[dict[str, Any], list[Mapping[str, Any]]]:
        """`allOf` branches merged into one schema (enums intersected), and the `if`/`then` rules set aside."""
        merged: dict[str, Any] = {}
        rules: list[Mapping[str, Any]] = []
        if "if" in schema:
            rules.append(schema)
        for key, value in schema.items():
            if key not in ("allOf", "if", "then", "else"):
                merged[key] = value
        for branch in schema.get("allOf", ()):
            inner, inner_rules = self._merge_all_of(self.spec.resolve_schema(branch))
            rules += inner_rules
            for key, value in inner.items():
                if key == "properties":
                    properties = merged.setdefault("properties", {})
                    for name, sub in value.items():
                        properties[name] = {"allOf": [properties[name], sub]} if name in properties else sub
                elif key == "required":
                    merged["required"] = [*merged.get("required", []), *value]
                elif key == "enum" and "enum" in merged:
                    merged["enum"] = [item for item in merged["enum"] if item in value]
                else:
                    merged.setdefault(key, value)
        return merged, rules

    def _holds(self, schema: Mapping[str, Any], value: Any) -> bool:
        validator = self._condition_validators.get(id(schema))
        if validator is None:
            root = {**self.spec.document, **schema}  # the spec as the root, so that local `$ref`s resolve
            validator = jsonschema_rs.Draft202012Validator(root, validate_formats=True, formats=FORMATS)
            self._condition_validators[id(schema)] = validator
        return bool(validator.is_valid(value))

    def _conditioned(
        self,
        strategy: st.SearchStrategy[Any],
        properties: Mapping[str, Any],
        rules: list[Mapping[str, Any]],
        depth: int,
        rounds: int = 3,
    ) -> st.SearchStrategy[Any]:
        """Draws again the properties that an applicable `then` constrains, until every rule holds."""
        if not rules or rounds == 0:
            return strategy

        def refine(value: Any) -> st.SearchStrategy[Any]:
            if not isinstance(value, dict):
                return st.just(value)
            pending = [
                self.spec.resolve_schema(rule["then"])
                for rule in rules
                if "then" in rule and self._holds(rule["if"], value) and not self._holds(rule["then"], value)
            ]
            if not pending:
                return st.just(value)
            constraints: dict[str, list[Any]] = {}
            for then in pending:
                for name in then.get("required", ()):
                    constraints.setdefault(name, [])
                for name, sub in then.get("properties", {}).items():
                    constraints.setdefault(name, []).append(sub)
            redrawn = st.fixed_dictionaries(
                {
                    name: self.from_schema({"allOf": [properties.get(name, {}), *subs]}, depth + 1)
                    for name, subs in constraints.items()
                }
            )
            merged = redrawn.map(lambda new: {**value, **new})
            return self._conditioned(merged, properties, rules, depth, rounds - 1)

        return strategy.flatmap(refine)

    def _typed(self, schema: Mapping[str, Any], kind: str, depth: int) -> st.SearchStrategy[Any]:
        if kind == "null":
            return st.none()
        if kind == "boolean":
            return st.booleans()
        if kind == "integer":
            # Unbounded means unbounded: values past 64 bits found a 500 once (see tests/*/test_*_regressions.py).
            return st.integers(
                min_value=schema.get("minimum", schema.get("exclusiveMinimum", -(2**70) - 1) + 1),
                max_value=schema.get("maximum", schema.get("exclusiveMaximum", 2**70 + 1) - 1),
            )
        if kind == "number":
            return st.floats(
                min_value=schema.get("minimum"),
                max_value=schema.get("maximum"),
                allow_nan=False,
                allow_infinity=False,
            )
        if kind == "string":
            return self._string(schema)
        if kind == "array":
            items = self.from_schema(schema.get("items", {}), depth + 1)
            return st.lists(
                items, min_size=schema.get("minItems", 0), max_size=min(schema.get("maxItems", 3), 3)
            )
        return self._object(schema, depth)

    @staticmethod
    def _string(schema: Mapping[str, Any]) -> st.SearchStrategy[str]:
        text_format = schema.get("format")
        if text_format == "uuid":
            return st.uuids().map(str)
        if text_format == "date-time":
            return st.datetimes(timezones=st.just(UTC)).map(lambda moment: moment.isoformat())
        if text_format == "email":
            return st.from_regex(r"[a-z]{1,8}@[a-z]{1,8}\.test", fullmatch=True)
        if text_format in ("uri", "url"):
            return st.from_regex(r"https://[a-z]{1,10}\.test/[a-z]{0,8}", fullmatch=True)
        if "pattern" in schema:
            return st.from_regex(schema["pattern"], fullmatch=True)
        return st.text(
            alphabet=st.characters(codec="utf-8", exclude_categories=("Cs", "Cc")),
            min_size=schema.get("minLength", 0),
            max_size=schema.get("maxLength", 24),
        )

    def _object(self, schema: Mapping[str, Any], depth: int) -> st.SearchStrategy[dict[str, Any]]:
        properties = schema.get("properties", {})
        required = set(schema.get("required", ()))
        if depth > 3:
            optional: dict[str, st.SearchStrategy[Any]] = {}
        else:
            optional = {
                name: self.from_schema(sub, depth + 1)
                for name, sub in properties.items()
                if name not in required
            }
        base = st.fixed_dictionaries(
            {name: self.from_schema(properties.get(name, {}), depth + 1) for name in required},
            optional=optional,
        )
        names = schema.get("propertyNames", {})
        additional = schema.get("additionalProperties")
        if not properties and isinstance(names, Mapping) and "pattern" in names:
            patterned = schema.get("patternProperties", {})
            fallback = additional if isinstance(additional, Mapping) else {}

            def values_for(keys: list[str]) -> st.SearchStrategy[dict[str, Any]]:
                by_key = {
                    key: next((sub for regex, sub in patterned.items() if re.search(regex, key)), fallback)
                    for key in keys
                }
                return st.fixed_dictionaries(
                    {key: self.from_schema(sub, depth + 1) for key, sub in by_key.items()}
                )

            keys = st.lists(st.from_regex(names["pattern"], fullmatch=True), max_size=2, unique=True)
            return keys.flatmap(values_for)
        if isinstance(additional, Mapping) and additional and not properties and depth <= 3:
            keys = st.text(alphabet=string.ascii_lowercase + "_", min_size=1, max_size=10)
            return st.dictionaries(keys, self.from_schema(additional, depth + 1), max_size=3)
        return base


def _any_json(depth: int) -> st.SearchStrategy[Any]:
    scalars = st.none() | st.booleans() | st.integers(-1000, 1000) | _SAFE_TEXT
    if depth > 2:
        return scalars
    return st.recursive(
        scalars,
        lambda inner: st.lists(inner, max_size=3) | st.dictionaries(_SAFE_TEXT, inner, max_size=3),
        max_leaves=6,
    )


def _to_text(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


class OperationStrategies:
    """Valid and single-violation requests for each operation of one spec."""

    def __init__(
        self, spec: Spec, *, auth_headers: Callable[[Operation], dict[str, str]], validation_status: int
    ):
        self.spec = spec
        self.schemas = SchemaStrategies(spec)
        self._auth_headers = auth_headers
        self.validation_status = validation_status

    # ------------------------------------------------------------------ valid
    def parameter_value(self, parameter: Parameter) -> st.SearchStrategy[Any]:
        strategy = self.schemas.from_pointer(parameter.schema_pointer)
        if parameter.location in ("path", "header", "cookie"):
            strategy = strategy.filter(lambda v: not isinstance(v, (dict, list)) and _to_text(v) != "")
        if parameter.location == "path":
            strategy = strategy.filter(lambda v: "/" not in _to_text(v) and _to_text(v) not in (".", ".."))
        if parameter.location == "query":
            strategy = strategy.filter(lambda v: v is not None)
        return strategy

    def valid(self, operation: Operation) -> st.SearchStrategy[RequestCase]:
        return st.builds(
            self._assemble,
            st.just(operation),
            st.fixed_dictionaries(
                {p.name: self.parameter_value(p) for p in operation.parameters if p.required},
                optional={p.name: self.parameter_value(p) for p in operation.parameters if not p.required},
            ),
            self._body(operation),
        )

    def valid_with(self, operation: Operation, fixed: Mapping[str, Any]) -> st.SearchStrategy[RequestCase]:
        """A valid request whose parameters named in `fixed` (say, from a link) take those values."""
        drawn = st.fixed_dictionaries(
            {
                p.name: self.parameter_value(p)
                for p in operation.parameters
                if p.required and p.name not in fixed
            },
            optional={
                p.name: self.parameter_value(p)
                for p in operation.parameters
                if not p.required and p.name not in fixed and p.location != "path"
            },
        )
        return st.builds(
            self._assemble,
            st.just(operation),
            drawn.map(lambda values: {**values, **fixed}),
            self._body(operation),
        )

    def _body(self, operation: Operation) -> st.SearchStrategy[tuple[bool, Any]]:
        body = operation.request_body
        if body is None:
            return st.just((False, None))
        media = body.media_types.get("application/json") or next(iter(body.media_types.values()))
        values = self.schemas.from_pointer(media.schema_pointer) if media.schema_pointer else _any_json(0)
        if (
            media.examples
        ):  # documented examples reach the behaviour's happy paths that random data rarely does
            values = st.sampled_from(list(media.examples.values())) | values
        present = values.map(lambda value: (True, value))
        return present if body.required else (present | st.just((False, None)))

    def _assemble(self, operation: Operation, values: dict[str, Any], body: tuple[bool, Any]) -> RequestCase:
        path = operation.path
        query: list[tuple[str, str]] = []
        headers = dict(self._auth_headers(operation))
        for parameter in operation.parameters:
            if parameter.name not in values:
                continue
            value = values[parameter.name]
            if parameter.location == "path":
                path = path.replace("{" + parameter.name + "}", quote(_to_text(value), safe=""))
            elif parameter.location == "query":
                if isinstance(value, dict):
                    query.extend((key, _to_text(item)) for key, item in value.items())
                elif isinstance(value, list):
                    query.extend((parameter.name, _to_text(item)) for item in value)
                else:
                    query.append((parameter.name, _to_text(value)))
            elif parameter.location == "header":
                headers[parameter.name] = _to_text(value)
        has_body, payload = body
        return RequestCase(operation.method, path, tuple(query), headers, payload, has_body)

    # ------------------------------------------------------------------ invalid
    def invalid(self, operation: Operation) -> st.SearchStrategy[RequestCase]:
        mutations = self.mutations(operation)
        assert mutations, f"{operation.operation_id} has nothing to break"
        return st.tuples(self.valid(operation), st.sampled_from(mutations)).flatmap(
            lambda pair: pair[1](pair[0])
        )

    def mutations(
        self, operation: Operation
    ) -> list[Callable[[RequestCase], st.SearchStrategy[RequestCase]]]:
        status = self.validation_status
        found: list[Callable[[RequestCase], st.SearchStrategy[RequestCase]]] = []
        if operation.requires_auth:
            found.append(
                lambda case: st.just(replace(case, headers={}, expect_status=401, violation="no credentials"))
            )
            found.append(
                lambda case: st.sampled_from(
                    ["Bearer not-a-token", "Bearer hs_test_" + "0" * 64, "Basic YTpi"]
                ).map(
                    lambda value: replace(
                        case,
                        headers={"Authorization": value},
                        expect_status=401,
                        violation=f"bad credentials {value!r}",
                    )
                )
            )
        for parameter in operation.parameters:
            bad_values = self._bad_values(parameter)
            if bad_values:
                found.append(self._parameter_mutation(operation, parameter, bad_values, status))
            if parameter.required and parameter.location == "query":
                found.append(
                    lambda case, name=parameter.name: st.just(
                        replace(
                            case,
                            query=tuple(item for item in case.query if item[0] != name),
                            expect_status=status,
                            expect_location=("query", name),
                            violation=f"missing query {name}",
                        )
                    )
                )
            if parameter.location == "query" and "object" in schema_types(self.spec, parameter.schema):
                found.append(
                    lambda case: st.just(
                        replace(
                            case,
                            query=(*case.query, ("not_a_field", "1")),
                            expect_status=status,
                            expect_location=("query",),
                            violation="unknown query key",
                        )
                    )
                )
        body = operation.request_body
        if body is not None:
            json_media = body.media_types.get("application/json")
            if json_media is not None and "*/*" not in body.media_types:
                found.append(
                    lambda case: st.just(
                        replace(
                            case,
                            raw_body=b"name=x",
                            content_type="application/x-www-form-urlencoded",
                            expect_status=415,
                            violation="wrong content type",
                        )
                    )
                )
            if json_media is not None:
                found.append(
                    lambda case: st.sampled_from([b"{", b'{"name": }', b"[1, 2", b"nul"]).map(
                        lambda raw: replace(
                            case,
                            raw_body=raw,
                            content_type="application/json",
                            expect_status=status,
                            expect_location=("body",),
                            violation=f"malformed JSON {raw!r}",
                        )
                    )
                )
                found.extend(self._body_mutations(json_media.schema_pointer, status, required=body.required))
        return found

    def _bad_values(self, parameter: Parameter) -> list[str]:
        schema = self.spec.resolve_schema(parameter.schema)
        types = schema_types(self.spec, parameter.schema)
        if "string" in types and "format" not in schema and "pattern" not in schema and "enum" not in schema:
            return []
        bad: list[str] = []
        if "enum" in schema:
            bad.append("not-a-valid-choice")
        if schema.get("format") == "uuid":
            bad += ["not-a-uuid", "123e4567-e89b-12d3-a456-42661417400"]
        if "pattern" in schema:
            bad.append("NOT~VALID")
        if types == {"integer"}:
            bad += ["abc", "1.5", ""]
            if "minimum" in schema:
                bad.append(str(schema["minimum"] - 1))
            if "maximum" in schema:
                bad.append(str(schema["maximum"] + 1))
        if types == {"boolean"}:
            bad += ["maybe", "2"]
        if types == {"array"}:
            item = self.spec.resolve_schema(schema.get("items", {}))
            if item.get("format") == "uuid":
                bad.append("not-a-uuid")
        return bad

    @staticmethod
    def _parameter_mutation(
        operation: Operation, parameter: Parameter, bad_values: list[str], status: int
    ) -> Callable[[RequestCase], st.SearchStrategy[RequestCase]]:
        def mutate(case: RequestCase) -> st.SearchStrategy[RequestCase]:
            def apply(value: str) -> RequestCase:
                location = (parameter.location, parameter.name)
                if parameter.location == "path":
                    path = operation.path
                    for segment_value, template in zip(case.path.split("/"), path.split("/"), strict=True):
                        if template == "{" + parameter.name + "}":
                            path = path.replace(template, quote(value, safe="") or "%20")
                        elif template.startswith("{"):
                            path = path.replace(template, segment_value)
                    return replace(
                        case,
                        path=path,
                        expect_status=status,
                        expect_location=location,
                        violation=f"path {value!r}",
                    )
                if parameter.location == "query":
                    query = tuple(item for item in case.query if item[0] != parameter.name)
                    return replace(
                        case,
                        query=(*query, (parameter.name, value)),
                        expect_status=status,
                        expect_location=location,
                        violation=f"query {parameter.name}={value!r}",
                    )
                headers = {**case.headers, parameter.name: value}
                return replace(
                    case,
                    headers=headers,
                    expect_status=status,
                    expect_location=location,
                    violation=f"header {value!r}",
                )

            return st.sampled_from(bad_values).map(apply)

        return mutate

    def _body_mutations(
        self, pointer: str | None, status: int, *, required: bool
    ) -> list[Callable[[RequestCase], st.SearchStrategy[RequestCase]]]:
        if pointer is None:
            return []
        schema = self.spec.resolve_pointer(pointer)
        schema = self.spec.resolve_schema(schema)
        found: list[Callable[[RequestCase], st.SearchStrategy[RequestCase]]] = []
        if required:
            found.append(
                lambda case: st.just(
                    replace(
                        case,
                        has_body=False,
                        body=None,
                        expect_status=status,
                        expect_location=("body",),
                        violation="no body",
                    )
                )
            )
        found.append(
            lambda case: st.sampled_from(NOT_JSON).map(
                lambda payload: replace(
                    case,
                    raw_body=payload,
                    expect_status=status,
                    expect_location=("body",),
                    violation=f"body that is not JSON: {payload[:20]!r}",
                )
            )
        )
        if schema.get("type") != "object":
            return found
        found.append(
            lambda case: st.sampled_from([[], "text", 42]).map(
                lambda value: replace(
                    case,
                    has_body=True,
                    body=value,
                    expect_status=status,
                    expect_location=("body",),
                    violation=f"body {value!r}",
                )
            )
        )
        properties = schema.get("properties", {})
        for name in schema.get("required", ()):
            found.append(
                lambda case, name=name: st.just(
                    replace(
                        case,
                        body={k: v for k, v in (case.body or {}).items() if k != name},
                        has_body=True,
                        expect_status=status,
                        expect_location=("body", name),
                        violation=f"missing body field {name}",
                    )
                )
            )
        for name, sub in properties.items():
            wrong = self._wrong_type(sub)
            if wrong is None:
                continue
            found.append(
                lambda case, name=name, wrong=wrong: st.just(
                    replace(
                        case,
                        body={**(case.body or {}), name: wrong},
                        has_body=True,
                        expect_status=status,
                        expect_location=("body", name),
                        violation=f"body field {name}={wrong!r}",
                    )
                )
            )
        if schema.get("additionalProperties") is False:
            found.append(
                lambda case: st.just(
                    replace(
                        case,
                        body={**(case.body or {}), "unexpected_field": 1},
                        has_body=True,
                        expect_status=status,
                        expect_location=("body", "unexpected_field"),
                        violation="extra body field",
                    )
                )
            )
        return found

    def _wrong_type(self, schema: Any) -> Any:
        types = schema_types(self.spec, schema)
        if not types or types >= {"string", "integer", "boolean", "object", "array", "null"}:
            return None
        for candidate, kind in ((12345, "integer"), ("text", "string"), ([1], "array"), ({"a": 1}, "object")):
            if kind not in types and not (kind == "integer" and "number" in types):
                return candidate
        return None


def response_violations(service: Any, operation: Operation, response: Any) -> list[str]:
    """Checks a response again, from the outside, with the service's compiled validators."""
    from mockserver import NO_BODY, MockResponse

    compiled = service.operations[operation.operation_id]
    body = json.loads(response.content) if response.content else NO_BODY
    media_type = response.headers.get("content-type", "application/json").split(";")[0]
    mock = MockResponse(response.status_code, body, dict(response.headers), media_type)
    return [violation.describe() for violation in compiled.responses.violations(mock)]


def credential_headers(how: str, value: str) -> dict[str, str]:
    """Request headers for a credential as `/__mock/users` describes it (`Authorization: Bearer`, ...)."""
    if how.lower().startswith("authorization"):
        return {"Authorization": f"{how.split(':', 1)[1].strip()} {value}"}
    if how.lower().startswith("cookie:"):
        return {"Cookie": f"{how.split(':', 1)[1].strip()}={value}"}
    return {how: value}
