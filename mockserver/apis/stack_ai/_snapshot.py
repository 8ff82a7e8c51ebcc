"""Export and import of the Stack AI state (the engine's `/__mock/state` and `--state-file`).

A snapshot is plain JSON, `{"version": 1, ...}`, holding everything a response can depend on:

- `seed`: the exporting server's seed. Resource trees, resource ids, cursors and the next ids and tokens
  derive from it, so a snapshot imports only into a server running the same seed;
- `clock`: the mock clock (`now`, `due`: the engine's schedule of due work, and `draws`, the position of
  the seeded random stream of write steps);
- `created`: connections created through the API (derives the next connection id);
- `organizations`: in order, each with its members, groups and connections (in creation order), the
  connections with their RBAC grants, health and resource-tree size;
- `oauth`: the OAuth counter, pending consent requests and issued codes.

Secrets: a connection's `provider_data` holds its credentials IN CLEAR. The snapshot is the one place they
are not masked (a restored mock must keep working with them): treat a state file like a credentials file.
`provider_data` is JSON text rather than an object so that its key order (the order of
`connection_provider_data` in responses) survives writers that sort keys, as the state file does.

Not kept: the resource-folder cache (derived data). OAuth lifetimes run on the mock clock: the snapshot
stores each request's and code's age in seconds at the exported `clock.now`, and their expiry in `due`.
"""

from __future__ import annotations

import json
import math
import uuid
from collections.abc import Mapping, Sequence
from datetime import datetime
from typing import Any
from urllib.parse import urlsplit

from ..._clock import FROZEN, ClockSettings, Timeline, format_instant
from ._catalogue import BY_TYPE, OAUTH2
from ._rand import MAX_DRAWS, Rand
from ._schedule import attach_handlers
from ._state import (
    MAX_REFRESH_TOKENS,
    ROLES,
    AuthorizationCode,
    AuthStore,
    Clock,
    Connection,
    Group,
    Member,
    OAuthStore,
    Organization,
    PendingAuthorization,
    StackAiState,
    iso,
    to_micros,
)
from ._users import ORGANIZATIONS, USERS, MockUser, organization_id
from .knowledge_bases._snapshot import export_knowledge_bases, import_knowledge_bases

VERSION = 1
TREE_SIZES = ("small", "medium", "large")
MAX_COUNT = 2**53
"""Largest counter accepted (the largest integer every JSON reader keeps exact)."""

_TOP_KEYS = (
    "version",
    "seed",
    "clock",
    "created",
    "organizations",
    "oauth",
    "auth",
    "knowledge_bases_created",
)
_ORG_KEYS = ("org_id", "name", "domain", "members", "groups", "connections", "knowledge_bases")
_MEMBER_KEYS = (
    "user_id",
    "email",
    "full_name",
    "avatar_url",
    "has_completed_onboarding",
    "last_signed_in",
    "updated_at",
)
_GROUP_KEYS = ("group_id", "name", "members")
_CONNECTION_KEYS = (
    "connection_id",
    "name",
    "provider_id",
    "connection_type_id",
    "provider_data",
    "created_at",
    "updated_at",
    "created_by",
    "updated_by",
    "org_level_role",
    "user_roles",
    "group_roles",
    "health_issue",
    "health_forced",
    "tree",
    "refreshes",
)
_PENDING_KEYS = (
    "request_id",
    "user_id",
    "org_id",
    "email",
    "provider_id",
    "connection_type_id",
    "name",
    "redirect_uri",
    "state",
    "age_seconds",
    "answered",
)
_CODE_KEYS = (
    "code",
    "request_id",
    "user_id",
    "org_id",
    "provider_id",
    "connection_type_id",
    "age_seconds",
    "used",
)
_MOCK_USERS = {user.user_id: user for user in USERS}


# ---------------------------------------------------------------- export


def export_snapshot(state: StackAiState) -> dict[str, Any]:
    now = state.clock.now
    timeline = state.clock.timeline.export()
    return {
        "version": VERSION,
        "seed": state.seed,
        "clock": {"now": iso(now), "due": timeline["due"], "draws": state.clock.rand.drawn},
        "created": state.created,
        "organizations": [_export_organization(org) for org in state.organizations.values()],
        "oauth": {
            "issued": state.oauth.issued,
            "pending": [_export_pending(p, now) for p in state.oauth.pending.values()],
            "codes": [_export_code(c, now) for c in state.oauth.codes.values()],
        },
        "auth": {
            "issued": state.auth.issued,
            "refresh_tokens": [
                [token, user_id, session_id]
                for token, (user_id, session_id) in state.auth.refresh_tokens.items()
            ],
        },
        "knowledge_bases_created": state.knowledge_bases_created,
    }


