"""The /__mock control plane, Prism-style Prefer, per-session state, faults, latency and CORS."""

from __future__ import annotations

import concurrent.futures
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest
from conftest import hookstream_headers, make_client, stack_ai_headers
from hypothesis import given
from hypothesis import strategies as st
from starlette.testclient import TestClient

from mockserver import MockConfig, create_app
from mockserver._pipeline import sample_refusal
from mockserver.control._prefer import parse_prefer

CONNECTIONS = "/stack-ai/connections"
CREATE_BODY = {
    "name": "Drive",
    "provider_id": "gdrive",
    "connection_type_id": "gdrive",
    "connection_provider_data": {},
}
NEW_CONNECTION = {
    "name": "Session drive",
    "provider_id": "gdrive",
    "connection_type_id": "gdrive",
    "connection_provider_data": {},
}


def _count(client: TestClient, session: str | None = None) -> int:
    headers = {**stack_ai_headers(), **({"X-Mock-Session": session} if session else {})}
    response = client.get(CONNECTIONS, headers=headers)
    assert response.status_code == 200, response.text
    return len(response.json())


# ---------------------------------------------------------------- control API basics


def test_control_api_has_its_own_openapi_document(client: TestClient) -> None:
    document = client.get("/__mock/openapi.json").json()
    assert document["openapi"].startswith("3.1")
    assert "/faults" in document["paths"]


def test_users_lists_every_credential(client: TestClient) -> None:
    users = client.get("/__mock/users").json()
    assert set(users) == {"stack-ai", "hookstream"}
    assert stack_ai_headers()["Authorization"].split()[1] in {u["value"] for u in users["stack-ai"]}


def test_control_input_is_validated(client: TestClient) -> None:
    response = client.post("/__mock/reset", json={"seed": -1, "bogus": True})
    assert response.status_code == 422
    assert {
        "body.seed: Input should be greater than or equal to 0",
        "body.bogus: Extra inputs are not permitted",
    } <= set(response.json()["violations"])
    assert client.post("/__mock/faults", json={"api": "stack-ai"}).status_code == 422  # no action
    assert client.delete("/__mock/faults/nope").status_code == 422


def test_control_api_refuses_remote_callers_without_the_admin_token() -> None:
    app = create_app(MockConfig(admin_token="s3cret"))
    remote = TestClient(app, client=("203.0.113.9", 50000))
    assert remote.get("/__mock/users").status_code == 403
    assert remote.get("/__mock/users", headers={"Authorization": "Bearer wrong"}).status_code == 403
    assert remote.get("/__mock/users", headers={"Authorization": "Bearer s3cret"}).status_code == 200
    no_token = TestClient(create_app(MockConfig()), client=("203.0.113.9", 50000))
    assert no_token.get("/__mock/users").status_code == 403


# ---------------------------------------------------------------- reset


def test_reset_restores_the_seeded_state(client: TestClient) -> None:
    before = _count(client)
    assert client.post(CONNECTIONS, json=NEW_CONNECTION, headers=stack_ai_headers()).status_code == 201
    assert _count(client) == before + 1
    reset = client.post("/__mock/reset")
    assert reset.status_code == 200 and reset.json()["apis"] == ["hookstream", "stack-ai"]
    assert _count(client) == before


def test_reset_with_a_new_seed_changes_the_data(client: TestClient) -> None:
    first = client.get(CONNECTIONS, headers=stack_ai_headers()).json()
    assert client.post("/__mock/reset", json={"seed": 99, "api": "stack-ai"}).json()["seed"] == 99
    assert client.get(CONNECTIONS, headers=stack_ai_headers()).json() != first
    assert client.post("/__mock/reset", json={"api": "nope"}).status_code == 404


# ---------------------------------------------------------------- sessions


def test_sessions_are_isolated_copies_of_the_seeded_state(client: TestClient) -> None:
    base = _count(client)
    headers = {**stack_ai_headers(), "X-Mock-Session": "job-1"}
    assert client.post(CONNECTIONS, json=NEW_CONNECTION, headers=headers).status_code == 201
    assert _count(client, "job-1") == base + 1
    assert _count(client, "job-2") == base
    assert _count(client) == base
    client.post("/__mock/reset", headers={"X-Mock-Session": "job-1"})
    assert _count(client, "job-1") == base


