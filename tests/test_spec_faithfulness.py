"""The specs are valid OpenAPI 3.1 and say what the vendor documents say.

Three layers:

1. Both specs validate as OpenAPI 3.1.
2. A hand-transcribed table of the seed documents (``../shared/seeds``) is compared with the specs field by
   field: every documented operation, parameter, request-body field, response field, status code and
   security requirement must be present as documented. Each case is its own test, so a failure names the
   operation and the field. A few structural rules apply to every operation of both specs (unique
   ``operationId``, a summary, 401 when secured, 422/400 when it takes input).
3. When the seed files are present (``<repo>/../shared/seeds``), what can be parsed robustly from their text
   is compared with the specs directly (and with the table, to catch transcription mistakes); otherwise
   that layer is skipped.

A genuine disagreement between a spec and a seed is not hidden: its case is listed in ``KNOWN_MISMATCHES``
and runs as ``xfail(strict=True)``, so fixing the spec makes it XPASS and fail until the entry is removed.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Any

import pytest
import yaml
from openapi_spec_validator import OpenAPIV31SpecValidator, validate

REPO = Path(__file__).resolve().parents[1]
SPEC_DIR = REPO / "spec"
SEED_DIR = Path(__file__).resolve().parents[2] / "shared" / "seeds"
STACK_AI_SEED = SEED_DIR / "003_ccd520bebc64ecfc.txt"
HOOKSTREAM_SEED = SEED_DIR / "000_cbec531a35751579.txt"
SPEC_FILES = {"stack-ai": "stack-ai.yaml", "hookstream": "hookstream.yaml"}

HTTP_METHODS = ("get", "put", "post", "delete", "options", "head", "patch", "trace")
ALL_TYPES = frozenset({"string", "integer", "number", "boolean", "object", "array", "null"})

# Test id -> reason. Cases listed here run as xfail(strict=True); remove an entry once the spec is fixed. A
# mismatch usually fails both a table case and a "seed ..." case: list each id that fails.
KNOWN_MISMATCHES: dict[str, str] = {}


def case(test_id: str, *values: Any) -> Any:
    """A pytest.param with a readable id, xfail(strict=True) when it is a known spec/seed mismatch."""
    marks = []
    if test_id in KNOWN_MISMATCHES:
        marks.append(pytest.mark.xfail(strict=True, reason=KNOWN_MISMATCHES[test_id]))
    return pytest.param(*values, id=test_id, marks=marks)


# ---------------------------------------------------------------------------------------------------------
# Spec access: $ref resolution and schema inspection
# ---------------------------------------------------------------------------------------------------------


class Spec:
    """An OpenAPI document with just enough schema logic for these checks."""

    def __init__(self, name: str, doc: dict[str, Any]) -> None:
        self.name = name
        self.doc = doc

    def deref(self, node: Any) -> Any:
        """Follow local ``$ref``s; keys next to a ``$ref`` (3.1 allows them) override the target's."""
        seen: set[str] = set()
        while isinstance(node, dict) and "$ref" in node:
            ref = node["$ref"]
            assert isinstance(ref, str) and ref.startswith("#/"), f"{self.name}: non-local $ref {ref!r}"
            assert ref not in seen, f"{self.name}: $ref cycle through {ref}"
            seen.add(ref)
            target: Any = self.doc
            for part in ref[2:].split("/"):
                key = part.replace("~1", "/").replace("~0", "~")
                assert isinstance(target, dict) and key in target, f"{self.name}: dangling $ref {ref}"
                target = target[key]
            node = {**target, **{k: v for k, v in node.items() if k != "$ref"}}
        return node

    def flatten(self, schema: Any) -> Iterator[dict[str, Any]]:
        """The schema and, recursively, every ``anyOf``/``oneOf``/``allOf`` branch, all dereferenced."""
        schema = self.deref(schema)
        if not isinstance(schema, dict):
            return
        yield schema
        for key in ("anyOf", "oneOf", "allOf"):
            for branch in schema.get(key, []):
                yield from self.flatten(branch)

    def types(self, schema: Any) -> frozenset[str]:
        """The JSON types a schema admits (``integer`` counts as a ``number``; a bare ``{}`` admits all)."""
        schema = self.deref(schema)
        if schema is True or schema == {}:
            return ALL_TYPES
        if schema is False:
            return frozenset()
        admitted = set(ALL_TYPES)
        if "type" in schema:
            declared = schema["type"]
            declared = {declared} if isinstance(declared, str) else set(declared)
            if "number" in declared:
                declared.add("integer")
            admitted &= declared
        if "const" in schema:
            admitted &= {json_type(schema["const"])}
        if "enum" in schema:
            admitted &= {json_type(value) for value in schema["enum"]}
        for key in ("anyOf", "oneOf"):
            if key in schema:
                admitted &= set().union(*(self.types(branch) for branch in schema[key]))
        for branch in schema.get("allOf", []):
            admitted &= self.types(branch)
        return frozenset(admitted)

    def formats(self, schema: Any) -> set[str]:
        return {branch["format"] for branch in self.flatten(schema) if "format" in branch}

    def enums(self, schema: Any) -> list[list[Any]]:
        return [branch["enum"] for branch in self.flatten(schema) if "enum" in branch]

    def keyword(self, schema: Any, key: str) -> Any:
        """The first value of ``key`` found in the schema or its branches (``MISSING`` if none)."""
        for branch in self.flatten(schema):
            if key in branch:
                return branch[key]
        return MISSING

    def is_object(self, branch: dict[str, Any]) -> bool:
        declared = branch.get("type")
        declared = {declared} if isinstance(declared, str) else set(declared or ())
        return "object" in declared or any(
            k in branch for k in ("properties", "additionalProperties", "patternProperties")
        )

    def child(self, schema: Any, token: str) -> Any:
        """The sub-schema for a property name, ``[]`` (array items) or ``*`` (any additional property).

        Several matches (e.g. a property refined by an ``allOf`` branch) are combined with ``allOf``; the
        specs have no ``anyOf`` of two objects that both declare the same documented property.
        """
        found: list[Any] = []
        for branch in self.flatten(schema):
            if token == "[]":
                if "items" in branch:
                    found.append(branch["items"])
            elif token == "*":
                if not self.is_object(branch):
                    continue
                found.extend(branch.get("patternProperties", {}).values())
                extra = branch.get("additionalProperties", True)
                if isinstance(extra, dict):
                    found.append(extra)
                elif extra is True and not branch.get("patternProperties"):
                    found.append({})
            elif token in branch.get("properties", {}):
                found.append(branch["properties"][token])
        if not found:
            return None
        return found[0] if len(found) == 1 else {"allOf": found}

    def property_names(self, schema: Any) -> set[str]:
        return {name for branch in self.flatten(schema) for name in branch.get("properties", {})}

    def requires(self, schema: Any, name: str) -> bool:
        return any(name in branch.get("required", []) for branch in self.flatten(schema))

    def inferred(self, schema: Any) -> bool:
        return any(branch.get("x-inferred") is True for branch in self.flatten(schema))

    def navigate(self, schema: Any, path: str) -> Any:
        """Walk a field path (see ``Operation``); fails naming the first missing step."""
        walked: list[str] = []
        for token in path_tokens(path):
            walked.append(token)
            schema = self.child(schema, token)
            assert schema is not None, f"{self.name}: no {'/'.join(walked)!r} in the schema"
        return schema

    # Operations -----------------------------------------------------------------------------------------

    def operations(self) -> Iterator[tuple[str, str, dict[str, Any]]]:
        for path, item in self.doc["paths"].items():
            for method in HTTP_METHODS:
                if method in item:
                    yield method, path, item[method]

    def operation(self, method: str, path: str) -> dict[str, Any]:
        item = self.doc["paths"].get(path)
        assert item is not None, f"{self.name}: no path {path}"
        assert method in item, f"{self.name}: no {method.upper()} {path}"
        return item[method]

    def parameters(self, method: str, path: str) -> dict[tuple[str, str], dict[str, Any]]:
        """Effective parameters of an operation keyed by (location, name); operation-level ones win."""
        item = self.doc["paths"][path]
        merged: dict[tuple[str, str], dict[str, Any]] = {}
        for raw in [*item.get("parameters", []), *item[method].get("parameters", [])]:
            param = self.deref(raw)
            merged[(param["in"], param["name"])] = param
        return merged

    def security(self, method: str, path: str) -> list[dict[str, list[str]]]:
        op = self.operation(method, path)
        return op["security"] if "security" in op else self.doc.get("security", [])

    def secured(self, method: str, path: str) -> bool:
        requirements = self.security(method, path)
        return bool(requirements) and all(requirements)  # an empty {} alternative means "optional auth"

    def responses(self, method: str, path: str) -> dict[str, dict[str, Any]]:
        op = self.operation(method, path)
        return {str(code): self.deref(resp) for code, resp in op.get("responses", {}).items()}

    def success_codes(self, method: str, path: str) -> list[int]:
        return sorted(int(code) for code in self.responses(method, path) if code.isdigit() and code[0] == "2")

    def request_schema(self, method: str, path: str) -> Any:
        body = self.deref(self.operation(method, path).get("requestBody"))
        assert body, f"{self.name}: {method.upper()} {path} has no requestBody"
        content = body.get("content", {})
        assert "application/json" in content, f"{self.name}: {method.upper()} {path} body is not JSON"
        return content["application/json"].get("schema", {})


class _Missing:
    def __repr__(self) -> str:
        return "MISSING"


MISSING: Any = _Missing()


def json_type(value: Any) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "boolean"
    if isinstance(value, int):
        return "integer"
    if isinstance(value, float):
        return "number"
    if isinstance(value, str):
        return "string"
    if isinstance(value, list):
        return "array"
    return "object"