def _export_organization(organization: Organization) -> dict[str, Any]:
    return {
        "org_id": organization.org_id,
        "name": organization.name,
        "domain": organization.domain,
        "members": [
            {
                "user_id": m.user_id,
                "email": m.email,
                "full_name": m.full_name,
                "avatar_url": m.avatar_url,
                "has_completed_onboarding": m.has_completed_onboarding,
                "last_signed_in": iso(m.last_signed_in),
                "updated_at": iso(m.updated_at),
            }
            for m in organization.members.values()
        ],
        "groups": [
            {"group_id": g.group_id, "name": g.name, "members": sorted(g.members)}
            for g in organization.groups.values()
        ],
        "connections": [_export_connection(c) for c in organization.connections.values()],
        "knowledge_bases": export_knowledge_bases(organization),
    }


def _export_connection(connection: Connection) -> dict[str, Any]:
    return {
        "connection_id": connection.connection_id,
        "name": connection.name,
        "provider_id": connection.provider_id,
        "connection_type_id": connection.connection_type_id,
        "provider_data": json.dumps(connection.provider_data, ensure_ascii=False, allow_nan=False),
        "created_at": iso(connection.created_at),
        "updated_at": iso(connection.updated_at),
        "created_by": connection.created_by,
        "updated_by": connection.updated_by,
        "org_level_role": connection.org_level_role,
        "user_roles": {role: list(ids) for role, ids in connection.user_roles.items()},
        "group_roles": {role: list(ids) for role, ids in connection.group_roles.items()},
        "health_issue": connection.health_issue,
        "health_forced": connection.health_forced,
        "tree": connection.tree,
        "refreshes": connection.refreshes,
    }


def _export_pending(pending: PendingAuthorization, now: int) -> dict[str, Any]:
    return {
        "request_id": pending.request_id,
        "user_id": pending.user_id,
        "org_id": pending.org_id,
        "email": pending.email,
        "provider_id": pending.provider_id,
        "connection_type_id": pending.connection_type_id,
        "name": pending.name,
        "redirect_uri": pending.redirect_uri,
        "state": pending.state,
        "age_seconds": max(0, now - pending.started) / 1_000_000,
        "answered": pending.answered,
    }


def _export_code(code: AuthorizationCode, now: int) -> dict[str, Any]:
    return {
        "code": code.code,
        "request_id": code.request_id,
        "user_id": code.user_id,
        "org_id": code.org_id,
        "provider_id": code.provider_id,
        "connection_type_id": code.connection_type_id,
        "age_seconds": max(0, now - code.issued) / 1_000_000,
        "used": code.used,
    }


# ---------------------------------------------------------------- checks of JSON values


def _kind(value: Any) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "a boolean"
    if isinstance(value, int | float):
        return "a number"
    if isinstance(value, str):
        return "a string"
    if isinstance(value, list):
        return "a list"
    if isinstance(value, Mapping):
        return "an object"
    return type(value).__name__


def _show(value: Any) -> str:
    text = repr(value)
    return text if len(text) <= 60 else text[:57] + "..."


def _object(value: Any, where: str, keys: Sequence[str]) -> Mapping[str, Any]:
    """`value` as an object with exactly `keys`."""
    if not isinstance(value, Mapping):
        raise ValueError(f"{where} must be an object, not {_kind(value)}")
    missing = [key for key in keys if key not in value]
    if missing:
        raise ValueError(f"{where}: missing key(s) {', '.join(missing)}")
    unknown = sorted(str(key) for key in value if key not in keys)
    if unknown:
        raise ValueError(f"{where}: unknown key(s) {', '.join(unknown)}")
    return value


def _list(value: Any, where: str) -> list[Any]:
    if not isinstance(value, list):
        raise ValueError(f"{where} must be a list, not {_kind(value)}")
    return value


def _string(value: Any, where: str, *, empty: bool = True) -> str:
    if not isinstance(value, str):
        raise ValueError(f"{where} must be a string, not {_kind(value)}")
    if not empty and not value:
        raise ValueError(f"{where} must not be empty")
    return value


