"""Replacing secrets in an exchange with stable placeholders before anything is written to disk.

What is a secret:
- the headers `Authorization`, `Proxy-Authorization`, `Cookie`, `Set-Cookie` (cookie values), `X-API-Key` and any
  header whose name contains `token`, `secret`, `password` or `api-key`;
- in JSON bodies and in the query, the value of a key `auth_config`, or of any key containing `token`, `secret`,
  `password`, `api_key` or `apikey` (`access_token`, `refresh_token`, `verification_secret`, ...; not OAuth's
  `token_type`), every string inside it when it is an object or an array;
- inside a string that holds a JSON object or array (a JSON-encoded column such as `auth_config`), the same
  rules, and the string is encoded again (compact) so that it still parses;
- then every occurrence, anywhere in the exchange (URLs in bodies, base64 payloads), of a value found above or
  of one of the mock's own credentials.

A placeholder is `<redacted:API:OWNER>` for the mock's own credentials (`OWNER` is the first word of the
credential's label; `:session` is added for a cookie) and `<redacted:FIELD:DIGEST>` otherwise, where DIGEST is an
HMAC of the value under the redactor's key: the same value always gets the same placeholder under one key.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import re
from collections.abc import Iterable, Mapping
from dataclasses import replace
from typing import Any

from ._api import Credential
from ._exchange import Body, Exchange, RecordedRequest, RecordedResponse

SECRET_HEADERS = frozenset({"authorization", "proxy-authorization", "x-api-key", "cookie", "set-cookie"})
_SECRET_WORDS = ("token", "secret", "password", "api_key", "apikey", "api-key")
_SECRET_KEYS = frozenset({"auth_config"})
_NOT_SECRET_KEYS = frozenset({"token_type"})  # OAuth's `Bearer`
_MIN_SCRUB_LENGTH = 8
FIXTURE_KEY = b"mockserver-fixtures: placeholders of mock-only values"


def is_secret_key(name: str) -> bool:
    lowered = name.lower()
    if lowered in _NOT_SECRET_KEYS:
        return False
    return lowered in _SECRET_KEYS or any(word in lowered for word in _SECRET_WORDS)


def is_secret_header(name: str) -> bool:
    lowered = name.lower()
    return lowered in SECRET_HEADERS or any(word in lowered for word in _SECRET_WORDS)


def _slug(text: str) -> str:
    return re.sub(r"[^a-z0-9._@-]+", "-", text.lower()).strip("-") or "value"


def known_credentials(api: str, credentials: Iterable[Credential]) -> dict[str, str]:
    """The mock's own credentials → their placeholders (`<redacted:API:OWNER>`)."""
    named: dict[str, str] = {}
    for credential in credentials:
        who = _slug(credential.label.split(" ")[0])
        if credential.how.lower().startswith("cookie"):
            who += ":session"
        named.setdefault(credential.value, f"<redacted:{api}:{who}>")
    return named


