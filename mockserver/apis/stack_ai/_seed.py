"""Seeding the store: the same `--seed` always gives the same organizations, members and connections.

Per organization (Acme Research, Globex Labs):
- members: the fixed mock users of `_users.py` plus six Faker-generated colleagues;
- groups: Engineering, Research, Sales, Leadership (ids depend only on the organization);
- `--connections N` connections across every catalogue entry, created between 2025-01-06 and
  2025-11-28, in `created_at` order. The first four of each organization have fixed RBAC, so the
  mock member (bob, dave) is editor of the 1st, viewer of the 2nd, cannot see the 3rd and is admin
  of the 4th; the others are random (about one in six is hidden from the member).
"""

from __future__ import annotations

import gc
import re
from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any

from faker import Faker

from ._catalogue import BY_TYPE, CREDENTIALS, CatalogueEntry, oauth_tokens
from ._rand import Rand, Weighted, stable_int, stable_uuid
from ._state import (
    CLOCK_START,
    Clock,
    Connection,
    Group,
    Member,
    Organization,
    StackAiState,
    to_micros,
)
from ._users import ORGANIZATIONS, USERS, MockUser

DEFAULT_CONNECTIONS = 25
GROUP_NAMES = ("Engineering", "Research", "Sales", "Leadership")
COLLEAGUES = 6
TREE_SIZES = ("small", "medium", "large")

_DEPARTMENTS = (
    "Marketing",
    "Sales",
    "Engineering",
    "Research",
    "Finance",
    "Legal",
    "Design",
    "Support",
    "Operations",
    "People",
    "Product",
    "Data Science",
    "Customer Success",
    "Partnerships",
    "Security",
    "Compliance",
    "Growth",
    "Platform",
    "Executive",
    "Procurement",
)
_NAME_TEMPLATES: Mapping[str, tuple[str, ...]] = {
    "gdrive": ("{dept} Drive", "{dept} Shared Drive", "{dept} Team Drive"),
    "onedrive": ("{dept} OneDrive", "{dept} Documents"),
    "sharepoint": ("{dept} SharePoint", "{dept} Intranet", "{dept} Site"),
    "sharepoint_app": ("{dept} SharePoint (app)", "{dept} Document Library"),
    "dropbox": ("{dept} Dropbox", "{dept} Archive"),
    "notion": ("{dept} Notion", "{dept} Wiki", "{dept} Handbook"),
    "confluence": ("{dept} Confluence", "{dept} Space", "{dept} Runbooks"),
    "slack": ("{dept} Slack", "#{slug} channel"),
}
_TYPE_WEIGHTS = Weighted(
    (
        ("gdrive", 32),
        ("onedrive", 10),
        ("sharepoint", 9),
        ("sharepoint_app", 3),
        ("dropbox", 10),
        ("notion", 14),
        ("confluence", 12),
        ("slack", 10),
    )
)
_ORG_ROLE_WEIGHTS: Weighted[str | None] = Weighted((("viewer", 45), ("editor", 30), ("admin", 5), (None, 20)))
_GRANT_WEIGHTS = Weighted((("editor", 50), ("viewer", 40), ("admin", 10)))
_GROUP_GRANT_WEIGHTS = Weighted((("viewer", 60), ("editor", 40)))
_TREE_WEIGHTS = Weighted((("small", 50), ("medium", 35), ("large", 15)))
_SEED_START = to_micros(datetime(2025, 1, 6, 8, 0, tzinfo=UTC))
_SEED_END = to_micros(datetime(2025, 11, 28, 18, 0, tzinfo=UTC))
_MILLI = 1000
_DAY = 86_400_000_000