def _optional_string(value: Any, where: str, *, empty: bool = True) -> str | None:
    return None if value is None else _string(value, where, empty=empty)


def _bool(value: Any, where: str) -> bool:
    if not isinstance(value, bool):
        raise ValueError(f"{where} must be true or false, not {_kind(value)}")
    return value


def _count(value: Any, where: str, maximum: int = MAX_COUNT) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or not 0 <= value <= maximum:
        raise ValueError(f"{where} must be an integer from 0 to {maximum}, not {_show(value)}")
    return value


def _seconds(value: Any, where: str) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value) or value < 0:
        raise ValueError(f"{where} must be a number of seconds (0 or more), not {_show(value)}")
    return float(value)


def _uuid(value: Any, where: str) -> str:
    text = _string(value, where)
    try:
        canonical = str(uuid.UUID(text))
    except ValueError:
        canonical = ""
    if canonical != text:
        raise ValueError(f"{where} must be a lowercase UUID (8-4-4-4-12 hex digits), not {_show(value)}")
    return text


def _time(value: Any, where: str) -> int:
    text = _string(value, where)
    try:
        moment = datetime.fromisoformat(text)
    except ValueError:
        moment = None
    if moment is None or moment.tzinfo is None:
        raise ValueError(
            f"{where} must be an ISO 8601 time with an offset "
            f"(like 2025-12-01T09:00:00.000000+00:00), not {_show(value)}"
        )
    return to_micros(moment)


def _url(value: Any, where: str) -> str:
    text = _string(value, where)
    try:
        parts = urlsplit(text)
        good = parts.scheme in ("http", "https") and bool(parts.netloc)
    except ValueError:
        good = False
    if not good:
        raise ValueError(f"{where} must be an http(s) URL, not {_show(value)}")
    return text


def _choice(value: Any, where: str, choices: Sequence[str]) -> str:
    if value not in choices:
        names = ", ".join(choices)
        raise ValueError(f"{where} must be one of {names}, not {_show(value)}")
    result: str = value
    return result


def _unique(ids: list[str], where: str) -> None:
    seen: set[str] = set()
    for item in ids:
        if item in seen:
            raise ValueError(f"{where}: {item} appears twice")
        seen.add(item)


# ---------------------------------------------------------------- import


def import_snapshot(snapshot: Any, *, seed: int, clock_settings: ClockSettings = FROZEN) -> StackAiState:
    """A fresh state from `export_snapshot`'s output; `ValueError` names the first thing that is wrong."""
    top = _object(snapshot, "the snapshot", _TOP_KEYS)
    version = top["version"]
    if isinstance(version, bool) or version != VERSION:
        raise ValueError(f"version must be {VERSION}, not {_show(version)}")
    exported_seed = top["seed"]
    if isinstance(exported_seed, bool) or not isinstance(exported_seed, int):
        raise ValueError(f"seed must be an integer, not {_show(exported_seed)}")
    if exported_seed != seed:
        raise ValueError(
            f"the snapshot was exported with seed {exported_seed} but this server runs with seed {seed} "
            "(resource trees, ids and cursors derive from the seed): start the server with "
            f'--seed {exported_seed}, or POST /__mock/reset {{"seed": {exported_seed}}} first'
        )
    clock_data = _object(top["clock"], "clock", ("now", "due", "draws"))
    rand = Rand.of("stack-ai", seed, "clock")
    rand.skip_to(_count(clock_data["draws"], "clock.draws", MAX_DRAWS))
    now = _time(clock_data["now"], "clock.now")
    timeline = Timeline.restore(
        {"now": format_instant(now), "due": clock_data["due"]}, settings=clock_settings
    )
    clock = Clock(timeline, rand)
    created = _count(top["created"], "created")
    organizations = _organizations(_list(top["organizations"], "organizations"))
    state = StackAiState(seed=seed, organizations=organizations, clock=clock, created=created)
    state.oauth = _oauth(top["oauth"], now)
    state.auth = _auth(top["auth"])
    state.knowledge_bases_created = _count(top["knowledge_bases_created"], "knowledge_bases_created")
    for index, organization in enumerate(organizations.values()):
        where = f"organizations[{index}].knowledge_bases"
        import_knowledge_bases(state, organization, top["organizations"][index]["knowledge_bases"], where)
    attach_handlers(state)
    return state