class Redactor:
    """Redacts exchanges; one instance keeps every value it has seen, to scrub them everywhere."""

    def __init__(self, key: bytes, *, known: Mapping[str, str] | None = None) -> None:
        self._key = key
        self._known = dict(known or {})

    def placeholder(self, value: str, field: str) -> str:
        if value in self._known:
            return self._known[value]
        if value.startswith("<redacted:") and value.endswith(">"):
            return value
        digest = hmac.new(self._key, value.encode("utf-8"), hashlib.sha256).hexdigest()[:12]
        placeholder = f"<redacted:{_slug(field)}:{digest}>"
        if len(value) >= _MIN_SCRUB_LENGTH:
            self._known[value] = placeholder
        return placeholder

    # ---------------------------------------------------------------- the parts of an exchange

    def exchange(self, exchange: Exchange) -> Exchange:
        """A copy of `exchange` with every secret replaced (found first, so it is scrubbed everywhere)."""
        request = exchange.request
        response = exchange.response
        request = RecordedRequest(
            method=request.method,
            path=request.path,
            query=tuple((name, self._query_value(name, value)) for name, value in request.query),
            headers={name: self.header(name, value) for name, value in request.headers.items()},
            body=self._body(request.body),
        )
        response = RecordedResponse(
            status=response.status,
            headers={name: self.header(name, value) for name, value in response.headers.items()},
            body=self._body(response.body),
        )
        scrubbed = replace(exchange, request=request, response=response)
        return self._scrub_exchange(scrubbed)

    def header(self, name: str, value: str) -> str:
        lowered = name.lower()
        if lowered in ("cookie", "set-cookie"):
            return self._cookies(lowered, value)
        if not is_secret_header(lowered):
            return value
        if lowered in ("authorization", "proxy-authorization"):
            scheme, space, credential = value.partition(" ")
            if space and credential.strip():
                return f"{scheme} {self.placeholder(credential.strip(), lowered)}"
        return self.placeholder(value, lowered)

    def _cookies(self, header: str, value: str) -> str:
        if header == "set-cookie":  # `name=value; Path=/; HttpOnly`: only the value is secret
            pair, separator, attributes = value.partition(";")
            return self._cookie_pair(pair) + separator + attributes
        return "; ".join(self._cookie_pair(part) for part in value.split(";"))

    def _cookie_pair(self, pair: str) -> str:
        name, equals, secret = pair.strip().partition("=")
        if not equals or not secret:
            return pair.strip()
        return f"{name}={self.placeholder(secret, 'cookie-' + name)}"

    def _query_value(self, name: str, value: str) -> str:
        return self.placeholder(value, name) if is_secret_key(name) and value else value

    def _body(self, body: Body) -> Body:
        if body.encoding != "json":
            return body
        return Body("json", self.json_value(body.value))

    def json_value(self, value: Any, *, field: str | None = None) -> Any:
        """Secret keys' values replaced (every string inside them when they are objects or arrays)."""
        if isinstance(value, dict):
            return {
                key: self.json_value(item, field=key if is_secret_key(str(key)) else field)
                for key, item in value.items()
            }
        if isinstance(value, list):
            return [self.json_value(item, field=field) for item in value]
        if isinstance(value, str) and value:
            encoded = self._encoded_json(value, field=field)
            if encoded is not None:
                return encoded
            if field is not None:
                return self.placeholder(value, field)
        return value

    def _encoded_json(self, text: str, *, field: str | None) -> str | None:
        """A string holding a JSON object or array, redacted inside and encoded again; None for other text."""
        if text[:1] not in ("{", "[") or text[-1:] not in ("}", "]"):
            return None
        try:
            decoded = json.loads(text)
        except ValueError:
            return None
        if not isinstance(decoded, dict | list):
            return None
        redacted = self.json_value(decoded, field=field)
        if redacted == decoded:
            return text
        return json.dumps(redacted, separators=(",", ":"), ensure_ascii=False)

    # ---------------------------------------------------------------- scrubbing what was found

    def scrub(self, text: str) -> str:
        for secret in sorted(self._known, key=len, reverse=True):
            if secret in text:
                text = text.replace(secret, self._known[secret])
        return text

    def _scrub_value(self, value: Any) -> Any:
        if isinstance(value, str):
            return self.scrub(value)
        if isinstance(value, dict):
            return {self.scrub(str(k)): self._scrub_value(v) for k, v in value.items()}
        if isinstance(value, list):
            return [self._scrub_value(item) for item in value]
        return value

    def _scrub_body(self, body: Body) -> Body:
        if body.encoding in ("json", "text"):
            return Body(body.encoding, self._scrub_value(body.value))
        if body.encoding == "base64":
            payload = base64.b64decode(str(body.value))
            for secret in sorted(self._known, key=len, reverse=True):
                payload = payload.replace(secret.encode("utf-8"), self._known[secret].encode("utf-8"))
            return Body("base64", base64.b64encode(payload).decode("ascii"))
        return body

    def _scrub_exchange(self, exchange: Exchange) -> Exchange:
        request, response = exchange.request, exchange.response
        return replace(
            exchange,
            request=RecordedRequest(
                method=request.method,
                path=self.scrub(request.path),
                query=tuple((self.scrub(k), self.scrub(v)) for k, v in request.query),
                headers={k: self.scrub(v) for k, v in request.headers.items()},
                body=self._scrub_body(request.body),
            ),
            response=RecordedResponse(
                status=response.status,
                headers={k: self.scrub(v) for k, v in response.headers.items()},
                body=self._scrub_body(response.body),
            ),
        )
