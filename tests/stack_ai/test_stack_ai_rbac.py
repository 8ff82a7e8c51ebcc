"""RBAC: reading and changing grants, the effective role, and its enforcement (inferred behaviour)."""

from __future__ import annotations

from typing import Any

import pytest
from stack_support import (
    ACME,
    ALICE,
    BOB,
    CAROL,
    GDRIVE,
    connection_ids,
    create,
    detail_locs,
    find_by_role,
    fresh,
    headers,
    ok,
    role_of,
    state_of,
)

from mockserver.apis.stack_ai._seed import GROUP_NAMES


def rbac_url(cid: str) -> str:
    return f"/api/v1/connections/{cid}/rbac"


def grant(
    c: Any, cid: str, subject_id: str, role: str, user: str = "alice", subject_type: str = "user"
) -> Any:
    return c.put(
        rbac_url(cid),
        headers=headers(user),
        json={"subject_type": subject_type, "role": role, "subject_id": subject_id},
    )


def group_id(c: Any, name: str, org: str = ACME) -> str:
    groups = state_of(c).organizations[org].groups
    return next(g.group_id for g in groups.values() if g.name == name)


def test_seeded_roles_give_bob_every_situation() -> None:
    c = fresh()
    roles = [role_of(c, "bob", cid) for cid in connection_ids(c, "alice")]
    assert roles[:4] == ["editor", "viewer", None, "admin"]
    assert {"admin", "editor", "viewer", None} <= set(roles)
    assert roles.count(None) < len(roles) // 2
    assert all(role_of(c, "alice", cid) == "admin" for cid in connection_ids(c, "alice"))
    assert [role_of(c, "dave", cid) for cid in connection_ids(c, "carol")][:4] == [
        "editor",
        "viewer",
        None,
        "admin",
    ]


def test_rbac_shape() -> None:
    c = fresh()
    for cid in connection_ids(c, "bob"):
        body = ok(c.get(rbac_url(cid), headers=headers("bob")))
        assert list(body) == ["org_level_role", "user_roles", "group_roles", "current_user_effective_role"]
        assert body["org_level_role"] in (None, "admin", "editor", "viewer")
        assert set(body["user_roles"]) <= {"admin", "editor", "viewer"} and body["user_roles"]["admin"]
        assert body["current_user_effective_role"] in ("admin", "editor", "viewer")


def test_put_upserts_a_user_grant_and_moves_it_between_roles() -> None:
    c = fresh()
    cid = find_by_role(c, "bob", None)
    assert c.get(f"/connections/{cid}", headers=headers("bob")).status_code == 404
    response = grant(c, cid, BOB.user_id, "viewer")
    assert response.status_code == 200 and response.json() is None
    assert role_of(c, "bob", cid) == "viewer"
    assert ok(c.get(f"/connections/{cid}", headers=headers("bob")))["connection_id"] == cid
    ok(grant(c, cid, BOB.user_id, "editor"))
    body = ok(c.get(rbac_url(cid), headers=headers("bob")))
    assert BOB.user_id in body["user_roles"]["editor"]
    assert BOB.user_id not in body["user_roles"].get("viewer", [])
    assert body["current_user_effective_role"] == "editor"
    before = state_of(c).snapshot()
    ok(grant(c, cid, BOB.user_id, "editor"))
    assert state_of(c).snapshot() == before


def test_group_grants_count_for_members() -> None:
    c = fresh()
    cid = find_by_role(c, "bob", None)
    ok(grant(c, cid, group_id(c, "Research"), "admin", subject_type="group"))
    assert role_of(c, "bob", cid) is None
    ok(grant(c, cid, group_id(c, "Engineering"), "editor", subject_type="group"))
    assert role_of(c, "bob", cid) == "editor"
    body = ok(c.get(rbac_url(cid), headers=headers("bob")))
    assert body["group_roles"] == {"admin": [group_id(c, "Research")], "editor": [group_id(c, "Engineering")]}
    response = c.delete(
        rbac_url(cid),
        params={"subject_type": "group", "subject_id": group_id(c, "Engineering")},
        headers=headers(),
    )
    assert response.status_code == 204 and response.content == b""
    assert role_of(c, "bob", cid) is None


