"""The canonical fixtures: reproducible byte for byte, valid against their schema and the specs, complete,
and free of secrets; and the redaction rules they are written with."""

from __future__ import annotations

import base64
import json
from pathlib import Path
from typing import Any

import pytest
from jsonschema import Draft202012Validator

from mockserver import NO_BODY, MockConfig, MockResponse, create_app
from mockserver._cli import main
from mockserver._contract import Contract
from mockserver._exchange import (
    EXCHANGE_SCHEMA,
    SCHEMA_FILE,
    Body,
    Exchange,
    RecordedRequest,
    RecordedResponse,
    load_exchanges,
)
from mockserver._redact import Redactor, known_credentials
from mockserver.apis.hookstream._keys import API_KEYS
from mockserver.apis.stack_ai._fixture_cases import GDRIVE_TOKENS
from mockserver.apis.stack_ai._users import USERS

FIXTURES = Path(__file__).resolve().parent.parent / "fixtures"
SERVICES = create_app(MockConfig()).state.services
LOADED = load_exchanges(FIXTURES)
MOCK_SECRETS = [
    *(user.token for user in USERS),
    *(key.key for key in API_KEYS),
    *(key.session_token for key in API_KEYS),
    GDRIVE_TOKENS["access_token"],
    GDRIVE_TOKENS["refresh_token"],
]


def _files(root: Path) -> dict[str, bytes]:
    return {path.relative_to(root).as_posix(): path.read_bytes() for path in sorted(root.rglob("*.json"))}


def test_regenerating_gives_the_committed_files_byte_for_byte(tmp_path: Path, capsys: Any) -> None:
    assert main(["fixtures", "generate", "--out", str(tmp_path)]) == 0
    committed, regenerated = _files(FIXTURES), _files(tmp_path)
    exchanges = len(committed) - 1  # and exchange.schema.json
    assert f"wrote {exchanges} exchanges" in capsys.readouterr().out
    assert sorted(committed) == sorted(regenerated), "run `mockserver fixtures generate` and commit fixtures/"
    changed = [name for name in committed if committed[name] != regenerated[name]]
    assert changed == [], f"regenerate the fixtures (`mockserver fixtures generate`): {changed[:10]}"


def test_generating_again_removes_stale_generated_files_only(tmp_path: Path) -> None:
    stale = tmp_path / "hookstream" / "getHealth" / "299-gone.json"
    stale.parent.mkdir(parents=True)
    document = json.loads((FIXTURES / "hookstream/getHealth/200-ok.json").read_text())
    stale.write_text(json.dumps({**document, "case": "299-gone"}))
    recorded = tmp_path / "hookstream" / "getHealth" / "0001-200.json"
    recorded.write_text(json.dumps({**document, "case": "0001-200", "source": "recorded", "sequence": 1}))
    assert main(["fixtures", "generate", "--out", str(tmp_path)]) == 0
    assert not stale.exists() and recorded.exists()


def test_the_schema_file_is_a_valid_draft_2020_12_schema() -> None:
    schema = json.loads((FIXTURES / SCHEMA_FILE).read_text())
    assert schema == EXCHANGE_SCHEMA
    Draft202012Validator.check_schema(schema)


@pytest.mark.parametrize("loaded", LOADED, ids=[item.exchange.name for item in LOADED])
def test_every_fixture_validates_against_the_fixture_schema_and_the_spec(loaded: Any) -> None:
    document = json.loads(loaded.path.read_text(encoding="utf-8"))
    errors = [error.message for error in Draft202012Validator(EXCHANGE_SCHEMA).iter_errors(document)]
    assert errors == []
    exchange: Exchange = loaded.exchange
    assert loaded.path == FIXTURES / exchange.api / exchange.operation_id / f"{exchange.case}.json"
    assert exchange.case.startswith(f"{exchange.response.status}-") and exchange.source == "generated"
    service = SERVICES[exchange.api]
    response = exchange.response
    body = NO_BODY if response.body.is_empty else response.body.value
    media_type = response.headers.get("content-type", "application/json").split(";")[0]
    mock = MockResponse(response.status, body, dict(response.headers), media_type)
    violations = service.operations[exchange.operation_id].responses.violations(mock)
    assert [v.describe() for v in violations] == []
    # A success was answered to a request the spec accepts; the refusals of the engine to one it refuses.
    request = exchange.request
    check = Contract(service).check_request(
        request.method, request.path, request.query, request.headers, request.body.to_bytes()
    )
    assert check.operation is not None and check.operation.operation_id == exchange.operation_id
    if response.status < 300:
        assert check.valid, check.violations
    # A 401 of an operation open to anyone is the behaviour's (a failed webhook signature), not the engine's.
    if response.status == 415 or (response.status == 401 and check.operation.requires_auth):
        assert check.problem is not None and check.problem.status == response.status


def test_every_documented_status_of_every_operation_has_a_fixture() -> None:
    covered: dict[tuple[str, str], set[int]] = {}
    for loaded in LOADED:
        key = (loaded.exchange.api, loaded.exchange.operation_id)
        covered.setdefault(key, set()).add(loaded.exchange.response.status)
    for name, service in SERVICES.items():
        for operation in service.spec.operations:
            declared = {int(code) for code in operation.responses if code.isdigit()}
            assert covered.get((name, operation.operation_id)) == declared, (name, operation.operation_id)


def test_no_secret_is_in_any_committed_fixture() -> None:
    everything = b"".join(path.read_bytes() for path in FIXTURES.rglob("*") if path.is_file())
    for secret in MOCK_SECRETS:
        assert secret.encode() not in everything
    assert b"<redacted:stack-ai:alice>" in everything
    assert b"<redacted:stack-ai:bob>" in everything
    assert b"<redacted:hookstream:acme-production>" in everything


