"""`mockserver record` (a validating, redacting proxy) and `mockserver replay`, against loopback upstreams only:
a second mockserver, or a tiny Starlette app that breaks the contract."""

from __future__ import annotations

import io
import json
import warnings
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from conftest import hookstream_headers, stack_ai_headers
from jsonschema import Draft202012Validator
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route

from mockserver import MockConfig, create_app
from mockserver._cli import main
from mockserver._commands import build_recorder, build_replay_app
from mockserver._live import LiveServer
from mockserver.apis.hookstream._keys import API_KEYS
from mockserver.apis.stack_ai._users import USERS
from mockserver.fixtures._exchange import (
    EXCHANGE_SCHEMA,
    Body,
    Exchange,
    RecordedRequest,
    RecordedResponse,
    load_exchanges,
    write_exchange,
)
from mockserver.fixtures._redact import is_secret_key

with warnings.catch_warnings():
    warnings.simplefilter("ignore")
    from starlette.testclient import TestClient

FIXTURES = Path(__file__).resolve().parent.parent / "fixtures"


@pytest.fixture(scope="module")
def upstreams() -> Iterator[dict[str, LiveServer]]:
    """A mockserver per API on loopback, standing in for the real APIs."""
    servers = {
        name: LiveServer(create_app(MockConfig(api=name))).start() for name in ("stack-ai", "hookstream")
    }
    yield servers
    for server in servers.values():
        server.stop()


def _fresh(server: LiveServer) -> str:
    httpx.post(f"{server.url}/__mock/reset").raise_for_status()
    return server.url


class Recording:
    """A recorder on loopback in front of `upstream`, writing to `out`."""

    def __init__(self, api: str, upstream: str, out: Path) -> None:
        self.console = io.StringIO()
        self.recorder = build_recorder(api, upstream=upstream, out=out, console=self.console, timeout=10)
        self.server = LiveServer(self.recorder).start()
        self.client = httpx.Client(base_url=self.server.url, timeout=10)

    def close(self) -> None:
        self.client.close()
        self.server.stop()


@pytest.fixture
def recordings() -> Iterator[list[Recording]]:
    started: list[Recording] = []
    yield started
    for recording in started:
        recording.close()


def _replay_client(root: Path, **options: Any) -> TestClient:
    return TestClient(build_replay_app(root, **options))


def _public(value: Any) -> Any:
    """A body without the fields redaction replaces (to compare a live answer with its replay)."""
    if isinstance(value, dict):
        return {k: _public(v) for k, v in value.items() if not is_secret_key(k)}
    if isinstance(value, list):
        return [_public(item) for item in value]
    return value


# ---------------------------------------------------------------- record → replay


