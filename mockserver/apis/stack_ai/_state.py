"""The in-memory store of the Stack AI mock: organizations, their members, groups and connections.

Everything lives in one `StackAiState` built by `create_state` (see `_seed.py`); there is no global
mutable data. Timestamps come from `Clock`, on the engine's mock clock (a `Timeline`): it starts at a
fixed instant (2025-12-01T09:00:00+00:00) and each write moves it a seeded few milliseconds forward, so
under a frozen clock the same seed and the same requests give byte-identical responses.
"""

from __future__ import annotations

import copy
from collections import OrderedDict
from collections.abc import Callable, Hashable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from functools import lru_cache
from typing import TYPE_CHECKING, Any

from ...control._clock import Timeline
from ._rand import Rand, stable_int, stable_uuid

if TYPE_CHECKING:
    from ._index import ConnectionIndex
    from .knowledge_bases import KnowledgeBase

EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
CLOCK_START = datetime(2025, 12, 1, 9, 0, tzinfo=UTC)
ROLES = ("admin", "editor", "viewer")
"""Connection roles, strongest first (the vendor's knowledge-base role enum; inferred)."""


def to_micros(moment: datetime) -> int:
    return (moment - EPOCH) // timedelta(microseconds=1)


_DAY = 86_400_000_000
_RENDERED = 8192
"""Timestamps kept rendered, per format: a listing renders the same connections and members again and again."""


@lru_cache(maxsize=4096)
def _date(day: int) -> str:
    """`2025-11-10`, for a day counted from the epoch (timestamps of one day share it)."""
    return (EPOCH + timedelta(days=day)).date().isoformat()


def _split(micros: int) -> tuple[str, int, int, int, int]:
    """Date, hours, minutes, seconds and microseconds, formatted by arithmetic: 2x faster than datetime."""
    day, rest = divmod(micros, _DAY)
    seconds, fraction = divmod(rest, 1_000_000)
    minutes, seconds = divmod(seconds, 60)
    hours, minutes = divmod(minutes, 60)
    return _date(day), hours, minutes, seconds, fraction


@lru_cache(maxsize=_RENDERED)
def iso(micros: int) -> str:
    """The vendor's connection timestamps: `2025-11-10T10:49:18.436394+00:00`."""
    date, hours, minutes, seconds, fraction = _split(micros)
    return f"{date}T{hours:02d}:{minutes:02d}:{seconds:02d}.{fraction:06d}+00:00"


@lru_cache(maxsize=_RENDERED)
def postgres(micros: int) -> str:
    """Profile timestamps as the vendor sends them: `2025-08-29 18:09:23.338452+00:00`."""
    date, hours, minutes, seconds, fraction = _split(micros)
    return f"{date} {hours:02d}:{minutes:02d}:{seconds:02d}.{fraction:06d}+00:00"


@lru_cache(maxsize=_RENDERED)
def iso_millis(micros: int) -> str:
    """Resource timestamps: `2025-11-28T01:31:40.235Z`."""
    date, hours, minutes, seconds, fraction = _split(micros)
    return f"{date}T{hours:02d}:{minutes:02d}:{seconds:02d}.{fraction // 1000:03d}Z"


@dataclass(slots=True)
class Clock:
    """Time on the state's timeline: each write's `tick` moves it 1-5 ms forward (steps from the seed)."""

    timeline: Timeline
    rand: Rand
    last_write: int = 0
    """The instant of the latest write (the start before any): listings re-file what changed after it."""

    def __post_init__(self) -> None:
        self.last_write = self.last_write or self.timeline.now()

    @property
    def now(self) -> int:
        return self.timeline.now()

    def tick(self) -> int:
        self.last_write = self.timeline.tick(1000 + self.rand.below(4000))
        return self.last_write


@dataclass(slots=True)
class Member:
    """A user of an organization, as shown in `created_by` / `updated_by`."""

    user_id: str
    email: str
    full_name: str | None
    avatar_url: str | None
    has_completed_onboarding: bool
    last_signed_in: int
    updated_at: int

    def profile(self) -> dict[str, Any]:
        return {
            "avatar_url": self.avatar_url,
            "full_name": self.full_name,
            "has_completed_onboarding": self.has_completed_onboarding,
            "last_signed_in": postgres(self.last_signed_in),
            "updated_at": postgres(self.updated_at),
            "id": self.user_id,
            "email": self.email,
        }


@dataclass(slots=True)
class Group:
    group_id: str
    name: str
    members: frozenset[str]