# ---------------------------------------------------------------- redaction rules


def _exchange(**request: Any) -> Exchange:
    return Exchange(
        api="stack-ai",
        operation_id="op",
        case="0001-200",
        source="recorded",
        request=RecordedRequest(
            method="POST",
            path="/connections",
            query=request.get("query", ()),
            headers=request.get("headers", {}),
            body=request.get("body", Body()),
        ),
        response=RecordedResponse(200, request.get("response_headers", {}), request.get("response", Body())),
    )


def test_redaction_of_headers_cookies_and_bodies() -> None:
    alice = USERS[0]
    session = API_KEYS[1].session_token
    known = {**known_credentials("stack-ai", SERVICES["stack-ai"].api.credentials(None))}
    known.update(known_credentials("hookstream", SERVICES["hookstream"].api.credentials(None)))
    redactor = Redactor(b"k", known=known)
    exchange = _exchange(
        query=(("access_token", "query-secret-1234"), ("limit", "5")),
        headers={
            "authorization": f"Bearer {alice.token}",
            "cookie": f"theme=dark; better-auth.session_token={session}",
            "x-api-key": "hs_live_unknown-key-0001",
            "x-auth-token": "header-token-value",
            "accept": "application/json",
        },
        body=Body(
            "json",
            {
                "name": "Drive",
                "connection_provider_data": {"access_token": "ya29.body-secret", "token_type": "Bearer"},
                "auth_config": {"token": "sk_nested_secret", "headers": ["x", 1]},
                "verification_secret": "whsec_abcdefgh",
                "password": None,
            },
        ),
        response_headers={"set-cookie": "sid=cookie-secret-value; Path=/; HttpOnly"},
        response=Body("json", {"echo": "see ya29.body-secret and sk_nested_secret", "refresh_token": "r-1"}),
    )
    redacted = redactor.exchange(exchange)
    request, response = redacted.request, redacted.response
    assert request.headers["authorization"] == "Bearer <redacted:stack-ai:alice>"
    assert request.headers["cookie"].startswith("theme=<redacted:cookie-theme:")
    assert request.headers["cookie"].endswith(
        "better-auth.session_token=<redacted:hookstream:acme-staging:session>"
    )
    assert request.headers["x-api-key"].startswith("<redacted:x-api-key:")
    assert request.headers["x-auth-token"].startswith("<redacted:x-auth-token:")
    assert request.headers["accept"] == "application/json"
    assert request.query[0][1].startswith("<redacted:access_token:") and request.query[1] == ("limit", "5")
    body = request.body.value
    assert body["name"] == "Drive" and body["password"] is None
    assert body["connection_provider_data"]["token_type"] == "Bearer"
    assert body["auth_config"]["token"].startswith("<redacted:token:")
    assert body["auth_config"]["headers"][1] == 1
    assert body["verification_secret"].startswith("<redacted:verification_secret:")
    assert response.headers["set-cookie"].endswith("; Path=/; HttpOnly")
    # A secret found anywhere is scrubbed everywhere, with the same placeholder.
    echo = response.body.value["echo"]
    assert "ya29.body-secret" not in echo and body["connection_provider_data"]["access_token"] in echo
    assert "sk_nested_secret" not in echo
    text = json.dumps(redacted.to_json())
    for secret in (
        alice.token,
        session,
        "hs_live_unknown-key-0001",
        "ya29.body-secret",
        "cookie-secret-value",
    ):
        assert secret not in text


def test_placeholders_are_stable_under_one_key_only() -> None:
    one, again, other = Redactor(b"key-1"), Redactor(b"key-1"), Redactor(b"key-2")
    assert one.placeholder("s3cr3t-value", "token") == again.placeholder("s3cr3t-value", "token")
    assert one.placeholder("s3cr3t-value", "token") != other.placeholder("s3cr3t-value", "token")
    assert one.placeholder("<redacted:x:1>", "token") == "<redacted:x:1>"


def test_base64_and_text_bodies_are_scrubbed_of_known_secrets() -> None:
    token = USERS[1].token
    redactor = Redactor(b"k", known=known_credentials("stack-ai", SERVICES["stack-ai"].api.credentials(None)))
    payload = b"\xff\xfe binary " + token.encode() + b" tail"
    exchange = _exchange(
        body=Body("base64", base64.b64encode(payload).decode()),
        response=Body("text", f"<p>{token}</p>"),
    )
    redacted = redactor.exchange(exchange)
    assert token.encode() not in redacted.request.body.to_bytes()
    assert b"<redacted:stack-ai:bob>" in redacted.request.body.to_bytes()
    assert redacted.response.body.value == "<p><redacted:stack-ai:bob></p>"


def test_body_encodings_round_trip() -> None:
    assert Body.from_bytes(b"", "application/json") == Body()
    assert Body.from_bytes(b'{"a": 1}', "application/json; charset=utf-8") == Body("json", {"a": 1})
    assert Body.from_bytes(b'{"a": 1}', None) == Body("json", {"a": 1})
    assert Body.from_bytes(b"{", "application/json") == Body("text", "{")
    assert Body.from_bytes("é".encode(), "text/plain") == Body("text", "é")
    assert Body.from_bytes(b"\xff", "application/octet-stream") == Body("base64", "/w==")
    assert Body("json", {"a": [1, "é"]}).to_bytes() == '{"a":[1,"é"]}'.encode()
    assert Body("text", "x").to_bytes() == b"x"
    assert Body("base64", "/w==").to_bytes() == b"\xff"
    assert Body().to_bytes() == b""