def test_record_then_replay_round_trip(
    upstreams: dict[str, LiveServer], recordings: list[Recording], tmp_path: Path
) -> None:
    recording = Recording("hookstream", _fresh(upstreams["hookstream"]) + "/v1", tmp_path)
    recordings.append(recording)
    key = hookstream_headers()
    source = {"name": "Shop orders", "slug": "shop-orders", "template": "stripe"}
    created = recording.client.post("/v1/sources", json=source, headers=key).json()["source"]["id"]
    script: list[tuple[str, str, dict[str, Any]]] = [
        ("GET", "/v1/sources", {"headers": key}),
        ("GET", f"/v1/sources/{created}", {"headers": key}),
        ("PATCH", f"/v1/sources/{created}", {"headers": key, "json": {"name": "Renamed"}}),
        ("GET", f"/v1/sources/{created}", {"headers": key}),
        ("DELETE", f"/v1/sources/{created}", {"headers": key}),
        ("GET", f"/v1/sources/{created}", {"headers": key}),
        ("GET", "/v1/sources", {"headers": key, "params": {"status": "bogus"}}),
        ("GET", "/v1/sources", {}),
        (
            "POST",
            f"/v1/ingest/{created}",
            {"content": b"plain text event", "headers": {"content-type": "text/plain"}},
        ),
    ]
    live = [recording.client.request(method, path, **kwargs) for method, path, kwargs in script]
    assert [r.status_code for r in live] == [200, 200, 200, 200, 200, 404, 400, 401, 404]
    assert "DRIFT" not in recording.console.getvalue()
    assert json.loads((tmp_path / "drift.json").read_text())["drifted"] == 0

    loaded = load_exchanges(tmp_path)
    assert len(loaded) == 10 and [
        item.exchange.sequence for item in sorted(loaded, key=lambda i: i.exchange.sequence or 0)
    ] == list(range(1, 11))
    validator = Draft202012Validator(EXCHANGE_SCHEMA)
    for item in loaded:
        assert list(validator.iter_errors(json.loads(item.path.read_text()))) == []
        assert item.path.name == f"{item.exchange.case}.json" and item.exchange.source == "recorded"
    assert (tmp_path / "hookstream/getSource/0003-200.json").exists()

    replay = _replay_client(tmp_path)
    replay.post("/v1/sources", json=source, headers=key)
    replayed = [replay.request(method, path, **kwargs) for method, path, kwargs in script]
    for answer, again in zip(live, replayed, strict=True):
        assert again.status_code == answer.status_code
        assert _public(again.json()) == _public(answer.json())
    # The same request, recorded three times, replayed in order: before, after the PATCH, after the DELETE.
    served = [r.headers["x-mock-replay"] for r in replayed]
    assert served[1::2][:3] == [
        "hookstream/getSource/0003-200",
        "hookstream/getSource/0005-200",
        "hookstream/getSource/0007-404",
    ]
    assert replayed[8].headers["x-mock-replay"] == "hookstream/ingestEvent/0010-404"
    assert replayed[6].headers["x-mock-replay"] == "hookstream/listSources/0008-400"
    assert replayed[7].headers["x-mock-replay"] == "hookstream/listSources/0009-401"


def test_recording_continues_the_sequence_of_an_earlier_recording(
    upstreams: dict[str, LiveServer], recordings: list[Recording], tmp_path: Path
) -> None:
    upstream = _fresh(upstreams["hookstream"]) + "/v1"
    for _ in range(2):
        recording = Recording("hookstream", upstream, tmp_path)
        recordings.append(recording)
        assert recording.client.get("/v1/health").status_code == 200
    assert sorted(p.name for p in (tmp_path / "hookstream/getHealth").iterdir()) == [
        "0001-200.json",
        "0002-200.json",
    ]
    assert recording.client.get("/other").status_code == 404  # outside /v1: not forwarded, not recorded
    entries = recording.client.get("/__mock/requests").json()["entries"]
    assert [(e["sequence"], e["operation_id"]) for e in entries] == [(2, "getHealth")]


# ---------------------------------------------------------------- redaction