def test_bad_session_name_is_refused_in_the_api_format(client: TestClient) -> None:
    response = client.get(CONNECTIONS, headers={**stack_ai_headers(), "X-Mock-Session": "no spaces/allowed"})
    assert response.status_code == 422
    assert response.json()["detail"][0]["loc"] == ["header", "X-Mock-Session"]


def test_least_recently_used_session_is_evicted() -> None:
    client = TestClient(create_app(MockConfig(max_sessions=2)))
    headers = {**stack_ai_headers(), "X-Mock-Session": "a"}
    base = _count(client)
    client.post(CONNECTIONS, json=NEW_CONNECTION, headers=headers)
    _count(client, "b")
    _count(client, "c")  # evicts "a"
    assert client.app.state.services["stack-ai"].sessions == ["b", "c"]
    assert _count(client, "a") == base


def test_parallel_sessions_never_see_each_other() -> None:
    client = TestClient(create_app(MockConfig(max_sessions=8)))
    base = _count(client)

    def job(index: int) -> list[int]:
        session = f"worker-{index}"
        seen = []
        for _ in range(index + 1):
            response = client.post(
                CONNECTIONS, json=NEW_CONNECTION, headers={**stack_ai_headers(), "X-Mock-Session": session}
            )
            assert response.status_code == 201
            seen.append(_count(client, session))
        return seen

    with concurrent.futures.ThreadPoolExecutor(max_workers=4) as pool:
        results = list(pool.map(job, range(4)))
    for index, seen in enumerate(results):
        assert seen == [base + n for n in range(1, index + 2)]
    assert _count(client) == base


# ---------------------------------------------------------------- journal


def test_journal_records_and_filters(client: TestClient) -> None:
    client.delete("/__mock/requests")
    client.get(CONNECTIONS, headers=stack_ai_headers())
    client.get(f"{CONNECTIONS}?limit=abc", headers=stack_ai_headers())
    client.get("/hookstream/v1/connections", headers=hookstream_headers())
    entries = client.get("/__mock/requests").json()["entries"]
    assert [(e["api"], e["operation_id"], e["status"]) for e in entries] == [
        ("stack-ai", "get_connections", 200),
        ("stack-ai", "get_connections", 422),
        ("hookstream", "listConnections", 200),
    ]
    assert entries[1]["request_violations"] == [
        "query.limit: Input should be a valid integer, unable to parse string as an integer"
    ]
    assert entries[1]["query"] == [["limit", "abc"]]
    only_422 = client.get("/__mock/requests?status=422").json()["entries"]
    assert len(only_422) == 1
    since = client.get(f"/__mock/requests?since={entries[0]['sequence']}&api=hookstream").json()["entries"]
    assert [e["operation_id"] for e in since] == ["listConnections"]
    assert client.delete("/__mock/requests").status_code == 204
    assert client.get("/__mock/requests").json()["entries"] == []


def test_journal_is_a_bounded_ring() -> None:
    client = TestClient(create_app(MockConfig(journal_size=3)))
    for _ in range(5):
        client.get("/stack-ai/connections/available")
    body = client.get("/__mock/requests").json()
    assert body["capacity"] == 3 and [e["sequence"] for e in body["entries"]] == [3, 4, 5]


# ---------------------------------------------------------------- faults


def test_fault_with_a_status_answers_in_the_api_format_and_expires(client: TestClient) -> None:
    rule = client.post(
        "/__mock/faults",
        json={
            "api": "hookstream",
            "operation_id": "listConnections",
            "status": 503,
            "message": "down",
            "times": 2,
        },
    )
    assert rule.status_code == 201
    for _ in range(2):
        response = client.get("/hookstream/v1/connections", headers=hookstream_headers())
        assert response.status_code == 503
        assert response.json()["error"] == "down" and response.json()["status"] == 503
    assert client.get("/hookstream/v1/connections", headers=hookstream_headers()).status_code == 200
    assert client.get("/__mock/faults").json()["faults"][0]["fired"] == 2