def path_tokens(path: str) -> list[str]:
    """``"data[].created_by.id"`` -> ``["data", "[]", "created_by", "id"]``; ``"*"`` = any property."""
    tokens: list[str] = []
    for part in path.split(".") if path else []:
        name, depth = part, 0
        while name.endswith("[]"):
            name, depth = name[:-2], depth + 1
        if name:
            tokens.append(name)
        tokens.extend(["[]"] * depth)
    return tokens


def parse_types(text: str) -> frozenset[str]:
    return frozenset(part.strip() for part in text.split("|"))


@cache
def load(api: str) -> Spec:
    with (SPEC_DIR / SPEC_FILES[api]).open(encoding="utf-8") as fh:
        return Spec(api, yaml.safe_load(fh))


@cache
def raw_spec(api: str) -> dict[str, Any]:
    with (SPEC_DIR / SPEC_FILES[api]).open(encoding="utf-8") as fh:
        return yaml.safe_load(fh)  # a private copy: the validator must not see a shared, mutable document


# ---------------------------------------------------------------------------------------------------------
# The seeds, transcribed by hand
# ---------------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Param:
    """A documented parameter (``loc`` path/query) or request-body field (``loc`` body).

    ``types`` is the exact set of JSON types the seed allows: ``string · uuid`` is ``string`` with
    ``fmt="uuid"``; ``string[]`` is ``array`` with ``items="string"``; "any of string or null" is
    ``string|null``.
    """

    name: str
    loc: str
    types: str
    required: bool
    fmt: str | None = None
    items: str | None = None
    default: Any = MISSING
    minimum: int | None = None
    maximum: int | None = None
    enum: bool = False
    description: str | None = None
    example: Any = MISSING


@dataclass(frozen=True)
class Operation:
    """A documented operation.

    ``response`` maps field paths (``.`` between names, ``[]`` for array items, ``*`` for any property of
    a free-form object, ``""`` for the body itself) to what the seed shows: ``"T"`` or ``"T:format"``
    (the schema admits JSON type T, and a branch declares the format), ``"T!"`` (admits exactly T),
    ``"all"`` (admits any JSON value) or ``"any"`` (present, type not documented).
    """

    method: str
    path: str
    title: str | None
    description: str | None
    secured: bool = True
    params: tuple[Param, ...] = ()
    body: tuple[Param, ...] | None = None
    body_description: str | None = None
    success: tuple[int, ...] = (200,)
    no_content: bool = False
    response: Mapping[str, str] | None = None

    @property
    def label(self) -> str:
        return f"{self.method.upper()} {self.path}"


def under(prefix: str, fields: Mapping[str, str]) -> dict[str, str]:
    return {f"{prefix}.{name}" if prefix else name: kind for name, kind in fields.items()}


# Response shapes (from the seed's example bodies; formats where the example is GitBook's generated value
# for that format, or where api-notes documents it: connection_id/org_id are uuids).
USER_PROFILE = {
    "avatar_url": "string",
    "full_name": "string",
    "has_completed_onboarding": "boolean",
    "last_signed_in": "string",
    "updated_at": "string",
    "id": "string",
    "email": "string",
}
CONNECTION = {
    "connection_id": "string:uuid",
    "created_by": "object",
    **under("created_by", USER_PROFILE),
    "created_at": "string",
    "updated_by": "object",
    **under("updated_by", USER_PROFILE),
    "updated_at": "string",
    "name": "string",
    "org_id": "string:uuid",
    "provider_id": "string",
    "connection_type_id": "string",
    "connection_provider_data": "object",
    "connection_provider_data.*": "any",
}
AVAILABLE_CONNECTION = {
    "connection_type_id": "string",
    "provider_id": "string",
    "name": "string",
    "description": "string",
    "labels": "array",
    "labels[]": "string",
    "params": "array",
    "params[]": "object",
    "params[].label": "string",
    "params[].type": "string",
    "params[].placeholder": "string",
    "params[].default": "any",
    "params[].help": "string",
    "params[].url": "string",
    "params[].required": "boolean",
    "params[].name": "string",
    "minimum_plan": "string",
    "color": "string",
    "is_marketing_stunt": "boolean",
    "connection_type": "string",
}
RESOURCE = {
    "knowledge_base_id": "string:uuid",
    "created_at": "string:date-time",
    "modified_at": "string:date-time",
    "indexed_at": "string:date-time",
    "inode_type": "string",
    "resource_id": "string",
    "inode_path": "object",
    "inode_path.*": "string",
    "dataloader_metadata": "object",
    "dataloader_metadata.*": "any",
    "user_metadata": "object",
    "user_metadata.*": "any",
    "inode_id": "string:uuid",
    "content_hash": "string",
    "content_mime": "string",
    "size": "integer",
    "status": "string",
    "supabase_signed_url": "string",
}
CONNECTION_BODY = {"": "object", **CONNECTION}
CONNECTION_LIST = {"": "array", "[]": "object", **under("[]", CONNECTION)}
AVAILABLE_LIST = {"": "array", "[]": "object", **under("[]", AVAILABLE_CONNECTION)}
RESOURCE_MAP = {"": "object", "*": "object", **under("*", RESOURCE)}
FREE_FORM = {"": "object", "*": "any"}
PAGINATED = {
    "": "object",
    "status_code": "integer",
    "response_code": "string",
    "meta": "object",
    "meta.*": "any",
    "data": "array",
    "data[]": "object",
    **under("data[]", CONNECTION),
    "offset": "integer",
    "limit": "integer",
    "total": "integer",
}
RBAC = {
    "": "object",
    "org_level_role": "string",
    "user_roles": "object",
    "user_roles.*": "array",
    "user_roles.*[]": "string:uuid",
    "group_roles": "object",
    "group_roles.*": "array",
    "group_roles.*[]": "string:uuid",
    "current_user_effective_role": "string",
}
ANY_JSON = {"": "all"}

CONNECTION_ID = Param("connection_id", "path", "string", True, fmt="uuid")
REFRESH_OAUTH_TOKENS = Param("refresh_oauth_tokens", "query", "boolean", False, default=False)
CURSOR = Param(
    "cursor",
    "query",
    "string|null",
    False,
    description="Optional identifier for the page that should be returned. If it is not provided, "
    "the first page will be returned.",
    example="ZXhhbXBsZV9jdXJzb3I=",
)
PAGE_SIZE = Param(
    "page_size",
    "query",
    "integer",
    False,
    default=50,
    minimum=1,
    maximum=1000,
    description="Number of items to be returned in the page.",
)
OAUTH_CODE = Param("code", "query", "string", True)
CONNECTION_REQUEST = (
    Param("name", "body", "string", False, default="Unnamed connection"),
    Param("provider_id", "body", "string", True),
    Param("connection_type_id", "body", "string", True),
    Param(
        "connection_provider_data", "body", "object", True, description="Base data model for all connections."
    ),
)
CONNECTION_REQUEST_DESCRIPTION = "Request model for creating/updating a connection."
SUBJECT_TYPE_DESCRIPTION = "RBAC subject types for access control."