@dataclass(slots=True)
class Connection:
    connection_id: str
    org_id: str
    name: str
    provider_id: str
    connection_type_id: str
    provider_data: dict[str, Any]
    created_at: int
    updated_at: int
    created_by: str
    updated_by: str
    org_level_role: str | None = None
    user_roles: dict[str, list[str]] = field(default_factory=dict)
    group_roles: dict[str, list[str]] = field(default_factory=dict)
    health_issue: str | None = None
    """Why the provider would reject the stored credentials (seeded for some connections), or None."""
    health_forced: bool = False
    """Reported healthy whatever the stored credentials (set by the mock-only health route, see `_health.py`)."""
    tree: str = "small"
    """Size class of the connection's resource tree: `small`, `medium` or `large` (see `_resources.py`)."""
    refreshes: int = 0
    """How many times the OAuth tokens were refreshed; derives the next token deterministically."""
    pending_data: Callable[[], dict[str, Any]] | None = field(default=None, repr=False, compare=False)
    """Builds `provider_data` on its first read; set by seeding, which leaves `provider_data` unset."""

    if not TYPE_CHECKING:  # hidden from mypy, so that a misspelled attribute still fails type-checking

        def __getattr__(self, name):
            """Reached only for an unset slot: the `provider_data` of a seeded connection not read yet."""
            if name != "provider_data":
                raise AttributeError(name)
            pending = self.pending_data
            if pending is None:
                raise AttributeError(name)
            self.provider_data = data = pending()
            self.pending_data = None
            return data


RENDERED_CONNECTIONS = 4096


@dataclass(slots=True)
class Organization:
    org_id: str
    name: str
    domain: str
    members: dict[str, Member]
    groups: dict[str, Group]
    connections: dict[str, Connection] = field(default_factory=dict)
    """By id, in creation order (which is also `created_at` order)."""
    rendered: BoundedCache = field(
        default_factory=lambda: BoundedCache(RENDERED_CONNECTIONS), compare=False, repr=False
    )
    """Connections as JSON by connection id, with everything their rendering reads (derived data, never in
    a snapshot); a deleted connection's goes with it."""
    knowledge_bases: dict[str, KnowledgeBase] = field(default_factory=dict)
    """By id, in creation order."""

    _identity: tuple[str, ...] | None = field(default=None, compare=False, repr=False)

    def identity(self) -> tuple[str, ...]:
        """What a rendering may read of the organization (id, domain, members' emails): a key for caches that
        states share. Members never change within a state, so it is computed once."""
        if self._identity is None:
            emails = (member.email for member in self.members.values())
            self._identity = (self.org_id, self.domain, *emails)
        return self._identity

    def groups_of(self, user_id: str) -> set[str]:
        return {group.group_id for group in self.groups.values() if user_id in group.members}


@dataclass(slots=True)
class PendingAuthorization:
    """An OAuth flow started with `POST /connections/oauth/start`, waiting on the consent page."""

    request_id: str
    user_id: str
    org_id: str
    email: str
    provider_id: str
    connection_type_id: str
    name: str | None
    redirect_uri: str
    state: str
    started: int
    """On the mock clock, in microseconds."""
    answered: bool = False


@dataclass(slots=True)
class AuthorizationCode:
    code: str
    request_id: str
    user_id: str
    org_id: str
    provider_id: str
    connection_type_id: str
    issued: int
    """On the mock clock, in microseconds."""
    used: bool = False


SHARED_FOLDERS = 4096
"""Folders whose items are kept, for all the states of a server together (the least recently used goes)."""
SHARED_RESOURCES = 8192
"""Rendered resources kept, for all the states of a server together (the least recently used goes)."""

MAX_REFRESH_TOKENS = 1024
"""Live refresh tokens per state (the oldest goes first)."""


@dataclass(slots=True)
class AuthStore:
    """Sign-in sessions (see `_auth.py`)."""

    issued: int = 0
    """Sessions issued so far; derives the next tokens."""
    refresh_tokens: OrderedDict[str, tuple[str, str]] = field(default_factory=OrderedDict)
    """Live refresh tokens, oldest first, with the user and the session each belongs to."""


MAX_CREATED_CONNECTIONS = 10_000
"""Connections a client may add to an organization beyond the seeded ones (409 past it)."""