def test_fault_matches_method_and_path(client: TestClient) -> None:
    client.post("/__mock/faults", json={"method": "POST", "path": "/connections", "status": 500})
    assert client.get(CONNECTIONS, headers=stack_ai_headers()).status_code == 200
    failed = client.post(CONNECTIONS, json=NEW_CONNECTION, headers=stack_ai_headers())
    assert failed.status_code == 500 and isinstance(failed.json()["detail"], str)
    assert client.delete("/__mock/faults").status_code == 204
    assert client.post(CONNECTIONS, json=NEW_CONNECTION, headers=stack_ai_headers()).status_code == 201


def test_fault_latency_and_deletion(client: TestClient) -> None:
    rule = client.post(
        "/__mock/faults", json={"operation_id": "get_available_connections", "latency_ms": [60, 80]}
    ).json()
    started = time.perf_counter()
    assert client.get("/stack-ai/connections/available").status_code == 200
    assert time.perf_counter() - started >= 0.06
    assert client.delete(f"/__mock/faults/{rule['id']}").status_code == 204
    assert client.delete(f"/__mock/faults/{rule['id']}").status_code == 404


def test_fault_probability_is_seeded() -> None:
    def outcomes() -> list[int]:
        client = TestClient(create_app(MockConfig(seed=5)))
        client.post(
            "/__mock/faults",
            json={"operation_id": "get_available_connections", "status": 502, "probability": 0.5},
        )
        return [client.get("/stack-ai/connections/available").status_code for _ in range(20)]

    first = outcomes()
    assert first == outcomes() and {200, 502} == set(first)


def test_dropped_connection() -> None:
    client = TestClient(create_app(MockConfig()), raise_server_exceptions=True)
    client.post(
        "/__mock/faults", json={"operation_id": "get_available_connections", "drop": True, "times": 1}
    )
    with pytest.raises(Exception, match="dropped the connection"):
        client.get("/stack-ai/connections/available")
    assert client.get("/stack-ai/connections/available").status_code == 200


# ---------------------------------------------------------------- Prefer


def test_prefer_code_serves_the_documented_response(client: TestClient) -> None:
    response = client.get(CONNECTIONS, headers={**stack_ai_headers(), "Prefer": "code=401"})
    assert response.status_code == 401 and "detail" in response.json()
    undeclared = client.get(CONNECTIONS, headers={**stack_ai_headers(), "Prefer": "code=418"})
    assert undeclared.status_code == 422
    assert "declares no 418 response" in undeclared.json()["detail"][0]["msg"]


def test_prefer_the_validation_status_serves_a_refusal_of_this_operation(client: TestClient) -> None:
    """`GET /connections` has no body: its 422 names a parameter it has, not `body.provider_id`."""
    response = client.get(CONNECTIONS, headers={**stack_ai_headers(), "Prefer": "code=422"})
    assert response.status_code == 422
    assert [item["loc"] for item in response.json()["detail"]] == [["query", "limit"]]
    create = client.post(CONNECTIONS, json=CREATE_BODY, headers={**stack_ai_headers(), "Prefer": "code=422"})
    assert create.status_code == 422
    assert ["body", "provider_id"] in [item["loc"] for item in create.json()["detail"]]
    hookstream = client.get(
        "/hookstream/v1/sources/" + "a" * 32, headers={**hookstream_headers(), "Prefer": "code=400"}
    )
    assert hookstream.status_code == 400 and hookstream.json()["error"].startswith("path.id ")


@pytest.mark.parametrize("api", ["stack-ai", "hookstream"])
def test_every_sample_refusal_names_what_its_operation_has(client: TestClient, api: str) -> None:
    service = client.app.state.services[api]
    refusing = 0
    for operation_id, compiled in service.operations.items():
        operation = compiled.operation
        if operation.response_for(service.api.validation_status) is None:
            continue
        violations = sample_refusal(compiled)
        refusing += bool(violations)
        for violation in violations:
            where, *rest = violation.location
            if where == "body":
                assert operation.request_body is not None, operation_id
            else:
                names = {p.name for p in operation.parameters if p.location == where}
                assert rest and rest[0] in names, (operation_id, violation)
    assert refusing >= 5