STACK_AI_OPERATIONS: tuple[Operation, ...] = (
    Operation(
        "get",
        "/connections/available",
        "Get Available Connections",
        "List all available connections that can be configured.",
        secured=False,
        response=AVAILABLE_LIST,
    ),
    Operation(
        "get",
        "/connections",
        "Get Connections",
        "List all available connections for the user in his current organization.",
        params=(
            Param("connection_provider", "query", "string|null", False),
            Param("limit", "query", "integer", False, default=1000),
            Param("offset", "query", "integer", False, default=0),
        ),
        response=CONNECTION_LIST,
    ),
    Operation(
        "post",
        "/connections",
        "Create Connection",
        "Create a new connection. The connection will be created in the user's current organization.",
        body=CONNECTION_REQUEST,
        body_description=CONNECTION_REQUEST_DESCRIPTION,
        success=(201,),  # api-notes (vendor's generated client); the seed shows no status line
        response=CONNECTION_BODY,
    ),
    Operation(
        "get",
        "/connections/{connection_id}",
        "Get Connection By Id",
        None,
        params=(CONNECTION_ID, REFRESH_OAUTH_TOKENS),
        response=CONNECTION_BODY,
    ),
    Operation(
        "put",
        "/connections/{connection_id}",
        "Update Connection",
        "Update the connection with the given id.",
        params=(CONNECTION_ID,),
        body=CONNECTION_REQUEST,
        body_description=CONNECTION_REQUEST_DESCRIPTION,
        response=CONNECTION_BODY,
    ),
    Operation(
        "delete",
        "/connections/{connection_id}",
        "Delete Connection",
        "Delete a connection given its ID.",
        params=(CONNECTION_ID,),
        success=(204,),  # api-notes; the seed says "No content"
        no_content=True,
    ),
    Operation(
        "patch",
        "/connections/{connection_id}",
        "Patch Connection",
        "Patch a connection to update specific fields like name.",
        params=(CONNECTION_ID,),
        body=(Param("name", "body", "string", True, description="New name for the connection"),),
        body_description="Request model for partially updating a connection (e.g., renaming).",
        response=CONNECTION_BODY,
    ),
    Operation(
        "get",
        "/connections/{connection_id}/health",
        "Get Connection Health",
        "Check the health of a connection.",
        params=(CONNECTION_ID,),
        response=FREE_FORM,
    ),
    Operation(
        "post",
        "/connections/oauth/start",
        "Get Oauth Url",
        "Return the OAuth URL for a connection provider.",
        body=CONNECTION_REQUEST,
        body_description=CONNECTION_REQUEST_DESCRIPTION,
        response={"": "string!"},
    ),
    Operation(
        "post",
        "/connections/oauth/callback",
        "Create Connection From Callback",
        "Create a new connection from an OAuth callback.",
        params=(OAUTH_CODE,),
        body=CONNECTION_REQUEST,
        body_description=CONNECTION_REQUEST_DESCRIPTION,
        success=(200, 201),  # the seed shows no status line; 201 is the spec's (marked) inference
        response=CONNECTION_BODY,
    ),
    Operation(
        "put",
        "/connections/oauth/callback/{connection_id}",
        "Update Connection From Callback",
        "Update an existing connection from an OAuth callback.",
        params=(CONNECTION_ID, OAUTH_CODE),
        body=CONNECTION_REQUEST,
        body_description=CONNECTION_REQUEST_DESCRIPTION,
        response=CONNECTION_BODY,
    ),
    Operation(
        "get",
        "/connections/{connection_id}/resources",
        "Get Connection Resources",
        "Get the resources associated with a connection.",
        params=(
            CONNECTION_ID,
            Param("resource_ids", "query", "array", False, items="string"),
            REFRESH_OAUTH_TOKENS,
        ),
        response=RESOURCE_MAP,
    ),
    Operation(
        "get",
        "/connections/{connection_id}/resources/children",
        "Get Children Resources",
        "Get the children of a resource associated with a connection.",
        params=(
            CONNECTION_ID,
            Param("resource_id", "query", "string|null", False),
            CURSOR,
            PAGE_SIZE,
            REFRESH_OAUTH_TOKENS,
        ),
        response=FREE_FORM,
    ),
    Operation(
        "get",
        "/connections/{connection_id}/resources/search",
        None,  # the seed page shows no title for this operation
        "Search for resources in the connection that match the query.",
        params=(
            CONNECTION_ID,
            Param("query", "query", "string", True, description="Search query string"),
            CURSOR,
            PAGE_SIZE,
            REFRESH_OAUTH_TOKENS,
        ),
        response=FREE_FORM,
    ),
    Operation(
        "get",
        "/api/v1/connections",
        "Get Paginated Connections",
        "List all available connections for the user in his current organization.",
        params=(
            Param("limit", "query", "integer", False, default=10),
            Param("offset", "query", "integer", False, default=0),
            Param("sort_by", "query", "string", False, default="created_at", enum=True),
            Param("sort_dir", "query", "string", False, default="desc", enum=True),
        ),
        response=PAGINATED,
    ),
    Operation(
        "get",
        "/api/v1/connections/{connection_id}/rbac",
        "Get Connection Rbac",
        "Get the RBA info for a connection.",
        params=(CONNECTION_ID,),
        response=RBAC,
    ),
    Operation(
        "put",
        "/api/v1/connections/{connection_id}/rbac",
        "Update Connection Rbac",
        "Update the RBAC info for a connection.",
        params=(CONNECTION_ID,),
        body=(
            Param("subject_type", "body", "string", True, enum=True, description=SUBJECT_TYPE_DESCRIPTION),
            Param("role", "body", "string", True),
            Param("subject_id", "body", "string", True, fmt="uuid"),
        ),
        response=ANY_JSON,  # "Responseany" (200 application/json) followed by "No content"
    ),
    Operation(
        "delete",
        "/api/v1/connections/{connection_id}/rbac",
        "Delete Connection Rbac",
        "Delete RBA info for the connection.",
        params=(
            CONNECTION_ID,
            Param("subject_type", "query", "string", True, enum=True, description=SUBJECT_TYPE_DESCRIPTION),
            Param("subject_id", "query", "string", True, fmt="uuid"),
        ),
        success=(200, 204),  # the seed shows no status line, only "No content"
        no_content=True,
    ),
    Operation(
        "patch",
        "/api/v1/connections/{connection_id}/organization-role",
        "Update Connection Organization Role",
        "Update the organization-level role for a connection.",
        params=(CONNECTION_ID,),
        body=(
            Param(
                "role",
                "body",
                "string|null",
                True,
                description="Organization-level role for the connection. Set to null to remove org-level access.",
            ),
        ),
        body_description="Request model for updating connection organization-level role.",
        response=ANY_JSON,
    ),
)
STACK_AI_BY_KEY = {(op.method, op.path): op for op in STACK_AI_OPERATIONS}
STACK_AI_HOST = "https://api.stack-ai.com"

# hookstream GET /connections (paths are relative to the server URL .../v1).
HOOKSTREAM_SERVER = "https://hookstream.io/v1"
HOOKSTREAM_LIST = Operation(
    "get",
    "/connections",
    None,
    "List all connections, optionally filtered by source, destination, or status.",
    params=(
        Param("org_id", "query", "string", False, description="Organization ID"),
        Param("env_id", "query", "string", False, description="Environment ID"),
        Param("status", "query", "string", False, description="Filter by status"),
        Param("source_id", "query", "string", False, description="Filter by source ID"),
        Param("destination_id", "query", "string", False, description="Filter by destination ID"),
    ),
)
HOOKSTREAM_SUCCESS_DESCRIPTION = "List of connections"
# Every item field is REQUIRED in the seed; the value is its exact type list.
HOOKSTREAM_CONNECTION_FIELDS = {
    "id": "string",
    "org_id": "string",
    "env_id": "string",
    "source_id": "string",
    "destination_id": "string",
    "name": "string",
    "description": "string|null",
    "enabled": "integer",
    "filter_rules": "string|null",
    "status": "string",
    "event_count": "integer",
    "last_event_at": "string|null",
    "created_at": "string",
    "updated_at": "string",
    "transform_enabled": "integer",
    "transform_expression": "string|null",
    "source_name": "string|null",
    "destination_name": "string|null",
}
# Authentication: "API Key (header: X-API-Key) API Key (cookie: better-auth.session_token)".
HOOKSTREAM_AUTH = (("header", "X-API-Key"), ("cookie", "better-auth.session_token"))


# ---------------------------------------------------------------------------------------------------------
# Shared assertions
# ---------------------------------------------------------------------------------------------------------


def check_value(spec: Spec, where: str, documented: Param, container: dict[str, Any], schema: Any) -> None:
    """Compare one documented parameter/body field with its spec schema (and parameter object)."""
    types = spec.types(schema)
    want = parse_types(documented.types)
    assert types == want, f"{where}: admits {sorted(types)}, the seed says {sorted(want)}"
    if documented.fmt:
        assert documented.fmt in spec.formats(schema), f"{where}: format {documented.fmt} missing"
    if documented.items:
        items = spec.child(schema, "[]")
        assert items is not None, f"{where}: array without items"
        item_types = spec.types(items)
        assert item_types == parse_types(documented.items), f"{where}: items admit {sorted(item_types)}"
    default = spec.keyword(schema, "default")
    if documented.default is not MISSING:
        assert default == documented.default and type(default) is type(documented.default), (
            f"{where}: default {default!r}, the seed says {documented.default!r}"
        )
    if documented.minimum is not None:
        assert spec.keyword(schema, "minimum") == documented.minimum, f"{where}: minimum"
    if documented.maximum is not None:
        assert spec.keyword(schema, "maximum") == documented.maximum, f"{where}: maximum"
    if documented.enum:
        enums = spec.enums(schema)
        assert enums and all(enums), f"{where}: the seed documents an enum, the spec has none"
        if default is not MISSING:
            assert any(default in values for values in enums), f"{where}: default {default!r} not in enum"
    if documented.description:
        texts = [container.get("description", "")] + [b.get("description", "") for b in spec.flatten(schema)]
        assert any(documented.description in text for text in texts), (
            f"{where}: description does not contain the seed's {documented.description!r}"
        )
    if documented.example is not MISSING:
        examples = [container.get("example", MISSING), spec.keyword(schema, "example")]
        examples += [example.get("value") for example in container.get("examples", {}).values()]
        schema_examples = spec.keyword(schema, "examples")
        examples += list(schema_examples) if isinstance(schema_examples, list) else []
        assert documented.example in examples, f"{where}: the seed's example {documented.example!r} missing"


def check_field(spec: Spec, where: str, root: Any, path: str, kind: str) -> None:
    """A documented response field is present and admits what the seed shows."""
    schema = spec.navigate(root, path)
    types = spec.types(schema)
    if kind == "any":
        return
    if kind == "all":
        # A narrower type is allowed only when marked inferred (an `any` body the mock answers as `null`).
        assert types == ALL_TYPES or (types and spec.inferred(schema)), (
            f"{where}: the seed documents any JSON value, the spec admits {sorted(types)} (not marked x-inferred)"
        )
        return
    exact = kind.endswith("!")
    json_kind, _, fmt = kind.rstrip("!").partition(":")
    if exact:
        assert types == {json_kind}, f"{where}: admits {sorted(types)}, the seed says only {json_kind}"
    else:
        assert json_kind in types, f"{where}: does not admit {json_kind} (admits {sorted(types)})"
    if fmt:
        assert fmt in spec.formats(schema), (
            f"{where}: format {fmt} missing (has {sorted(spec.formats(schema))})"
        )


def success_response(spec: Spec, op: Operation) -> tuple[int, dict[str, Any]]:
    codes = spec.success_codes(op.method, op.path)
    assert len(codes) == 1, f"{op.label}: expected exactly one 2xx response, found {codes}"
    return codes[0], spec.responses(op.method, op.path)[str(codes[0])]


def response_schema(spec: Spec, op: Operation) -> Any:
    _, response = success_response(spec, op)
    content = response.get("content", {})
    assert "application/json" in content, f"{op.label}: success response is not application/json"
    return content["application/json"].get("schema", {})


def undocumented_properties(spec: Spec, root: Any, fields: Mapping[str, str]) -> list[str]:
    """Spec properties next to documented ones that the seed does not list and nothing marks inferred."""
    children: dict[str, set[str]] = {}
    for path in fields:
        tokens = path_tokens(path)
        if tokens and tokens[-1] not in ("[]", "*"):
            parent = ".".join(tokens[:-1]).replace(".[]", "[]")
            children.setdefault(parent, set()).add(tokens[-1])
    problems = []
    for parent, documented in sorted(children.items()):
        node = spec.navigate(root, parent)
        for name in sorted(spec.property_names(node) - documented):
            extra = spec.child(node, name)
            if not (spec.inferred(node) or spec.inferred(extra)):
                problems.append(f"{parent + '.' if parent else ''}{name}")
    return problems


