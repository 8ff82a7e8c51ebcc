"""Seeding the store: the same `--seed` always gives the same organizations, members and connections.

Per organization (Acme Research, Globex Labs):
- members: the fixed mock users of `_users.py` plus six Faker-generated colleagues;
- groups: Engineering, Research, Sales, Leadership (ids depend only on the organization);
- `--connections N` connections across every catalogue entry, created between 2025-01-06 and
  2025-11-28, in `created_at` order. The first four of each organization have fixed RBAC, so the
  mock member (bob, dave) is editor of the 1st, viewer of the 2nd, cannot see the 3rd and is admin
  of the 4th; the others are random (about one in six is hidden from the member).

At scale (`--connections 100000`: 200,000 connections), a connection's provider data is
built on its first read, from the position its random stream had (the same data as if built at once), and
a large seed freezes what it built (`gc.freeze`) so that the garbage collector never walks it again.
"""

from __future__ import annotations

import gc
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from functools import partial
from operator import length_hint
from typing import Any

from faker import Faker

from ...control._clock import FROZEN, ClockSettings, Timeline
from ._catalogue import BY_TYPE, CREDENTIALS, CatalogueEntry, oauth_tokens
from ._rand import Rand, Weighted, chance_bound, digests, stable_int, stable_uuid, stream_values, uuid_text
from ._schedule import attach_handlers
from ._state import (
    CLOCK_START,
    MAX_CREATED_CONNECTIONS,
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
FREEZE_FROM = 1000
"""Connections per organization from which seeding freezes the heap (`gc.freeze`): walking a million
seeded objects costs the collector a few hundred ms each time, while a few thousand cost nothing."""
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


def _slug(text: str) -> str:
    return re.sub(r"[^a-z0-9]+", "-", text.lower()).strip("-")


_NAMES: Mapping[str, tuple[tuple[str, ...], ...]] = {
    type_id: tuple(
        tuple(template.format(dept=dept, slug=_slug(dept)) for dept in _DEPARTMENTS) for template in templates
    )
    for type_id, templates in _NAME_TEMPLATES.items()
}
"""Every seeded connection name, by connection type, then template, then department."""
_SEED_START = to_micros(datetime(2025, 1, 6, 8, 0, tzinfo=UTC))
_SEED_END = to_micros(datetime(2025, 11, 28, 18, 0, tzinfo=UTC))
_MILLI = 1000
_DAY = 86_400_000_000
_FIRST_BLOCKS = 2
"""Every draw of a seeded connection before its provider data fits in its stream's first 16 values."""
_GRANT_CHANCE = chance_bound(0.3)
_GROUP_GRANT_CHANCE = chance_bound(0.25)
_UNCHANGED_CHANCE = chance_bound(0.6)
_REVOKED_CHANCE = chance_bound(0.08)
_HALF = chance_bound(0.5)


def create_state(
    *, seed: int, connections: int = DEFAULT_CONNECTIONS, clock: ClockSettings = FROZEN
) -> StackAiState:
    fake = Faker("en_US")  # reseeded for each organization: the same values as a new one, without its cost
    organizations = {
        org.org_id: org for org in (_seed_organization(seed, name, fake) for name in ORGANIZATIONS)
    }
    large = connections >= FREEZE_FROM
    if large:
        gc.collect(1)  # the young garbage of the step above, so that the freeze below keeps none of it
    collecting = gc.isenabled()
    gc.disable()  # seeding allocates many long-lived objects and no cycles: skip needless collections
    try:
        for organization in organizations.values():
            _seed_connections(seed, organization, max(0, connections))
    finally:
        if large:
            gc.freeze()  # they live as long as the state: keep them out of every later collection too
        if collecting:
            gc.enable()
    timeline = Timeline(start=to_micros(CLOCK_START), settings=clock)
    state = StackAiState(
        seed=seed,
        organizations=organizations,
        clock=Clock(timeline, Rand.of("stack-ai", seed, "clock")),
        max_connections=max(0, connections) + MAX_CREATED_CONNECTIONS,
    )
    attach_handlers(state)
    return state


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


def _seed_organization(seed: int, name: str, fake: Faker) -> Organization:
    mock_users = [user for user in USERS if user.organization == name]
    org_id = mock_users[0].org_id
    domain = mock_users[0].email.split("@", 1)[1]
    rand = Rand.of("stack-ai", seed, "members", org_id)
    members: dict[str, Member] = {}
    for user in mock_users:
        member = _member(rand, user.user_id, user.email, user.full_name)
        member.has_completed_onboarding = True
        members[user.user_id] = member
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


def mock_user_groups(user: MockUser) -> tuple[str, ...]:
    """The groups a fixed mock user belongs to in every seed: admins lead, members engineer."""
    return ("Leadership",) if user.org_role == "admin" else ("Engineering",)


def group_id(org_id: str, name: str) -> str:
    return stable_uuid("stack-ai", "group", org_id, name)


def _seed_groups(
    rand: Rand, org_id: str, mock_users: list[MockUser], colleagues: list[str]
) -> dict[str, Group]:
    memberships: dict[str, set[str]] = {name: set() for name in GROUP_NAMES}
    for user in mock_users:
        for name in mock_user_groups(user):
            memberships[name].add(user.user_id)
    for user_id in colleagues:
        for _ in range(1 + rand.below(2)):
            memberships[rand.choice(GROUP_NAMES)].add(user_id)
    groups = {}
    for name in GROUP_NAMES:
        groups[group_id(org_id, name)] = Group(
            group_id=group_id(org_id, name), name=name, members=frozenset(memberships[name])
        )
    return groups


@dataclass(frozen=True, slots=True)
class Tenant:
    """What the provider data of an organization's connections takes from it."""

    org_id: str
    slug: str
    """`acme-research`: the Atlassian and SharePoint tenant."""
    subdomain: str
    """`acme`: the SharePoint tenant of OAuth connections."""

    @classmethod
    def of(cls, organization: Organization) -> Tenant:
        return cls(organization.org_id, _slug(organization.name), organization.domain.split(".")[0])


def provider_data(entry: CatalogueEntry, rand: Rand, tenant: Tenant, creator_email: str) -> dict[str, Any]:
    """Realistic `connection_provider_data` for a seeded connection (secrets in full; masked on output)."""
    if entry.connection_type != CREDENTIALS:
        data = oauth_tokens(entry, rand)
        if entry.connection_type_id == "sharepoint" and rand.chance(0.5):
            data["site_url"] = f"https://{tenant.subdomain}.sharepoint.com/sites/{rand.alnum(6)}"
        return data
    if entry.connection_type_id == "confluence":
        return {
            "url": f"https://{tenant.slug}.atlassian.net",
            "username": creator_email,
            "api_token": "ATATT3xFfGF0" + rand.text(180),
        }
    return {
        "tenant_id": stable_uuid("stack-ai", "tenant", tenant.org_id),
        "client_id": stable_uuid("stack-ai", "client", rand.next()),
        "client_secret": rand.alnum(3) + "8Q~" + rand.text(34),
        "site_url": f"https://{tenant.slug}.sharepoint.com/sites/{rand.alnum(8).lower()}",
    }


def after_provider_data(entry: CatalogueEntry, position: int, value_at: Callable[[int], int]) -> int:
    """Where a stream is once `provider_data` has drawn from `position` on (`value_at(p)` is its `p`th
    value), without building anything."""
    if entry.connection_type != CREDENTIALS:
        position += _TOKEN_DRAWS[entry.connection_type_id]
        if entry.connection_type_id == "sharepoint":
            position += 2 if value_at(position) < _HALF else 1
        return position
    return position + (1 if entry.connection_type_id == "confluence" else 4)


def _token_draws(entry: CatalogueEntry) -> int:
    probe = Rand(b"")
    oauth_tokens(entry, probe)
    return probe.drawn


_TOKEN_DRAWS: Mapping[str, int] = {type_id: _token_draws(entry) for type_id, entry in BY_TYPE.items()}
"""Values `oauth_tokens` draws, by connection type (measured: the same whatever the values)."""


def later_provider_data(
    entry: CatalogueEntry, key: bytes, drawn: int, tenant: Tenant, creator_email: str
) -> dict[str, Any]:
    """`provider_data` from the stream `Rand(key)` after its first `drawn` values: a seeded connection's
    provider data is built on first read (`Connection.pending_data`), saving a third of a large seed."""
    rand = Rand(key)
    rand.skip_to(drawn)
    return provider_data(entry, rand, tenant, creator_email)


def _seed_connections(seed: int, organization: Organization, count: int) -> None:
    """The hot loop of a large seed. A connection's values are read by position from its stream (what
    `Rand(key)` would draw, without a call per draw), names and messages come from tables built once, and the
    provider data (its tokens are a third of the work) is left to `later_provider_data`."""
    mock_users = [user for user in USERS if user.organization == organization.name]
    admin = next(user.user_id for user in mock_users if user.org_role == "admin")
    member = next(user.user_id for user in mock_users if user.org_role != "admin")
    colleagues = [
        user_id for user_id in organization.members if user_id not in {u.user_id for u in mock_users}
    ]
    everyone = list(organization.members)
    group_ids = list(organization.groups)
    members = organization.members
    org_id = organization.org_id
    tenant = Tenant.of(organization)
    connections = organization.connections
    stream_key = digests("stack-ai", seed, "connection", org_id)
    id_key = digests("stack-ai", seed, "seeded-connection", org_id)
    entries = {type_id: BY_TYPE[type_id] for type_id in _TYPE_WEIGHTS.values}
    revoked = {
        type_id: f"{entry.name} rejected the stored refresh token (invalid_grant); re-authorize the connection."
        for type_id, entry in entries.items()
    }
    slot = max(1, (_SEED_END - _SEED_START) // max(count, 1))
    clock_start = to_micros(CLOCK_START)
    for index in range(count):
        key = stream_key(index)
        values = stream_values(key, 0, _FIRST_BLOCKS)
        unread = iter(values)
        draw = unread.__next__

        def value_at(position: int, key: bytes = key, values: list[int] = values) -> int:
            if position < len(values):
                return values[position]
            return stream_values(key, position // 8, 1)[position % 8]

        created_at = _SEED_START + index * slot + draw() % slot
        type_id = _TYPE_WEIGHTS.at(draw())
        entry = entries[type_id]
        dept = draw() % len(_DEPARTMENTS)
        templates = _NAMES[type_id]
        name = templates[draw() % len(templates)][dept]
        pick = draw() % 100
        creator = admin if pick < 25 else member if pick < 40 else colleagues[pick % len(colleagues)]
        org_role: str | None = _ORG_ROLE_WEIGHTS.at(draw())
        if index < 4:
            creator = (admin, colleagues[0], colleagues[1], colleagues[2])[index]
            org_role = ("editor", "viewer", None, "viewer")[index]
        user_roles: dict[str, list[str]] = {"admin": [creator]}  # then at most one other role: in ROLES order
        group_roles: dict[str, list[str]] = {}
        if index == 3:
            user_roles["admin"].append(member)
        elif index >= 4 and draw() < _GRANT_CHANCE:
            subject = everyone[draw() % len(everyone)]
            if subject != creator:
                user_roles.setdefault(_GRANT_WEIGHTS.at(draw()), []).append(subject)
        if index >= 4 and draw() < _GROUP_GRANT_CHANCE:
            group_roles[_GROUP_GRANT_WEIGHTS.at(draw())] = [group_ids[draw() % len(group_ids)]]
        if draw() < _UNCHANGED_CHANCE:
            updated_at, updated_by = created_at + 20 + draw() % 60, creator
        else:
            room = max(1, min(60 * _DAY, clock_start - created_at - 60_000_000))
            updated_at, updated_by = created_at + draw() % room, everyone[draw() % len(everyone)]
        health_issue = None
        if entry.oauth is not None and index >= 4 and draw() < _REVOKED_CHANCE:
            health_issue = revoked[type_id]
        drawn = len(values) - length_hint(unread)
        tree = (
            ("large", "medium")[index]
            if index < 2
            else _TREE_WEIGHTS.at(value_at(after_provider_data(entry, drawn, value_at)))
        )
        connection_id = uuid_text(id_key(index))
        connections[connection_id] = connection = Connection(
            connection_id=connection_id,
            org_id=org_id,
            name=name,
            provider_id=entry.provider_id,
            connection_type_id=type_id,
            provider_data={},
            created_at=created_at,
            updated_at=updated_at,
            created_by=creator,
            updated_by=updated_by,
            org_level_role=org_role,
            user_roles=user_roles,
            group_roles=group_roles,
            health_issue=health_issue,
            tree=tree,
            pending_data=partial(later_provider_data, entry, key, drawn, tenant, members[creator].email),
        )
        del connection.provider_data  # built on first read