def _auth(value: Any) -> AuthStore:
    data = _object(value, "auth", ("issued", "refresh_tokens"))
    store = AuthStore(issued=_count(data["issued"], "auth.issued"))
    tokens = _list(data["refresh_tokens"], "auth.refresh_tokens")
    if len(tokens) > MAX_REFRESH_TOKENS:
        raise ValueError(f"auth.refresh_tokens: at most {MAX_REFRESH_TOKENS}")
    for index, pair in enumerate(tokens):
        where = f"auth.refresh_tokens[{index}]"
        if not isinstance(pair, list) or len(pair) != 3:
            raise ValueError(f"{where} must be [refresh token, user id, session id]")
        token = _string(pair[0], where, empty=False)
        user_id = _uuid(pair[1], f"{where}[1]")
        if user_id not in _MOCK_USERS:
            raise ValueError(f"{where}[1]: {user_id} is not a mock user")
        store.refresh_tokens[token] = (user_id, _uuid(pair[2], f"{where}[2]"))
    return store


def _organizations(items: list[Any]) -> dict[str, Organization]:
    expected = {organization_id(name): name for name in ORGANIZATIONS}
    organizations: dict[str, Organization] = {}
    connection_ids: set[str] = set()
    for index, item in enumerate(items):
        where = f"organizations[{index}]"
        data = _object(item, where, _ORG_KEYS)
        org_id = _uuid(data["org_id"], f"{where}.org_id")
        if org_id not in expected:
            known = ", ".join(f"{oid} ({name})" for oid, name in expected.items())
            raise ValueError(f"{where}.org_id {org_id} is not a mock organization (they are: {known})")
        if org_id in organizations:
            raise ValueError(f"{where}: organization {org_id} appears twice")
        name = _string(data["name"], f"{where}.name")
        if name != expected[org_id]:
            raise ValueError(
                f"{where}.name must be {expected[org_id]!r} (the name of {org_id}), not {name!r}"
            )
        organization = Organization(
            org_id=org_id,
            name=name,
            domain=_string(data["domain"], f"{where}.domain", empty=False),
            members=_members(_list(data["members"], f"{where}.members"), org_id, f"{where}.members"),
            groups={},
        )
        organization.groups = _groups(_list(data["groups"], f"{where}.groups"), organization, where)
        for c_index, c_item in enumerate(_list(data["connections"], f"{where}.connections")):
            connection = _connection(c_item, organization, f"{where}.connections[{c_index}]")
            if connection.connection_id in connection_ids:
                raise ValueError(
                    f"{where}.connections[{c_index}]: connection {connection.connection_id} appears twice"
                )
            connection_ids.add(connection.connection_id)
            organization.connections[connection.connection_id] = connection
        organizations[org_id] = organization
    missing = [name for oid, name in expected.items() if oid not in organizations]
    if missing:
        raise ValueError(f"organizations: missing {', '.join(missing)} (every mock organization is required)")
    return organizations


def _members(items: list[Any], org_id: str, where: str) -> dict[str, Member]:
    members: dict[str, Member] = {}
    for index, item in enumerate(items):
        at = f"{where}[{index}]"
        data = _object(item, at, _MEMBER_KEYS)
        user_id = _uuid(data["user_id"], f"{at}.user_id")
        if user_id in members:
            raise ValueError(f"{at}: member {user_id} appears twice")
        email = _string(data["email"], f"{at}.email", empty=False)
        mock = _MOCK_USERS.get(user_id)
        if mock is not None and (mock.org_id != org_id or mock.email != email):
            raise ValueError(
                f"{at}: {user_id} is mock user {mock.key} <{mock.email}> of {mock.organization}; "
                "it cannot appear with another e-mail or in another organization"
            )
        members[user_id] = Member(
            user_id=user_id,
            email=email,
            full_name=_optional_string(data["full_name"], f"{at}.full_name"),
            avatar_url=_optional_string(data["avatar_url"], f"{at}.avatar_url"),
            has_completed_onboarding=_bool(
                data["has_completed_onboarding"], f"{at}.has_completed_onboarding"
            ),
            last_signed_in=_time(data["last_signed_in"], f"{at}.last_signed_in"),
            updated_at=_time(data["updated_at"], f"{at}.updated_at"),
        )
    absent = [user.key for user in USERS if user.org_id == org_id and user.user_id not in members]
    if absent:
        raise ValueError(f"{where}: the mock user(s) {', '.join(absent)} must be members")
    return members