def create_state(*, seed: int, connections: int = DEFAULT_CONNECTIONS) -> StackAiState:
    organizations: dict[str, Organization] = {}
    collecting = gc.isenabled()
    gc.disable()  # seeding allocates many long-lived objects and no cycles: skip needless collections
    try:
        for name in ORGANIZATIONS:
            organization = _seed_organization(seed, name)
            _seed_connections(seed, organization, max(0, connections))
            organizations[organization.org_id] = organization
    finally:
        if collecting:
            gc.enable()
    clock = Clock(to_micros(CLOCK_START), Rand.of("stack-ai", seed, "clock"))
    return StackAiState(seed=seed, organizations=organizations, clock=clock)


def _slug(text: str) -> str:
    return re.sub(r"[^a-z0-9]+", "-", text.lower()).strip("-")


def _avatar(rand: Rand) -> str:
    return f"https://lh3.googleusercontent.com/a/ACg8oc{rand.text(44)}=s96-c"


def _member(rand: Rand, user_id: str, email: str, full_name: str | None) -> Member:
    """A profile; without a `full_name` it also has no avatar, as in the vendor's real responses."""
    signed_in = to_micros(datetime(2025, 6, 1, tzinfo=UTC)) + rand.below(180 * _DAY)
    return Member(
        user_id=user_id,
        email=email,
        full_name=full_name,
        avatar_url=_avatar(rand) if full_name else None,
        has_completed_onboarding=full_name is None or rand.chance(0.85),
        last_signed_in=signed_in,
        updated_at=signed_in + 30 * _MILLI + rand.below(400 * _MILLI),
    )


def _seed_organization(seed: int, name: str) -> Organization:
    mock_users = [user for user in USERS if user.organization == name]
    org_id = mock_users[0].org_id
    domain = mock_users[0].email.split("@", 1)[1]
    rand = Rand.of("stack-ai", seed, "members", org_id)
    members: dict[str, Member] = {}
    for user in mock_users:
        member = _member(rand, user.user_id, user.email, user.full_name)
        member.has_completed_onboarding = True
        members[user.user_id] = member
    fake = Faker("en_US")
    fake.seed_instance(stable_int("stack-ai", seed, "faker", org_id))
    taken = {member.email for member in members.values()}
    for index in range(COLLEAGUES):
        first, last = fake.first_name(), fake.last_name()
        local = re.sub(r"[^a-z0-9.]", "", f"{first}.{last}".lower())
        email = f"{local}@{domain}"
        if email in taken:
            email = f"{local}{index}@{domain}"
        taken.add(email)
        user_id = stable_uuid("stack-ai", seed, "member", org_id, index)
        full_name = None if index < 2 else f"{first} {last}"  # two colleagues never set up a profile
        members[user_id] = _member(rand, user_id, email, full_name)
    groups = _seed_groups(
        rand, org_id, mock_users, [m for m in members if m not in {u.user_id for u in mock_users}]
    )
    return Organization(org_id=org_id, name=name, domain=domain, members=members, groups=groups)


def _seed_groups(
    rand: Rand, org_id: str, mock_users: list[MockUser], colleagues: list[str]
) -> dict[str, Group]:
    memberships: dict[str, set[str]] = {name: set() for name in GROUP_NAMES}
    for user in mock_users:
        memberships["Leadership" if user.org_role == "admin" else "Engineering"].add(user.user_id)
    for user_id in colleagues:
        for _ in range(1 + rand.below(2)):
            memberships[rand.choice(GROUP_NAMES)].add(user_id)
    groups = {}
    for name in GROUP_NAMES:
        group_id = stable_uuid("stack-ai", "group", org_id, name)
        groups[group_id] = Group(group_id=group_id, name=name, members=frozenset(memberships[name]))
    return groups


