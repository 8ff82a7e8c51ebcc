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


def test_provider_and_type_enums_are_the_catalogue() -> None:
    assert SCHEMAS["ProviderId"]["enum"] == list(PROVIDERS)
    assert SCHEMAS["ConnectionTypeId"]["enum"] == list(BY_TYPE)


def _variants() -> list[dict[str, Any]]:
    """Each variant of a connection request: the common fields, then what the connection type adds."""
    variants = []
    for variant in SCHEMAS["ConnectionCreateRequest"]["oneOf"]:
        fields, own = variant["allOf"]
        assert fields == {"$ref": "#/components/schemas/ConnectionFields"}
        variants.append(own)
    return variants


def _param_ref(required: bool, is_url: bool) -> str:
    if is_url:
        return "HttpUrl" if required else "OptionalHttpUrl"
    return "VisibleText"


def test_one_variant_per_connection_type_with_its_provider_and_params() -> None:
    found = []
    for variant in _variants():
        properties = variant["properties"]
        data = properties.get("connection_provider_data", {})
        found.append(
            (
                properties["provider_id"]["const"],
                properties["connection_type_id"]["const"],
                data.get("required", []),
                {name: schema["$ref"] for name, schema in data.get("properties", {}).items()},
            )
        )
    expected = [
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
    ]
    assert found == expected


def test_the_oauth_flow_admits_exactly_the_oauth2_types() -> None:
    admitted = SCHEMAS["OAuthConnectionType"]["properties"]["connection_type_id"]["enum"]
    assert admitted == [entry.connection_type_id for entry in CATALOGUE if entry.connection_type == OAUTH2]
    assert {entry.connection_type for entry in CATALOGUE} == {OAUTH2, CREDENTIALS}


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
