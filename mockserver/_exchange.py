"""The exchange format: one HTTP request and its response as a JSON file (`mockserver-exchange/1`).

Written by `mockserver fixtures generate` and `mockserver record`, read by `mockserver replay` and by SDKs in
any language (the JSON Schema is `EXCHANGE_SCHEMA`, shipped as `fixtures/exchange.schema.json`).

A body is stored as `body_encoding` + `body`: `none` (no body, `body` is null), `json` (the parsed value),
`text` (a UTF-8 string, for text and for a payload that claims to be JSON but is not) or `base64`.
"""

from __future__ import annotations

import base64
import json
import os
import tempfile
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

FORMAT = "mockserver-exchange/1"
SCHEMA_FILE = "exchange.schema.json"
SOURCES = ("generated", "recorded")
BODY_ENCODINGS = ("none", "json", "text", "base64")

# Never stored: they change on every run or describe the connection, not the exchange.
VOLATILE_RESPONSE_HEADERS = frozenset(
    {"date", "server", "content-length", "transfer-encoding", "connection", "keep-alive", "via", "age"}
)
HOP_BY_HOP_REQUEST_HEADERS = frozenset(
    {
        "host",
        "content-length",
        "connection",
        "keep-alive",
        "transfer-encoding",
        "te",
        "trailer",
        "upgrade",
        "proxy-connection",
        "accept-encoding",
    }
)


@dataclass(frozen=True, slots=True)
class Body:
    encoding: str = "none"
    value: Any = None

    @classmethod
    def from_bytes(cls, payload: bytes, content_type: str | None) -> Body:
        """JSON when the content type says so (or is absent) and the payload parses; else text or base64."""
        if not payload:
            return cls()
        media_type = (content_type or "").split(";")[0].strip().lower()
        if not media_type or media_type == "application/json" or media_type.endswith("+json"):
            try:
                return cls("json", json.loads(payload))
            except (UnicodeDecodeError, json.JSONDecodeError):
                pass
        try:
            return cls("text", payload.decode("utf-8"))
        except UnicodeDecodeError:
            return cls("base64", base64.b64encode(payload).decode("ascii"))

    def to_bytes(self) -> bytes:
        if self.encoding == "json":
            return json.dumps(self.value, ensure_ascii=False, allow_nan=False, separators=(",", ":")).encode()
        if self.encoding == "text":
            return str(self.value).encode("utf-8")
        if self.encoding == "base64":
            return base64.b64decode(str(self.value))
        return b""

    @property
    def is_empty(self) -> bool:
        return self.encoding == "none"


@dataclass(frozen=True, slots=True)
class RecordedRequest:
    method: str
    path: str
    query: tuple[tuple[str, str], ...] = ()
    headers: Mapping[str, str] = field(default_factory=dict)
    body: Body = field(default_factory=Body)

    @property
    def target(self) -> str:
        """`METHOD /path?query`, for messages."""
        query = urlencode(self.query)
        return f"{self.method} {self.path}" + (f"?{query}" if query else "")


@dataclass(frozen=True, slots=True)
class RecordedResponse:
    status: int
    headers: Mapping[str, str] = field(default_factory=dict)
    body: Body = field(default_factory=Body)