def _groups(items: list[Any], organization: Organization, where: str) -> dict[str, Group]:
    groups: dict[str, Group] = {}
    for index, item in enumerate(items):
        at = f"{where}.groups[{index}]"
        data = _object(item, at, _GROUP_KEYS)
        group_id = _uuid(data["group_id"], f"{at}.group_id")
        if group_id in groups:
            raise ValueError(f"{at}: group {group_id} appears twice")
        member_ids = [
            _uuid(m, f"{at}.members[{i}]") for i, m in enumerate(_list(data["members"], f"{at}.members"))
        ]
        _unique(member_ids, f"{at}.members")
        for i, member_id in enumerate(member_ids):
            if member_id not in organization.members:
                raise ValueError(f"{at}.members[{i}]: {member_id} is not a member of {organization.name}")
        groups[group_id] = Group(
            group_id=group_id, name=_string(data["name"], f"{at}.name"), members=frozenset(member_ids)
        )
    return groups


def _provider_data(value: Any, where: str) -> dict[str, Any]:
    text = _string(value, where)
    try:
        data = json.loads(text, parse_constant=_no_constant)
    except (ValueError, RecursionError) as exc:
        raise ValueError(f"{where} must be JSON text of an object: {exc}") from exc
    if not isinstance(data, dict):
        raise ValueError(f"{where} must be JSON text of an object, not of {_kind(data)}")
    return data


def _no_constant(name: str) -> Any:
    raise ValueError(f"{name} is not JSON")


def _grants(
    value: Any, where: str, known: Mapping[str, Any], subject: str, organization: Organization
) -> dict[str, list[str]]:
    if not isinstance(value, Mapping):
        raise ValueError(f"{where} must be an object, not {_kind(value)}")
    for role in value:
        _choice(role, f"{where}: role", ROLES)
    grants: dict[str, list[str]] = {}
    holder: dict[str, str] = {}
    for role in ROLES:  # stored strongest first, as the API keeps them
        if role not in value:
            continue
        at = f"{where}.{role}"
        ids = [_uuid(s, f"{at}[{i}]") for i, s in enumerate(_list(value[role], at))]
        if not ids:
            raise ValueError(f"{at} must not be empty (leave the role out instead)")
        for i, subject_id in enumerate(ids):
            if subject_id not in known:
                raise ValueError(f"{at}[{i}]: {subject_id} is not a {subject} of {organization.name}")
            if subject_id in holder:
                raise ValueError(
                    f"{at}[{i}]: {subject_id} already holds the role {holder[subject_id]} "
                    "(a subject holds one role per connection)"
                )
            holder[subject_id] = role
        grants[role] = ids
    return grants


def _connection(value: Any, organization: Organization, where: str) -> Connection:
    data = _object(value, where, _CONNECTION_KEYS)
    connection_id = _uuid(data["connection_id"], f"{where}.connection_id")
    type_id = _choice(data["connection_type_id"], f"{where}.connection_type_id", tuple(BY_TYPE))
    provider_id = _string(data["provider_id"], f"{where}.provider_id")
    if provider_id != BY_TYPE[type_id].provider_id:
        raise ValueError(
            f"{where}.provider_id must be {BY_TYPE[type_id].provider_id!r} "
            f"(the provider of connection type {type_id!r}), not {provider_id!r}"
        )
    for key in ("created_by", "updated_by"):
        if _uuid(data[key], f"{where}.{key}") not in organization.members:
            raise ValueError(f"{where}.{key}: {data[key]} is not a member of {organization.name}")
    org_level_role = data["org_level_role"]
    if org_level_role is not None:
        _choice(org_level_role, f"{where}.org_level_role", ROLES)
    health_issue = _optional_string(data["health_issue"], f"{where}.health_issue", empty=False)
    health_forced = _bool(data["health_forced"], f"{where}.health_forced")
    if health_forced and health_issue is not None:
        raise ValueError(f"{where}: health_forced must be false while health_issue is set")
    return Connection(
        connection_id=connection_id,
        org_id=organization.org_id,
        name=_string(data["name"], f"{where}.name"),
        provider_id=provider_id,
        connection_type_id=type_id,
        provider_data=_provider_data(data["provider_data"], f"{where}.provider_data"),
        created_at=_time(data["created_at"], f"{where}.created_at"),
        updated_at=_time(data["updated_at"], f"{where}.updated_at"),
        created_by=data["created_by"],
        updated_by=data["updated_by"],
        org_level_role=org_level_role,
        user_roles=_grants(
            data["user_roles"], f"{where}.user_roles", organization.members, "member", organization
        ),
        group_roles=_grants(
            data["group_roles"], f"{where}.group_roles", organization.groups, "group", organization
        ),
        health_issue=health_issue,
        health_forced=health_forced,
        tree=_choice(data["tree"], f"{where}.tree", TREE_SIZES),
        refreshes=_count(data["refreshes"], f"{where}.refreshes"),
    )


