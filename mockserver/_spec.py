"""Loading an OpenAPI 3.1 document into typed, pre-resolved operations."""

from __future__ import annotations

import hashlib
import os
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from importlib.resources.abc import Traversable
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import orjson
import yaml

HTTP_METHODS = ("get", "put", "post", "delete", "options", "head", "patch", "trace")
PARAMETER_LOCATIONS = ("path", "query", "header", "cookie")
DEFAULT_STYLES = {"path": "simple", "query": "form", "header": "simple", "cookie": "form"}

JsonPointer = str
_SAFE_LOADER = getattr(yaml, "CSafeLoader", yaml.SafeLoader)  # libyaml's parser when PyYAML was built with it


class SpecError(ValueError):
    """The OpenAPI document cannot be served as it is."""


def escape_pointer_token(token: str) -> str:
    return token.replace("~", "~0").replace("/", "~1")


def _unescape_pointer_token(token: str) -> str:
    return token.replace("~1", "/").replace("~0", "~")


@dataclass(frozen=True, slots=True)
class Parameter:
    name: str
    location: str
    required: bool
    style: str
    explode: bool
    schema: Mapping[str, Any]
    schema_pointer: JsonPointer
    allow_empty_value: bool = False
    """OpenAPI's `allowEmptyValue` (query only): whether `name=` is admitted where the schema admits `""`."""


@dataclass(frozen=True, slots=True)
class MediaType:
    content_type: str
    schema: Mapping[str, Any] | None
    schema_pointer: JsonPointer | None
    examples: Mapping[str, Any]


@dataclass(frozen=True, slots=True)
class RequestBody:
    required: bool
    media_types: Mapping[str, MediaType]


@dataclass(frozen=True, slots=True)
class ResponseHeader:
    name: str
    required: bool
    schema: Mapping[str, Any]
    schema_pointer: JsonPointer


@dataclass(frozen=True, slots=True)
class ResponseSpec:
    status: str
    description: str
    media_types: Mapping[str, MediaType]
    headers: Mapping[str, ResponseHeader]


@dataclass(frozen=True, slots=True)
class SecurityScheme:
    name: str
    type: str
    location: str | None = None
    parameter_name: str | None = None
    scheme: str | None = None


@dataclass(frozen=True, slots=True)
class Operation:
    operation_id: str
    method: str
    path: str
    summary: str
    parameters: tuple[Parameter, ...]
    request_body: RequestBody | None
    responses: Mapping[str, ResponseSpec]
    security: tuple[Mapping[str, tuple[str, ...]], ...]
    pointer: JsonPointer

    @property
    def requires_auth(self) -> bool:
        return bool(self.security) and all(requirement for requirement in self.security)

    def response_for(self, status: int) -> ResponseSpec | None:
        exact = self.responses.get(str(status))
        if exact is not None:
            return exact
        return self.responses.get(f"{status // 100}XX") or self.responses.get("default")

    def success_statuses(self) -> list[int]:
        return sorted(int(code) for code in self.responses if code.isdigit() and code.startswith("2"))


@dataclass(slots=True)
class Spec:
    """A parsed OpenAPI document and its operations, in document order."""

    name: str
    document: dict[str, Any]
    base_uri: str
    base_path: str
    operations: list[Operation] = field(default_factory=list)
    security_schemes: dict[str, SecurityScheme] = field(default_factory=dict)

    def operation(self, operation_id: str) -> Operation:
        for operation in self.operations:
            if operation.operation_id == operation_id:
                return operation
        raise KeyError(operation_id)

    def resolve_pointer(self, pointer: JsonPointer) -> Any:
        node: Any = self.document
        for token in pointer.lstrip("#").split("/")[1:]:
            key = _unescape_pointer_token(token)
            node = node[int(key)] if isinstance(node, list) else node[key]
        return node

    def deref(self, node: Any, pointer: JsonPointer) -> tuple[Any, JsonPointer]:
        """Follow local `$ref`s from `node` (found at `pointer`) to the object they name."""
        seen: set[str] = set()
        while isinstance(node, Mapping) and isinstance(node.get("$ref"), str):
            ref = node["$ref"]
            if not ref.startswith("#/") or ref in seen:
                raise SpecError(f"{self.name}: unsupported or cyclic reference {ref!r} at {pointer}")
            seen.add(ref)
            pointer = ref
            node = self.resolve_pointer(ref)
        return node, pointer

    def resolve_schema(self, schema: Mapping[str, Any]) -> Mapping[str, Any]:
        resolved, _ = self.deref(schema, "#")
        return resolved  # type: ignore[no-any-return]