def test_prefer_example_by_name(client: TestClient) -> None:
    service = client.app.state.services["stack-ai"]
    operation = service.spec.operation("get_connections")
    name = next(iter(operation.responses["200"].media_types["application/json"].examples))
    response = client.get(CONNECTIONS, headers={**stack_ai_headers(), "Prefer": f"example={name}"})
    assert response.status_code == 200
    assert response.json() == operation.responses["200"].media_types["application/json"].examples[name]
    missing = client.get(CONNECTIONS, headers={**stack_ai_headers(), "Prefer": "example=nope"})
    assert missing.status_code == 422 and name in missing.json()["detail"][0]["msg"]


def test_prefer_dynamic_is_seeded(client: TestClient) -> None:
    headers = {**hookstream_headers(), "Prefer": "dynamic=true, seed=3"}
    first = client.get("/hookstream/v1/connections", headers=headers)
    assert first.status_code == 200
    assert first.json() == client.get("/hookstream/v1/connections", headers=headers).json()
    other = client.get(
        "/hookstream/v1/connections", headers={**hookstream_headers(), "Prefer": "dynamic=true, seed=4"}
    )
    assert other.json() != first.json()


def test_bad_prefer_is_refused(client: TestClient) -> None:
    response = client.get(
        "/hookstream/v1/connections", headers={**hookstream_headers(), "Prefer": "code=abc"}
    )
    assert response.status_code == 400 and "header.Prefer" in response.json()["error"]


@given(header=st.text(max_size=40))
def test_prefer_parser_never_crashes(header: str) -> None:
    preference, violations = parse_prefer(header)
    assert isinstance(violations, list)
    assert preference.code is None or 100 <= preference.code <= 599


# ---------------------------------------------------------------- latency and CORS


def test_global_latency() -> None:
    client = TestClient(create_app(MockConfig(latency_ms=(50, 50))))
    started = time.perf_counter()
    client.get("/stack-ai/connections/available")
    assert time.perf_counter() - started >= 0.05


def test_cors_preflight_is_never_refused_by_auth() -> None:
    client = make_client()
    preflight = client.options(
        CONNECTIONS,
        headers={
            "Origin": "http://localhost:5173",
            "Access-Control-Request-Method": "POST",
            "Access-Control-Request-Headers": "authorization, content-type",
        },
    )
    assert preflight.status_code == 200
    assert preflight.headers["access-control-allow-origin"] in ("*", "http://localhost:5173")
    simple = client.get(CONNECTIONS, headers={**stack_ai_headers(), "Origin": "http://localhost:5173"})
    assert simple.headers["access-control-allow-origin"] in ("*", "http://localhost:5173")


def test_cors_origin_can_be_restricted() -> None:
    client = TestClient(create_app(MockConfig(cors_origins=("http://app.test",))))
    allowed = client.get("/stack-ai/connections/available", headers={"Origin": "http://app.test"})
    assert allowed.headers["access-control-allow-origin"] == "http://app.test"
    other = client.get("/stack-ai/connections/available", headers={"Origin": "http://evil.test"})
    assert "access-control-allow-origin" not in other.headers


# ---------------------------------------------------------------- offline docs


def test_docs_index_and_pages_are_served_offline(client: TestClient) -> None:
    index = client.get("/docs")
    assert index.status_code == 200 and "/docs/stack-ai" in index.text and "/docs/hookstream" in index.text
    page = client.get("/docs/stack-ai")
    assert page.status_code == 200
    assert "/docs/static/swagger-ui-bundle.js" in page.text
    assert "http" not in page.text.replace("http-equiv", "").split("<body>")[1].split("</script>")[0]
    asset = client.get("/docs/static/swagger-ui-bundle.js")
    assert asset.status_code == 200 and asset.headers["content-type"].startswith("text/javascript")
    assert len(asset.content) > 100_000
    assert client.get("/docs/static/../../etc/passwd").status_code == 404


