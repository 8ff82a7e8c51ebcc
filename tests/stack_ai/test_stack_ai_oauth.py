"""The offline OAuth flow, driven end to end with a client that follows redirects."""

from __future__ import annotations

import re
from typing import Any
from urllib.parse import urlsplit

import pytest
from stack_support import (
    ACME,
    ALICE,
    BOB,
    CONFLUENCE,
    client,
    connection_ids,
    create,
    detail_locs,
    find_by_role,
    fresh,
    headers,
    ok,
    query_of,
    state_of,
)

from mockserver.apis.stack_ai._oauth import CODE_TTL_SECONDS, CONSENT_TTL_SECONDS

START = {
    "name": "Marketing Drive",
    "provider_id": "gdrive",
    "connection_type_id": "gdrive",
    "connection_provider_data": {},
}


def start(c: Any, user: str = "alice", body: dict[str, Any] | None = None, prefix: str = "") -> str:
    url: str = ok(c.post(f"{prefix}/connections/oauth/start", headers=headers(user), json=body or START))
    return url


def request_id_of(page: str) -> str:
    found = re.search(r'name="request_id" value="([^"]+)"', page)
    assert found, page
    return found.group(1)


def consent(c: Any, url: str, decision: str) -> Any:
    """Open the consent page like a browser, then press a button (a form POST), following redirects."""
    page = c.get(url)
    assert page.status_code == 200 and page.headers["content-type"].startswith("text/html")
    assert 'value="allow"' in page.text and 'value="deny"' in page.text
    action = urlsplit(url).path  # the form posts to "consent", relative to the page
    hidden = dict(re.findall(r'<input type="hidden" name="([^"]+)" value="([^"]*)">', page.text))
    assert hidden["request_id"] == request_id_of(page.text)
    return c.post(action, data={**hidden, "decision": decision}, follow_redirects=True)


def code_from(c: Any, user: str = "alice", body: dict[str, Any] | None = None) -> str:
    landed = consent(c, start(c, user, body), "allow")
    return query_of(str(landed.url))["code"]


def callback(c: Any, code: str, user: str = "alice", body: dict[str, Any] | None = None) -> Any:
    return c.post(
        "/connections/oauth/callback", params={"code": code}, headers=headers(user), json=body or START
    )


def test_full_flow_with_the_default_landing_page() -> None:
    c = fresh()
    url = start(c)
    parts = urlsplit(url)
    assert parts.path == "/oauth/consent"
    query = query_of(url)
    assert query["provider"] == "gdrive" and query["response_type"] == "code"
    assert query["redirect_uri"] == "http://testserver/oauth/landing" and query["state"]
    page = c.get(url)
    assert "Google Drive" in page.text and ALICE.email in page.text and "drive.readonly" in page.text
    landed = consent(c, url, "allow")
    assert landed.status_code == 200 and [r.status_code for r in landed.history] == [303]
    assert urlsplit(str(landed.url)).path == "/oauth/landing"
    params = query_of(str(landed.url))
    assert params["state"] == query["state"] and params["code"].startswith("4/0A")
    assert params["code"] in landed.text and "/connections/oauth/callback" in landed.text
    before = set(connection_ids(c))
    created = callback(c, params["code"], body={k: v for k, v in START.items() if k != "name"})
    assert created.status_code == 201
    item = created.json()
    assert item["name"] == "Marketing Drive" and item["created_by"]["id"] == ALICE.user_id
    assert item["provider_id"] == "gdrive" and item["connection_id"] not in before
    data = item["connection_provider_data"]
    assert data["access_token"].startswith("ya29.****") and data["refresh_token"].startswith("1//0g****")
    assert data["token_type"] == "Bearer" and data["can_be_knowledge_base"] is True
    assert item["connection_id"] in connection_ids(c)
    assert ok(c.get(f"/connections/{item['connection_id']}/health", headers=headers()))["status"] == "healthy"


def test_flow_redirects_to_the_clients_redirect_uri_with_its_state() -> None:
    c = fresh()
    body = {
        **START,
        "connection_provider_data": {
            "redirect_uri": "http://testserver/oauth/landing?from=app",
            "state": "xyz-123",
        },
    }
    url = start(c, body=body)
    response = c.get(url + "&decision=allow", follow_redirects=False)
    assert response.status_code == 302
    location = response.headers["location"]
    assert location.startswith("http://testserver/oauth/landing?from=app&code=")
    assert query_of(location)["state"] == "xyz-123"
    item = ok(callback(c, query_of(location)["code"], body=body), 201)
    assert (
        "redirect_uri" not in item["connection_provider_data"]
        and "state" not in item["connection_provider_data"]
    )


