"""Export and import of the Stack AI state: `/__mock/state`, `--state-file`, sessions, bad snapshots."""

from __future__ import annotations

import contextlib
import copy
import json
from collections.abc import Callable
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import pytest
from conftest import make_client
from hypothesis import given
from hypothesis import strategies as st
from stack_support import ACME, BOB, CONFLUENCE, DAVE, GDRIVE, GLOBEX, headers, ok, query_of
from starlette.testclient import TestClient

from mockserver import MockConfig, create_app
from mockserver.apis.stack_ai import API
from mockserver.apis.stack_ai._state import StackAiState

P = "/stack-ai"  # every API is served: Stack AI under its prefix
USERS = ("alice", "bob", "carol", "dave")
START = {
    "name": "Flow",
    "provider_id": "gdrive",
    "connection_type_id": "gdrive",
    "connection_provider_data": {},
}


def stack_state(client: TestClient) -> StackAiState:
    state = client.app.state.services["stack-ai"].state
    assert isinstance(state, StackAiState)
    return state


def exported(client: TestClient, session: str | None = None) -> dict[str, Any]:
    extra = {"X-Mock-Session": session} if session else {}
    result: dict[str, Any] = ok(client.get("/__mock/state", headers=extra))
    return result


def without_ages(snapshot: dict[str, Any]) -> dict[str, Any]:
    """The snapshot without the OAuth ages (real elapsed time)."""
    oauth = snapshot["apis"]["stack-ai"]["oauth"]
    for item in (*oauth["pending"], *oauth["codes"]):
        assert item.pop("age_seconds") < 60
    return snapshot


def oauth_code(client: TestClient, user: str = "alice", prefix: str = P) -> str:
    """Starts an OAuth flow and allows it (GET with `decision=allow`); the code from the redirect."""
    url: str = ok(client.post(f"{prefix}/connections/oauth/start", headers=headers(user), json=START))
    parts = urlsplit(url)
    allowed = client.get(f"{parts.path}?{parts.query}&decision=allow", follow_redirects=False)
    assert allowed.status_code == 302, allowed.text
    return query_of(allowed.headers["location"])["code"]


def change_everything(client: TestClient) -> dict[str, str]:
    """Creates, edits, deletes, shares, refreshes and flips; leaves an OAuth code and a consent pending."""
    ids = [c["connection_id"] for c in ok(client.get(f"{P}/connections", headers=headers()))]
    drive = ok(client.post(f"{P}/connections", headers=headers(), json=GDRIVE), 201)["connection_id"]
    wiki = ok(client.post(f"{P}/connections", headers=headers("bob"), json=CONFLUENCE), 201)["connection_id"]
    ok(client.patch(f"{P}/connections/{drive}", headers=headers(), json={"name": "Renamed drive"}))
    replaced = {**CONFLUENCE, "name": "Wiki 2"}
    replaced["connection_provider_data"] = {
        **CONFLUENCE["connection_provider_data"],
        "api_token": "new-token-0123456789",
    }
    ok(client.put(f"{P}/connections/{wiki}", headers=headers("bob"), json=replaced))
    assert client.delete(f"{P}/connections/{ids[5]}", headers=headers()).status_code == 204
    rbac = f"{P}/api/v1/connections/{drive}/rbac"
    ok(
        client.put(
            rbac,
            headers=headers(),
            json={"role": "editor", "subject_type": "user", "subject_id": BOB.user_id},
        )
    )
    group = stack_state(client).organizations[ACME].groups
    group_id = next(iter(group))
    ok(
        client.put(
            rbac, headers=headers(), json={"role": "viewer", "subject_type": "group", "subject_id": group_id}
        )
    )
    params = {"subject_type": "user", "subject_id": BOB.user_id}  # bob is admin of the 4th seeded one
    assert (
        client.delete(f"{P}/api/v1/connections/{ids[3]}/rbac", headers=headers(), params=params).status_code
        == 204
    )
    ok(
        client.patch(
            f"{P}/api/v1/connections/{ids[2]}/organization-role", headers=headers(), json={"role": "admin"}
        )
    )
    ok(client.get(f"{P}/connections/{ids[0]}", headers=headers(), params={"refresh_oauth_tokens": "true"}))
    ok(
        client.post(
            f"{P}/__mock/connections/{ids[1]}/health", json={"status": "unhealthy", "message": "revoked"}
        )
    )
    ok(client.post(f"{P}/__mock/connections/{wiki}/health", json={"status": "healthy"}))
    code = oauth_code(client)
    used = oauth_code(client, "carol")
    ok(
        client.post(
            f"{P}/connections/oauth/callback", params={"code": used}, headers=headers("carol"), json=START
        ),
        201,
    )
    ok(client.post(f"{P}/connections/oauth/start", headers=headers("dave"), json=START))  # left pending
    return {"drive": drive, "wiki": wiki, "code": code, "first": ids[0], "flipped": ids[1]}