def test_strongest_role_wins() -> None:
    c = fresh()
    cid = find_by_role(c, "bob", "viewer")
    ok(grant(c, cid, group_id(c, "Engineering"), "editor", subject_type="group"))
    assert role_of(c, "bob", cid) == "editor"
    ok(grant(c, cid, BOB.user_id, "viewer"))
    assert role_of(c, "bob", cid) == "editor"
    ok(grant(c, cid, BOB.user_id, "admin"))
    assert role_of(c, "bob", cid) == "admin"


def test_organization_role_sets_and_clears_access() -> None:
    c = fresh()
    cid = find_by_role(c, "bob", None)
    url = f"/api/v1/connections/{cid}/organization-role"
    response = c.patch(url, headers=headers(), json={"role": "viewer"})
    assert response.status_code == 200 and response.json() is None
    assert role_of(c, "bob", cid) == "viewer"
    assert cid in connection_ids(c, "bob")
    ok(c.patch(url, headers=headers(), json={"role": None}))
    assert role_of(c, "bob", cid) is None and cid not in connection_ids(c, "bob")
    response = c.patch(url, headers=headers(), json={"role": "owner"})
    assert response.status_code == 422
    assert (
        response.json()["detail"][0]["loc"] == ["body", "role"]
        and response.json()["detail"][0]["type"] == "enum"
    )
    assert c.patch(url, headers=headers(), json={}).status_code == 422


def test_delete_grant() -> None:
    c = fresh()
    cid = find_by_role(c, "bob", "admin")
    params = {"subject_type": "user", "subject_id": BOB.user_id}
    before = ok(c.get(rbac_url(cid), headers=headers()))
    assert c.delete(rbac_url(cid), params=params, headers=headers()).status_code == 204
    after = ok(c.get(rbac_url(cid), headers=headers()))
    assert all(BOB.user_id not in subjects for subjects in after["user_roles"].values())
    assert after["org_level_role"] == before["org_level_role"]
    response = c.delete(rbac_url(cid), params=params, headers=headers())
    assert response.status_code == 404 and "No role" in response.json()["detail"]


@pytest.mark.parametrize(
    ("body", "locs"),
    [
        ({"subject_type": "user", "role": "owner", "subject_id": BOB.user_id}, [["body", "role"]]),
        ({"subject_type": "robot", "role": "viewer", "subject_id": BOB.user_id}, [["body", "subject_type"]]),
        ({"subject_type": "user", "role": "viewer", "subject_id": "bob"}, [["body", "subject_id"]]),
        ({"subject_type": "user", "role": "owner", "subject_id": CAROL.user_id}, [["body", "role"]]),
        ({"role": "viewer", "subject_id": BOB.user_id}, [["body", "subject_type"]]),
    ],
)
def test_put_rejects_bad_input_exactly_and_changes_nothing(
    body: dict[str, Any], locs: list[list[str]]
) -> None:
    c = fresh()
    cid = connection_ids(c)[0]
    before = state_of(c).snapshot()
    response = c.put(rbac_url(cid), headers=headers(), json=body)
    assert response.status_code == 422, response.text
    assert detail_locs(response) == locs
    assert state_of(c).snapshot() == before


@pytest.mark.parametrize(
    ("params", "locs"),
    [
        ({"subject_type": "user"}, [["query", "subject_id"]]),
        ({"subject_type": "team", "subject_id": BOB.user_id}, [["query", "subject_type"]]),
        ({"subject_type": "user", "subject_id": "nope"}, [["query", "subject_id"]]),
    ],
)
def test_delete_rejects_bad_input_exactly(params: dict[str, str], locs: list[list[str]]) -> None:
    c = fresh()
    cid = connection_ids(c)[0]
    before = state_of(c).snapshot()
    response = c.delete(rbac_url(cid), params=params, headers=headers())
    assert response.status_code == 422 and detail_locs(response) == locs
    assert state_of(c).snapshot() == before