@dataclass(frozen=True, slots=True)
class Exchange:
    api: str
    operation_id: str
    case: str
    source: str
    request: RecordedRequest
    response: RecordedResponse
    description: str = ""
    sequence: int | None = None

    @property
    def name(self) -> str:
        """`operationId/case`: where the file lives under its API's folder."""
        return f"{self.operation_id}/{self.case}"

    def to_json(self) -> dict[str, Any]:
        document: dict[str, Any] = {
            "format": FORMAT,
            "api": self.api,
            "operation_id": self.operation_id,
            "case": self.case,
            "source": self.source,
            "request": {
                "method": self.request.method,
                "path": self.request.path,
                "query": [list(pair) for pair in self.request.query],
                "headers": dict(self.request.headers),
                "body_encoding": self.request.body.encoding,
                "body": self.request.body.value,
            },
            "response": {
                "status": self.response.status,
                "headers": dict(self.response.headers),
                "body_encoding": self.response.body.encoding,
                "body": self.response.body.value,
            },
        }
        if self.description:
            document["description"] = self.description
        if self.sequence is not None:
            document["sequence"] = self.sequence
        return document

    @classmethod
    def from_json(cls, document: Mapping[str, Any]) -> Exchange:
        """An exchange from its JSON form; `ValueError` says what is wrong."""
        try:
            if document.get("format") != FORMAT:
                raise ValueError(f"format is {document.get('format')!r}, expected {FORMAT!r}")
            request, response = document["request"], document["response"]
            sequence = document.get("sequence")
            return cls(
                api=str(document["api"]),
                operation_id=str(document["operation_id"]),
                case=str(document["case"]),
                source=str(document["source"]),
                description=str(document.get("description", "")),
                sequence=int(sequence) if sequence is not None else None,
                request=RecordedRequest(
                    method=str(request["method"]).upper(),
                    path=str(request["path"]),
                    query=tuple((str(k), str(v)) for k, v in request.get("query", [])),
                    headers={str(k).lower(): str(v) for k, v in request.get("headers", {}).items()},
                    body=_body(request),
                ),
                response=RecordedResponse(
                    status=int(response["status"]),
                    headers={str(k).lower(): str(v) for k, v in response.get("headers", {}).items()},
                    body=_body(response),
                ),
            )
        except (KeyError, TypeError, AttributeError) as exc:
            raise ValueError(f"not a valid exchange: {exc!r}") from exc


def _body(message: Mapping[str, Any]) -> Body:
    encoding = message.get("body_encoding", "none")
    if encoding not in BODY_ENCODINGS:
        raise ValueError(f"unknown body_encoding {encoding!r}")
    return Body(encoding, message.get("body"))


def serialize(document: Any) -> str:
    """The one on-disk form: sorted keys, two-space indent, UTF-8, a final newline (byte-for-byte stable)."""
    return json.dumps(document, indent=2, sort_keys=True, ensure_ascii=False, allow_nan=False) + "\n"


def write_atomically(path: Path, text: str) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    handle, temporary = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(handle, "w", encoding="utf-8", newline="\n") as stream:
            stream.write(text)
        os.replace(temporary, path)
    except BaseException:
        Path(temporary).unlink(missing_ok=True)
        raise


def exchange_path(root: Path, exchange: Exchange) -> Path:
    return root / exchange.api / exchange.operation_id / f"{exchange.case}.json"


def write_exchange(root: Path, exchange: Exchange) -> Path:
    path = exchange_path(root, exchange)
    write_atomically(path, serialize(exchange.to_json()))
    return path


def stored_response_headers(headers: Iterable[tuple[str, str]]) -> dict[str, str]:
    """Lower-cased names, volatile ones dropped, repeated ones joined with `, `."""
    kept: dict[str, str] = {}
    for name, value in headers:
        lowered = name.lower()
        if lowered in VOLATILE_RESPONSE_HEADERS:
            continue
        kept[lowered] = f"{kept[lowered]}, {value}" if lowered in kept else value
    return kept


def stored_request_headers(headers: Iterable[tuple[str, str]]) -> dict[str, str]:
    kept: dict[str, str] = {}
    for name, value in headers:
        lowered = name.lower()
        if lowered in HOP_BY_HOP_REQUEST_HEADERS:
            continue
        kept[lowered] = f"{kept[lowered]}, {value}" if lowered in kept else value
    return kept


@dataclass(frozen=True, slots=True)
class LoadedExchange:
    exchange: Exchange
    path: Path


def iter_exchange_files(root: Path) -> Iterator[tuple[Path, dict[str, Any]]]:
    """Every JSON file under `root` that declares the exchange format, in path order."""
    for path in sorted(root.rglob("*.json")):
        if path.name == SCHEMA_FILE or path.name.startswith("."):
            continue
        try:
            document = json.loads(path.read_text(encoding="utf-8"))
        except (OSError, UnicodeDecodeError, json.JSONDecodeError):
            continue
        if isinstance(document, dict) and document.get("format") == FORMAT:
            yield path, document