def readings(client: TestClient, ids: dict[str, str]) -> list[tuple[str, int, bytes]]:
    """Raw bytes of many reads, by every user: lists, pages, connections, RBAC, health and resources."""
    seen: list[tuple[str, int, bytes]] = []

    def get(path: str, user: str, **params: Any) -> Any:
        response = client.get(P + path, headers=headers(user), params=params)
        seen.append((f"{user} {path} {params}", response.status_code, response.content))
        return response.json()

    for user in USERS:
        listed = get("/connections", user)
        get("/api/v1/connections", user, sort_by="name", sort_dir="desc", limit=7, offset=3)
        get("/api/v1/connections", user, sort_by="updated_at", limit=50, provider_id__eq="gdrive")
        for item in listed:
            cid = item["connection_id"]
            get(f"/connections/{cid}", user)
            get(f"/api/v1/connections/{cid}/rbac", user)
            get(f"/connections/{cid}/health", user)
    for cid in (ids["drive"], ids["first"], ids["flipped"]):
        page = get(f"/connections/{cid}/resources/children", "alice", page_size=3)
        folder = page["data"][0]["resource_id"]
        get(f"/connections/{cid}/resources/children", "alice", page_size=3, cursor=page["next_cursor"])
        get(f"/connections/{cid}/resources/children", "alice", resource_id=folder, page_size=50)
        get(f"/connections/{cid}/resources", "alice", resource_ids=[folder])
        get(f"/connections/{cid}/resources/search", "alice", query="a", page_size=5)
    return seen


def next_writes(client: TestClient, ids: dict[str, str]) -> list[tuple[int, bytes]]:
    """Raw bytes of the writes that come next: they use the clock, counters and the stored OAuth code."""
    answers = [
        client.post(f"{P}/connections", headers=headers("dave"), json=GDRIVE),
        client.patch(f"{P}/connections/{ids['drive']}", headers=headers("bob"), json={"name": "Bob's"}),
        client.get(
            f"{P}/connections/{ids['drive']}", headers=headers(), params={"refresh_oauth_tokens": "true"}
        ),
        client.post(
            f"{P}/connections/oauth/callback", params={"code": ids["code"]}, headers=headers(), json=START
        ),
        client.post(f"{P}/connections/oauth/start", headers=headers("bob"), json=START),
        client.get(f"{P}/connections/{ids['drive']}/health", headers=headers()),
    ]
    return [(response.status_code, response.content) for response in answers]


# ---------------------------------------------------------------- round trips


def test_round_trip_gives_identical_responses_now_and_after_the_next_writes() -> None:
    original = make_client(connections=8)
    ids = change_everything(original)
    snapshot = exported(original)
    # as a state file would hold it: key order sorted, through text
    snapshot = json.loads(json.dumps(snapshot, sort_keys=True))
    restored = make_client(connections=8)
    assert restored.put("/__mock/state", json=snapshot).json()["apis"] == ["hookstream", "stack-ai"]
    assert readings(restored, ids) == readings(original, ids)
    assert next_writes(restored, ids) == next_writes(original, ids)
    assert without_ages(exported(restored)) == without_ages(exported(original))


def test_snapshot_is_plain_versioned_json_with_credentials_in_clear() -> None:
    client = make_client("stack-ai", connections=2)
    created = ok(client.post("/connections", headers=headers(), json=GDRIVE), 201)
    assert "****" in created["connection_provider_data"]["access_token"]  # masked in responses
    part = exported(client)["apis"]["stack-ai"]
    assert part["version"] == 1 and part["seed"] == 0 and part["created"] == 1
    assert json.loads(json.dumps(part)) == part
    acme = next(org for org in part["organizations"] if org["org_id"] == ACME)
    stored = next(c for c in acme["connections"] if c["connection_id"] == created["connection_id"])
    assert json.loads(stored["provider_data"]) == GDRIVE["connection_provider_data"]  # in clear