def test_external_redirect_uri_is_not_followed_by_the_mock() -> None:
    c = fresh()
    body = {**START, "connection_provider_data": {"redirect_uri": "http://localhost:3000/oauth/callback"}}
    page = c.get(start(c, body=body))
    form = {"request_id": request_id_of(page.text), "decision": "allow"}
    response = c.post("/oauth/consent", data=form, follow_redirects=False)
    assert response.status_code == 303
    assert response.headers["location"].startswith("http://localhost:3000/oauth/callback?code=")


def test_deny_redirects_with_access_denied_and_creates_nothing() -> None:
    c = fresh()
    before = set(connection_ids(c))
    landed = consent(c, start(c), "deny")
    params = query_of(str(landed.url))
    assert params["error"] == "access_denied" and "code" not in params and params["state"]
    assert "Access denied" in landed.text
    assert set(connection_ids(c)) == before
    assert state_of(c).oauth.codes == {}


def test_a_consent_request_is_answered_once() -> None:
    c = fresh()
    url = start(c)
    consent(c, url, "allow")
    page = c.get(url)
    assert page.status_code == 400 and "already answered" in page.text
    assert c.get(url + "&decision=allow").status_code == 400
    assert c.get("/oauth/consent", params={"request_id": "nope"}).status_code == 404
    assert c.post("/oauth/consent", data={"request_id": "nope", "decision": "allow"}).status_code == 404


def test_consent_requests_expire_on_the_mock_clock() -> None:
    c = fresh()
    url = start(c)
    assert c.post("/__mock/clock", json={"advance_seconds": CONSENT_TTL_SECONDS - 1}).status_code == 200
    assert c.get(url).status_code == 200
    assert c.post("/__mock/clock", json={"advance_seconds": 1}).status_code == 200
    assert state_of(c).oauth.pending == {}  # purged by the schedule, not only refused
    response = c.get(url + "&decision=allow")
    assert response.status_code == 404 and "Unknown authorization request" in response.text


def test_codes_work_once() -> None:
    c = fresh()
    code = code_from(c)
    ok(callback(c, code), 201)
    before = state_of(c).snapshot()
    response = callback(c, code)
    assert response.status_code == 404
    assert response.json() == {
        "detail": "OAuth code not found: this code was already used; start the OAuth flow again"
    }
    assert state_of(c).snapshot() == before


def test_unknown_code_is_404_and_missing_code_is_422() -> None:
    c = fresh()
    response = callback(c, "4/0Aforged")
    assert response.status_code == 404 and "never issued" in response.json()["detail"]
    response = c.post("/connections/oauth/callback", headers=headers(), json=START)
    assert response.status_code == 422 and detail_locs(response) == [["query", "code"]]


def test_codes_expire_after_ten_minutes_on_the_mock_clock() -> None:
    c = fresh()
    code = code_from(c)
    c.post("/__mock/clock", json={"advance_seconds": CODE_TTL_SECONDS - 0.001})
    assert code in state_of(c).oauth.codes
    c.post("/__mock/clock", json={"advance_seconds": 0.001})
    assert code not in state_of(c).oauth.codes  # purged when due
    before = state_of(c).snapshot()
    response = callback(c, code)
    assert response.status_code == 404 and "has expired" in response.json()["detail"]
    assert state_of(c).snapshot() == before


def test_code_is_bound_to_its_user_and_connection_type() -> None:
    c = fresh()
    code = code_from(c, "alice")
    before = state_of(c).snapshot()
    # Another user's code looks like one never issued: codes do not leak across users or organizations.
    response = callback(c, code, user="bob")
    assert response.status_code == 404 and "never issued" in response.json()["detail"]
    response = callback(c, code, user="carol")
    assert response.status_code == 404 and "never issued" in response.json()["detail"]
    notion = {**START, "provider_id": "notion", "connection_type_id": "notion"}
    response = callback(c, code, body=notion)
    assert response.status_code == 409
    assert response.json() == {
        "detail": "OAuth code conflict: this code was issued for connection type 'gdrive', not 'notion'"
    }
    assert state_of(c).snapshot() == before
    ok(callback(c, code), 201)


def test_callback_validates_the_body_first() -> None:
    c = fresh()
    code = code_from(c)
    response = callback(c, code, body={**START, "provider_id": "myspace"})
    assert response.status_code == 422 and detail_locs(response) == [["body", "provider_id"]]
    ok(callback(c, code), 201)


