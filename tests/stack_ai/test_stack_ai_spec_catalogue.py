"""The spec's inferred request constraints say exactly what the mock's catalogue checks.

Contract tools generate requests from the spec: every request the spec admits must get past the mock's own
checks, and every request the mock refuses for its shape must be one the spec refuses.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import jsonschema_rs
import yaml
from hypothesis import given
from hypothesis import strategies as st

from mockserver._validation import FORMATS
from mockserver.apis.stack_ai._catalogue import (
    BY_TYPE,
    CATALOGUE,
    CREDENTIALS,
    HTTP_URL,
    OAUTH2,
    PROVIDERS,
    VISIBLE_CHARACTER,
    is_http_url,
)

SPEC = yaml.safe_load((Path(__file__).resolve().parents[2] / "spec" / "stack-ai.yaml").read_text())
SCHEMAS = SPEC["components"]["schemas"]


def _schema_validator(name: str) -> Any:
    root = {**SPEC, "$ref": f"#/components/schemas/{name}"}
    return jsonschema_rs.Draft202012Validator(root, validate_formats=True, formats=FORMATS)


def _deref(node: dict[str, Any]) -> dict[str, Any]:
    ref = node.get("$ref", "")
    return SCHEMAS[ref.rsplit("/", 1)[-1]] if ref.startswith("#/components/schemas/") else node


def _variants(union: str) -> list[tuple[str, dict[str, Any]]]:
    """Each named variant of a connection request union: its schema name and its (complete) schema."""
    variants = []
    for branch in SCHEMAS[union]["oneOf"]:
        assert set(branch) == {"$ref"}, f"{union}: a variant is not a named component schema"
        variants.append((branch["$ref"].rsplit("/", 1)[-1], _deref(branch)))
    return variants


def _param_ref(required: bool, is_url: bool) -> str:
    if is_url:
        return "HttpUrl" if required else "OptionalHttpUrl"
    return "VisibleText"


def _described(variant: dict[str, Any]) -> tuple[str, str, list[str], dict[str, str]]:
    """What a variant says: its provider, its connection type, its required and all its typed params."""
    properties = variant["properties"]
    assert variant["required"] == ["provider_id", "connection_type_id", "connection_provider_data"]
    assert list(properties) == ["name", "provider_id", "connection_type_id", "connection_provider_data"]
    assert "const" not in str(variant), "generators cannot take `const` in unions: single-value `enum`s"
    (provider,) = properties["provider_id"]["enum"]
    (connection_type,) = properties["connection_type_id"]["enum"]
    data = _deref(properties["connection_provider_data"])
    assert data["additionalProperties"] is True
    params = {
        name: schema["$ref"]
        for name, schema in data.get("properties", {}).items()
        if name not in ("redirect_uri", "state")
    }
    return provider, connection_type, data.get("required", []), params


def _catalogue_variants(
    connection_type: str | None = None,
) -> list[tuple[str, str, list[str], dict[str, str]]]:
    return [
        (
            entry.provider_id,
            entry.connection_type_id,
            [param.name for param in entry.params if param.required],
            {
                param.name: f"#/components/schemas/{_param_ref(param.required, param.is_url)}"
                for param in entry.params
            },
        )
        for entry in CATALOGUE
        if connection_type in (None, entry.connection_type)
    ]


def test_the_unions_name_every_provider_and_type_first() -> None:
    """A request naming no catalogue provider or type is told the whole list, not one variant's value."""
    assert SCHEMAS["ProviderId"]["enum"] == list(PROVIDERS)
    assert SCHEMAS["ConnectionTypeId"]["enum"] == list(BY_TYPE)
    assert SCHEMAS["ConnectionCreateRequest"]["properties"] == {
        "provider_id": {"$ref": "#/components/schemas/ProviderId"},
        "connection_type_id": {"$ref": "#/components/schemas/ConnectionTypeId"},
    }


