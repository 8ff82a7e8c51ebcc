"""Determinism (same seed, same bytes), refused requests that change nothing, and the CLI option."""

from __future__ import annotations

import argparse
from collections.abc import Callable
from datetime import timedelta
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st
from stack_support import (
    BOB,
    CAROL,
    CONFLUENCE,
    GDRIVE,
    client,
    connection_ids,
    find_by_role,
    fresh,
    headers,
    query_of,
    state_of,
)

from mockserver.apis.stack_ai import StackAiApi
from mockserver.apis.stack_ai._rand import digest, digests, stable_uuid, uuid_text
from mockserver.apis.stack_ai._state import EPOCH, iso, iso_millis, postgres


def scripted_session(c: Any) -> list[bytes]:
    """A frontend's session: lists, creates, edits, OAuth, browsing; every response body in order."""
    out: list[bytes] = []

    def keep(response: Any) -> Any:
        out.append(response.status_code.to_bytes(2, "big") + response.content)
        return response

    h = headers()
    keep(c.get("/connections/available"))
    keep(c.get("/connections", headers=h))
    keep(c.get("/connections", headers=headers("bob")))
    keep(c.get("/api/v1/connections", params={"sort_by": "name", "name__icontains": "drive"}, headers=h))
    created = keep(c.post("/connections", headers=h, json=GDRIVE)).json()
    cid = created["connection_id"]
    keep(c.patch(f"/connections/{cid}", headers=h, json={"name": "Renamed"}))
    keep(c.put(f"/connections/{cid}", headers=h, json=CONFLUENCE))
    keep(c.get(f"/connections/{cid}", params={"refresh_oauth_tokens": "true"}, headers=h))
    first = connection_ids(c)[0]
    keep(c.get(f"/connections/{first}", params={"refresh_oauth_tokens": "true"}, headers=h))
    page = keep(c.get(f"/connections/{first}/resources/children", params={"page_size": 3}, headers=h)).json()
    keep(c.get(f"/connections/{first}/resources/children", params={"cursor": page["next_cursor"]}, headers=h))
    found = keep(
        c.get(f"/connections/{first}/resources/search", params={"query": "re", "page_size": 4}, headers=h)
    ).json()
    keep(
        c.get(
            f"/connections/{first}/resources/search",
            params={"query": "re", "cursor": found["next_cursor"]},
            headers=h,
        )
    )
    keep(
        c.get(
            f"/connections/{first}/resources",
            params={"resource_ids": [page["data"][0]["resource_id"]]},
            headers=h,
        )
    )
    keep(c.get(f"/connections/{first}/health", headers=h))
    keep(
        c.put(
            f"/api/v1/connections/{cid}/rbac",
            headers=h,
            json={"subject_type": "user", "role": "viewer", "subject_id": BOB.user_id},
        )
    )
    keep(c.get(f"/api/v1/connections/{cid}/rbac", headers=headers("bob")))
    url = keep(
        c.post("/connections/oauth/start", headers=h, json={**GDRIVE, "connection_provider_data": {}})
    ).json()
    keep(c.get(url))
    redirect = keep(c.get(url + "&decision=allow", follow_redirects=False)).headers["location"]
    keep(c.get(redirect))
    keep(
        c.post(
            "/connections/oauth/callback", params={"code": query_of(redirect)["code"]}, headers=h, json=GDRIVE
        )
    )
    keep(c.delete(f"/connections/{cid}", headers=h))
    keep(c.get("/api/v1/connections", params={"limit": 100}, headers=h))
    keep(c.get("/connections", headers=headers("carol")))
    return out


def test_same_seed_gives_byte_identical_responses() -> None:
    first = scripted_session(client(seed=42))
    second = scripted_session(client(seed=42))
    assert first == second


def test_reset_replays_identically() -> None:
    assert scripted_session(fresh(seed=3)) == scripted_session(fresh(seed=3))


def test_other_seeds_give_other_data() -> None:
    one, two = client(seed=1), client(seed=2)
    assert (
        one.get("/connections", headers=headers()).content
        != two.get("/connections", headers=headers()).content
    )
    assert one.get("/connections/available").content == two.get("/connections/available").content


# ---------------------------------------------------------------- refused requests change nothing

Request = Callable[[Any], Any]