def test_import_builds_a_new_state_and_leaves_the_current_one_alone() -> None:
    client = make_client("stack-ai", connections=3)
    state = stack_state(client)
    before = state.snapshot()
    restored = API.import_state(API.export_state(state), seed=0, options={})
    assert restored is not state and restored.organizations is not state.organizations
    assert restored.snapshot()["organizations"] == before["organizations"]
    assert restored.snapshot()["clock"] == before["clock"]
    assert state.snapshot() == before


def test_restart_with_a_state_file(tmp_path: Path) -> None:
    path = tmp_path / "state.json"
    config = MockConfig(api="stack-ai", state_file=path, api_options={"connections": 4})
    with TestClient(create_app(config)) as client:
        created = ok(client.post("/connections", headers=headers("bob"), json=GDRIVE), 201)
        flow: str = ok(client.post("/connections/oauth/start", headers=headers(), json=START))
        listed = client.get("/connections", headers=headers("bob")).content
        saved = ok(client.post("/__mock/state/save"))
        assert saved["path"] == str(path) and saved["bytes"] == path.stat().st_size
        ok(
            client.patch(
                f"/connections/{created['connection_id']}", headers=headers("bob"), json={"name": "Later"}
            )
        )
        listed = client.get("/connections", headers=headers("bob")).content
    # leaving the `with` block ran the shutdown, which saved the state atomically
    assert [p.name for p in tmp_path.iterdir()] == ["state.json"]
    document = json.loads(path.read_text(encoding="utf-8"))
    assert document["format"] == "mockserver-state/1"
    assert GDRIVE["connection_provider_data"]["access_token"] in path.read_text(encoding="utf-8")
    with TestClient(create_app(config)) as again:
        assert again.get("/connections", headers=headers("bob")).content == listed
        page = again.get(urlsplit(flow).path + "?" + urlsplit(flow).query)
        assert page.status_code == 200 and "Connect Google Drive" in page.text  # pending consent kept
        renamed = ok(again.get(f"/connections/{created['connection_id']}", headers=headers("bob")))
        assert renamed["name"] == "Later"


def test_a_state_file_from_another_seed_is_refused_at_startup(tmp_path: Path) -> None:
    path = tmp_path / "state.json"
    with TestClient(create_app(MockConfig(api="stack-ai", seed=3, state_file=path))):
        pass
    with pytest.raises(ValueError, match="exported with seed 3 but this server runs with seed 0"):
        create_app(MockConfig(api="stack-ai", seed=0, state_file=path))


def test_state_per_session() -> None:
    client = make_client("stack-ai", connections=3)
    in_session = {**headers(), "X-Mock-Session": "job-1"}
    ok(client.post("/connections", headers=in_session, json=GDRIVE), 201)
    default, session = exported(client), exported(client, "job-1")
    assert default["apis"]["stack-ai"]["created"] == 0 and session["apis"]["stack-ai"]["created"] == 1
    # the session's state into another session, then into the default one
    assert (
        ok(client.put("/__mock/state", json=session, headers={"X-Mock-Session": "job-2"}))["session"]
        == "job-2"
    )
    assert exported(client, "job-2") == session
    assert exported(client) == default
    listed = client.get("/connections", headers=in_session).content
    ok(client.put("/__mock/state", json=session))
    assert client.get("/connections", headers=headers()).content == listed
    ok(client.put("/__mock/state", json=default, headers={"X-Mock-Session": "job-1"}))
    assert exported(client, "job-1") == default


# ---------------------------------------------------------------- bad snapshots


def _org(s: dict[str, Any], org_id: str = ACME) -> dict[str, Any]:
    found: dict[str, Any] = next(o for o in s["organizations"] if o["org_id"] == org_id)
    return found


def _first(s: dict[str, Any]) -> dict[str, Any]:
    connection: dict[str, Any] = _org(s)["connections"][0]
    return connection


