"""RBAC of a connection: `org_level_role`, user and group grants, and the caller's effective role.

Inferred details (the vendor documents only the shapes):
- roles are `admin`, `editor`, `viewer`; any other role is a 422 (`enum`) at `["body", "role"]`;
- a subject holds at most one role per connection: a PUT moves it to the new role;
- the subject must be a member (user) or group of the caller's organization, otherwise 404 (the spec
  cannot say which ids exist, so a well-formed unknown id is "not found", not a validation error);
- DELETE of a subject without a grant is 404; changing access needs the `admin` role (403 otherwise);
- access changes do not touch `updated_at`/`updated_by` (they describe the connection itself).
"""

from __future__ import annotations

from typing import Any

from ..._api import NO_BODY, MockResponse, OperationContext
from ._access import Viewer, invalid, load, not_found, role_violation
from ._state import ROLES, Connection, Organization


def _ordered(grants: dict[str, list[str]]) -> dict[str, list[str]]:
    return {role: list(grants[role]) for role in ROLES if grants.get(role)}


def rbac_json(connection: Connection, effective: str | None) -> dict[str, Any]:
    return {
        "org_level_role": connection.org_level_role,
        "user_roles": _ordered(connection.user_roles),
        "group_roles": _ordered(connection.group_roles),
        "current_user_effective_role": effective,
    }


def get_connection_rbac(ctx: OperationContext) -> MockResponse:
    _, organization, connection, user = load(ctx)
    return MockResponse(200, rbac_json(connection, Viewer(organization, user).role(connection)))


def _grants(connection: Connection, subject_type: str) -> dict[str, list[str]]:
    return connection.user_roles if subject_type == "user" else connection.group_roles


def _check_subject(organization: Organization, subject_type: str, subject_id: str) -> None:
    """404 unless the subject is a user or group of the organization (others' members stay invisible)."""
    known = organization.members if subject_type == "user" else organization.groups
    if subject_id not in known:
        raise not_found(f"No {subject_type} with id {subject_id} in this organization")


def _revoke(grants: dict[str, list[str]], subject_id: str) -> bool:
    found = False
    for role in list(grants):
        if subject_id in grants[role]:
            grants[role] = [s for s in grants[role] if s != subject_id]
            found = True
            if not grants[role]:
                del grants[role]
    return found


def update_connection_rbac(ctx: OperationContext) -> MockResponse:
    _, organization, connection, _ = load(ctx, need="admin")
    body = ctx.body
    role, subject_type = body["role"], body["subject_type"]
    subject_id = str(body["subject_id"]).lower()
    if role not in ROLES:
        raise invalid([role_violation(("body", "role"), role)])
    _check_subject(organization, subject_type, subject_id)
    grants = _grants(connection, subject_type)
    if subject_id not in grants.get(role, ()):
        _revoke(grants, subject_id)
        grants.setdefault(role, []).append(subject_id)
        ordered = _ordered(grants)
        grants.clear()
        grants.update(ordered)
    return MockResponse(200, None)


def delete_connection_rbac(ctx: OperationContext) -> MockResponse:
    _, organization, connection, _ = load(ctx, need="admin")
    subject_type = ctx.query["subject_type"]
    subject_id = str(ctx.query["subject_id"]).lower()
    _check_subject(organization, subject_type, subject_id)
    if not _revoke(_grants(connection, subject_type), subject_id):
        raise not_found(f"No role is granted to this {subject_type} on the connection")
    return MockResponse(204, NO_BODY)


def update_connection_organization_role(ctx: OperationContext) -> MockResponse:
    """Sets (`admin`/`editor`/`viewer`) or clears (`null`) the role every organization member gets."""
    _, _, connection, _ = load(ctx, need="admin")
    role = ctx.body["role"]
    if role is not None and role not in ROLES:
        raise invalid([role_violation(("body", "role"), role)])
    connection.org_level_role = role
    return MockResponse(200, None)