def test_one_variant_per_connection_type_with_its_provider_and_params() -> None:
    variants = _variants("ConnectionCreateRequest")
    assert [_described(schema) for _, schema in variants] == _catalogue_variants()
    assert {provider for provider, *_ in _catalogue_variants()} == set(PROVIDERS)
    assert [connection_type for _, connection_type, *_ in _catalogue_variants()] == list(BY_TYPE)


def test_the_oauth_callback_admits_exactly_the_oauth2_types() -> None:
    by_name = dict(_variants("ConnectionCreateRequest"))
    oauth = _variants("OAuthConnectionRequest")
    assert all(by_name[name] is schema for name, schema in oauth), "the callback reuses the create variants"
    assert [_described(schema) for _, schema in oauth] == _catalogue_variants(OAUTH2)
    assert {entry.connection_type for entry in CATALOGUE} == {OAUTH2, CREDENTIALS}
    admitted = SCHEMAS["OAuthConnectionTypeId"]["enum"]
    assert admitted == [entry.connection_type_id for entry in CATALOGUE if entry.connection_type == OAUTH2]
    for union in ("OAuthConnectionRequest", "OAuthStartRequest"):
        assert SCHEMAS[union]["properties"]["connection_type_id"] == {
            "$ref": "#/components/schemas/OAuthConnectionTypeId"
        }


def test_the_oauth_start_admits_the_oauth2_types_with_the_flow_settings() -> None:
    starts = _variants("OAuthStartRequest")
    assert [_described(schema) for _, schema in starts] == _catalogue_variants(OAUTH2)
    for name, schema in starts:
        settings = _deref(schema["properties"]["connection_provider_data"])["properties"]
        assert {"redirect_uri", "state"} <= set(settings), name


def _valid(name: str, instance: Any) -> bool:
    return bool(_schema_validator(name).is_valid(instance))


def test_each_union_admits_one_variant_per_request() -> None:
    gdrive = {"provider_id": "gdrive", "connection_type_id": "gdrive", "connection_provider_data": {}}
    mismatched = {**gdrive, "connection_type_id": "onedrive"}
    confluence = {
        "provider_id": "confluence",
        "connection_type_id": "confluence",
        "connection_provider_data": {},
    }
    started = {**gdrive, "connection_provider_data": {"redirect_uri": "ftp://x", "state": "s"}}
    assert _valid("ConnectionCreateRequest", gdrive)
    assert not _valid("ConnectionCreateRequest", mismatched)
    assert not _valid("ConnectionCreateRequest", confluence)  # its params are required
    complete = {
        **confluence,
        "connection_provider_data": {"url": "https://a", "username": "u", "api_token": "t"},
    }
    assert _valid("ConnectionCreateRequest", complete)
    assert not _valid("OAuthConnectionRequest", complete)  # a `credentials` type
    assert not _valid("OAuthStartRequest", started)  # redirect_uri is an http(s) URL
    assert _valid("OAuthStartRequest", {**gdrive, "connection_provider_data": {"redirect_uri": None}})


def test_the_string_rules_are_the_servers_regular_expressions() -> None:
    assert SCHEMAS["HttpUrl"]["pattern"] == f"^{HTTP_URL.pattern}$"
    assert SCHEMAS["VisibleText"]["pattern"] == VISIBLE_CHARACTER.pattern


_URL_PIECES = st.sampled_from(
    ["http", "HTTPS", "ftp", "://", ":/", "/", "?", "#", "a", ".", " ", "\n", "\x7f", "é", ""]
)


@given(st.lists(_URL_PIECES, max_size=8).map("".join) | st.text(max_size=12))
def test_the_spec_and_the_server_agree_on_urls(text: str) -> None:
    assert bool(_schema_validator("HttpUrl").is_valid(text)) == is_http_url(text)


@given(st.text(max_size=6))
def test_the_spec_and_the_server_agree_on_visible_text(text: str) -> None:
    assert bool(_schema_validator("VisibleText").is_valid(text)) == bool(VISIBLE_CHARACTER.search(text))