DAMAGES: list[tuple[Callable[[dict[str, Any]], Any], str]] = [
    (lambda s: s.update(version=2), "version must be 1"),
    (lambda s: s.update(seed=7), "exported with seed 7 but this server runs with seed 0"),
    (lambda s: s.pop("clock"), "missing key(s) clock"),
    (lambda s: s.update(extra=1), "unknown key(s) extra"),
    (lambda s: s["clock"].update(now="yesterday"), "clock.now must be an ISO 8601 time"),
    (
        lambda s: s["clock"].update(now="2025-12-01T09:00:00"),
        "clock.now must be an ISO 8601 time with an offset",
    ),
    (lambda s: s["clock"].update(draws=-1), "clock.draws must be an integer from 0"),
    (lambda s: s.update(created=True), "created must be an integer"),
    (lambda s: s["organizations"].pop(), "organizations: missing Globex Labs"),
    (lambda s: s["organizations"].append(s["organizations"][0]), "appears twice"),
    (lambda s: _org(s).update(org_id="00000000-0000-4000-8000-000000000000"), "is not a mock organization"),
    (lambda s: _org(s).update(name="Acme"), "name must be 'Acme Research'"),
    (lambda s: _org(s)["members"].pop(0), "the mock user(s) alice must be members"),
    (lambda s: _org(s)["members"][0].update(email="eve@acme.test"), "is mock user alice"),
    (
        lambda s: _org(s)["members"][2].update(user_id="NOT-A-UUID"),
        "members[2].user_id must be a lowercase UUID",
    ),
    (lambda s: _org(s)["members"][2].update(has_completed_onboarding="yes"), "must be true or false"),
    (lambda s: _org(s)["groups"][0]["members"].append(DAVE.user_id), "is not a member of Acme Research"),
    (lambda s: _first(s).update(connection_id=_org(s)["connections"][1]["connection_id"]), "appears twice"),
    (lambda s: _first(s).update(connection_id=_first(s)["connection_id"].upper()), "lowercase UUID"),
    (lambda s: _first(s).update(provider_id="nope"), "provider_id must be"),
    (lambda s: _first(s).update(connection_type_id="ftp"), "connection_type_id must be one of"),
    (lambda s: _first(s).update(provider_data="{not json"), "provider_data must be JSON text of an object"),
    (lambda s: _first(s).update(provider_data="[1, 2]"), "not of a list"),
    (lambda s: _first(s).update(provider_data={"access_token": "x"}), "provider_data must be a string"),
    (lambda s: _first(s).update(created_by=DAVE.user_id), "created_by: " + DAVE.user_id + " is not a member"),
    (
        lambda s: _first(s).update(org_level_role="owner"),
        "org_level_role must be one of admin, editor, viewer",
    ),
    (
        lambda s: _first(s)["user_roles"].update(owner=[BOB.user_id]),
        "role must be one of admin, editor, viewer",
    ),
    (lambda s: _first(s)["user_roles"].update(viewer=[DAVE.user_id]), "is not a member of Acme Research"),
    (lambda s: _first(s)["user_roles"].update(viewer=[]), "user_roles.viewer must not be empty"),
    (
        lambda s: _first(s)["user_roles"].update(viewer=list(_first(s)["user_roles"]["admin"])),
        "already holds the role admin",
    ),
    (lambda s: _first(s)["group_roles"].update(editor=[BOB.user_id]), "is not a group of Acme Research"),
    (lambda s: _first(s).update(tree="huge"), "tree must be one of small, medium, large"),
    (lambda s: _first(s).update(refreshes=1.5), "refreshes must be an integer"),
    (lambda s: _first(s).update(health_issue=""), "health_issue must not be empty"),
    (lambda s: _first(s).update(health_issue="down", health_forced=True), "health_forced must be false"),
    (
        lambda s: s["oauth"]["pending"][0].update(user_id=_org(s)["members"][3]["user_id"]),
        "is not a mock user",
    ),
    (lambda s: s["oauth"]["pending"][0].update(org_id=GLOBEX), "org_id must be " + ACME),
    (lambda s: s["oauth"]["pending"][0].update(connection_type_id="confluence"), "does not use OAuth"),
    (lambda s: s["oauth"]["pending"][0].update(age_seconds=-1), "age_seconds must be a number of seconds"),
    (lambda s: s["oauth"]["codes"][0].update(request_id="gone"), "no pending request 'gone'"),
    (lambda s: s["oauth"]["pending"][0].update(answered=False), "of an answered request"),
]


@pytest.fixture(scope="module")
def damaged_base() -> tuple[TestClient, dict[str, Any]]:
    client = make_client("stack-ai", connections=3)
    oauth_code(client, prefix="")
    return client, exported(client)