@pytest.mark.parametrize(
    ("method", "subject_type", "subject_id"),
    [
        ("PUT", "user", CAROL.user_id),  # a user of another organization stays invisible
        ("PUT", "group", BOB.user_id),  # a user id is no group id
        ("PUT", "user", "9d2e4f6a-8b0c-4d1e-a3f5-7c9b1d3e5f70"),
        ("DELETE", "user", CAROL.user_id),
        ("DELETE", "group", BOB.user_id),
    ],
)
def test_unknown_subject_is_404_and_changes_nothing(method: str, subject_type: str, subject_id: str) -> None:
    """A well-formed id of no user or group of the organization is "not found", as an unknown connection is."""
    c = fresh()
    cid = connection_ids(c)[0]
    before = state_of(c).snapshot()
    if method == "PUT":
        body = {"subject_type": subject_type, "role": "viewer", "subject_id": subject_id}
        response = c.put(rbac_url(cid), headers=headers(), json=body)
    else:
        params = {"subject_type": subject_type, "subject_id": subject_id}
        response = c.delete(rbac_url(cid), params=params, headers=headers())
    assert response.status_code == 404
    assert response.json() == {"detail": f"No {subject_type} with id {subject_id} in this organization"}
    assert state_of(c).snapshot() == before


# ---------------------------------------------------------------- enforcement


def test_viewer_reads_but_cannot_change() -> None:
    c = fresh()
    cid = find_by_role(c, "bob", "viewer")
    url = f"/connections/{cid}"
    before = state_of(c).snapshot()
    for path in (url, f"{url}/health", f"{url}/resources", f"{url}/resources/children", rbac_url(cid)):
        assert c.get(path, headers=headers("bob")).status_code == 200
    changes = [
        c.put(url, headers=headers("bob"), json=GDRIVE),
        c.patch(url, headers=headers("bob"), json={"name": "mine now"}),
        c.delete(url, headers=headers("bob")),
        grant(c, cid, BOB.user_id, "admin", user="bob"),
        c.delete(
            rbac_url(cid),
            params={"subject_type": "user", "subject_id": ALICE.user_id},
            headers=headers("bob"),
        ),
        c.patch(
            f"/api/v1/connections/{cid}/organization-role", headers=headers("bob"), json={"role": "admin"}
        ),
        c.put(
            f"/connections/oauth/callback/{cid}", params={"code": "x"}, headers=headers("bob"), json=GDRIVE
        ),
    ]
    for response in changes:
        assert response.status_code == 403, response.text
        assert "permission" in response.json()["detail"]
    assert state_of(c).snapshot() == before


def test_editor_edits_but_cannot_delete_or_share() -> None:
    c = fresh()
    cid = find_by_role(c, "bob", "editor")
    ok(c.patch(f"/connections/{cid}", headers=headers("bob"), json={"name": "Edited by Bob"}))
    assert c.delete(f"/connections/{cid}", headers=headers("bob")).status_code == 403
    assert grant(c, cid, BOB.user_id, "admin", user="bob").status_code == 403


def test_admin_by_grant_can_delete_and_share() -> None:
    c = fresh()
    cid = find_by_role(c, "bob", "admin")
    ok(
        c.patch(
            f"/api/v1/connections/{cid}/organization-role", headers=headers("bob"), json={"role": "editor"}
        )
    )
    assert c.delete(f"/connections/{cid}", headers=headers("bob")).status_code == 204


def test_hidden_connections_are_404_for_every_operation() -> None:
    c = fresh()
    cid = find_by_role(c, "bob", None)
    url = f"/connections/{cid}"
    for response in (
        c.get(url, headers=headers("bob")),
        c.get(f"{url}/health", headers=headers("bob")),
        c.get(rbac_url(cid), headers=headers("bob")),
        c.patch(url, headers=headers("bob"), json={"name": "x"}),
        c.delete(url, headers=headers("bob")),
    ):
        assert response.status_code == 404 and response.json() == {"detail": "Connection not found"}
    assert cid not in connection_ids(c, "bob")


def test_org_admin_is_admin_everywhere() -> None:
    c = fresh()
    cid = create(c, "bob")["connection_id"]
    assert role_of(c, "alice", cid) == "admin"
    ok(
        c.patch(
            f"/api/v1/connections/{cid}/organization-role", headers=headers("alice"), json={"role": "viewer"}
        )
    )
    assert c.delete(f"/connections/{cid}", headers=headers("alice")).status_code == 204


def test_groups_are_seeded_with_stable_ids() -> None:
    first, second = fresh(), fresh(seed=7)
    for name in GROUP_NAMES:
        assert group_id(first, name) == group_id(second, name)
