"""`mockserver check`: the spec files are valid OpenAPI 3.1 and every example in them validates."""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any

from jsonschema import Draft202012Validator
from openapi_spec_validator import validate as validate_openapi
from openapi_spec_validator.validation.exceptions import OpenAPIValidationError

from ._api import ApiDefinition
from ._resources import spec_file
from ._service import ApiService, ServiceOptions
from ._spec import Spec, SpecError, escape_pointer_token, load_spec
from ._validation import SpecSchemas


def iter_examples(spec: Spec) -> Iterator[tuple[str, str, Any]]:
    """(pointer of the example, pointer of the schema it must match, the example value) for every example."""

    def walk(node: Any, pointer: str, in_schema: bool) -> Iterator[tuple[str, str, Any]]:
        if isinstance(node, list):
            for index, item in enumerate(node):
                yield from walk(item, f"{pointer}/{index}", in_schema)
            return
        if not isinstance(node, Mapping):
            return
        if in_schema and isinstance(node.get("examples"), list):
            for index, value in enumerate(node["examples"]):
                yield f"{pointer}/examples/{index}", pointer, value
        if not in_schema and "schema" in node:
            schema_pointer = f"{pointer}/schema"
            if "example" in node:
                yield f"{pointer}/example", schema_pointer, node["example"]
            for name, example in (node.get("examples") or {}).items():
                example, _ = spec.deref(example, f"{pointer}/examples/{escape_pointer_token(name)}")
                if isinstance(example, Mapping) and "value" in example:
                    yield f"{pointer}/examples/{escape_pointer_token(name)}", schema_pointer, example["value"]
        for key, child in node.items():
            if key in ("example", "examples") and not in_schema:
                continue
            child_in_schema = in_schema or key in ("schema", "schemas")
            yield from walk(child, f"{pointer}/{escape_pointer_token(str(key))}", child_in_schema)

    yield from walk(spec.document, "#", False)


def check_links(spec: Spec) -> list[str]:
    """Every link names an operation that exists and only parameters that operation declares."""
    problems: list[str] = []
    by_id = {operation.operation_id: operation for operation in spec.operations}
    for operation in spec.operations:
        for status in operation.responses:
            raw, _ = spec.deref(spec.resolve_pointer(f"{operation.pointer}/responses/{status}"), "#")
            for name, link in (raw.get("links") or {}).items():
                link, _ = spec.deref(link, "#")
                where = f"{spec.name}: link {name} of {operation.operation_id} {status}"
                target = by_id.get(link.get("operationId", ""))
                if target is None:
                    problems.append(f"{where} names no known operation ({link.get('operationId')!r})")
                    continue
                declared = {p.name for p in target.parameters}
                for parameter in link.get("parameters", {}):
                    bare = parameter.split(".", 1)[-1]
                    if bare not in declared:
                        problems.append(f"{where}: {target.operation_id} has no parameter {parameter!r}")
    return problems


def check_spec(spec: Spec) -> list[str]:
    problems: list[str] = []
    try:
        validate_openapi(spec.document)
    except OpenAPIValidationError as exc:
        problems.append(f"{spec.name}: not valid OpenAPI: {exc}")
    for name, schema in spec.document.get("components", {}).get("schemas", {}).items():
        for error in Draft202012Validator(Draft202012Validator.META_SCHEMA).iter_errors(schema):
            problems.append(f"{spec.name}: schema {name} is not valid JSON Schema: {error.message}")
    problems.extend(check_links(spec))
    schemas = SpecSchemas(spec)
    for example_pointer, schema_pointer, value in iter_examples(spec):
        validator = schemas.validator(schema_pointer)
        for violation in validator.violations(value, at=()):
            problems.append(
                f"{spec.name}: example {example_pointer} does not match its schema: {violation.describe()}"
            )
    return problems


def check_specs(spec_dir: Path | None, apis: Mapping[str, ApiDefinition]) -> list[str]:
    """Problems of each API's spec in `spec_dir` (None: the specs shipped with the package)."""
    problems: list[str] = []
    for name, api in apis.items():
        path = spec_file(name, spec_dir)
        try:
            spec = load_spec(path, name=name)
            ApiService(api, spec, mount_path="", options=ServiceOptions(seed=0, strict=True))
        except (SpecError, ValueError, KeyError) as exc:
            problems.append(f"{name}: {exc}")
            continue
        problems.extend(check_spec(spec))
    return problems