@pytest.mark.parametrize(("damage", "message"), DAMAGES, ids=[m for _, m in DAMAGES])
def test_a_bad_snapshot_is_refused_and_changes_nothing(
    damaged_base: tuple[TestClient, dict[str, Any]], damage: Callable[[dict[str, Any]], Any], message: str
) -> None:
    client, good = damaged_base
    bad = copy.deepcopy(good)
    damage(bad["apis"]["stack-ai"])
    response = client.put("/__mock/state", json=bad)
    assert response.status_code == 422, response.text
    detail = response.json()["detail"]
    assert detail.startswith("The snapshot was refused and nothing changed: stack-ai: ") and message in detail
    assert without_ages(exported(client)) == without_ages(copy.deepcopy(good))


def _paths(value: Any, prefix: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
    found = [prefix]
    if isinstance(value, dict):
        for key, item in value.items():
            found += _paths(item, (*prefix, key))
    elif isinstance(value, list):
        for index, item in enumerate(value):
            found += _paths(item, (*prefix, index))
    return found


def _kind(value: Any) -> str:
    return "null" if value is None else type(value).__name__


_JSON = st.recursive(
    st.none()
    | st.booleans()
    | st.integers(-3, 3)
    | st.floats(allow_nan=False, allow_infinity=False)
    | st.text(max_size=8),
    lambda inner: st.lists(inner, max_size=2) | st.dictionaries(st.text(max_size=4), inner, max_size=2),
    max_leaves=4,
)


@pytest.fixture(scope="module")
def small() -> tuple[TestClient, dict[str, Any], list[tuple[Any, ...]]]:
    client = make_client("stack-ai", connections=2)
    oauth_code(client, prefix="")
    snapshot = exported(client)
    return client, snapshot, _paths(snapshot["apis"]["stack-ai"])[1:]


@given(data=st.data())
def test_random_damage_is_refused_or_imported_cleanly(
    small: tuple[TestClient, dict[str, Any], list[tuple[Any, ...]]], data: st.DataObject
) -> None:
    """Any edit gives 200 or a 422 that changed nothing; type changes, dropped and added keys are refused."""
    client, good, paths = small
    path = data.draw(st.sampled_from(paths), label="path")
    action = data.draw(st.sampled_from(["replace", "delete", "add"]), label="action")
    bad = copy.deepcopy(good)
    parent = bad["apis"]["stack-ai"]
    for step in path[:-1]:
        parent = parent[step]
    old = parent[path[-1]]
    must_fail = True
    if action == "replace" or isinstance(parent, list):
        new = data.draw(_JSON, label="new")
        parent[path[-1]] = new
        # a new type is refused, but for null (nullable fields) and an int for a float
        must_fail = (
            None not in (old, new)
            and _kind(new) != _kind(old)
            and (_kind(old), _kind(new)) != ("float", "int")
        )
    elif action == "delete":
        del parent[path[-1]]
        must_fail = len(path) < 2 or path[-2] not in ("user_roles", "group_roles")  # roles are optional
    else:
        parent[f"{path[-1]}_extra"] = old
    with contextlib.suppress(ValueError):  # only ValueError, never a crash
        API.import_state(bad["apis"]["stack-ai"], seed=0, options={})
    response = client.put("/__mock/state", json=bad)
    assert response.status_code in (200, 422), response.text
    if response.status_code == 422:
        assert without_ages(exported(client)) == without_ages(copy.deepcopy(good))
    else:
        assert not must_fail, f"{path} {action} was accepted"
        ok(client.put("/__mock/state", json=good))


def _not_json(name: str) -> Any:
    raise ValueError(f"{name} is not JSON")


@given(text=st.text(max_size=30) | st.just('{"a": NaN}') | st.just("[" * 5000))
def test_provider_data_text_is_checked(
    small: tuple[TestClient, dict[str, Any], list[tuple[Any, ...]]], text: str
) -> None:
    _, good, _ = small
    part = copy.deepcopy(good["apis"]["stack-ai"])
    part["organizations"][0]["connections"][0]["provider_data"] = text
    try:
        data = json.loads(text, parse_constant=_not_json)
    except (ValueError, RecursionError):
        data = None
    if isinstance(data, dict):
        API.import_state(part, seed=0, options={})
    else:
        with pytest.raises(ValueError, match="provider_data must be JSON text of an object"):
            API.import_state(part, seed=0, options={})