def provider_data(
    entry: CatalogueEntry, rand: Rand, organization: Organization, creator: Member
) -> dict[str, Any]:
    """Realistic `connection_provider_data` for a seeded connection (secrets in full; masked on output)."""
    if entry.connection_type != CREDENTIALS:
        data = oauth_tokens(entry, rand)
        if entry.connection_type_id == "sharepoint" and rand.chance(0.5):
            data["site_url"] = (
                f"https://{organization.domain.split('.')[0]}.sharepoint.com/sites/{rand.alnum(6)}"
            )
        return data
    tenant = _slug(organization.name)
    if entry.connection_type_id == "confluence":
        return {
            "url": f"https://{tenant}.atlassian.net",
            "username": creator.email,
            "api_token": "ATATT3xFfGF0" + rand.text(180),
        }
    return {
        "tenant_id": stable_uuid("stack-ai", "tenant", organization.org_id),
        "client_id": stable_uuid("stack-ai", "client", rand.next()),
        "client_secret": rand.alnum(3) + "8Q~" + rand.text(34),
        "site_url": f"https://{tenant}.sharepoint.com/sites/{rand.alnum(8).lower()}",
    }


def _seed_connections(seed: int, organization: Organization, count: int) -> None:
    mock_users = [user for user in USERS if user.organization == organization.name]
    admin = next(user.user_id for user in mock_users if user.org_role == "admin")
    member = next(user.user_id for user in mock_users if user.org_role != "admin")
    colleagues = [
        user_id for user_id in organization.members if user_id not in {u.user_id for u in mock_users}
    ]
    everyone = list(organization.members)
    groups = list(organization.groups.values())
    slot = max(1, (_SEED_END - _SEED_START) // max(count, 1))
    clock_start = to_micros(CLOCK_START)
    for index in range(count):
        rand = Rand.of("stack-ai", seed, "connection", organization.org_id, index)
        created_at = _SEED_START + index * slot + rand.below(slot)
        entry = BY_TYPE[rand.weighted(_TYPE_WEIGHTS)]
        dept = rand.choice(_DEPARTMENTS)
        name = rand.choice(_NAME_TEMPLATES[entry.connection_type_id]).format(dept=dept, slug=_slug(dept))
        pick = rand.below(100)
        creator = admin if pick < 25 else member if pick < 40 else colleagues[pick % len(colleagues)]
        org_role: str | None = rand.weighted(_ORG_ROLE_WEIGHTS)
        if index < 4:
            creator = (admin, colleagues[0], colleagues[1], colleagues[2])[index]
            org_role = ("editor", "viewer", None, "viewer")[index]
        user_roles: dict[str, list[str]] = {"admin": [creator]}
        group_roles: dict[str, list[str]] = {}
        if index == 3:
            user_roles["admin"].append(member)
        elif index >= 4 and rand.chance(0.3):
            subject = rand.choice(everyone)
            if subject != creator:
                role = rand.weighted(_GRANT_WEIGHTS)
                user_roles.setdefault(role, []).append(subject)
        if index >= 4 and rand.chance(0.25):
            group_roles[rand.weighted(_GROUP_GRANT_WEIGHTS)] = [rand.choice(groups).group_id]
        if rand.chance(0.6):
            updated_at, updated_by = created_at + 20 + rand.below(60), creator
        else:
            room = max(1, min(60 * _DAY, clock_start - created_at - 60_000_000))
            updated_at, updated_by = created_at + rand.below(room), rand.choice(everyone)
        health_issue = None
        if entry.oauth is not None and index >= 4 and rand.chance(0.08):
            health_issue = f"{entry.name} rejected the stored refresh token (invalid_grant); re-authorize the connection."
        connection_id = stable_uuid("stack-ai", seed, "seeded-connection", organization.org_id, index)
        organization.connections[connection_id] = Connection(
            connection_id=connection_id,
            org_id=organization.org_id,
            name=name,
            provider_id=entry.provider_id,
            connection_type_id=entry.connection_type_id,
            provider_data=provider_data(entry, rand, organization, organization.members[creator]),
            created_at=created_at,
            updated_at=updated_at,
            created_by=creator,
            updated_by=updated_by,
            org_level_role=org_role,
            user_roles={
                role: user_roles[role] for role in ("admin", "editor", "viewer") if role in user_roles
            },
            group_roles=group_roles,
            health_issue=health_issue,
            tree=("large", "medium")[index] if index < 2 else rand.weighted(_TREE_WEIGHTS),
        )
