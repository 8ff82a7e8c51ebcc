"""Who may do what with a connection (inferred RBAC enforcement), and the errors that say no.

- An organization admin (`org_role == "admin"`, e.g. alice, carol) is `admin` of every connection of
  their organization.
- Anyone else gets the strongest of: the connection's `org_level_role`, their user grants and the
  grants of the groups they belong to (admin > editor > viewer).
- `viewer` reads (connection, health, resources, RBAC); `editor` also replaces, renames and
  re-authorizes; `admin` also deletes and manages access (grants, org-level role).
- Without an effective role a connection is invisible: 404 on every operation, absent from lists.
- Connections of another organization are always 404.
"""

from __future__ import annotations

from typing import Any, Protocol

from ..._api import OperationContext, Problem, Reason
from ..._validation import Violation
from ._state import Connection, Organization, StackAiState
from ._users import MockUser

RANK = {"viewer": 1, "editor": 2, "admin": 3}
CONNECTION_NOT_FOUND = "Connection not found"


def caller(ctx: OperationContext) -> MockUser:
    if ctx.principal is None:  # every operation but the catalogue requires a token
        raise Problem(401, "Not authenticated", Reason.UNAUTHENTICATED)
    user = ctx.principal.attributes["user"]
    assert isinstance(user, MockUser)
    return user


def state_of(ctx: OperationContext) -> StackAiState:
    state = ctx.state
    assert isinstance(state, StackAiState)
    return state


def organization_of(ctx: OperationContext) -> tuple[StackAiState, Organization, MockUser]:
    state = state_of(ctx)
    user = caller(ctx)
    return state, state.organizations[user.org_id], user


class Shared(Protocol):
    """What carries roles: a connection or a knowledge base."""

    org_level_role: str | None
    user_roles: dict[str, list[str]]
    group_roles: dict[str, list[str]]


class Viewer:
    """The caller's view of one organization: computes effective roles with the group lookups done once."""

    __slots__ = ("_groups", "is_org_admin", "user_id")

    def __init__(self, organization: Organization, user: MockUser) -> None:
        self.user_id = user.user_id
        self.is_org_admin = user.org_role == "admin"
        self._groups = organization.groups_of(user.user_id)

    def role(self, connection: Shared) -> str | None:
        if self.is_org_admin:
            return "admin"
        best = connection.org_level_role
        rank = RANK.get(best or "", 0)
        for role, subjects in connection.user_roles.items():
            if RANK.get(role, 0) > rank and self.user_id in subjects:
                best, rank = role, RANK[role]
        if self._groups:
            for role, subjects in connection.group_roles.items():
                if RANK.get(role, 0) > rank and not self._groups.isdisjoint(subjects):
                    best, rank = role, RANK[role]
        return best if rank else None

    def can_see(self, connection: Connection) -> bool:
        if self.is_org_admin or connection.org_level_role in RANK:
            return True
        user_id, groups = self.user_id, self._groups
        return any(user_id in subjects for subjects in connection.user_roles.values()) or any(
            not groups.isdisjoint(subjects) for subjects in connection.group_roles.values()
        )


def not_found(message: str = CONNECTION_NOT_FOUND) -> Problem:
    return Problem(404, message, Reason.NOT_FOUND)


def invalid(violations: list[Violation] | tuple[Violation, ...]) -> Problem:
    return Problem(422, "Request validation failed", Reason.VALIDATION, tuple(violations))


def value_error(location: tuple[str | int, ...], message: str, given: Any) -> Violation:
    """A pydantic `value_error` (what a FastAPI validator raising ValueError produces)."""
    return Violation(location, f"Value error, {message}", "value_error", given, {"error": {}})


def role_violation(location: tuple[str | int, ...], given: Any) -> Violation:
    expected = "'admin', 'editor' or 'viewer'"
    return Violation(location, f"Input should be {expected}", "enum", given, {"expected": expected})


_VERBS = {"editor": "modify", "admin": "delete or manage access to"}


def load(
    ctx: OperationContext, *, need: str = "viewer"
) -> tuple[StackAiState, Organization, Connection, MockUser]:
    """The connection of the path, if the caller may see it (404) and holds at least `need` (403)."""
    state, organization, user = organization_of(ctx)
    connection = organization.connections.get(str(ctx.path["connection_id"]).lower())
    if connection is None:
        raise not_found()
    role = Viewer(organization, user).role(connection)
    if role is None:
        raise not_found()
    if RANK[role] < RANK[need]:
        verb = _VERBS.get(need, "modify")
        raise Problem(
            403,
            f"You do not have permission to {verb} this connection (your role: {role}; required: {need})",
            "forbidden",
        )
    return state, organization, connection, user