def _mock_user(data: Mapping[str, Any], where: str) -> MockUser:
    user_id = _uuid(data["user_id"], f"{where}.user_id")
    user = _MOCK_USERS.get(user_id)
    if user is None:
        raise ValueError(f"{where}.user_id: {user_id} is not a mock user (only they can start OAuth flows)")
    if data["org_id"] != user.org_id:
        raise ValueError(
            f"{where}.org_id must be {user.org_id} (the organization of {user.key}), not {_show(data['org_id'])}"
        )
    return user


def _oauth_type(data: Mapping[str, Any], where: str) -> str:
    type_id = _choice(data["connection_type_id"], f"{where}.connection_type_id", tuple(BY_TYPE))
    entry = BY_TYPE[type_id]
    if entry.connection_type != OAUTH2:
        raise ValueError(f"{where}.connection_type_id: {type_id!r} does not use OAuth")
    if data["provider_id"] != entry.provider_id:
        raise ValueError(
            f"{where}.provider_id must be {entry.provider_id!r}, not {_show(data['provider_id'])}"
        )
    return type_id


def _oauth(value: Any, now: int) -> OAuthStore:
    data = _object(value, "oauth", ("issued", "pending", "codes"))
    store = OAuthStore(issued=_count(data["issued"], "oauth.issued"))
    for index, item in enumerate(_list(data["pending"], "oauth.pending")):
        where = f"oauth.pending[{index}]"
        fields = _object(item, where, _PENDING_KEYS)
        request_id = _string(fields["request_id"], f"{where}.request_id", empty=False)
        if request_id in store.pending:
            raise ValueError(f"{where}: request {request_id} appears twice")
        user = _mock_user(fields, where)
        if fields["email"] != user.email:
            raise ValueError(f"{where}.email must be {user.email} (the e-mail of {user.key})")
        type_id = _oauth_type(fields, where)
        store.pending[request_id] = PendingAuthorization(
            request_id=request_id,
            user_id=user.user_id,
            org_id=user.org_id,
            email=user.email,
            provider_id=BY_TYPE[type_id].provider_id,
            connection_type_id=type_id,
            name=_optional_string(fields["name"], f"{where}.name"),
            redirect_uri=_url(fields["redirect_uri"], f"{where}.redirect_uri"),
            state=_string(fields["state"], f"{where}.state"),
            started=now - round(_seconds(fields["age_seconds"], f"{where}.age_seconds") * 1_000_000),
            answered=_bool(fields["answered"], f"{where}.answered"),
        )
    for index, item in enumerate(_list(data["codes"], "oauth.codes")):
        where = f"oauth.codes[{index}]"
        fields = _object(item, where, _CODE_KEYS)
        code = _string(fields["code"], f"{where}.code", empty=False)
        if code in store.codes:
            raise ValueError(f"{where}: code {_show(code)} appears twice")
        user = _mock_user(fields, where)
        type_id = _oauth_type(fields, where)
        pending = store.pending.get(_string(fields["request_id"], f"{where}.request_id"))
        if pending is None:
            raise ValueError(
                f"{where}.request_id: no pending request {_show(fields['request_id'])} in oauth.pending"
            )
        if (pending.user_id, pending.connection_type_id) != (user.user_id, type_id) or not pending.answered:
            raise ValueError(
                f"{where}: the code must be for the user and connection type of an answered request "
                f"(request {pending.request_id})"
            )
        store.codes[code] = AuthorizationCode(
            code=code,
            request_id=pending.request_id,
            user_id=user.user_id,
            org_id=user.org_id,
            provider_id=pending.provider_id,
            connection_type_id=type_id,
            issued=now - round(_seconds(fields["age_seconds"], f"{where}.age_seconds") * 1_000_000),
            used=_bool(fields["used"], f"{where}.used"),
        )
    return store