def test_no_secret_byte_reaches_the_disk(
    upstreams: dict[str, LiveServer], recordings: list[Recording], tmp_path: Path
) -> None:
    stack = Recording("stack-ai", _fresh(upstreams["stack-ai"]), tmp_path)
    hook = Recording("hookstream", _fresh(upstreams["hookstream"]) + "/v1", tmp_path)
    recordings.extend([stack, hook])
    body_secrets = [
        "ya29.a0-recorded-access-token-0001",
        "1//0g-recorded-refresh-token-0002",
        "ATATT3-recorded-confluence-token-0003",
        "whsec_recordedverificationsecret0004",
        "sk_recorded_destination_token_0005",
        "query-access-token-0006",
    ]
    for user in ("alice", "bob", "carol", "dave"):
        assert (
            stack.client.get("/connections", headers=stack_ai_headers(user), params={"limit": 2}).status_code
            == 200
        )
    gdrive = {
        "name": "Drive",
        "provider_id": "gdrive",
        "connection_type_id": "gdrive",
        "connection_provider_data": {"access_token": body_secrets[0], "refresh_token": body_secrets[1]},
    }
    created = stack.client.post("/connections", json=gdrive, headers=stack_ai_headers())
    assert created.status_code == 201
    confluence = {
        "name": "Wiki",
        "provider_id": "confluence",
        "connection_type_id": "confluence",
        "connection_provider_data": {
            "url": "https://acme.atlassian.net",
            "username": "alice@acme.test",
            "api_token": body_secrets[2],
        },
    }
    assert (
        stack.client.post("/connections", json=confluence, headers=stack_ai_headers("carol")).status_code
        == 201
    )
    refused = stack.client.post(
        "/connections", json={**gdrive, "provider_id": "nope"}, headers=stack_ai_headers()
    )
    assert refused.status_code == 422
    cid = created.json()["connection_id"]
    assert (
        stack.client.get(
            f"/connections/{cid}", params={"access_token": body_secrets[5]}, headers=stack_ai_headers()
        ).status_code
        == 200
    )

    for owner in (key.owner for key in API_KEYS):
        assert hook.client.get("/v1/sources", headers=hookstream_headers(owner)).status_code == 200
    session = API_KEYS[2].session_token
    assert (
        hook.client.get(
            "/v1/destinations", headers={"Cookie": f"better-auth.session_token={session}"}
        ).status_code
        == 200
    )
    bearer = {"Authorization": f"Bearer {API_KEYS[3].key}"}
    source = {
        "name": "Signed",
        "slug": "signed",
        "verification_secret": body_secrets[3],
        "verification_type": "hmac_sha256",
    }
    assert hook.client.post("/v1/sources", json=source, headers=bearer).status_code == 201
    destination = {
        "name": "Orders",
        "slug": "orders",
        "url": "https://orders.example.com/hooks",
        "auth_type": "bearer_token",
        "auth_config": {"token": body_secrets[4]},
    }
    assert (
        hook.client.post("/v1/destinations", json=destination, headers=hookstream_headers()).status_code
        == 201
    )

    secrets = [
        *(user.token for user in USERS),
        *(key.key for key in API_KEYS),
        *(key.session_token for key in API_KEYS),
        *body_secrets,
    ]
    files = [path for path in tmp_path.rglob("*") if path.is_file()]
    assert len(files) >= 17  # the exchanges, drift.json and the schema
    for path in files:
        data = path.read_bytes()
        for secret in secrets:
            assert secret.encode() not in data, (path, secret[:12])
    written = b"".join(path.read_bytes() for path in files)
    for placeholder in (
        "stack-ai:alice",
        "stack-ai:dave",
        "hookstream:globex-production:session",
        "hookstream:globex-development",
    ):
        assert f"<redacted:{placeholder}>".encode() in written
    # Nothing kept in memory and served back carries them either.
    journal = json.dumps(stack.client.get("/__mock/requests").json())
    assert body_secrets[5] not in journal


# ---------------------------------------------------------------- drift


def _broken_hookstream() -> Starlette:
    """An upstream that breaks the hookstream spec in three ways."""

    async def sources(request: Request) -> JSONResponse:
        headers = {"RateLimit-Limit": "10", "RateLimit-Remaining": "9", "RateLimit-Reset": "60"}
        return JSONResponse({"sources": "not a list"}, headers=headers)

    async def health(request: Request) -> JSONResponse:
        return JSONResponse({"status": "teapot"}, status_code=418)

    async def extra(request: Request) -> JSONResponse:
        return JSONResponse({"undocumented": True})

    return Starlette(
        routes=[Route("/v1/sources", sources), Route("/v1/health", health), Route("/v1/extra", extra)]
    )


