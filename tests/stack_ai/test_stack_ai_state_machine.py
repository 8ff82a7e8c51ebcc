"""Random sequences of calls by users of both organizations, checked against a simple model."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from hypothesis import settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, invariant, precondition, rule
from stack_support import USER, fresh, headers, state_of

from mockserver.apis.stack_ai._catalogue import CATALOGUE

USERS = ("alice", "bob", "carol", "dave")
ROLES = ("admin", "editor", "viewer")
RANK = {None: 0, "viewer": 1, "editor": 2, "admin": 3}
OAUTH_TYPES = [e for e in CATALOGUE if e.connection_type == "oauth2"]
NAMES = st.text(alphabet="abcdefghij XYZ-", min_size=0, max_size=12)
UNKNOWN_ID = "0f0f0f0f-0f0f-4f0f-8f0f-0f0f0f0f0f0f"


@dataclass
class ModelConnection:
    org_id: str
    name: str
    provider_id: str
    connection_type_id: str
    created_by: str
    updated_by: str
    org_level_role: str | None
    user_roles: dict[str, str] = field(default_factory=dict)  # subject → role
    group_roles: dict[str, str] = field(default_factory=dict)
    deleted: bool = False


class ConnectionsMachine(RuleBasedStateMachine):
    def __init__(self) -> None:
        super().__init__()
        self.client = fresh(connections=6)
        state = state_of(self.client)
        self.groups = {
            org_id: {g.group_id: g.members for g in org.groups.values()}
            for org_id, org in state.organizations.items()
        }
        self.order: list[str] = []
        self.model: dict[str, ModelConnection] = {}
        for org in state.organizations.values():
            for c in org.connections.values():
                self.order.append(c.connection_id)
                self.model[c.connection_id] = ModelConnection(
                    org_id=c.org_id,
                    name=c.name,
                    provider_id=c.provider_id,
                    connection_type_id=c.connection_type_id,
                    created_by=c.created_by,
                    updated_by=c.updated_by,
                    org_level_role=c.org_level_role,
                    user_roles={s: r for r, subjects in c.user_roles.items() for s in subjects},
                    group_roles={s: r for r, subjects in c.group_roles.items() for s in subjects},
                )

    # ------------------------------------------------------------ model

    def role(self, user: str, cid: str) -> str | None:
        c = self.model.get(cid)
        who = USER[user]
        if c is None or c.deleted or c.org_id != who.org_id:
            return None
        if who.org_role == "admin":
            return "admin"
        candidates = [c.org_level_role, c.user_roles.get(who.user_id)]
        for group, role in c.group_roles.items():
            if who.user_id in self.groups[c.org_id][group]:
                candidates.append(role)
        best = max(candidates, key=lambda r: RANK[r])
        return best

    def visible(self, user: str) -> list[str]:
        return [cid for cid in self.order if self.role(user, cid) is not None]

    def expect_access(self, response: Any, user: str, cid: str, need: str) -> bool:
        """Checks 404/403 against the model; True when the call was allowed."""
        role = self.role(user, cid)
        if role is None:
            assert response.status_code == 404, response.text
            assert response.json() == {"detail": "Connection not found"}
            return False
        if RANK[role] < RANK[need]:
            assert response.status_code == 403, response.text
            return False
        return True

    def check_body(self, body: dict[str, Any], cid: str) -> None:
        c = self.model[cid]
        assert body["connection_id"] == cid and body["org_id"] == c.org_id
        assert body["name"] == c.name
        assert (body["provider_id"], body["connection_type_id"]) == (c.provider_id, c.connection_type_id)
        assert body["created_by"]["id"] == c.created_by and body["updated_by"]["id"] == c.updated_by
        assert body["updated_at"] >= body["created_at"]

    # ------------------------------------------------------------ rules

    @rule(user=st.sampled_from(USERS), name=NAMES, entry=st.sampled_from(OAUTH_TYPES))
    def create(self, user: str, name: str, entry: Any) -> None:
        body = {
            "name": name,
            "provider_id": entry.provider_id,
            "connection_type_id": entry.connection_type_id,
        }
        body["connection_provider_data"] = {
            "access_token": "ya29.token-" + name,
            "refresh_token": "1//0g-refresh",
        }
        response = self.client.post("/connections", headers=headers(user), json=body)
        assert response.status_code == 201, response.text
        created = response.json()
        cid = created["connection_id"]
        assert cid not in self.model
        who = USER[user]
        self.order.append(cid)
        self.model[cid] = ModelConnection(
            who.org_id,
            name,
            entry.provider_id,
            entry.connection_type_id,
            who.user_id,
            who.user_id,
            None,
            {who.user_id: "admin"},
        )
        self.check_body(created, cid)
        assert "token-" not in str(created["connection_provider_data"])

    @rule(user=st.sampled_from(USERS), data=st.data())
    def read(self, user: str, data: st.DataObject) -> None:
        cid = data.draw(st.sampled_from([*self.order, UNKNOWN_ID]))
        response = self.client.get(f"/connections/{cid}", headers=headers(user))
        if self.expect_access(response, user, cid, "viewer"):
            assert response.status_code == 200
            self.check_body(response.json(), cid)

    @rule(user=st.sampled_from(USERS), name=NAMES, data=st.data())
    def rename(self, user: str, name: str, data: st.DataObject) -> None:
        cid = data.draw(st.sampled_from(self.order))
        response = self.client.patch(f"/connections/{cid}", headers=headers(user), json={"name": name})
        if self.expect_access(response, user, cid, "editor"):
            assert response.status_code == 200, response.text
            self.model[cid].name = name
            self.model[cid].updated_by = USER[user].user_id
            self.check_body(response.json(), cid)

    @rule(user=st.sampled_from(USERS), name=NAMES, entry=st.sampled_from(OAUTH_TYPES), data=st.data())
    def replace(self, user: str, name: str, entry: Any, data: st.DataObject) -> None:
        cid = data.draw(st.sampled_from(self.order))
        body = {
            "name": name,
            "provider_id": entry.provider_id,
            "connection_type_id": entry.connection_type_id,
        }
        body["connection_provider_data"] = {"access_token": "ya29.replaced", "scope": "s"}
        response = self.client.put(f"/connections/{cid}", headers=headers(user), json=body)
        if self.expect_access(response, user, cid, "editor"):
            assert response.status_code == 200, response.text
            c = self.model[cid]
            c.name, c.provider_id, c.connection_type_id = name, entry.provider_id, entry.connection_type_id
            c.updated_by = USER[user].user_id
            self.check_body(response.json(), cid)

    @rule(user=st.sampled_from(USERS), data=st.data())
    def delete(self, user: str, data: st.DataObject) -> None:
        cid = data.draw(st.sampled_from(self.order))
        response = self.client.delete(f"/connections/{cid}", headers=headers(user))
        if self.expect_access(response, user, cid, "admin"):
            assert response.status_code == 204 and response.content == b""
            self.model[cid].deleted = True

    @rule(
        actor=st.sampled_from(USERS),
        subject=st.sampled_from(USERS),
        role=st.sampled_from([*ROLES, "owner"]),
        data=st.data(),
    )
    def grant_user(self, actor: str, subject: str, role: str, data: st.DataObject) -> None:
        cid = data.draw(st.sampled_from(self.order))
        subject_id = USER[subject].user_id
        body = {"subject_type": "user", "role": role, "subject_id": subject_id}
        response = self.client.put(f"/api/v1/connections/{cid}/rbac", headers=headers(actor), json=body)
        if role not in ROLES:  # the body is validated first, as FastAPI does
            assert response.status_code == 422
            assert [item["loc"] for item in response.json()["detail"]] == [["body", "role"]]
            return
        if not self.expect_access(response, actor, cid, "admin"):
            return
        if USER[subject].org_id != USER[actor].org_id:
            assert response.status_code == 404 and "in this organization" in response.json()["detail"]
            return
        assert response.status_code == 200 and response.json() is None
        self.model[cid].user_roles[subject_id] = role

    @rule(actor=st.sampled_from(USERS), role=st.sampled_from(ROLES), data=st.data())
    def grant_group(self, actor: str, role: str, data: st.DataObject) -> None:
        cid = data.draw(st.sampled_from(self.order))
        group = data.draw(st.sampled_from(sorted(g for groups in self.groups.values() for g in groups)))
        body = {"subject_type": "group", "role": role, "subject_id": group}
        response = self.client.put(f"/api/v1/connections/{cid}/rbac", headers=headers(actor), json=body)
        if not self.expect_access(response, actor, cid, "admin"):
            return
        if group not in self.groups[USER[actor].org_id]:
            assert response.status_code == 404 and "in this organization" in response.json()["detail"]
            return
        assert response.status_code == 200
        self.model[cid].group_roles[group] = role

    @rule(actor=st.sampled_from(USERS), subject=st.sampled_from(USERS), data=st.data())
    def revoke_user(self, actor: str, subject: str, data: st.DataObject) -> None:
        cid = data.draw(st.sampled_from(self.order))
        subject_id = USER[subject].user_id
        params = {"subject_type": "user", "subject_id": subject_id}
        response = self.client.delete(
            f"/api/v1/connections/{cid}/rbac", params=params, headers=headers(actor)
        )
        if not self.expect_access(response, actor, cid, "admin"):
            return
        if USER[subject].org_id != USER[actor].org_id:
            assert response.status_code == 404 and "in this organization" in response.json()["detail"]
        elif subject_id not in self.model[cid].user_roles:
            assert response.status_code == 404 and "No role" in response.json()["detail"]
        else:
            assert response.status_code == 204
            del self.model[cid].user_roles[subject_id]

    @rule(actor=st.sampled_from(USERS), role=st.sampled_from([*ROLES, None]), data=st.data())
    def org_role(self, actor: str, role: str | None, data: st.DataObject) -> None:
        cid = data.draw(st.sampled_from(self.order))
        url = f"/api/v1/connections/{cid}/organization-role"
        response = self.client.patch(url, headers=headers(actor), json={"role": role})
        if self.expect_access(response, actor, cid, "admin"):
            assert response.status_code == 200
            self.model[cid].org_level_role = role

    @rule(user=st.sampled_from(USERS), data=st.data())
    def read_rbac(self, user: str, data: st.DataObject) -> None:
        cid = data.draw(st.sampled_from(self.order))
        response = self.client.get(f"/api/v1/connections/{cid}/rbac", headers=headers(user))
        if not self.expect_access(response, user, cid, "viewer"):
            return
        body, c = response.json(), self.model[cid]
        assert body["current_user_effective_role"] == self.role(user, cid)
        assert body["org_level_role"] == c.org_level_role
        assert {s: r for r, subjects in body["user_roles"].items() for s in subjects} == c.user_roles
        assert {s: r for r, subjects in body["group_roles"].items() for s in subjects} == c.group_roles

    @rule(user=st.sampled_from(USERS))
    def list_connections(self, user: str) -> None:
        response = self.client.get("/connections", headers=headers(user))
        assert response.status_code == 200
        listed = response.json()
        assert [item["connection_id"] for item in listed] == self.visible(user)
        for item in listed:
            self.check_body(item, item["connection_id"])

    @precondition(lambda self: len(self.order) > 0)
    @rule(user=st.sampled_from(USERS), limit=st.integers(0, 5), offset=st.integers(0, 8))
    def paginated(self, user: str, limit: int, offset: int) -> None:
        params = {"limit": limit, "offset": offset, "sort_dir": "asc"}
        response = self.client.get("/api/v1/connections", params=params, headers=headers(user))
        assert response.status_code == 200
        body = response.json()
        visible = self.visible(user)
        assert body["total"] == len(visible)
        assert [item["connection_id"] for item in body["data"]] == visible[offset : offset + limit]

    @invariant()
    def organizations_stay_apart(self) -> None:
        state = state_of(self.client)
        for org_id, org in state.organizations.items():
            assert all(c.org_id == org_id for c in org.connections.values())
            live = {cid for cid, c in self.model.items() if c.org_id == org_id and not c.deleted}
            assert set(org.connections) == live


ConnectionsMachine.TestCase.settings = settings(
    settings.default, stateful_step_count=25, max_examples=max(10, settings.default.max_examples // 2)
)
TestConnectionsMachine = ConnectionsMachine.TestCase
