"""`_jsontext`: strict JSON parsing (what `json` accepts beyond RFC 8259 is refused) and fast encoding."""

from __future__ import annotations

import json
import math
from typing import Any

import pytest
from conftest import hookstream_headers, stack_ai_headers
from hypothesis import given
from hypothesis import strategies as st
from starlette.testclient import TestClient

from mockserver._jsontext import decode_json, encode_json

JSON_VALUES = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False, allow_infinity=False) | st.text(),
    lambda children: st.lists(children, max_size=4) | st.dictionaries(st.text(), children, max_size=4),
    max_leaves=20,
)


def _stdlib(value: Any) -> bytes:
    return json.dumps(value, ensure_ascii=False, allow_nan=False, separators=(",", ":")).encode()


@given(JSON_VALUES)
def test_encoding_gives_the_value_json_gives(value: Any) -> None:
    encoded = encode_json(value)
    assert json.loads(encoded) == json.loads(_stdlib(value))
    if not any(isinstance(leaf, float) for leaf in _leaves(value)):
        assert encoded == _stdlib(value)  # byte for byte: fixtures do not move


@given(JSON_VALUES, st.booleans())
def test_every_json_text_decodes_as_json_decodes_it(value: Any, ascii_only: bool) -> None:
    text = json.dumps(value, ensure_ascii=ascii_only)  # non-ASCII as \u escapes, surrogate pairs included
    assert decode_json(text) == json.loads(text)
    assert decode_json(text.encode()) == json.loads(text)


def _leaves(value: Any) -> list[Any]:
    if isinstance(value, dict):
        return [leaf for item in value.values() for leaf in _leaves(item)]
    if isinstance(value, list):
        return [leaf for item in value for leaf in _leaves(item)]
    return [value]


NOT_JSON = [
    ('{"a": NaN}', 6, "NaN is not a JSON value"),
    ('{"NaN": "x \\" NaN", "b": NaN}', 25, "NaN is not a JSON value"),
    ('["Infinity", Infinity]', 13, "Infinity is not a JSON value"),
    ('["1e400", 1e400]', 10, "the number 1e400 is out of range"),
    ("[1, Infinity]", 4, "Infinity is not a JSON value"),
    ("[-Infinity]", 1, "-Infinity is not a JSON value"),
    ('{"n": 1e400}', 6, "the number 1e400 is out of range"),
    ('{"n": -2E+999}', 6, "the number -2E+999 is out of range"),
    ('{"s": "ab\\ud800"}', 9, "a \\u escape leaves a lone surrogate, which is not a Unicode character"),
    ('["\\udc00\\ud83d"]', 2, "a \\u escape leaves a lone surrogate, which is not a Unicode character"),
    ('{"\\ud800": 1}', 2, "a \\u escape leaves a lone surrogate, which is not a Unicode character"),
    ("[" * 100_000 + "]" * 100_000, 0, "the value is nested too deeply"),
    ("1" * 5000, 0, "an integer has more than 4300 digits"),
    ('{"a": ', 6, "Expecting value"),
]


@pytest.mark.parametrize(("text", "position", "reason"), NOT_JSON, ids=[case[2][:30] for case in NOT_JSON])
def test_what_is_not_json_is_refused_with_a_position(text: str, position: int, reason: str) -> None:
    for payload in (text, text.encode()):
        with pytest.raises(json.JSONDecodeError) as refused:
            decode_json(payload)
        assert (refused.value.msg, refused.value.pos) == (reason, position)


def test_invalid_utf8_is_refused_where_it_starts() -> None:
    with pytest.raises(json.JSONDecodeError) as refused:
        decode_json(b'{"a": "\xff"}')
    assert (refused.value.msg, refused.value.pos) == ("invalid UTF-8", 7)


@given(st.integers(0xD800, 0xDFFF), st.text(max_size=5))
def test_a_surrogate_encoded_as_utf8_bytes_is_invalid_utf8(code: int, before: str) -> None:
    """json.loads decodes bytes with "surrogatepass": ED A0 80 would become a lone surrogate (found by the soak)."""
    prefix = json.dumps({"a": before})[:-1].encode() + b', "b": "'
    payload = prefix + chr(code).encode("utf-8", "surrogatepass") + b'"}'
    with pytest.raises(json.JSONDecodeError) as refused:
        decode_json(payload)
    assert (refused.value.msg, refused.value.pos) == ("invalid UTF-8", len(prefix))
    assert decode_json(prefix + "\ud55c".encode() + b'"}')["b"] == "\ud55c"  # ED 95 9C is UTF-8 (Hangul)


def test_a_lone_surrogate_is_found_in_any_encoding_json_reads() -> None:
    for encoding in ("utf-16", "utf-32-be"):
        with pytest.raises(json.JSONDecodeError, match="lone surrogate"):
            decode_json('["\\ud800"]'.encode(encoding))
        assert decode_json('["\\u00e9"]'.encode(encoding)) == ["\u00e9"]


def test_an_escaped_backslash_before_u_is_no_surrogate() -> None:
    assert decode_json('["\\\\ud800"]') == ["\\ud800"]
    assert decode_json('"\\ud83d\\ude00"') == "\U0001f600"


def test_what_orjson_refuses_goes_through_json() -> None:
    assert (
        encode_json({"n": 2**70, "m": -(2**64)}) == b'{"n":1180591620717411303424,"m":-18446744073709551616}'
    )
    assert encode_json({1: "a"}) == b'{"1":"a"}'
    assert math.isinf(float("inf"))  # and NaN is never met: decode_json refuses it
    with pytest.raises(ValueError):
        encode_json({"s": "\ud800"})


# ------------------------------------------------------------ through the mock: a 4xx, never a 500


@pytest.mark.parametrize(
    ("text", "position", "reason"), NOT_JSON[:-1], ids=[c[2][:30] for c in NOT_JSON[:-1]]
)
def test_the_mock_refuses_non_json_bodies_in_each_apis_format(
    client: TestClient, text: str, position: int, reason: str
) -> None:
    before = _stored(client)
    stack = client.post(
        "/stack-ai/connections",
        content=text.encode(),
        headers={**stack_ai_headers(), "content-type": "application/json"},
    )
    assert stack.status_code == 422, stack.text
    assert stack.json()["detail"] == [
        {
            "type": "json_invalid",
            "loc": ["body", position],
            "msg": "JSON decode error",
            "input": {},
            "ctx": {"error": reason},
        }
    ]
    hook = client.post(
        "/hookstream/v1/connections",
        content=text.encode(),
        headers={**hookstream_headers(), "content-type": "application/json"},
    )
    assert hook.status_code == 400, hook.text
    assert reason in hook.json()["error"]
    assert _stored(client) == before


def _stored(client: TestClient) -> Any:
    """The state of both APIs, without hookstream's count of requests served (bookkeeping)."""
    state = client.get("/__mock/state").json()
    state["apis"]["hookstream"].pop("requests_served")
    return state