@pytest.mark.parametrize(
    ("body", "loc"),
    [
        ({**START, "provider_id": "nope"}, ["body", "provider_id"]),
        ({**CONFLUENCE}, ["body", "connection_type_id"]),
        (
            {**START, "connection_provider_data": {"redirect_uri": "/relative"}},
            ["body", "connection_provider_data", "redirect_uri"],
        ),
        ({**START, "connection_provider_data": {"state": 5}}, ["body", "connection_provider_data", "state"]),
    ],
)
def test_start_rejects_bad_requests(body: dict[str, Any], loc: list[str]) -> None:
    c = fresh()
    before = state_of(c).snapshot()
    response = c.post("/connections/oauth/start", headers=headers(), json=body)
    assert response.status_code == 422 and loc in detail_locs(response)
    assert state_of(c).snapshot() == before


def test_reauthorize_an_existing_connection() -> None:
    c = fresh()
    item = create(c, "alice")
    cid = item["connection_id"]
    stored = state_of(c).organizations[ACME].connections[cid]
    old_tokens = dict(stored.provider_data)
    code = code_from(c)
    body = {k: v for k, v in START.items() if k != "name"}
    updated = ok(
        c.put(f"/connections/oauth/callback/{cid}", params={"code": code}, headers=headers(), json=body)
    )
    assert updated["connection_id"] == cid and updated["name"] == item["name"]
    assert updated["updated_at"] > item["updated_at"] and updated["created_at"] == item["created_at"]
    assert stored.provider_data["access_token"] != old_tokens["access_token"]
    assert stored.provider_data["refresh_token"] != old_tokens["refresh_token"]
    assert (
        updated["connection_provider_data"]["access_token"]
        != item["connection_provider_data"]["access_token"]
    )
    response = c.put(
        f"/connections/oauth/callback/{cid}", params={"code": code}, headers=headers(), json=body
    )
    assert response.status_code == 404 and "already used" in response.json()["detail"]


def test_reauthorize_heals_a_revoked_connection_and_checks_provider_and_role() -> None:
    c = fresh(connections=60)
    state = state_of(c)
    revoked = next(conn for conn in state.organizations[ACME].connections.values() if conn.health_issue)
    cid = revoked.connection_id
    assert ok(c.get(f"/connections/{cid}/health", headers=headers()))["status"] == "unhealthy"
    other = "notion" if revoked.provider_id != "notion" else "gdrive"
    wrong = {**START, "provider_id": other, "connection_type_id": other}
    response = c.put(
        f"/connections/oauth/callback/{cid}", params={"code": "x"}, headers=headers(), json=wrong
    )
    assert response.status_code == 409
    assert response.json() == {
        "detail": f"The connection's provider is '{revoked.provider_id}'; re-authorize it with that provider"
    }
    body = {**START, "provider_id": revoked.provider_id, "connection_type_id": revoked.connection_type_id}
    code = code_from(c, body=body)
    ok(
        c.put(
            f"/connections/oauth/callback/{cid}",
            params={"code": code},
            headers=headers(),
            json={**body, "name": "Fixed"},
        )
    )
    assert ok(c.get(f"/connections/{cid}/health", headers=headers()))["status"] == "healthy"
    viewer = find_by_role(c, "bob", "viewer")
    bob_code = code_from(c, "bob")
    response = c.put(
        f"/connections/oauth/callback/{viewer}", params={"code": bob_code}, headers=headers("bob"), json=START
    )
    assert response.status_code == 403


def test_flow_under_the_all_apis_prefix() -> None:
    from conftest import make_client

    c = make_client()
    url = start(c, prefix="/stack-ai")
    assert urlsplit(url).path == "/stack-ai/oauth/consent"
    landed = consent(c, url, "allow")
    assert urlsplit(str(landed.url)).path == "/stack-ai/oauth/landing"
    assert "http://testserver/stack-ai/connections/oauth/callback" in landed.text
    code = query_of(str(landed.url))["code"]
    response = c.post(
        "/stack-ai/connections/oauth/callback", params={"code": code}, headers=headers(), json=START
    )
    assert response.status_code == 201 and response.json()["created_by"]["id"] == ALICE.user_id


def test_pages_escape_what_users_typed() -> None:
    c = fresh()
    page = c.get(start(c, body={**START, "name": "<script>alert(1)</script>"}))
    assert "<script>alert" not in page.text and "&lt;script&gt;" in page.text
    landing = c.get("/oauth/landing", params={"error": "<b>x</b>", "state": "<i>"})
    assert "<b>x</b>" not in landing.text and landing.status_code == 200
    assert c.get("/oauth/landing", params={"code": "unknown"}).status_code == 400


def test_bob_can_connect_his_own_drive() -> None:
    c = fresh()
    item = ok(callback(c, code_from(c, "bob"), user="bob"), 201)
    assert item["created_by"]["id"] == BOB.user_id
    assert item["connection_id"] in connection_ids(c, "bob")