def test_drift_is_reported_on_the_console_in_the_journal_and_in_drift_json(
    recordings: list[Recording], tmp_path: Path
) -> None:
    with LiveServer(_broken_hookstream()) as upstream:
        recording = Recording("hookstream", upstream.url + "/v1", tmp_path)
        recordings.append(recording)
        client = recording.client
        assert client.get("/v1/sources", headers=hookstream_headers()).status_code == 200
        assert (
            client.get("/v1/sources", params={"status": "bogus"}, headers=hookstream_headers()).status_code
            == 200
        )
        assert client.get("/v1/health").status_code == 418
        assert client.get("/v1/extra").json() == {"undocumented": True}
        summary = client.get("/__mock/drift").json()
        journal = client.get("/__mock/requests").json()["entries"]
    drift = json.loads((tmp_path / "drift.json").read_text())
    assert drift == summary
    assert drift["drifted"] == 4 and drift["upstream"] == upstream.url + "/v1"
    first, accepted, teapot, extra = drift["drift"]
    assert first["operation_id"] == "listSources" and first["file"] == "hookstream/listSources/0001-200.json"
    assert any("response.body.sources" in text for text in first["response_violations"])
    assert accepted["query"] == [["status", "bogus"]]
    assert any("query.status" in text for text in accepted["request_violations"])
    assert teapot["response_violations"] == [
        "response.status: getHealth does not declare status 418 (declares 200, 429)"
    ]
    assert any("RateLimit-Limit" in text for text in teapot["response_violations"]) is False
    assert extra["operation_id"] is None and extra["file"] is None
    assert extra["request_violations"] == ["no operation of the spec matches GET /v1/extra"]
    console = recording.console.getvalue()
    assert console.count("DRIFT") >= 4 and "DRIFT hookstream getHealth GET /v1/health → 418" in console
    assert [entry["status"] for entry in journal] == [200, 200, 418, 200]
    assert journal[0]["response_violations"] and journal[2]["response_violations"]


# ---------------------------------------------------------------- replay


def _write(
    root: Path,
    api: str,
    operation_id: str,
    case: str,
    request: RecordedRequest,
    status: int,
    body: Any,
    sequence: int | None = None,
    **headers: str,
) -> None:
    response = RecordedResponse(status, {"content-type": "application/json", **headers}, Body("json", body))
    write_exchange(root, Exchange(api, operation_id, case, "recorded", request, response, sequence=sequence))


ALICE = {"authorization": "Bearer <redacted:stack-ai:alice>"}
KEY = {"x-api-key": "<redacted:hookstream:acme-production>"}


@pytest.fixture
def stack_dir(tmp_path: Path) -> Path:
    _write(
        tmp_path,
        "stack-ai",
        "get_connections",
        "0001-200",
        RecordedRequest("GET", "/connections", (("limit", "5"),), ALICE),
        200,
        [],
    )
    _write(
        tmp_path,
        "stack-ai",
        "patch_connection",
        "0002-200",
        RecordedRequest(
            "PATCH",
            "/connections/6f1c2f8e-4d0a-4b8e-9a51-5e0f3c1d2b7a",
            (),
            {**ALICE, "content-type": "application/json"},
            Body("json", {"name": "A", "tags": [1, 2]}),
        ),
        200,
        {"name": "A"},
    )
    _write(
        tmp_path,
        "stack-ai",
        "get_connections",
        "0003-401",
        RecordedRequest("GET", "/connections", (("offset", "1"),)),
        401,
        {"detail": "Not authenticated"},
    )
    return tmp_path


