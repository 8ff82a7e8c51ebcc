"""Form request bodies in the engine: multipart/form-data with uploads, urlencoded, and FastAPI's reading of
a body of another type as an empty form."""

from __future__ import annotations

import httpx
from hypothesis import given
from hypothesis import strategies as st

from mockserver._forms import FormBody, UploadedFile, file_fields, read_form

FIELD_NAMES = st.text(alphabet="abcdefghijklmnopqrstuvwxyz_", min_size=1, max_size=12)
FIELD_VALUES = st.text(
    alphabet=st.characters(blacklist_categories=("Cs",), blacklist_characters="\r"), max_size=40
)


def encoded(
    data: dict[str, str], files: dict[str, tuple[str, bytes, str]] | None = None
) -> tuple[str, bytes]:
    request = httpx.Request("POST", "http://mock/", data=data, files=files or None)
    return request.headers.get("content-type", "application/x-www-form-urlencoded"), request.read()


@given(
    data=st.dictionaries(FIELD_NAMES, FIELD_VALUES, max_size=5),
    upload=st.binary(max_size=300),
)
def test_multipart_fields_and_uploads_read_back(data: dict[str, str], upload: bytes) -> None:
    data = {name: value for name, value in data.items() if name != "file"}
    content_type, payload = encoded(data, {"file": ("report.pdf", upload, "application/pdf")})
    form, violations = read_form("multipart/form-data", content_type, payload, files=frozenset({"file"}))
    assert violations == []
    assert {k: v for k, v in form.items() if k != "file"} == data
    assert form["file"] == UploadedFile("report.pdf", "application/pdf", upload)
    assert form.for_validation()["file"] == "report.pdf"


def test_a_text_part_where_a_file_is_declared_is_a_violation() -> None:
    content_type, payload = encoded(
        {"file": "not a file", "other": "x"}, {"extra": ("e.txt", b"e", "text/plain")}
    )
    _, violations = read_form("multipart/form-data", content_type, payload, files=frozenset({"file"}))
    assert [(v.location, v.kind) for v in violations] == [(("body", "file"), "value_error")]
    assert violations[0].message == "Expected UploadFile, received: <class 'str'>"


def test_a_body_that_is_not_multipart_is_a_violation() -> None:
    form, violations = read_form(
        "multipart/form-data", "multipart/form-data; boundary=x", b"garbage", files=frozenset()
    )
    assert form == FormBody() and [v.location for v in violations] == [("body",)]


@given(data=st.dictionaries(FIELD_NAMES, FIELD_VALUES, max_size=5))
def test_urlencoded_forms_read_back(data: dict[str, str]) -> None:
    content_type, payload = encoded(data)
    form, violations = read_form("application/x-www-form-urlencoded", content_type, payload)
    assert violations == [] and dict(form) == data


def test_file_fields_are_the_binary_properties() -> None:
    schema = {
        "properties": {
            "file": {"type": "string", "format": "binary"},
            "image": {"type": "string", "contentMediaType": "image/png"},
            "name": {"type": "string"},
        }
    }
    assert file_fields(schema) == {"file", "image"}
    assert file_fields(None) == frozenset()
