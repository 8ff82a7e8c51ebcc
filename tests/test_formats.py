"""The formats the mock checks (`_validation.FORMATS`), against oracles built on the standard library."""

from __future__ import annotations

import re
import uuid
from datetime import datetime
from pathlib import Path

import jsonschema_rs
import pytest
import yaml
from conftest import hookstream_headers, stack_ai_headers
from hypothesis import given
from hypothesis import strategies as st
from starlette.testclient import TestClient

from mockserver._validation import FORMATS, ecma_regex

SPEC_DIR = Path(__file__).resolve().parent.parent / "spec"
SHAPE = re.compile(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?(Z|[+-](?:[01]\d|2[0-3]):[0-5]\d)")
"""RFC 3339's grammar; the calendar and the clock are left to `datetime` (which takes `+05:60`)."""


def rfc3339(text: str) -> bool:
    """RFC 3339 `date-time` by the standard library: the shape, then a real instant (no leap second)."""
    if not SHAPE.fullmatch(text):
        return False
    try:
        moment = datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        return False
    return moment.year > 0


def _pad(width: int, top: int) -> st.SearchStrategy[str]:
    return st.integers(0, top).map(lambda n: str(n).zfill(width))


@given(
    year=_pad(4, 9999),
    month=_pad(2, 13),
    day=_pad(2, 32),
    time=st.tuples(_pad(2, 25), _pad(2, 61), _pad(2, 61)).map(":".join),
    fraction=st.sampled_from(["", ".0", ".123456", ".1234567890", "."]),
    zone=st.sampled_from(["Z", "z", "+00:00", "-23:59", "+24:00", "+05:60", "", "+0100"]),
    separator=st.sampled_from(["T", "T", "t", " "]),
    tail=st.sampled_from(["", "", "\n", " "]),
)
def test_date_time_is_rfc3339(
    year: str, month: str, day: str, time: str, fraction: str, zone: str, separator: str, tail: str
) -> None:
    text = f"{year}-{month}-{day}{separator}{time}{fraction}{zone}{tail}"
    assert FORMATS["date-time"](text) == rfc3339(text), text


def test_date_time_knows_leap_years() -> None:
    check = FORMATS["date-time"]
    assert check("2024-02-29T00:00:00Z") and check("2000-02-29T00:00:00Z")
    assert not check("2023-02-29T00:00:00Z") and not check("1900-02-29T00:00:00Z")
    assert not check("0000-01-01T00:00:00Z")


@given(st.uuids(), st.booleans())
def test_every_uuid_text_is_a_uuid(value: uuid.UUID, upper: bool) -> None:
    text = str(value).upper() if upper else str(value)
    assert FORMATS["uuid"](text)


@given(st.text(alphabet="0123456789abcdefABCDEF-xg{}", max_size=40))
def test_uuid_is_the_hyphenated_rfc4122_form(text: str) -> None:
    try:
        canonical = str(uuid.UUID(text)) == text.lower()
    except ValueError:
        canonical = False
    assert FORMATS["uuid"](text) == canonical, text


_URI_ACCEPTED = [
    "https://example.com/hooks",
    "http://localhost:8080/a?b=c#d",
    "https://[::1]:80/",
    "https://ex.com/%41",
    "urn:isbn:0451450523",
    "HTTPS://EX.COM",
]
_URI_REFUSED = [
    "https://x.example/\u00e4",
    "http://[::1",
    "https://x.example/%zz",
    "https://x.example/?q=a|b",
    "https://x.example/{id}",
    "https://x.example/#a#b",
    "https://x.example/a b",
    "https://x.example/a\n",
    "relative/path",
    "//host/x",
]


@pytest.mark.parametrize("value", _URI_ACCEPTED)
def test_uri_accepts_rfc3986_uris(value: str) -> None:
    assert FORMATS["uri"](value)


@pytest.mark.parametrize("value", _URI_REFUSED)
def test_uri_refuses_what_rfc3986_refuses(value: str) -> None:
    assert not FORMATS["uri"](value)


_URI_TEXT = st.text(alphabet=st.sampled_from([*"hts:/[]%a1z?#|{} \n.-_~@!$&'()*+,;=", "\u00e4"]), max_size=16)


@given(st.one_of(_URI_TEXT, _URI_TEXT.map(lambda tail: "https://h.example/" + tail)))
def test_uri_is_plain_ascii_with_well_formed_escapes(value: str) -> None:
    """What other validators (Ajv, openapi-core) require of every accepted URI."""
    if FORMATS["uri"](value):
        assert value.isascii() and not set(value) & set('{}| \n\\^`"<>')
        assert all(re.fullmatch(r"[0-9A-Fa-f]{2}", part[:2]) for part in value.split("%")[1:])
        assert value.count("#") <= 1 and re.match(r"[A-Za-z][A-Za-z0-9+.-]*:", value)


@pytest.mark.parametrize("value", _URI_REFUSED[:6])
def test_a_destination_url_must_be_an_rfc3986_uri(hookstream: TestClient, value: str) -> None:
    """Stored and returned as `format: uri`, the URL must pass every other validator too."""
    body = {"name": "Orders", "slug": "orders-uri", "url": value}
    response = hookstream.post("/v1/destinations", json=body, headers=hookstream_headers())
    assert response.status_code == 400, response.text
    assert response.json()["error"].startswith("body.url: ")


def _spec_patterns() -> list[str]:
    found: set[str] = set()

    def walk(node: object) -> None:
        if isinstance(node, dict):
            for key, value in node.items():
                if key == "pattern" and isinstance(value, str):
                    found.add(value)
                elif key == "patternProperties" and isinstance(value, dict):
                    found.update(value)
                walk(value)
        elif isinstance(node, list):
            for item in node:
                walk(item)

    for name in ("stack-ai", "hookstream"):
        walk(yaml.safe_load((SPEC_DIR / f"{name}.yaml").read_text()))
    return sorted(found)


_PATTERNS = [*_spec_patterns(), r"^\d+$", r"^\w+$", r"^\D\W$", r"^a.b$", r"^[\d.]+$", r"^[$]$"]
_TRICKY_TEXT = st.text(
    alphabet=st.sampled_from([*"aZ09_.-=$/:#@", "\n", "\r", "\u2028", "\u00e9", "\u0665", "\u00a0", " "]),
    max_size=10,
)


@given(pattern=st.sampled_from(_PATTERNS), text=_TRICKY_TEXT, prefix=st.sampled_from(["", "https://a.b/"]))
def test_both_validators_read_patterns_alike(pattern: str, text: str, prefix: str) -> None:
    """jsonschema-rs decides validity and Python's jsonschema names violations: one regex dialect (ECMA-262)."""
    value = prefix + text
    fast = jsonschema_rs.Draft202012Validator({"pattern": pattern}).is_valid(value)
    assert fast == (ecma_regex(pattern).search(value) is not None), (pattern, value)


@pytest.mark.parametrize("value", ["a\n", "a", "ab\n"])
def test_a_final_newline_is_not_before_the_end(value: str) -> None:
    assert (ecma_regex(r"^a$").search(value) is not None) == (value == "a")


def test_a_one_of_field_ending_in_a_newline_is_named_and_no_secret_is_repeated(stack_ai: TestClient) -> None:
    secret = "SuperSecretValue123"
    body = {
        "name": "SharePoint",
        "provider_id": "sharepoint",
        "connection_type_id": "sharepoint_app",
        "connection_provider_data": {
            "tenant_id": "t",
            "client_id": "c",
            "client_secret": secret,
            "site_url": "https://x.example/\n",
        },
    }
    response = stack_ai.post("/connections", json=body, headers=stack_ai_headers())
    assert response.status_code == 422
    [item] = response.json()["detail"]
    assert item["loc"] == ["body", "connection_provider_data", "site_url"]
    assert item["type"] == "string_pattern_mismatch" and item["input"] == "https://x.example/\n"
    assert secret not in response.text


@given(host=st.text(alphabet=st.sampled_from([*"ab1.:[]|{}@/?#%-_~ "]), min_size=1, max_size=12))
def test_urls_built_from_any_host_header_are_uris(stack_ai: TestClient, host: str) -> None:
    """The OAuth start answer (`format: uri`) comes from the `Host` header; a malformed one is not echoed."""
    body = {"provider_id": "gdrive", "connection_type_id": "gdrive", "connection_provider_data": {}}
    response = stack_ai.post(
        "/connections/oauth/start", json=body, headers={**stack_ai_headers(), "host": host}
    )
    assert response.status_code == 200, response.text
    assert FORMATS["uri"](response.json())