# ---------------------------------------------------------------------------------------------------------
# 1. Valid OpenAPI 3.1
# ---------------------------------------------------------------------------------------------------------


@pytest.mark.parametrize("api", sorted(SPEC_FILES))
def test_spec_is_valid_openapi_31(api: str) -> None:
    doc = raw_spec(api)
    assert str(doc.get("openapi", "")).startswith("3.1."), f"{api}: openapi is {doc.get('openapi')!r}"
    validate(doc, cls=OpenAPIV31SpecValidator)


# ---------------------------------------------------------------------------------------------------------
# 2a. Rules for every operation of both specs
# ---------------------------------------------------------------------------------------------------------


def all_operations() -> list[Any]:
    return [
        case(f"{api} {method.upper()} {path}", api, method, path)
        for api in sorted(SPEC_FILES)
        for method, path, _ in load(api).operations()
    ]


@pytest.mark.parametrize("api", sorted(SPEC_FILES))
def test_operation_ids_are_unique(api: str) -> None:
    spec = load(api)
    ids = [op.get("operationId") for _, _, op in spec.operations()]
    missing = [
        f"{method.upper()} {path}" for method, path, op in spec.operations() if not op.get("operationId")
    ]
    assert not missing, f"{api}: operations without operationId: {missing}"
    duplicates = sorted({i for i in ids if ids.count(i) > 1})
    assert not duplicates, f"{api}: duplicate operationIds {duplicates}"


@pytest.mark.parametrize(("api", "method", "path"), all_operations())
def test_operation_is_described(api: str, method: str, path: str) -> None:
    op = load(api).operation(method, path)
    assert op.get("operationId"), "no operationId"
    assert str(op.get("summary", "")).strip() or str(op.get("description", "")).strip(), (
        "no summary/description"
    )


@pytest.mark.parametrize(("api", "method", "path"), all_operations())
def test_secured_operation_documents_401(api: str, method: str, path: str) -> None:
    spec = load(api)
    if spec.secured(method, path):
        assert "401" in spec.responses(method, path), "secured, but no 401 response"


@pytest.mark.parametrize(("api", "method", "path"), all_operations())
def test_operation_with_input_documents_validation_error(api: str, method: str, path: str) -> None:
    spec = load(api)
    takes_input = bool(spec.parameters(method, path)) or "requestBody" in spec.operation(method, path)
    if takes_input:
        code = "422" if api == "stack-ai" else "400"
        assert code in spec.responses(method, path), f"takes input, but no {code} response"


@pytest.mark.parametrize("api", sorted(SPEC_FILES))
def test_every_response_documents_a_description(api: str) -> None:
    spec = load(api)
    missing = [
        f"{method.upper()} {path} {code}"
        for method, path, _ in spec.operations()
        for code, response in spec.responses(method, path).items()
        if not str(response.get("description", "")).strip()
    ]
    assert not missing, f"{api}: responses without description: {missing}"


# ---------------------------------------------------------------------------------------------------------
# 2b. Stack AI against the transcribed seed
# ---------------------------------------------------------------------------------------------------------


def test_stack_ai_has_exactly_the_documented_operations() -> None:
    """The seed's 19 operations and the file-picker walkthrough's (api-notes section C), nothing else."""
    spec = load("stack-ai")
    in_spec = sorted((method, path) for method, path, _ in spec.operations())
    assert len(STACK_AI_BY_KEY) == 19
    documented = sorted({**STACK_AI_BY_KEY, **FILE_PICKER_BY_KEY, **AUTH_SERVICE_INFERRED})
    assert in_spec == documented, (
        f"extra: {sorted(set(in_spec) - set(documented))}, missing: {sorted(set(documented) - set(in_spec))}"
    )


def test_stack_ai_server_and_security_scheme() -> None:
    spec = load("stack-ai")
    assert spec.doc["servers"][0]["url"] == STACK_AI_HOST
    scheme = spec.doc["components"]["securitySchemes"]["OAuth2PasswordBearer"]
    assert scheme["type"] == "oauth2"
    assert scheme["flows"]["password"]["tokenUrl"] == "token"  # api-notes: relative token URL


def stack_ai_cases(kind: str) -> list[Any]:
    return [case(f"{op.label} {kind}", op) for op in STACK_AI_OPERATIONS]


@pytest.mark.parametrize("op", stack_ai_cases("summary"))
def test_stack_ai_summary_and_description(op: Operation) -> None:
    spec_op = load("stack-ai").operation(op.method, op.path)
    if op.title:
        assert spec_op.get("summary") == op.title, (
            f"summary {spec_op.get('summary')!r}, seed title {op.title!r}"
        )
    if op.description:
        assert op.description in spec_op.get("description", ""), "the seed's description is missing"


@pytest.mark.parametrize("op", stack_ai_cases("security"))
def test_stack_ai_security(op: Operation) -> None:
    spec = load("stack-ai")
    requirements = spec.security(op.method, op.path)
    if op.secured:
        assert requirements == [{"OAuth2PasswordBearer": []}], f"security {requirements}"
    else:
        assert not spec.secured(op.method, op.path), (
            f"the seed lists no authorization, the spec has {requirements}"
        )


@pytest.mark.parametrize("op", stack_ai_cases("success status"))
def test_stack_ai_success_status(op: Operation) -> None:
    spec = load("stack-ai")
    code, response = success_response(spec, op)
    assert code in op.success, f"success status {code}, documented {op.success}"
    if code == 204:
        assert not response.get("content"), "204 must not have a body"
    if op.no_content:
        return
    assert "application/json" in response.get("content", {}), "the seed documents an application/json body"


@pytest.mark.parametrize("op", stack_ai_cases("parameter set"))
def test_stack_ai_parameter_set(op: Operation) -> None:
    """Every documented parameter is there; anything beyond the seed is marked x-inferred."""
    spec = load("stack-ai")
    params = spec.parameters(op.method, op.path)
    documented = {(p.loc, p.name) for p in op.params}
    missing = sorted(documented - set(params))
    assert not missing, f"documented parameters missing: {missing}"
    extra = sorted(key for key in set(params) - documented if not params[key].get("x-inferred"))
    assert not extra, f"parameters not in the seed and not marked x-inferred: {extra}"


def stack_ai_param_cases() -> list[Any]:
    return [
        case(f"{op.label} {p.loc}:{p.name}", op, p)
        for op in STACK_AI_OPERATIONS
        for p in (*op.params, *(op.body or ()))
    ]


@pytest.mark.parametrize(("op", "documented"), stack_ai_param_cases())
def test_stack_ai_parameter(op: Operation, documented: Param) -> None:
    spec = load("stack-ai")
    where = f"{op.label} {documented.loc}:{documented.name}"
    if documented.loc == "body":
        body = spec.request_schema(op.method, op.path)
        schema = spec.child(body, documented.name)
        assert schema is not None, f"{where}: not in the request body"
        assert spec.requires(body, documented.name) == documented.required, (
            f"{where}: required={spec.requires(body, documented.name)}, the seed says {documented.required}"
        )
        check_value(spec, where, documented, spec.deref(schema), schema)
        return
    param = spec.parameters(op.method, op.path).get((documented.loc, documented.name))
    assert param is not None, f"{where}: no such parameter"
    assert bool(param.get("required", False)) == documented.required, (
        f"{where}: required={param.get('required', False)}, the seed says {documented.required}"
    )
    check_value(spec, where, documented, param, param.get("schema", {}))


def stack_ai_body_cases() -> list[Any]:
    return [case(f"{op.label} request body", op) for op in STACK_AI_OPERATIONS]


@pytest.mark.parametrize("op", stack_ai_body_cases())
def test_stack_ai_request_body(op: Operation) -> None:
    """Documented bodies are required JSON objects with no undocumented, un-inferred fields; others have none."""
    spec = load("stack-ai")
    spec_op = spec.operation(op.method, op.path)
    if op.body is None:
        assert "requestBody" not in spec_op, "the seed documents no body"
        return
    assert spec.deref(spec_op["requestBody"]).get("required") is True, "requestBody is not required"
    body = spec.request_schema(op.method, op.path)
    assert spec.types(body) == {"object"}, f"body admits {sorted(spec.types(body))}"
    documented = {p.name for p in op.body}
    extra = sorted(
        n for n in spec.property_names(body) - documented if not spec.inferred(spec.child(body, n))
    )
    assert not extra, f"body fields not in the seed and not marked x-inferred: {extra}"
    if op.body_description:
        assert any(op.body_description in b.get("description", "") for b in spec.flatten(body)), (
            f"body description does not contain {op.body_description!r}"
        )


def stack_ai_field_cases() -> list[Any]:
    return [
        case(f"{op.label} response {path or '<body>'}", op, path, kind)
        for op in STACK_AI_OPERATIONS
        for path, kind in (op.response or {}).items()
    ]


@pytest.mark.parametrize(("op", "path", "kind"), stack_ai_field_cases())
def test_stack_ai_response_field(op: Operation, path: str, kind: str) -> None:
    spec = load("stack-ai")
    check_field(spec, f"{op.label} response {path or '<body>'}", response_schema(spec, op), path, kind)


@pytest.mark.parametrize(
    "op", [case(f"{op.label} response extras", op) for op in STACK_AI_OPERATIONS if op.response]
)
def test_stack_ai_response_has_no_unmarked_extras(op: Operation) -> None:
    spec = load("stack-ai")
    extras = undocumented_properties(spec, response_schema(spec, op), op.response or {})
    assert not extras, f"response properties not in the seed and not marked x-inferred: {extras}"


# ---------------------------------------------------------------------------------------------------------
# 2b'. Stack AI beyond the seed: the file-picker walkthrough (api-notes section C)
# ---------------------------------------------------------------------------------------------------------