def test_docs_point_try_it_out_at_the_mock(client: TestClient) -> None:
    document = client.get("/docs/hookstream/openapi.json").json()
    assert document["servers"][0]["url"] == "/hookstream/v1"
    assert document["paths"].keys() == client.app.state.services["hookstream"].spec.document["paths"].keys()


# ---------------------------------------------------------------- a real restart


def _serve(port: int, state_file: Path) -> subprocess.Popen[bytes]:
    command = [
        sys.executable,
        "-m",
        "mockserver",
        "serve",
        "--port",
        str(port),
        "--state-file",
        str(state_file),
        "--log-level",
        "warning",
    ]
    process = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        try:
            if (
                httpx.get(f"http://127.0.0.1:{port}/stack-ai/connections/available", timeout=1).status_code
                == 200
            ):
                return process
        except httpx.TransportError:
            time.sleep(0.1)
    process.kill()
    raise AssertionError("the server did not start")


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def test_save_kill_start_keeps_the_state(tmp_path: Path) -> None:
    state_file = tmp_path / "state.json"
    port = _free_port()
    base = f"http://127.0.0.1:{port}"
    first = _serve(port, state_file)
    try:
        created = httpx.post(f"{base}{CONNECTIONS}", json=NEW_CONNECTION, headers=stack_ai_headers())
        assert created.status_code == 201
        saved = httpx.post(f"{base}/__mock/state/save")
        assert saved.status_code == 200 and saved.json()["bytes"] > 0
    finally:
        first.send_signal(signal.SIGKILL)  # no shutdown hook runs: only the explicit save counts
        first.wait()
    assert [p.name for p in tmp_path.iterdir()] == ["state.json"]  # no temporary file left behind
    second = _serve(port, state_file)
    try:
        listed = httpx.get(f"{base}{CONNECTIONS}", headers=stack_ai_headers()).json()
        assert created.json()["connection_id"] in {c["connection_id"] for c in listed}
    finally:
        second.terminate()
        second.wait()


def test_a_drop_fault_cuts_a_real_connection(tmp_path: Path) -> None:
    port = _free_port()
    server = _serve(port, tmp_path / "state.json")
    try:
        rule = {"operation_id": "get_available_connections", "drop": True, "times": 1}
        assert httpx.post(f"http://127.0.0.1:{port}/__mock/faults", json=rule).status_code == 201
        with pytest.raises(httpx.TransportError):
            httpx.get(f"http://127.0.0.1:{port}/stack-ai/connections/available")
        assert httpx.get(f"http://127.0.0.1:{port}/stack-ai/connections/available").status_code == 200
    finally:
        server.terminate()
        server.wait()


def test_fault_rules_are_capped_and_spent_ones_make_room(client: TestClient) -> None:
    from mockserver.control._faults import MAX_FAULT_RULES

    client.delete("/__mock/faults")
    one_time = {"operation_id": "get_available_connections", "status": 503, "times": 1}
    spent = client.post("/__mock/faults", json=one_time)
    assert spent.status_code == 201
    for _ in range(MAX_FAULT_RULES - 1):
        assert (
            client.post("/__mock/faults", json={"operation_id": "nothing", "status": 503}).status_code == 201
        )
    refused = client.post("/__mock/faults", json={"operation_id": "nothing", "status": 503})
    assert refused.status_code == 409
    assert refused.json() == {
        "detail": f"At most {MAX_FAULT_RULES} fault rules can be active at once: remove one "
        "(DELETE /__mock/faults/{fault_id}) first"
    }
    assert len(client.get("/__mock/faults").json()["faults"]) == MAX_FAULT_RULES
    assert client.get("/stack-ai/connections/available").status_code == 503  # the one-time rule fires
    added = client.post("/__mock/faults", json={"operation_id": "nothing", "status": 503})
    assert added.status_code == 201  # the spent rule made room
    ids = [rule["id"] for rule in client.get("/__mock/faults").json()["faults"]]
    assert spent.json()["id"] not in ids and len(ids) == MAX_FAULT_RULES
    client.delete("/__mock/faults")