def test_near_misses_name_the_closest_exchange_and_the_difference(stack_dir: Path) -> None:
    client = _replay_client(stack_dir)
    auth = stack_ai_headers()

    def miss(response: httpx.Response) -> str:
        assert response.status_code == 404, response.text
        detail: str = response.json()["detail"]
        assert set(response.json()) == {"detail"}
        return detail

    detail = miss(client.get("/connections", params={"limit": 6}, headers=auth))
    assert detail == (
        "No recorded exchange matches GET /connections?limit=6. The closest is stack-ai/get_connections/0001-200 "
        "(GET /connections?limit=5): query limit is '6', recorded '5'"
    )
    assert "query limit='5' is missing" in miss(client.get("/connections", headers=auth))
    assert "query offset='2' was not recorded" in miss(
        client.get("/connections", params={"limit": 5, "offset": 2}, headers=auth)
    )
    response = client.patch(
        "/connections/00000000-0000-4000-8000-000000000000", json={"name": "A"}, headers=auth
    )
    assert response.headers["x-mock-replay-closest"] == "stack-ai/patch_connection/0002-200"
    assert (
        "path is /connections/00000000-0000-4000-8000-000000000000, recorded /connections/6f1c2f8e"
        in miss(response)
    )
    assert "method is DELETE, recorded PATCH" in miss(
        client.delete("/connections/6f1c2f8e-4d0a-4b8e-9a51-5e0f3c1d2b7a", headers=auth)
    )
    # Only a refused request was recorded with this query: the valid one is told so.
    detail = miss(client.get("/connections", params={"offset": 1}, headers=auth))
    assert (
        "the recorded request was refused by the spec (401: request: Not authenticated), this one is valid"
        in detail
    )
    # Without --match-body a body is not compared; with it the first difference is named.
    assert (
        client.patch(
            "/connections/6f1c2f8e-4d0a-4b8e-9a51-5e0f3c1d2b7a", json={"name": "B"}, headers=auth
        ).status_code
        == 200
    )
    strict = _replay_client(stack_dir, match_body=True)
    detail = miss(
        strict.patch(
            "/connections/6f1c2f8e-4d0a-4b8e-9a51-5e0f3c1d2b7a",
            json={"name": "B", "tags": [1, 2]},
            headers=auth,
        )
    )
    assert detail.endswith('body differs at /name: "B", recorded "A"')
    same = strict.patch(
        "/connections/6f1c2f8e-4d0a-4b8e-9a51-5e0f3c1d2b7a", json={"tags": [1, 2], "name": "A"}, headers=auth
    )
    assert same.status_code == 200 and same.headers["x-mock-replay"] == "stack-ai/patch_connection/0002-200"


def test_a_near_miss_is_in_hookstream_error_format(tmp_path: Path) -> None:
    _write(
        tmp_path,
        "hookstream",
        "listSources",
        "0001-200",
        RecordedRequest("GET", "/v1/sources", (), KEY),
        200,
        {"sources": []},
    )
    response = _replay_client(tmp_path).get(
        "/v1/sources", params={"status": "paused"}, headers=hookstream_headers()
    )
    body = response.json()
    assert (
        response.status_code == 404
        and set(body) == {"error", "status", "request_id"}
        and body["status"] == 404
    )
    assert "closest is hookstream/listSources/0001-200" in body["error"]
    assert "query status='paused' was not recorded" in body["error"]
    assert "ratelimit-limit" in response.headers


def test_repeated_exchanges_replay_in_order_then_the_last_repeats(tmp_path: Path) -> None:
    for sequence, status in ((3, 200), (1, 200), (2, 429)):
        _write(
            tmp_path,
            "hookstream",
            "getHealth",
            f"{sequence:04d}-{status}",
            RecordedRequest("GET", "/v1/health"),
            status,
            {"n": sequence},
            sequence,
        )
    client = _replay_client(tmp_path)
    assert [client.get("/v1/health").json()["n"] for _ in range(5)] == [1, 2, 3, 3, 3]
    assert client.post("/__mock/reset").json() == {"rewound": ["hookstream"]}
    response = client.get("/v1/health")
    assert (
        response.json() == {"n": 1} and response.headers["x-mock-replay"] == "hookstream/getHealth/0001-200"
    )


def test_replay_validates_requests_against_the_spec(stack_dir: Path) -> None:
    client = _replay_client(stack_dir)
    refused = client.get("/connections", params={"limit": "abc"}, headers=stack_ai_headers())
    assert refused.status_code == 422 and refused.json()["detail"][0]["loc"] == ["query", "limit"]
    anonymous = client.get("/connections", params={"limit": 5})
    assert anonymous.status_code == 401 and anonymous.headers["www-authenticate"] == "Bearer"
    # A refused request that was recorded (a 401 for the same query) replays as recorded.
    recorded = client.get("/connections", params={"offset": 1})
    assert (
        recorded.status_code == 401
        and recorded.headers["x-mock-replay"] == "stack-ai/get_connections/0003-401"
    )
    assert client.put("/connections/available", headers=stack_ai_headers()).status_code == 405
    wrong_type = client.patch(
        "/connections/6f1c2f8e-4d0a-4b8e-9a51-5e0f3c1d2b7a",
        content=b"x",
        headers={**stack_ai_headers(), "content-type": "text/plain"},
    )
    assert wrong_type.status_code == 415