KNOWLEDGE_BASE_ID = Param("knowledge_base_id", "path", "string", True, fmt="uuid")
KNOWLEDGE_BASE = {
    "": "object",
    "knowledge_base_id": "string:uuid",
    "connection_id": "string:uuid",
    "created_at": "string:date-time",
    "updated_at": "string:date-time",
    "connection_source_ids": "array",
    "connection_source_ids[]": "string",
    "website_sources": "array",
    "connection_provider_type": "string",
    "is_empty": "boolean!",
    "total_size": "integer!",
    "name": "string!",
    "description": "string!",
    "indexing_params": "object",
    "indexing_params.ocr": "boolean!",
    "indexing_params.unstructured": "boolean!",
    "indexing_params.embedding_params": "object",
    "indexing_params.embedding_params.api": "string",
    "indexing_params.embedding_params.base_url": "string",
    "indexing_params.embedding_params.embedding_model": "string",
    "indexing_params.embedding_params.provider": "string",
    "indexing_params.embedding_params.batch_size": "integer",
    "indexing_params.embedding_params.track_usage": "boolean",
    "indexing_params.embedding_params.timeout": "number",
    "indexing_params.chunker_params": "object",
    "indexing_params.chunker_params.chunk_size": "integer",
    "indexing_params.chunker_params.chunk_overlap": "integer",
    "indexing_params.chunker_params.chunker_type": "string",
    "cron_job_id": "string",
    "org_id": "string:uuid",
    "org_level_role": "string",
    "user_metadata_schema": "any",
    "dataloader_metadata_schema": "any",
    "total_files": "integer!",
    "total_indexed_files": "integer!",
    "total_error_files": "integer!",
    "last_synced_at": "string:date-time",
    "role": "string",
}
RESOURCE_PAGE = {
    "": "object",
    "data": "array",
    "data[]": "object",
    **under("data[]", RESOURCE),
    "next_cursor": "string",
    "current_cursor": "string",
}
FILE_PICKER_OPERATIONS: tuple[Operation, ...] = (
    Operation(
        "post",
        "/auth/v1/token",
        None,
        None,
        secured=False,
        params=(Param("grant_type", "query", "string", True),),
        response={
            "": "object",
            "access_token": "string!",
            "token_type": "string!",
            "expires_in": "integer!",
            "refresh_token": "string!",
            "user": "object",
        },
    ),
    Operation(
        "get",
        "/organizations/me/current",
        None,
        None,
        response={"": "object!", "org_id": "string:uuid"},
    ),
    Operation(
        "post",
        "/knowledge_bases",
        None,
        None,
        body=(
            Param("connection_id", "body", "string", True, fmt="uuid"),
            Param("connection_source_ids", "body", "array", True, items="string"),
            Param("indexing_params", "body", "object", False),
            Param("org_level_role", "body", "string|null", False),
            Param("cron_job_id", "body", "string|null", False),
        ),
        response=KNOWLEDGE_BASE,
    ),
    Operation(
        "get",
        "/knowledge_bases/{knowledge_base_id}",
        None,
        None,
        params=(KNOWLEDGE_BASE_ID,),
        response=KNOWLEDGE_BASE,
    ),
    Operation("get", "/knowledge_bases", None, None, response={"": "array", "[]": "object"}),
    Operation(
        "patch",
        "/knowledge_bases/{knowledge_base_id}",
        None,
        None,
        params=(KNOWLEDGE_BASE_ID,),
        response=KNOWLEDGE_BASE,
    ),
    Operation(
        "delete",
        "/knowledge_bases/{knowledge_base_id}",
        None,
        None,
        params=(KNOWLEDGE_BASE_ID,),
        success=(204,),
        no_content=True,
    ),
    Operation(
        "get",
        "/knowledge_bases/sync/trigger/{knowledge_base_id}/{org_id}",
        None,
        None,
        params=(KNOWLEDGE_BASE_ID, Param("org_id", "path", "string", True, fmt="uuid")),
        response={"": "null!"},
    ),
    Operation(
        "get",
        "/knowledge_bases/{knowledge_base_id}/resources/children",
        None,
        None,
        params=(KNOWLEDGE_BASE_ID, Param("resource_path", "query", "string", False)),
        response=RESOURCE_PAGE,
    ),
    Operation(
        "delete",
        "/knowledge_bases/{knowledge_base_id}/resources",
        None,
        None,
        params=(KNOWLEDGE_BASE_ID, Param("resource_path", "query", "string", True)),
        success=(204,),
        no_content=True,
    ),
    Operation(
        "post",
        "/knowledge_bases/{knowledge_base_id}/resources",
        None,
        None,
        params=(KNOWLEDGE_BASE_ID,),
        success=(202,),
    ),
)
FILE_PICKER_BY_KEY = {(op.method, op.path): op for op in FILE_PICKER_OPERATIONS}
AUTH_SERVICE_INFERRED = {("get", "/auth/v1/user"): "getUser()", ("post", "/auth/v1/logout"): "signOut()"}
"""The auth service's routes a Supabase client calls besides the token: in the spec, marked inferred."""


@pytest.mark.parametrize(("method", "path"), sorted(AUTH_SERVICE_INFERRED))
def test_the_auth_services_other_routes_are_marked_inferred(method: str, path: str) -> None:
    assert load("stack-ai").operation(method, path).get("x-inferred") is True


@pytest.mark.parametrize("op", [case(f"{op.label} success status", op) for op in FILE_PICKER_OPERATIONS])
def test_file_picker_success_status(op: Operation) -> None:
    spec = load("stack-ai")
    code, response = success_response(spec, op)
    assert code in op.success, f"success status {code}, documented {op.success}"
    if op.no_content:
        assert not response.get("content"), f"{code} must not have a body"
    assert spec.secured(op.method, op.path) == op.secured


@pytest.mark.parametrize(
    ("op", "documented"),
    [
        case(f"{op.label} {p.loc}:{p.name}", op, p)
        for op in FILE_PICKER_OPERATIONS
        for p in (*op.params, *(op.body or ()))
    ],
)
def test_file_picker_parameter(op: Operation, documented: Param) -> None:
    test_stack_ai_parameter(op, documented)


@pytest.mark.parametrize(
    ("op", "path", "kind"),
    [
        case(f"{op.label} response {path or '<body>'}", op, path, kind)
        for op in FILE_PICKER_OPERATIONS
        for path, kind in (op.response or {}).items()
    ],
)
def test_file_picker_response_field(op: Operation, path: str, kind: str) -> None:
    spec = load("stack-ai")
    check_field(spec, f"{op.label} response {path or '<body>'}", response_schema(spec, op), path, kind)


def test_file_picker_documented_values() -> None:
    """Values the walkthrough shows: the token type, the virtual folder id, statuses, the error statuses."""
    spec = load("stack-ai")
    session = spec.deref(response_schema(spec, FILE_PICKER_BY_KEY[("post", "/auth/v1/token")]))
    assert spec.enums(spec.child(session, "token_type")) == [["bearer"]]
    assert 3600 in spec.deref(spec.child(session, "expires_in")).get("examples", [])
    grant = spec.parameters("post", "/auth/v1/token")[("query", "grant_type")]
    assert spec.enums(grant["schema"]) == [["password", "refresh_token"]]
    children = "/knowledge_bases/{knowledge_base_id}/resources/children"
    assert "STACK_VFS_VIRTUAL_DIRECTORY" in spec.operation("get", children)["description"]
    assert "400" in spec.responses("get", children)
    assert "204" in spec.responses("delete", "/knowledge_bases/{knowledge_base_id}/resources")
    assert "422" in spec.responses("post", "/knowledge_bases/{knowledge_base_id}/resources")
    statuses = spec.enums(spec.child(spec.deref(spec.doc["components"]["schemas"]["Resource"]), "status"))
    assert statuses == [["resource", "parsed", "indexed", "pending", "pending_delete", "deleted", "error"]]
    upload = spec.deref(
        spec.operation("post", "/knowledge_bases/{knowledge_base_id}/resources")["requestBody"]
    )
    form = spec.deref(upload["content"]["multipart/form-data"]["schema"])
    assert set(form["required"]) == {"resource_type", "resource_path", "file"}
    assert spec.enums(spec.child(form, "resource_type")) == [["file"]]
    created = spec.deref(response_schema(spec, FILE_PICKER_BY_KEY[("post", "/knowledge_bases")]))
    assert spec.child(created, "name").get("maxLength") == 2048
    assert spec.child(created, "description").get("maxLength") == 2048
    for count in ("total_files", "total_indexed_files", "total_error_files"):
        assert spec.child(created, count).get("default") == 0


# ---------------------------------------------------------------------------------------------------------
# 2c. hookstream GET /connections against the transcribed seed
# ---------------------------------------------------------------------------------------------------------


def test_hookstream_server_and_operation() -> None:
    spec = load("hookstream")
    assert spec.doc["servers"][0]["url"] == HOOKSTREAM_SERVER
    op = spec.operation("get", "/connections")
    assert op.get("description") == HOOKSTREAM_LIST.description


@pytest.mark.parametrize(
    "documented", [case(f"GET /connections query:{p.name}", p) for p in HOOKSTREAM_LIST.params]
)
def test_hookstream_query_parameter(documented: Param) -> None:
    spec = load("hookstream")
    where = f"GET /connections query:{documented.name}"
    param = spec.parameters("get", "/connections").get(("query", documented.name))
    assert param is not None, f"{where}: no such parameter"
    assert bool(param.get("required", False)) is False, f"{where}: the seed marks it optional"
    check_value(spec, where, documented, param, param.get("schema", {}))


def test_hookstream_parameter_set() -> None:
    params = load("hookstream").parameters("get", "/connections")
    documented = {("query", p.name) for p in HOOKSTREAM_LIST.params}
    extra = sorted(key for key in set(params) - documented if not params[key].get("x-inferred"))
    assert not extra, f"parameters not in the seed and not marked x-inferred: {extra}"


def hookstream_list_schema() -> Any:
    spec = load("hookstream")
    response = spec.responses("get", "/connections").get("200")
    assert response is not None, "no 200 response"
    content = response.get("content", {})
    assert "application/json" in content, "200 is not application/json"
    return content["application/json"]["schema"]