def load_spec(path: Traversable, *, name: str) -> Spec:
    try:
        document = _read_yaml(path)
    except (OSError, yaml.YAMLError) as exc:
        raise SpecError(f"cannot read {path}: {exc}") from exc
    if not isinstance(document, dict) or not str(document.get("openapi", "")).startswith("3.1"):
        raise SpecError(f"{path} is not an OpenAPI 3.1 document")
    return parse_spec(document, name=name)


def _cache_dir() -> Path | None:
    try:
        root = os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache"
    except RuntimeError:  # no home directory to be found
        return None
    return Path(root) / "mockserver"


def _read_yaml(path: Traversable) -> Any:
    """The document of a YAML file, kept as JSON in the user's cache (`~/.cache/mockserver`) by content
    hash: building the objects of a spec costs ~30 ms in PyYAML and ~1 ms from JSON. Only a document that
    JSON holds exactly (string keys, no dates) is kept; a cache that cannot be written is skipped."""
    text = path.read_text(encoding="utf-8")
    cache_dir = _cache_dir()
    if cache_dir is None:
        return yaml.load(text, Loader=_SAFE_LOADER)
    digest = hashlib.sha256(f"{yaml.__version__}\0{text}".encode()).hexdigest()[:32]
    stem = path.name.rsplit(".", 1)[0]
    cached = cache_dir / f"{stem}-{digest}.json"
    try:
        return orjson.loads(cached.read_bytes())
    except (OSError, orjson.JSONDecodeError):
        pass
    document = yaml.load(text, Loader=_SAFE_LOADER)
    try:
        encoded = orjson.dumps(document)
        if orjson.loads(encoded) == document:
            cached.parent.mkdir(parents=True, exist_ok=True)
            partial = cached.with_suffix(f".{os.getpid()}.tmp")
            partial.write_bytes(encoded)
            os.replace(partial, cached)
            for stale in cached.parent.glob(f"{stem}-*.json"):  # earlier versions of this file
                if stale != cached and len(stale.stem) == len(cached.stem):
                    stale.unlink(missing_ok=True)
    except (OSError, TypeError):  # TypeError: orjson met a value JSON cannot hold (a date, an int key)
        pass
    return document


def parse_spec(document: dict[str, Any], *, name: str) -> Spec:
    servers = document.get("servers") or [{"url": "/"}]
    base_path = urlsplit(servers[0]["url"]).path.rstrip("/")
    spec = Spec(name=name, document=document, base_uri=f"urn:mockserver:spec:{name}", base_path=base_path)
    spec.security_schemes = _parse_security_schemes(document)
    spec.operations = list(_parse_operations(spec))
    seen: set[str] = set()
    for operation in spec.operations:
        if operation.operation_id in seen:
            raise SpecError(f"{name}: duplicate operationId {operation.operation_id!r}")
        seen.add(operation.operation_id)
    return spec


def _parse_security_schemes(document: Mapping[str, Any]) -> dict[str, SecurityScheme]:
    schemes = document.get("components", {}).get("securitySchemes", {})
    return {
        scheme_name: SecurityScheme(
            name=scheme_name,
            type=definition["type"],
            location=definition.get("in"),
            parameter_name=definition.get("name"),
            scheme=(definition.get("scheme") or "").lower() or None,
        )
        for scheme_name, definition in schemes.items()
    }


def _parse_operations(spec: Spec) -> Iterator[Operation]:
    document = spec.document
    default_security = document.get("security", [])
    for path, path_item in (document.get("paths") or {}).items():
        path_pointer = f"#/paths/{escape_pointer_token(path)}"
        path_item, path_pointer = spec.deref(path_item, path_pointer)
        shared = _parse_parameters(spec, path_item.get("parameters", []), f"{path_pointer}/parameters")
        for method in HTTP_METHODS:
            if method not in path_item:
                continue
            pointer = f"{path_pointer}/{method}"
            raw = path_item[method]
            own = _parse_parameters(spec, raw.get("parameters", []), f"{pointer}/parameters")
            merged = {(p.location, p.name.lower() if p.location == "header" else p.name): p for p in shared}
            merged.update(
                {(p.location, p.name.lower() if p.location == "header" else p.name): p for p in own}
            )
            security = raw.get("security", default_security)
            operation_id = raw.get("operationId") or f"{method}_{path}"
            _check_path_parameters(spec.name, path, operation_id, merged.values())
            yield Operation(
                operation_id=operation_id,
                method=method.upper(),
                path=path,
                summary=raw.get("summary", ""),
                parameters=tuple(merged.values()),
                request_body=_parse_request_body(spec, raw.get("requestBody"), f"{pointer}/requestBody"),
                responses=_parse_responses(spec, raw.get("responses", {}), f"{pointer}/responses"),
                security=tuple(
                    {scheme: tuple(scopes) for scheme, scopes in requirement.items()}
                    for requirement in security
                ),
                pointer=pointer,
            )