def load_exchanges(root: Path) -> list[LoadedExchange]:
    """Every exchange under `root`; `ValueError` names the first file that is not a valid exchange."""
    loaded = []
    for path, document in iter_exchange_files(root):
        try:
            loaded.append(LoadedExchange(Exchange.from_json(document), path))
        except ValueError as exc:
            raise ValueError(f"{path}: {exc}") from exc
    return loaded


EXCHANGE_SCHEMA: dict[str, Any] = {
    "$schema": "https://json-schema.org/draft/2020-12/schema",
    "$id": "https://mockserver.invalid/schemas/exchange.schema.json",
    "title": "mockserver exchange",
    "description": (
        "One HTTP request and the response it got, as written by `mockserver fixtures generate` "
        "(source: generated) and `mockserver record` (source: recorded). Secrets are replaced by "
        "placeholders of the form <redacted:...>."
    ),
    "type": "object",
    "additionalProperties": False,
    "required": ["format", "api", "operation_id", "case", "source", "request", "response"],
    "properties": {
        "format": {"const": FORMAT},
        "api": {
            "type": "string",
            "description": "The API's name (its spec is spec/<api>.yaml).",
            "minLength": 1,
        },
        "operation_id": {"type": "string", "description": "The spec's operationId.", "minLength": 1},
        "case": {
            "type": "string",
            "description": "The file's name without .json: <status>-<what> (generated) or <sequence>-<status>.",
            "pattern": "^[a-z0-9][a-z0-9-]*$",
        },
        "source": {"enum": list(SOURCES)},
        "description": {"type": "string", "description": "What the exchange shows."},
        "sequence": {
            "type": "integer",
            "minimum": 1,
            "description": "Order of a recorded exchange in its recording; replay serves repeats in this order.",
        },
        "request": {
            "type": "object",
            "additionalProperties": False,
            "required": ["method", "path", "query", "headers", "body_encoding", "body"],
            "properties": {
                "method": {"enum": ["GET", "PUT", "POST", "DELETE", "OPTIONS", "HEAD", "PATCH", "TRACE"]},
                "path": {
                    "type": "string",
                    "pattern": "^/",
                    "description": "The production path: the spec's base path (its servers URL's path) included.",
                },
                "query": {
                    "type": "array",
                    "description": "Query parameters in order, as [name, value] pairs (a name may repeat).",
                    "items": {
                        "type": "array",
                        "prefixItems": [{"type": "string"}, {"type": "string"}],
                        "minItems": 2,
                        "maxItems": 2,
                    },
                },
                "headers": {"$ref": "#/$defs/headers"},
                "body_encoding": {"$ref": "#/$defs/body_encoding"},
                "body": {"description": "See body_encoding."},
            },
            "allOf": [{"$ref": "#/$defs/body_rules"}],
        },
        "response": {
            "type": "object",
            "additionalProperties": False,
            "required": ["status", "headers", "body_encoding", "body"],
            "properties": {
                "status": {"type": "integer", "minimum": 100, "maximum": 599},
                "headers": {"$ref": "#/$defs/headers"},
                "body_encoding": {"$ref": "#/$defs/body_encoding"},
                "body": {"description": "See body_encoding."},
            },
            "allOf": [{"$ref": "#/$defs/body_rules"}],
        },
    },
    "$defs": {
        "headers": {
            "type": "object",
            "description": "Lower-case names; a repeated header is joined with ', '.",
            "propertyNames": {"pattern": "^[a-z0-9!#$%&'*+.^_`|~-]+$"},
            "additionalProperties": {"type": "string"},
        },
        "body_encoding": {
            "enum": list(BODY_ENCODINGS),
            "description": (
                "none: no body (body is null); json: body is the parsed JSON value; "
                "text: body is the payload as a UTF-8 string; base64: body is the payload in base64."
            ),
        },
        "body_rules": {
            "allOf": [
                {
                    "if": {"properties": {"body_encoding": {"const": "none"}}},
                    "then": {"properties": {"body": {"type": "null"}}},
                },
                {
                    "if": {"properties": {"body_encoding": {"enum": ["text", "base64"]}}},
                    "then": {"properties": {"body": {"type": "string"}}},
                },
            ]
        },
    },
}


def schema_text() -> str:
    return serialize(EXCHANGE_SCHEMA)