def test_hookstream_200_response() -> None:
    spec = load("hookstream")
    response = spec.responses("get", "/connections")["200"]
    assert HOOKSTREAM_SUCCESS_DESCRIPTION in response.get("description", "")
    assert spec.success_codes("get", "/connections") == [200]
    root = hookstream_list_schema()
    assert spec.types(root) == {"object"}
    connections = spec.child(root, "connections")
    assert connections is not None, "no connections field"
    assert spec.requires(root, "connections"), "connections is REQUIRED in the seed"
    assert spec.types(connections) == {"array"}, f"connections admits {sorted(spec.types(connections))}"
    items = spec.child(connections, "[]")
    assert items is not None and "object" in spec.types(items), "connections items must admit objects"


@pytest.mark.parametrize(
    ("name", "types"),
    [case(f"GET /connections 200 connections[].{n}", n, t) for n, t in HOOKSTREAM_CONNECTION_FIELDS.items()],
)
def test_hookstream_connection_field(name: str, types: str) -> None:
    spec = load("hookstream")
    items = spec.child(spec.child(hookstream_list_schema(), "connections"), "[]")
    schema = spec.child(items, name)
    assert schema is not None, f"connections[].{name} missing"
    assert spec.requires(items, name), f"connections[].{name} is REQUIRED in the seed"
    admitted = spec.types(schema)
    assert admitted == parse_types(types), (
        f"connections[].{name} admits {sorted(admitted)}, seed says {types}"
    )


def test_hookstream_connection_has_no_unmarked_extras() -> None:
    spec = load("hookstream")
    fields = {
        "connections": "array",
        **under("connections[]", dict.fromkeys(HOOKSTREAM_CONNECTION_FIELDS, "any")),
    }
    extras = undocumented_properties(spec, hookstream_list_schema(), fields)
    assert not extras, f"properties not in the seed and not marked x-inferred: {extras}"


def test_hookstream_401_response() -> None:
    spec = load("hookstream")
    response = spec.responses("get", "/connections").get("401")
    assert response is not None, "the seed documents 401 Unauthorized"
    schema = response.get("content", {}).get("application/json", {}).get("schema")
    assert schema is not None and spec.child(schema, "error") is not None, (
        "401 body has no `error` (api-notes)"
    )


@pytest.mark.parametrize(
    ("location", "name"), [case(f"GET /connections auth {loc}:{n}", loc, n) for loc, n in HOOKSTREAM_AUTH]
)
def test_hookstream_security_scheme(location: str, name: str) -> None:
    """Each documented credential is an apiKey scheme that on its own satisfies the operation's security."""
    spec = load("hookstream")
    schemes = spec.doc["components"]["securitySchemes"]
    matching = {
        key
        for key, scheme in schemes.items()
        if scheme.get("type") == "apiKey" and scheme.get("in") == location and scheme.get("name") == name
    }
    assert matching, f"no apiKey scheme in {location} named {name}"
    alternatives = [set(requirement) for requirement in spec.security("get", "/connections")]
    assert any(alt and alt <= matching for alt in alternatives), (
        f"{name} alone does not satisfy {alternatives}"
    )


# ---------------------------------------------------------------------------------------------------------
# 2d. hookstream events and ingest against api-notes section D (the vendor's reference pages)
# ---------------------------------------------------------------------------------------------------------

HOOKSTREAM_EVENT_FIELDS = {
    "id": "string",
    "source_id": "string",
    "org_id": "string",
    "env_id": "string",
    "method": "string",
    "content_type": "string|null",
    "source_ip": "string|null",
    "payload_size": "integer",
    "verification_status": "string",
    "dedup_status": "string",
    "status": "string",
    "received_at": "string",
    "source_name": "string|null",
    "source_slug": "string|null",
}
HOOKSTREAM_EVENT_DETAIL_FIELDS = {
    **HOOKSTREAM_EVENT_FIELDS,
    "headers": "object",
    "query_params": "object",
    "payload_inline": "string|null",
    "payload_ref": "string|null",
    "payload": "any",
    "verification_error": "string|null",
    "dedup_hash": "string|null",
    "topic": "string|null",
}
HOOKSTREAM_EVENT_QUERY = (
    "source_id",
    "org_id",
    "status",
    "verification_status",
    "dedup_status",
    "method",
    "search",
    "cursor",
    "direction",
    "after",
    "before",
    "limit",
    "offset",
)
HOOKSTREAM_PAGINATION = {
    "total": "integer",
    "limit": "integer",
    "offset": "integer",
    "has_more": "boolean",
    "next_cursor": "string|null",
    "prev_cursor": "string|null",
}
INGEST_METHODS = ("get", "post", "put", "patch", "delete")


def _json_schema(spec: Spec, method: str, path: str, status: str) -> Any:
    response = spec.responses(method, path).get(status)
    assert response is not None, f"{method.upper()} {path}: no {status} response"
    return response["content"]["application/json"]["schema"]


def _check_fields(spec: Spec, where: str, schema: Any, fields: Mapping[str, str]) -> None:
    for name, types in fields.items():
        child = spec.child(schema, name)
        assert child is not None, f"{where}.{name} missing"
        assert spec.requires(schema, name), f"{where}.{name} is required in the reference"
        if types != "any":
            admitted = spec.types(child)
            assert admitted == parse_types(types), f"{where}.{name} admits {sorted(admitted)}, not {types}"


@pytest.mark.parametrize("method", INGEST_METHODS)
def test_hookstream_ingest_takes_every_documented_method_without_credentials(method: str) -> None:
    spec = load("hookstream")
    operation = spec.operation(method, "/ingest/{source_id}")
    assert operation.get("security") == [], f"{method.upper()} /ingest needs no credentials"
    result = _json_schema(spec, method, "/ingest/{source_id}", "200")
    _check_fields(
        spec, f"{method.upper()} /ingest 200", result, {"event_id": "string", "source_id": "string"}
    )
    extras = undocumented_properties(spec, result, {"event_id": "string", "source_id": "string"})
    assert not extras, f"ingest answer fields not documented and not marked x-inferred: {extras}"
    for status in ("401", "403", "404"):
        error = _json_schema(spec, method, "/ingest/{source_id}", status)
        assert spec.child(error, "error") is not None and spec.requires(error, "status"), status


def test_hookstream_list_events_parameters() -> None:
    spec = load("hookstream")
    params = spec.parameters("get", "/events")
    assert set(params) == {("query", name) for name in HOOKSTREAM_EVENT_QUERY}
    limit = params[("query", "limit")]["schema"]
    assert (spec.keyword(limit, "default"), spec.keyword(limit, "maximum")) == (50, 100)
    assert not any(param.get("required") for param in params.values())


def test_hookstream_list_events_envelope() -> None:
    spec = load("hookstream")
    root = _json_schema(spec, "get", "/events", "200")
    _check_fields(spec, "GET /events 200", root, {"events": "array", "pagination": "object"})
    _check_fields(
        spec,
        "GET /events 200 events[]",
        spec.child(spec.child(root, "events"), "[]"),
        HOOKSTREAM_EVENT_FIELDS,
    )
    _check_fields(spec, "GET /events 200 pagination", spec.child(root, "pagination"), HOOKSTREAM_PAGINATION)
    fields = {
        "events": "array",
        "pagination": "object",
        **under("events[]", HOOKSTREAM_EVENT_FIELDS),
        **under("pagination", HOOKSTREAM_PAGINATION),
    }
    assert not undocumented_properties(spec, root, fields)


def test_hookstream_event_detail() -> None:
    spec = load("hookstream")
    root = _json_schema(spec, "get", "/events/{id}", "200")
    event = spec.child(root, "event")
    assert event is not None and spec.requires(root, "event")
    _check_fields(spec, "GET /events/{id} 200 event", event, HOOKSTREAM_EVENT_DETAIL_FIELDS)
    assert not undocumented_properties(
        spec, root, {"event": "object", **under("event", HOOKSTREAM_EVENT_DETAIL_FIELDS)}
    )
    not_found = spec.responses("get", "/events/{id}")["404"]["content"]["application/json"]
    assert any(example["value"]["error"] == "Event not found" for example in not_found["examples"].values())


def test_hookstream_event_statuses_are_the_documented_lifecycle() -> None:
    spec = load("hookstream")
    status = spec.child(
        spec.child(spec.child(_json_schema(spec, "get", "/events", "200"), "events"), "[]"), "status"
    )
    assert spec.enums(status) == [["received", "processing", "delivered", "failed"]]


HOOKSTREAM_ATTEMPT_FIELDS = {
    "id": "string",
    "org_id": "string",
    "env_id": "string",
    "event_id": "string",
    "connection_id": "string",
    "destination_id": "string",
    "request_url": "string",
    "request_method": "string",
    "request_headers": "string|null",
    "request_body_size": "integer",
    "response_status": "integer|null",
    "response_headers": "string|null",
    "response_body": "string|null",
    "duration_ms": "integer|null",
    "status": "string",
    "error": "string|null",
    "created_at": "string",
    "attempt_number": "integer|null",
    "next_retry_at": "string|null",
    "is_dlq": "integer|null",
    "dlq_at": "string|null",
    "trigger_type": "string|null",
    "connection_name": "string|null",
    "destination_name": "string|null",
}
HOOKSTREAM_ATTEMPT_QUERY = (
    "limit",
    "offset",
    "event_id",
    "connection_id",
    "destination_id",
    "status",
    "is_dlq",
)