def _bad_requests() -> dict[str, Request]:
    def viewer(c: Any) -> str:
        return find_by_role(c, "bob", "viewer")

    def editor(c: Any) -> str:
        return find_by_role(c, "bob", "editor")

    def hidden(c: Any) -> str:
        return find_by_role(c, "bob", None)

    def any_id(c: Any) -> str:
        return connection_ids(c)[5]

    bob, alice = headers("bob"), headers("alice")
    return {
        "create unknown provider": lambda c: c.post(
            "/connections", headers=alice, json={**GDRIVE, "provider_id": "x"}
        ),
        "create missing params": lambda c: c.post(
            "/connections", headers=alice, json={**CONFLUENCE, "connection_provider_data": {}}
        ),
        "create malformed json": lambda c: c.post(
            "/connections", headers={**alice, "content-type": "application/json"}, content=b"{"
        ),
        "put by viewer": lambda c: c.put(f"/connections/{viewer(c)}", headers=bob, json=GDRIVE),
        "patch by viewer": lambda c: c.patch(f"/connections/{viewer(c)}", headers=bob, json={"name": "x"}),
        "patch hidden": lambda c: c.patch(f"/connections/{hidden(c)}", headers=bob, json={"name": "x"}),
        "delete by editor": lambda c: c.delete(f"/connections/{editor(c)}", headers=bob),
        "delete other org": lambda c: c.delete(f"/connections/{any_id(c)}", headers=headers("carol")),
        "put bad catalogue": lambda c: c.put(
            f"/connections/{any_id(c)}", headers=alice, json={**GDRIVE, "connection_type_id": "notion"}
        ),
        "refresh hidden": lambda c: c.get(
            f"/connections/{hidden(c)}", params={"refresh_oauth_tokens": True}, headers=bob
        ),
        "rbac bad role": lambda c: c.put(
            f"/api/v1/connections/{any_id(c)}/rbac",
            headers=alice,
            json={"subject_type": "user", "role": "owner", "subject_id": BOB.user_id},
        ),
        "rbac foreign subject": lambda c: c.put(
            f"/api/v1/connections/{any_id(c)}/rbac",
            headers=alice,
            json={"subject_type": "user", "role": "viewer", "subject_id": CAROL.user_id},
        ),
        "rbac by editor": lambda c: c.put(
            f"/api/v1/connections/{editor(c)}/rbac",
            headers=bob,
            json={"subject_type": "user", "role": "admin", "subject_id": BOB.user_id},
        ),
        "unshare without grant": lambda c: c.delete(
            f"/api/v1/connections/{any_id(c)}/rbac",
            params={"subject_type": "group", "subject_id": _group(c)},
            headers=alice,
        ),
        "org role invalid": lambda c: c.patch(
            f"/api/v1/connections/{any_id(c)}/organization-role", headers=alice, json={"role": "god"}
        ),
        "bad filter": lambda c: c.get(
            "/api/v1/connections", params={"created_at__gt": "soon"}, headers=alice
        ),
        "tampered cursor": lambda c: c.get(
            f"/connections/{any_id(c)}/resources/children",
            params={"cursor": "AAAA", "refresh_oauth_tokens": True},
            headers=alice,
        ),
        "unknown resource": lambda c: c.get(
            f"/connections/{any_id(c)}/resources/children",
            params={"resource_id": "1" + "Q" * 32, "refresh_oauth_tokens": True},
            headers=alice,
        ),
        "unknown code": lambda c: c.post(
            "/connections/oauth/callback", params={"code": "4/0Anope"}, headers=alice, json=GDRIVE
        ),
        "reauthorize unknown code": lambda c: c.put(
            f"/connections/oauth/callback/{any_id(c)}",
            params={"code": "nope"},
            headers=alice,
            json=_same_provider(c),
        ),
        "start credentials type": lambda c: c.post(
            "/connections/oauth/start", headers=alice, json=CONFLUENCE
        ),
        "no token": lambda c: c.post("/connections", json=GDRIVE),
    }


def _group(c: Any) -> str:
    connection = state_of(c).organizations[BOB.org_id].connections[connection_ids(c)[5]]
    groups = state_of(c).organizations[BOB.org_id].groups
    granted = {g for subjects in connection.group_roles.values() for g in subjects}
    return next(g for g in groups if g not in granted)


def _same_provider(c: Any) -> dict[str, Any]:
    connection = state_of(c).organizations[BOB.org_id].connections[connection_ids(c)[5]]
    return {
        **GDRIVE,
        "provider_id": connection.provider_id,
        "connection_type_id": connection.connection_type_id,
    }


BAD = _bad_requests()


@given(names=st.lists(st.sampled_from(sorted(BAD)), min_size=1, max_size=4), seed=st.integers(0, 3))
def test_refused_requests_leave_the_state_unchanged(names: list[str], seed: int) -> None:
    c = fresh(seed=seed)
    connection_ids(c)  # warm up nothing: reads never change the state
    before = state_of(c).snapshot()
    for name in names:
        response = BAD[name](c)
        assert 400 <= response.status_code < 500, (name, response.text)
        assert set(response.json()) == {"detail"}
    assert state_of(c).snapshot() == before


# ---------------------------------------------------------------- the --connections option


def test_connections_option_is_declared() -> None:
    parser = argparse.ArgumentParser()
    StackAiApi().add_arguments(parser.add_argument_group("Stack AI"))
    assert parser.parse_args([]).connections == 25
    assert parser.parse_args(["--connections", "7"]).connections == 7
    with pytest.raises(SystemExit):
        parser.parse_args(["--connections", "-1"])
    c = client(connections=7)
    assert len(connection_ids(c)) == 7


@given(st.integers(min_value=-62_135_596_800_000_000, max_value=253_402_300_799_999_999))
def test_timestamps_render_as_datetime_renders_them(micros: int) -> None:
    moment = EPOCH + timedelta(microseconds=micros)
    assert iso(micros) == moment.isoformat(timespec="microseconds")
    assert postgres(micros) == moment.isoformat(sep=" ", timespec="microseconds")
    assert iso_millis(micros) == moment.isoformat(timespec="milliseconds").replace("+00:00", "Z")


@given(st.lists(st.one_of(st.integers(), st.text(max_size=8), st.uuids()), max_size=4), st.integers())
def test_prefix_hashed_digests_equal_plain_digests(parts: list[Any], last: int) -> None:
    assert digests(*parts)(last) == digest(*parts, last)
    assert uuid_text(digest(*parts, last)) == stable_uuid(*parts, last)