def _check_path_parameters(api: str, path: str, operation_id: str, parameters: Any) -> None:
    declared = {p.name for p in parameters if p.location == "path"}
    in_template = {segment[1:-1] for segment in path.split("/") if segment.startswith("{")}
    if declared != in_template:
        raise SpecError(
            f"{api}: {operation_id} declares path parameters {sorted(declared)} "
            f"but its path {path!r} has {sorted(in_template)}"
        )


def _parse_parameters(spec: Spec, raw_parameters: list[Any], pointer: JsonPointer) -> list[Parameter]:
    parameters = []
    for index, raw in enumerate(raw_parameters):
        raw, raw_pointer = spec.deref(raw, f"{pointer}/{index}")
        location = raw["in"]
        if location not in PARAMETER_LOCATIONS:
            raise SpecError(f"{spec.name}: parameter {raw.get('name')!r} has unknown location {location!r}")
        style = raw.get("style", DEFAULT_STYLES[location])
        parameters.append(
            Parameter(
                name=raw["name"],
                location=location,
                required=bool(raw.get("required", location == "path")),
                style=style,
                explode=bool(raw.get("explode", style == "form")),
                schema=raw.get("schema", {}),
                schema_pointer=f"{raw_pointer}/schema",
                allow_empty_value=bool(raw.get("allowEmptyValue", False)),
            )
        )
    return parameters


def _parse_media_types(spec: Spec, content: Mapping[str, Any], pointer: JsonPointer) -> dict[str, MediaType]:
    media_types = {}
    for content_type, raw in content.items():
        media_pointer = f"{pointer}/{escape_pointer_token(content_type)}"
        examples: dict[str, Any] = {}
        for example_name, example in (raw.get("examples") or {}).items():
            example, _ = spec.deref(example, f"{media_pointer}/examples/{escape_pointer_token(example_name)}")
            if "value" in example:
                examples[example_name] = example["value"]
        if "example" in raw:
            examples.setdefault("default", raw["example"])
        has_schema = "schema" in raw
        media_types[content_type] = MediaType(
            content_type=content_type,
            schema=raw.get("schema") if has_schema else None,
            schema_pointer=f"{media_pointer}/schema" if has_schema else None,
            examples=examples,
        )
    return media_types


def _parse_request_body(spec: Spec, raw: Any, pointer: JsonPointer) -> RequestBody | None:
    if raw is None:
        return None
    raw, pointer = spec.deref(raw, pointer)
    return RequestBody(
        required=bool(raw.get("required", False)),
        media_types=_parse_media_types(spec, raw.get("content", {}), f"{pointer}/content"),
    )


def _parse_responses(
    spec: Spec, raw_responses: Mapping[str, Any], pointer: JsonPointer
) -> dict[str, ResponseSpec]:
    responses = {}
    for status, raw in raw_responses.items():
        status = str(status).upper()
        raw, response_pointer = spec.deref(raw, f"{pointer}/{escape_pointer_token(status)}")
        headers = {}
        for header_name, header in (raw.get("headers") or {}).items():
            header_pointer = f"{response_pointer}/headers/{escape_pointer_token(header_name)}"
            header, header_pointer = spec.deref(header, header_pointer)
            if header_name.lower() == "content-type":
                continue
            headers[header_name.lower()] = ResponseHeader(
                name=header_name,
                required=bool(header.get("required", False)),
                schema=header.get("schema", {}),
                schema_pointer=f"{header_pointer}/schema",
            )
        responses[status] = ResponseSpec(
            status=status,
            description=raw.get("description", ""),
            media_types=_parse_media_types(spec, raw.get("content", {}), f"{response_pointer}/content"),
            headers=headers,
        )
    return responses