def test_hookstream_list_delivery_attempts_parameters_and_envelope() -> None:
    spec = load("hookstream")
    params = spec.parameters("get", "/delivery-attempts")
    assert set(params) == {("query", name) for name in HOOKSTREAM_ATTEMPT_QUERY}
    limit = params[("query", "limit")]["schema"]
    assert (spec.keyword(limit, "default"), spec.keyword(limit, "maximum")) == (50, 100)
    root = _json_schema(spec, "get", "/delivery-attempts", "200")
    _check_fields(
        spec, "GET /delivery-attempts 200", root, {"delivery_attempts": "array", "pagination": "object"}
    )
    item = spec.child(spec.child(root, "delivery_attempts"), "[]")
    _check_fields(spec, "GET /delivery-attempts 200 delivery_attempts[]", item, HOOKSTREAM_ATTEMPT_FIELDS)
    for name in ("total", "limit", "offset", "has_more"):
        assert spec.child(spec.child(root, "pagination"), name) is not None, name
    assert not undocumented_properties(spec, item, HOOKSTREAM_ATTEMPT_FIELDS), (
        "attempt fields not documented and not marked x-inferred"
    )


def test_hookstream_delivery_attempt_detail_and_retries() -> None:
    spec = load("hookstream")
    for method, path in (("get", "/delivery-attempts/{id}"), ("post", "/delivery-attempts/{id}/retry")):
        root = _json_schema(spec, method, path, "200")
        attempt = spec.child(root, "delivery_attempt")
        assert attempt is not None and spec.requires(root, "delivery_attempt"), path
        _check_fields(spec, f"{method.upper()} {path} 200", attempt, HOOKSTREAM_ATTEMPT_FIELDS)
        assert "404" in spec.responses(method, path), path
    assert "400" in spec.responses("post", "/delivery-attempts/{id}/retry")
    retried = _json_schema(spec, "post", "/events/{id}/retry", "200")
    _check_fields(
        spec,
        "POST /events/{id}/retry 200",
        retried,
        {"retried": "array", "errors": "array", "message": "string"},
    )
    status = spec.child(
        spec.child(
            spec.child(_json_schema(spec, "get", "/delivery-attempts", "200"), "delivery_attempts"), "[]"
        ),
        "status",
    )
    assert spec.enums(status) == [["pending", "success", "failed"]]


def test_hookstream_circuit_operations_are_marked_inferred() -> None:
    spec = load("hookstream")
    for method, path in (("get", "/destinations/{id}/circuit"), ("post", "/destinations/{id}/circuit/reset")):
        assert spec.operation(method, path).get("x-inferred") is True, path


# ---------------------------------------------------------------------------------------------------------
# 3. Straight from the seed text (skipped when ../shared/seeds is absent)
# ---------------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class SeedParam:
    name: str
    loc: str
    type_word: str  # string, integer, boolean, object, "any of", "string[]"
    qualifiers: tuple[str, ...]  # what follows " · ": "uuid", "enum", "min: 1", "max: 1000", a model name
    required: bool
    default: str | None

    def bound(self, name: str) -> int | None:
        found = [int(q.split(":")[1]) for q in self.qualifiers if q.startswith(f"{name}:")]
        return found[0] if found else None


@dataclass(frozen=True)
class SeedOperation:
    method: str
    path: str
    title: str | None
    first_line: str | None
    secured: bool
    params: tuple[SeedParam, ...]
    statuses: tuple[int, ...]
    response_kind: str | None  # "string" / "any" from a "Response<kind>" line
    query_in_example: tuple[str, ...]
    request_body: Any
    response_example: Any
    no_content: bool

    @property
    def label(self) -> str:
        return f"{self.method.upper()} {self.path}"


REQUEST_LINE = re.compile(r"^(GET|POST|PUT|PATCH|DELETE) (/\S*) HTTP/1\.1$", re.MULTILINE)
SECTION_LOCATIONS = {"Path parameters": "path", "Query parameters": "query", "Body": "body"}
PARAM_LINE = re.compile(
    r"^(?P<name>[a-z_]+?)(?P<type>string\[\]|string|integer|boolean|number|object|array|any of)"
    r"(?P<rest>.*?)(?P<req>Required|Optional)(?:Default: (?P<default>.*?))?(?:Possible values:)?$"
)


def seed_text(path: Path) -> str:
    if not path.is_file():
        pytest.skip(f"seed {path} not available (expects ../shared/seeds beside the repository)")
    return path.read_text(encoding="utf-8")


def json_values(text: str) -> list[Any]:
    """Every JSON object/array that starts at the beginning of a line, in order."""
    decoder = json.JSONDecoder()
    values, pos = [], 0
    for match in re.finditer(r"^[\[{]", text, re.MULTILINE):
        if match.start() < pos:
            continue
        try:
            value, end = decoder.raw_decode(text, match.start())
        except json.JSONDecodeError:
            continue
        values.append(value)
        pos = end
    return values


@cache
def parse_stack_ai_seed() -> tuple[SeedOperation, ...]:
    text = seed_text(STACK_AI_SEED)
    requests = list(REQUEST_LINE.finditer(text))
    operations = []
    for index, request in enumerate(requests):
        method, target = request.group(1).lower(), request.group(2)
        path, _, query = target.partition("?")
        previous_end = requests[index - 1].end() if index else 0
        chunk = text[previous_end : request.start()]
        start = re.search(rf"^{method}$", chunk, re.MULTILINE)
        assert start, f"no '{method}' marker opening the section of {method.upper()} {path}"
        before = [line.strip() for line in chunk[: start.start()].splitlines() if line.strip()]
        title = before[-1] if before and re.fullmatch(r"[A-Z][A-Za-z ]+", before[-1]) else None
        section = chunk[start.end() :]
        lines = [line.strip() for line in section.splitlines()]
        nonblank = [line for line in lines if line]
        headers = {"Authorizations", "Path parameters", "Query parameters", "Body", "Responses"}
        first_line = nonblank[0] if nonblank and nonblank[0] not in headers else None

        params, statuses, location, response_kind, secured = [], [], None, None, False
        for line in lines:
            if line == "Authorizations":
                secured = True
            if line in SECTION_LOCATIONS or line == "Responses":
                location = SECTION_LOCATIONS.get(line, "responses")
                continue
            if location in ("path", "query", "body") and (match := PARAM_LINE.match(line)):
                qualifiers = tuple(q.strip() for q in match["rest"].split("·") if q.strip())
                params.append(
                    SeedParam(
                        match["name"],
                        location,
                        match["type"],
                        qualifiers,
                        match["req"] == "Required",
                        match["default"],
                    )
                )
            elif location == "responses":
                if re.fullmatch(r"\d{3}", line):
                    statuses.append(int(line))
                elif kind := re.fullmatch(r"Response(\w+)", line):
                    response_kind = kind.group(1)

        next_start = requests[index + 1].start() if index + 1 < len(requests) else len(text)
        example = text[request.end() : next_start]
        next_section = re.search(r"^(get|post|put|patch|delete)$", example, re.MULTILINE)
        example = example[: next_section.start()] if next_section else example
        has_body = "\nContent-Type: application/json" in example.split("\n\n", 1)[0]
        values = json_values(example)
        request_body = values.pop(0) if has_body and values else None
        operations.append(
            SeedOperation(
                method=method,
                path=path,
                title=title,
                first_line=first_line,
                secured=secured,
                params=tuple(params),
                statuses=tuple(statuses),
                response_kind=response_kind,
                query_in_example=tuple(name for name, _ in re.findall(r"([^?&=]+)=([^&]*)", query)),
                request_body=request_body,
                response_example=values[0] if values else None,
                no_content="No content" in example,
            )
        )
    return tuple(operations)


def seed_cases(kind: str) -> list[Any]:
    """One case per transcribed operation; the parsed seed is matched up inside the test."""
    return [case(f"seed {op.label} {kind}", op.method, op.path) for op in STACK_AI_OPERATIONS]


def seed_operation(method: str, path: str) -> SeedOperation:
    found = [op for op in parse_stack_ai_seed() if (op.method, op.path) == (method, path)]
    assert len(found) == 1, f"the seed has {len(found)} request lines for {method.upper()} {path}"
    return found[0]


def example_paths(value: Any, prefix: str = "") -> Iterator[tuple[str, Any]]:
    """(path, value) for every node of an example body; placeholder keys become ``*``."""
    yield prefix, value
    if isinstance(value, dict):
        for key, child in value.items():
            name = "*" if key == "ANY_ADDITIONAL_PROPERTY" or key.startswith("^") else key
            yield from example_paths(child, f"{prefix}.{name}" if prefix else name)
    elif isinstance(value, list):
        for child in value:
            yield from example_paths(child, f"{prefix}[]")


def test_seed_stack_ai_request_lines_match_spec() -> None:
    """Every "<METHOD> /path HTTP/1.1" line of the seed is a spec operation, and there are exactly 19."""
    parsed = sorted((op.method, op.path) for op in parse_stack_ai_seed())
    assert len(parsed) == 19 == len(set(parsed)), f"request lines: {parsed}"
    in_spec = sorted(
        (method, path)
        for method, path, _ in load("stack-ai").operations()
        if (method, path) not in FILE_PICKER_BY_KEY and (method, path) not in AUTH_SERVICE_INFERRED
    )
    assert parsed == in_spec
    assert parsed == sorted(STACK_AI_BY_KEY), "the hand-written table disagrees with the seed's request lines"
    assert "Host: api.stack-ai.com" in seed_text(STACK_AI_SEED)


@pytest.mark.parametrize(("method", "path"), seed_cases("section"))
def test_seed_stack_ai_section(method: str, path: str) -> None:
    """Title, first description line, authorization and documented statuses, read from the seed text."""
    seed, spec = seed_operation(method, path), load("stack-ai")
    spec_op = spec.operation(method, path)
    table = STACK_AI_BY_KEY[(method, path)]
    assert seed.title == table.title, f"table title {table.title!r}, seed {seed.title!r}"
    if seed.title:
        assert spec_op.get("summary") == seed.title
    if seed.first_line:
        assert spec_op.get("description", "").startswith(seed.first_line), (
            f"description != {seed.first_line!r}"
        )
    assert seed.secured == table.secured == spec.secured(method, path)
    for status in seed.statuses:
        assert status in spec.success_codes(method, path), f"the seed documents {status}"
    if seed.response_kind == "string":
        assert spec.types(response_schema(spec, table)) == {"string"}
    elif seed.response_kind == "any":
        schema = response_schema(spec, table)
        assert spec.types(schema) == ALL_TYPES or spec.inferred(schema)
    if seed.no_content and not seed.statuses:
        assert seed.response_example is None and table.no_content