def test_a_flow_started_in_a_session_completes_in_that_session() -> None:
    """A browser sends no X-Mock-Session: the consent URL, its form and the landing page carry `session=`."""
    c = fresh()
    service = c.app.state.services["stack-ai"]
    service.reset(session="s1")
    in_s1 = {**headers(), "X-Mock-Session": "s1"}
    url = ok(c.post("/connections/oauth/start", headers=in_s1, json=START))
    query = query_of(url)
    assert query["session"] == "s1" and query_of(query["redirect_uri"]) == {"session": "s1"}
    assert state_of(c).oauth.pending == {} and len(service.state_for("s1").oauth.pending) == 1
    page = c.get(url)
    assert page.status_code == 200 and 'name="session" value="s1"' in page.text
    landed = consent(c, url, "allow")
    assert landed.status_code == 200 and urlsplit(str(landed.url)).path == "/oauth/landing"
    code = query_of(str(landed.url))["code"]
    assert "X-Mock-Session: s1" in landed.text and code in landed.text
    assert callback(c, code).status_code == 404  # the default state never issued it
    created = c.post("/connections/oauth/callback", params={"code": code}, headers=in_s1, json=START)
    assert created.status_code == 201
    connection_id = created.json()["connection_id"]
    assert connection_id not in connection_ids(c)
    listed = c.get("/connections", headers=in_s1).json()
    assert connection_id in {item["connection_id"] for item in listed}
    # The GET shortcut of the page, without a browser, answers in the session too.
    url = ok(c.post("/connections/oauth/start", headers=in_s1, json=START))
    assert c.get(url + "&decision=allow", follow_redirects=False).status_code == 302


def test_pending_requests_and_codes_are_capped_oldest_first(monkeypatch: pytest.MonkeyPatch) -> None:
    """On a frozen clock nothing expires: the caps bound them, and the scheduled expiries go with them."""
    from mockserver.apis.stack_ai import _oauth

    monkeypatch.setattr(_oauth, "MAX_PENDING_AUTHORIZATIONS", 3)
    monkeypatch.setattr(_oauth, "MAX_AUTHORIZATION_CODES", 2)
    c = fresh()
    timeline = state_of(c).clock.timeline
    urls = [start(c) for _ in range(5)]
    pending = state_of(c).oauth.pending
    assert list(pending) == [query_of(url)["request_id"] for url in urls[2:]]
    assert timeline.pending == 3
    response = c.get(urls[0])
    assert response.status_code == 404 and "Unknown authorization request" in response.text
    codes = [query_of(str(consent(c, url, "allow").url))["code"] for url in urls[2:]]
    assert list(state_of(c).oauth.codes) == codes[1:]
    assert timeline.pending == 3 + 2
    assert callback(c, codes[0]).status_code == 404
    assert callback(c, codes[2]).status_code == 201


def test_the_connection_bound_is_409_on_both_ways_in_and_spends_no_code() -> None:
    seeded = len(state_of(fresh()).organizations[ACME].connections)
    with client(max_connections=seeded + 1) as c:
        code = code_from(c)
        last = ok(c.post("/connections", headers=headers(), json=START), 201)  # the last room
        before = state_of(c).snapshot()
        for refused in (c.post("/connections", headers=headers(), json=START), callback(c, code)):
            assert refused.status_code == 409
            bound = state_of(c).max_connections
            assert refused.json() == {"detail": f"An organization holds at most {bound} connections"}
        assert state_of(c).snapshot() == before  # the code is still unused
        assert c.delete(f"/connections/{last['connection_id']}", headers=headers()).status_code == 204
        ok(callback(c, code), 201)  # room again: the same code works


@pytest.mark.parametrize("seeded", [0, 25, 300])
def test_the_default_bound_is_the_seeded_connections_plus_10000(seeded: int) -> None:
    with client(connections=seeded) as c:
        assert state_of(c).max_connections == seeded + 10_000


@pytest.mark.parametrize("value", [0, -1, "5", True])
def test_max_connections_must_be_a_positive_whole_number(value: object) -> None:
    with pytest.raises(ValueError, match="max_connections"):
        client(max_connections=value)


def test_max_connections_on_the_command_line() -> None:
    import argparse

    from mockserver.apis.stack_ai import API

    parser = argparse.ArgumentParser()
    API.add_arguments(parser.add_argument_group("stack-ai"))
    args = parser.parse_args(["--connections", "3", "--max-connections", "5"])
    with client(**vars(args)) as c:
        assert state_of(c).max_connections == 5
        assert len(state_of(c).organizations[ACME].connections) == 3
    for bad in (["--max-connections", "0"], ["--max-connections", "many"]):
        with pytest.raises(SystemExit):
            parser.parse_args(bad)
