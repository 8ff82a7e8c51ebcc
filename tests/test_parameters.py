"""Numbers in the URL: read as pydantic (FastAPI) reads them on Stack AI, as JSON numbers elsewhere."""

from __future__ import annotations

import math

import pytest
from conftest import hookstream_headers, stack_ai_headers
from hypothesis import example, given
from hypothesis import strategies as st
from pydantic import TypeAdapter, ValidationError
from starlette.testclient import TestClient

from mockserver._parameters import NumberSyntax, parse_integer, parse_number
from mockserver._validation import SpecSchemas

_INT = TypeAdapter(int)
_FLOAT = TypeAdapter(float)

# Digits, signs, separators, exponents, whitespace pydantic trims and some it does not, non-ASCII digits.
_NUMBER_TEXT = st.text(
    alphabet=st.sampled_from(
        [*"0123456789+-_.eE xinfaINFA", "\t", "\n", "\xa0", "\u3000", "\x1c", "\u0665", "\uff15"]
    ),
    max_size=12,
)


def _pydantic(adapter: TypeAdapter[object], text: str) -> object:
    try:
        return adapter.validate_python(text)
    except ValidationError:
        return None


@given(_NUMBER_TEXT)
@example("\u0665")
@example("\uff15")
@example(" +1_000.00 ")
@example("1__0")
@example("1.0_0")
@example("9" * 4301)
def test_integers_are_read_as_pydantic_reads_them(text: str) -> None:
    assert parse_integer(text, NumberSyntax.PYDANTIC) == _pydantic(_INT, text)


@given(_NUMBER_TEXT)
@example("1_e10")
@example("-Infinity")
@example("nan")
def test_numbers_are_read_as_pydantic_reads_them(text: str) -> None:
    expected = _pydantic(_FLOAT, text)
    found = parse_number(text, NumberSyntax.PYDANTIC)
    if isinstance(expected, float) and math.isnan(expected):
        assert found is not None and math.isnan(found)
    else:
        assert found == expected


@pytest.mark.parametrize(
    ("text", "integer"),
    [
        *[("7", 7), ("-0", 0), ("1e2", 100), ("1.0", 1), ("01", None), ("+1", None), (" 1", None)],
        *[("1.5", None), ("\u0665", None), ("\uff15", None), ("1_000", None), ("", None), ("1e999999", None)],
    ],
)
def test_json_integers_are_ascii_json_numbers_without_a_fraction(text: str, integer: int | None) -> None:
    assert parse_integer(text, NumberSyntax.JSON) == integer


@pytest.mark.parametrize("value", ["\u0665", "\uff15", "1.5", "1 2", "1__0", "0x10"])
def test_stack_ai_refuses_integers_pydantic_refuses(client: TestClient, value: str) -> None:
    response = client.get(f"/stack-ai/connections?limit={value}", headers=stack_ai_headers())
    assert response.status_code == 422, response.text
    assert response.json()["detail"] == [
        {
            "type": "int_parsing",
            "loc": ["query", "limit"],
            "msg": "Input should be a valid integer, unable to parse string as an integer",
            "input": value,
        }
    ]


@pytest.mark.parametrize(("value", "limit"), [(" 2 ", 2), ("+2", 2), ("0_2", 2), ("2.0", 2)])
def test_stack_ai_accepts_integers_pydantic_accepts(client: TestClient, value: str, limit: int) -> None:
    response = client.get("/stack-ai/api/v1/connections", params={"limit": value}, headers=stack_ai_headers())
    assert response.status_code == 200, response.text
    assert response.json()["limit"] == limit


def test_an_empty_value_is_refused_where_the_spec_does_not_allow_it(client: TestClient) -> None:
    """OpenAPI's `allowEmptyValue` defaults to false: hookstream's `source_id=` is not "no filter"."""
    response = client.get("/hookstream/v1/connections?source_id=&org_id=", headers=hookstream_headers())
    assert response.status_code == 400, response.text
    assert response.json()["error"] == "query.org_id must not be empty; query.source_id must not be empty"


@pytest.mark.parametrize("api", ["stack-ai", "hookstream"])
def test_a_query_parameter_whose_schema_admits_an_empty_string_allows_empty_values(
    client: TestClient, api: str
) -> None:
    """The spec and the mock agree on `name=` for every tool: where the schema admits `""`, the parameter
    declares `allowEmptyValue: true` (Stack AI, as FastAPI reads it); elsewhere the schema refuses `""`
    (hookstream's filters have `minLength: 1`), which no tool reads differently."""
    service = client.app.state.services[api]  # type: ignore[attr-defined]
    schemas = SpecSchemas(service.spec)
    admitting = {
        (operation.operation_id, parameter.name): parameter.allow_empty_value
        for operation in service.spec.operations
        for parameter in operation.parameters
        if parameter.location == "query" and schemas.validator(parameter.schema_pointer).is_valid("")
    }
    assert all(admitting.values()), admitting
    assert len(admitting) >= 6 if api == "stack-ai" else not admitting