@pytest.mark.parametrize(("method", "path"), seed_cases("parameters"))
def test_seed_stack_ai_parameters(method: str, path: str) -> None:
    """The parameter and body-field lines of the seed, against the table and against the spec."""
    seed, spec = seed_operation(method, path), load("stack-ai")
    table = STACK_AI_BY_KEY[(method, path)]
    transcribed = {(p.loc, p.name): p for p in (*table.params, *(table.body or ()))}
    assert {(p.loc, p.name, p.required) for p in seed.params} == {
        (p.loc, p.name, p.required) for p in transcribed.values()
    }, "table != the seed's parameter lines"
    params = spec.parameters(method, path)
    body = spec.request_schema(method, path) if any(p.loc == "body" for p in seed.params) else None
    for p in seed.params:
        where = f"{p.loc}:{p.name}"
        row = transcribed[(p.loc, p.name)]
        # The table says what the seed line says.
        if p.type_word == "any of":
            assert "|" in row.types, f"{where}: table type {row.types!r} for the seed's 'any of'"
        elif p.type_word == "string[]":
            assert (row.types, row.items) == ("array", "string"), f"{where}: table type for string[]"
        else:
            assert row.types == p.type_word, f"{where}: table type {row.types!r}, seed {p.type_word!r}"
        assert ("uuid" in p.qualifiers) == (row.fmt == "uuid"), f"{where}: table format"
        assert ("enum" in p.qualifiers) == row.enum, f"{where}: table enum flag"
        assert (p.bound("min"), p.bound("max")) == (row.minimum, row.maximum), f"{where}: table bounds"
        if p.default is not None:
            assert shown(row.default) == p.default, (
                f"{where}: table default {row.default!r}, seed {p.default!r}"
            )
        # The spec says what the seed line says.
        if p.loc == "body":
            schema = spec.child(body, p.name)
            assert schema is not None, f"{where} missing"
            assert spec.requires(body, p.name) == p.required, f"{where} required flag"
        else:
            param = params.get((p.loc, p.name))
            assert param is not None, f"{where} missing"
            assert bool(param.get("required", False)) == p.required, f"{where} required flag"
            schema = param.get("schema", {})
        types = spec.types(schema)
        if p.type_word == "any of":
            assert len(types) >= 2, f"{where}: the seed says 'any of', the spec admits {sorted(types)}"
        else:
            want = "array" if p.type_word == "string[]" else p.type_word
            assert types == {want}, f"{where}: admits {sorted(types)}, seed says {p.type_word}"
        if "uuid" in p.qualifiers:
            assert "uuid" in spec.formats(schema), f"{where}: the seed says string · uuid"
        if "enum" in p.qualifiers:
            assert spec.enums(schema), f"{where}: the seed says string · enum"
        if p.default is not None:
            default = spec.keyword(schema, "default")
            assert shown(default) == p.default, f"{where}: default {default!r}, seed {p.default!r}"
        for bound, keyword in (("min", "minimum"), ("max", "maximum")):
            if p.bound(bound) is not None:
                assert spec.keyword(schema, keyword) == p.bound(bound), f"{where}: {keyword}"
    for name in seed.query_in_example:
        param = params.get(("query", name))
        assert param is not None and param.get("required"), (
            f"example URL sends {name}: must be a required query"
        )


def shown(value: Any) -> str:
    """A default as GitBook prints it (``false``, ``1000``, ``Unnamed connection``)."""
    return json.dumps(value) if isinstance(value, bool) or value is None else str(value)


GITBOOK_STRING_PLACEHOLDER = "text"
"""What the vendor's GitBook pages show as the example of any plain `string` field."""


@pytest.mark.parametrize(("method", "path"), seed_cases("examples"))
def test_seed_stack_ai_examples(method: str, path: str) -> None:
    """Every key of the seed's example request/response bodies exists in the spec and admits the example's type."""
    seed, spec = seed_operation(method, path), load("stack-ai")
    table = STACK_AI_BY_KEY[(method, path)]
    if seed.request_body is not None:
        body = spec.request_schema(method, path)
        for key, value in seed.request_body.items():
            schema = spec.child(body, key)
            assert schema is not None, f"request example field {key} missing from the body schema"
            assert json_type(value) in spec.types(schema), f"request {key}: {value!r} not admitted"
            if value == GITBOOK_STRING_PLACEHOLDER and spec.inferred(schema):
                continue  # the seed shows a plain string; the spec's inferred enum narrows it
            for values in spec.enums(schema):
                assert value in values, f"request {key}: example {value!r} not in enum {values}"
    if seed.response_example is None:
        return
    root = response_schema(spec, table)
    for field_path, value in example_paths(seed.response_example):
        schema = spec.navigate(root, field_path)
        assert json_type(value) in spec.types(schema), (
            f"response {field_path or '<body>'}: {value!r} not admitted"
        )
        if json_type(value) == "string":
            for values in spec.enums(schema):
                assert value in values, f"response {field_path}: example {value!r} not in enum {values}"
        assert field_path in (table.response or {}), (
            f"response {field_path or '<body>'}: in the seed's example but not in the transcribed table"
        )


HOOKSTREAM_FIELD_LINE = re.compile(
    r"^(?P<name>[a-z_]+) (?P<type>[a-z][a-z |\[\]]*?) (?P<req>REQUIRED|optional)(?: (?P<loc>query|path|header))?$"
)


@cache
def parse_hookstream_seed() -> dict[str, Any]:
    text = seed_text(HOOKSTREAM_SEED)
    lines = [line.strip() for line in text.splitlines()]
    method, path = lines[0].split(" ", 1)
    parsed: dict[str, Any] = {
        "method": method.lower(),
        "path": path,
        "description": lines[1],
        "auth": re.findall(r"\((header|cookie|query): ([^)]+)\)", text),
        "query": {},
        "top": {},
        "items": {},
        "statuses": {},
        "url": re.search(r"curl -X \w+ '([^']+)'", text).group(1),  # type: ignore[union-attr]
    }
    target = "query"
    for line in lines:
        if target == "done":
            break
        if line == "Responses":
            target = "top"
        elif line == "Array of:":
            target = "items"
        elif status := re.fullmatch(r"(\d{3}) (.+)", line):
            parsed["statuses"][int(status.group(1))] = status.group(2)
            if status.group(1) != "200":
                target = "done"
        elif (field := HOOKSTREAM_FIELD_LINE.match(line)) and target in ("query", "top", "items"):
            if target == "query":
                assert field["loc"] == "query", line
            parsed[target][field["name"]] = (field["type"], field["req"] == "REQUIRED")
    examples = [v for v in json_values(text) if isinstance(v, dict) and "connections" in v]
    parsed["example"] = examples[0] if examples else None
    return parsed


def test_seed_hookstream_operation() -> None:
    seed, spec = parse_hookstream_seed(), load("hookstream")
    assert (seed["method"], seed["path"]) == ("get", "/connections")
    spec_op = spec.operation(seed["method"], seed["path"])
    assert spec_op.get("description") == seed["description"] == HOOKSTREAM_LIST.description
    assert spec.doc["servers"][0]["url"] + seed["path"] == seed["url"], "server URL + path != the seed's URL"
    assert sorted(seed["statuses"]) == [200, 401]
    responses = spec.responses("get", "/connections")
    for status in seed["statuses"]:
        assert str(status) in responses, f"the seed documents {status}"
    assert seed["statuses"][200] == HOOKSTREAM_SUCCESS_DESCRIPTION
    assert sorted(seed["auth"]) == sorted(HOOKSTREAM_AUTH), "table != the seed's Authentication line"


def test_seed_hookstream_query_parameters() -> None:
    seed, spec = parse_hookstream_seed(), load("hookstream")
    assert list(seed["query"]) == [p.name for p in HOOKSTREAM_LIST.params], "table != seed query parameters"
    params = spec.parameters("get", "/connections")
    for name, (type_text, required) in seed["query"].items():
        param = params.get(("query", name))
        assert param is not None, f"query:{name} missing"
        assert bool(param.get("required", False)) == required, f"query:{name} required flag"
        assert spec.types(param.get("schema", {})) == parse_types(type_text), f"query:{name} type"


def test_seed_hookstream_response_fields() -> None:
    seed, spec = parse_hookstream_seed(), load("hookstream")
    transcribed = {name: parse_types(types) for name, types in HOOKSTREAM_CONNECTION_FIELDS.items()}
    parsed = {name: parse_types(types) for name, (types, _) in seed["items"].items()}
    assert parsed == transcribed, "table != the seed's field lines"
    assert all(required for _, required in seed["items"].values()), "the seed marks every field REQUIRED"
    assert list(seed["top"]) == ["connections"]
    root = hookstream_list_schema()
    top_type, top_required = seed["top"]["connections"]
    assert top_type.endswith("[]") and top_required
    connections = spec.child(root, "connections")
    assert spec.requires(root, "connections") and spec.types(connections) == {"array"}
    items = spec.child(connections, "[]")
    for name, (type_text, required) in seed["items"].items():
        schema = spec.child(items, name)
        assert schema is not None, f"connections[].{name} missing"
        assert spec.requires(items, name) == required, f"connections[].{name} required flag"
        assert spec.types(schema) == parse_types(type_text), f"connections[].{name} type"
    example = seed["example"]
    assert example is not None, "no 200 example in the seed"
    for field_path, value in example_paths(example):
        schema = spec.navigate(root, field_path)
        assert json_type(value) in spec.types(schema), (
            f"example {field_path or '<body>'}: {value!r} not admitted"
        )