MAX_PENDING_AUTHORIZATIONS = 1024
"""Consent requests waiting per state, answered or not (the oldest goes first; they also expire)."""
MAX_AUTHORIZATION_CODES = 1024
"""Authorization codes per state, used or not (the oldest goes first; they also expire)."""


@dataclass(slots=True)
class OAuthStore:
    """OAuth flows in progress, oldest first; bounded by `MAX_PENDING_AUTHORIZATIONS` and
    `MAX_AUTHORIZATION_CODES` (what expiry alone cannot bound on a frozen clock)."""

    pending: dict[str, PendingAuthorization] = field(default_factory=dict)
    codes: dict[str, AuthorizationCode] = field(default_factory=dict)
    issued: int = 0


class BoundedCache:
    """A small LRU cache for derived, deterministic data (resource folders and their rendering); never part
    of a snapshot."""

    __slots__ = ("_entries", "_size")

    def __init__(self, size: int) -> None:
        self._entries: OrderedDict[Hashable, Any] = OrderedDict()
        self._size = size

    def get(self, key: Hashable, build: Callable[[], Any]) -> Any:
        if key in self._entries:
            self._entries.move_to_end(key)
            return self._entries[key]
        value = build()
        self._entries[key] = value
        if len(self._entries) > self._size:
            self._entries.popitem(last=False)
        return value

    def get_current(self, key: Hashable, version: Hashable, build: Callable[[], Any]) -> Any:
        """One entry per key: the value built for `version`, rebuilt (in place) when the version changed."""
        entry = self._entries.get(key)
        if entry is not None and entry[0] == version:
            self._entries.move_to_end(key)
            return entry[1]
        value = build()
        self._entries[key] = (version, value)
        self._entries.move_to_end(key)
        if len(self._entries) > self._size:
            self._entries.popitem(last=False)
        return value

    def discard(self, key: Hashable) -> None:
        self._entries.pop(key, None)


@dataclass(slots=True)
class StackAiState:
    seed: int
    organizations: dict[str, Organization]
    clock: Clock
    oauth: OAuthStore = field(default_factory=OAuthStore)
    created: int = 0
    """Connections created through the API so far; derives the next connection id."""
    auth: AuthStore = field(default_factory=AuthStore)
    knowledge_bases_created: int = 0
    """Knowledge bases created so far; derives the next knowledge-base id."""
    indexing_seconds: int = 60
    max_connections: int = MAX_CREATED_CONNECTIONS
    """Connections an organization may hold: the seeded `--connections` plus `MAX_CREATED_CONNECTIONS`."""
    """The typical time a file takes to index (`--indexing-seconds`); each file's is seeded around it."""
    folders: BoundedCache = field(
        default_factory=lambda: BoundedCache(SHARED_FOLDERS), compare=False, repr=False
    )
    """Folder items and counts by tree key (derived; the API shares one across its states, `SHARED_FOLDERS`)."""
    resources: BoundedCache = field(
        default_factory=lambda: BoundedCache(SHARED_RESOURCES), compare=False, repr=False
    )
    """Rendered resources (derived data, see `_resources.resource_json`): pages are browsed again and again.
    The API shares one across its states (`SHARED_RESOURCES`)."""
    knowledge_base_files: BoundedCache = field(
        default_factory=lambda: BoundedCache(8192), compare=False, repr=False
    )
    """Knowledge-base files as JSON without their status (derived data, see `knowledge_bases/_render.py`)."""
    indexes: dict[str, ConnectionIndex] = field(default_factory=dict, compare=False, repr=False)
    """Sorted views of each organization's connections, by org id (derived data, see `_index.py`)."""

    @property
    def secret(self) -> bytes:
        """Key of the HMACs that make cursors and resource ids tamper-evident."""
        return stable_int("stack-ai", "hmac", self.seed).to_bytes(8, "big") * 4

    def next_connection_id(self) -> str:
        self.created += 1
        return stable_uuid("stack-ai", self.seed, "created-connection", self.created)

    def tree_key(self, connection_id: str) -> int:
        return stable_int("stack-ai", self.seed, "tree", connection_id)

    def snapshot(self) -> dict[str, Any]:
        """A deep copy of everything a request can change (for tests: a refused request changes nothing)."""
        return copy.deepcopy(
            {
                "organizations": self.organizations,
                "clock": (self.clock.now, self.clock.rand.position, self.clock.timeline.export()),
                "oauth": self.oauth,
                "created": self.created,
                "auth": self.auth,
                "knowledge_bases_created": self.knowledge_bases_created,
            }
        )