def test_every_committed_fixture_is_replayable() -> None:
    client = _replay_client(FIXTURES)
    app = client.app
    for item in load_exchanges(FIXTURES):
        exchange = item.exchange
        app.rewind()
        request = exchange.request
        response = client.request(
            request.method,
            f"/{exchange.api}{request.path}",
            params=list(request.query),
            headers=dict(request.headers),
            content=request.body.to_bytes(),
        )
        served = response.headers.get("x-mock-replay", "")
        assert served.startswith(f"{exchange.api}/{exchange.operation_id}/"), (exchange.name, response.text)
        if response.headers["x-mock-replay"] == f"{exchange.api}/{exchange.name}":
            assert response.status_code == exchange.response.status
            assert (
                Body.from_bytes(response.content, response.headers.get("content-type"))
                == exchange.response.body
            )


def test_the_commands_refuse_bad_arguments(tmp_path: Path, capsys: Any) -> None:
    assert main(["replay", str(tmp_path)]) == 2
    assert "no exchanges under" in capsys.readouterr().err
    assert (
        main(["record", "--api", "hookstream", "--upstream", "ftp://example.com", "--out", str(tmp_path)])
        == 2
    )
    assert "http:// or https://" in capsys.readouterr().err
    assert (
        main(
            ["record", "--api", "hookstream", "--upstream", "http://u:p@example.com", "--out", str(tmp_path)]
        )
        == 2
    )
    assert main(["fixtures"]) == 2
    with pytest.raises(SystemExit):
        main(["record", "--api", "nope", "--upstream", "http://x", "--out", str(tmp_path)])


def _free_port() -> int:
    import socket

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _serve(*args: str) -> tuple[Any, str]:
    """`mockserver ARGS --port P` in a subprocess, once it answers; the process and its URL."""
    import subprocess
    import sys
    import time

    port = _free_port()
    process = subprocess.Popen(
        [sys.executable, "-m", "mockserver", *args, "--port", str(port)],
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline:
        try:
            httpx.get(url + "/__mock/drift", timeout=0.5)
            return process, url
        except httpx.TransportError:
            assert process.poll() is None, process.communicate()[0]
            time.sleep(0.05)
    process.kill()
    raise AssertionError(f"mockserver {' '.join(args)} did not start")


def test_the_record_and_replay_commands_serve_over_http(
    upstreams: dict[str, LiveServer], tmp_path: Path
) -> None:
    upstream = _fresh(upstreams["stack-ai"])
    recorder, url = _serve("record", "--api", "stack-ai", "--upstream", upstream, "--out", str(tmp_path))
    try:
        assert (
            httpx.get(url + "/connections", params={"limit": 2}, headers=stack_ai_headers()).status_code
            == 200
        )
    finally:
        recorder.terminate()
        output = recorder.communicate(timeout=10)[0]
    assert f"recording stack-ai: {url} → {upstream}" in output
    assert "recorded GET /connections → 200 as stack-ai/get_connections/0001-200.json" in output
    replayer, url = _serve("replay", str(tmp_path))
    try:
        response = httpx.get(url + "/connections", params={"limit": 2}, headers=stack_ai_headers())
        assert response.status_code == 200 and len(response.json()) == 2
        assert response.headers["x-mock-replay"] == "stack-ai/get_connections/0001-200"
    finally:
        replayer.terminate()
        output = replayer.communicate(timeout=10)[0]
    assert f"stack-ai: {url}" in output
