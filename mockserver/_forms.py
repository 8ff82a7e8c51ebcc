"""Form bodies: `multipart/form-data` (with file uploads) and `application/x-www-form-urlencoded`.

A form reaches a behaviour as a `FormBody`: text fields as strings, uploads as `UploadedFile`. It is
validated against the operation's schema with each upload standing in as its file name, and a property
the schema declares as a file (`format: binary`, or a `contentMediaType`) must be an upload.
Multipart bodies are parsed with the standard library's MIME parser (`email`), as they are MIME.
"""

from __future__ import annotations

import email.parser
import email.policy
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any
from urllib.parse import parse_qsl

from ._validation import Violation

__all__ = ["FORM_MEDIA_TYPES", "FormBody", "UploadedFile", "file_fields", "is_form", "read_form"]

FORM_MEDIA_TYPES = ("multipart/form-data", "application/x-www-form-urlencoded")
MAX_FORM_PARTS = 1000
"""Parts one form may carry (the body size is bounded by the engine already)."""


@dataclass(frozen=True, slots=True)
class UploadedFile:
    filename: str
    content_type: str
    data: bytes

    @property
    def size(self) -> int:
        return len(self.data)


class FormBody(dict[str, "str | UploadedFile"]):
    """A parsed form: the first value of each field (as FastAPI's `Form()` and `File()` read it)."""

    def for_validation(self) -> dict[str, str]:
        return {
            name: value.filename if isinstance(value, UploadedFile) else value for name, value in self.items()
        }


def is_form(media_type: str) -> bool:
    return media_type in FORM_MEDIA_TYPES


def file_fields(schema: Mapping[str, Any] | None) -> frozenset[str]:
    """Properties of a (resolved) form schema that hold a file."""
    properties = (schema or {}).get("properties") or {}
    return frozenset(
        name
        for name, sub in properties.items()
        if isinstance(sub, Mapping) and (sub.get("format") == "binary" or "contentMediaType" in sub)
    )


def read_form(
    media_type: str, content_type_header: str, payload: bytes, *, files: frozenset[str] = frozenset()
) -> tuple[FormBody, list[Violation]]:
    """The form of a request, and the violations of its shape (a malformed multipart body, say)."""
    form = FormBody()
    violations: list[Violation] = []
    if media_type == "application/x-www-form-urlencoded":
        pairs = parse_qsl(payload.decode("utf-8", "replace"), keep_blank_values=True)
        for name, value in pairs[:MAX_FORM_PARTS]:
            form.setdefault(name, value)
    else:
        message = email.parser.BytesParser(policy=email.policy.HTTP).parsebytes(
            b"Content-Type: " + content_type_header.encode("latin-1", "replace") + b"\r\n\r\n" + payload
        )
        if not message.is_multipart() or message.defects:
            reason = "There was an error parsing the body: not a valid multipart/form-data body"
            return form, [Violation(("body",), reason, "value_error", None)]
        for part in list(message.iter_parts())[:MAX_FORM_PARTS]:
            field_name = part.get_param("name", header="content-disposition")
            if not isinstance(field_name, str) or field_name in form:
                continue
            data = part.get_payload(decode=True)
            content = data if isinstance(data, bytes) else b""
            filename = part.get_filename()
            if filename is not None:
                form[field_name] = UploadedFile(filename, part.get_content_type(), content)
            else:
                form[field_name] = content.decode(part.get_content_charset() or "utf-8", "replace")
    for file_field in sorted(files):
        sent = form.get(file_field)
        if isinstance(sent, str):
            message_text = f"Expected UploadFile, received: {type(sent)}"
            violations.append(Violation(("body", file_field), message_text, "value_error", sent))
    return form, violations
