"""Stack AI: a FastAPI service; errors are FastAPI's `{"detail": ...}` bodies.

The stateful behaviour is split into small modules: `_seed` / `_state` (the store), `_catalogue`,
`_connections`, `_filters`, `_access` and `_rbac` (roles and their enforcement), `_oauth` (the offline
OAuth flow and its mock-only pages), `_resources` (the lazy resource trees), `_snapshot` (export and
import of the state) and `_health` (a mock-only route that flips a connection's health).
"""

from __future__ import annotations

import argparse
from collections.abc import Callable, Mapping, Sequence
from typing import Any

from starlette.routing import BaseRoute

from ..._api import ApiDefinition, Behaviour, Credential, MockResponse, Principal, Problem, Reason
from ..._parameters import NumberSyntax
from ..._spec import SecurityScheme
from ...control._clock import FROZEN, ClockSettings, Timeline
from . import _auth, _connections, _health, _oauth, _rbac, _resources, knowledge_bases
from ._render import validation_item
from ._seed import DEFAULT_CONNECTIONS, create_state, group_id, mock_user_groups
from ._snapshot import export_snapshot, import_snapshot
from ._state import MAX_CREATED_CONNECTIONS, SHARED_FOLDERS, SHARED_RESOURCES, BoundedCache, StackAiState
from ._users import USERS

__all__ = ["API", "StackAiApi"]


class StackAiApi(ApiDefinition):
    name = "stack-ai"
    title = "Stack AI Connections API"
    validation_status = 422
    parameter_numbers = NumberSyntax.PYDANTIC
    _shared: tuple[BoundedCache, BoundedCache] | None = None

    def _share_caches(self, state: StackAiState) -> None:
        """Give the state the folder and resource caches every state of this API shares: their entries are
        pure functions of their keys (the seed, the connection id, the size class, the path, the provider
        and the organization's identity), so sessions need no copy of their own and the caches' bounds do
        not grow with `--max-sessions`."""
        if self._shared is None:
            self._shared = (BoundedCache(SHARED_FOLDERS), BoundedCache(SHARED_RESOURCES))
        state.folders, state.resources = self._shared

    def add_arguments(self, group: argparse._ArgumentGroup) -> None:
        group.add_argument(
            "--connections",
            type=_non_negative,
            default=DEFAULT_CONNECTIONS,
            dest="connections",
            metavar="N",
            help=f"Stack AI: seeded connections per organization (default: {DEFAULT_CONNECTIONS})",
        )
        group.add_argument(
            "--max-connections",
            type=_positive,
            default=None,
            dest="max_connections",
            metavar="N",
            help="Stack AI: connections an organization may hold, the seeded ones included; creating one more "
            f"gives 409 (default: --connections plus {MAX_CREATED_CONNECTIONS:,})",
        )
        group.add_argument(
            "--indexing-seconds",
            type=_positive,
            default=DEFAULT_INDEXING_SECONDS,
            dest="indexing_seconds",
            metavar="S",
            help="Stack AI: typical seconds a knowledge-base file takes to index on the mock clock; each "
            f"file's is seeded from half to one and a half times it (default: {DEFAULT_INDEXING_SECONDS})",
        )

    def create_state(
        self, *, seed: int, options: Mapping[str, Any], clock: ClockSettings = FROZEN
    ) -> StackAiState:
        connections = options.get("connections")
        state = create_state(
            seed=seed,
            connections=DEFAULT_CONNECTIONS if connections is None else int(connections),
            clock=clock,
        )
        state.indexing_seconds = _indexing_seconds(options)
        state.max_connections = _max_connections(options)
        self._share_caches(state)
        return state

    def timeline(self, state: Any) -> Timeline:
        assert isinstance(state, StackAiState)
        return state.clock.timeline

    def export_state(self, state: Any) -> dict[str, Any]:
        """Everything a response depends on, as plain JSON; credentials IN CLEAR (see `_snapshot.py`)."""
        assert isinstance(state, StackAiState)
        return export_snapshot(state)

    def import_state(
        self,
        snapshot: Mapping[str, Any],
        *,
        seed: int,
        options: Mapping[str, Any],
        clock: ClockSettings = FROZEN,
    ) -> StackAiState:
        """A new state from `export_state`'s output (the current one is untouched); ValueError says what is wrong."""
        state = import_snapshot(snapshot, seed=seed, clock_settings=clock)
        state.indexing_seconds = _indexing_seconds(options)
        state.max_connections = _max_connections(options)
        self._share_caches(state)
        return state

    def extra_routes(self, get_state: Callable[..., Any]) -> Sequence[BaseRoute]:
        return (*_oauth.routes(get_state), *_health.routes(get_state, self.name))

    def fixture_cases(self) -> Any:
        from ._fixture_cases import cases  # imported late: it builds on the engine's fixture runner

        return cases()

    def behaviours(self) -> Mapping[str, Behaviour]:
        return {
            "get_available_connections": _connections.get_available_connections,
            "get_connections": _connections.get_connections,
            "create_connection": _connections.create_connection,
            "get_connection_by_id": _connections.get_connection_by_id,
            "update_connection": _connections.update_connection,
            "delete_connection": _connections.delete_connection,
            "patch_connection": _connections.patch_connection,
            "get_connection_health": _connections.get_connection_health,
            "get_paginated_connections": _connections.get_paginated_connections,
            "get_oauth_url": _oauth.get_oauth_url,
            "create_connection_from_callback": _oauth.create_connection_from_callback,
            "update_connection_from_callback": _oauth.update_connection_from_callback,
            "get_connection_resources": _resources.get_connection_resources,
            "get_children_resources": _resources.get_children_resources,
            "search_resources": _resources.search_resources,
            "get_connection_rbac": _rbac.get_connection_rbac,
            "update_connection_rbac": _rbac.update_connection_rbac,
            "delete_connection_rbac": _rbac.delete_connection_rbac,
            "update_connection_organization_role": _rbac.update_connection_organization_role,
            "sign_in": _auth.sign_in,
            "get_current_organization": _auth.get_current_organization,
            "get_auth_user": _auth.get_auth_user,
            "sign_out": _auth.sign_out,
            "list_knowledge_bases": knowledge_bases.list_knowledge_bases,
            "create_knowledge_base": knowledge_bases.create_knowledge_base,
            "get_knowledge_base": knowledge_bases.get_knowledge_base,
            "update_knowledge_base": knowledge_bases.update_knowledge_base,
            "delete_knowledge_base": knowledge_bases.delete_knowledge_base,
            "sync_knowledge_base": knowledge_bases.sync_knowledge_base,
            "list_knowledge_base_children": knowledge_bases.list_knowledge_base_children,
            "delete_knowledge_base_resource": knowledge_bases.delete_knowledge_base_resource,
            "upload_knowledge_base_resource": knowledge_bases.upload_knowledge_base_resource,
        }

    def authenticate(self, state: Any, scheme: SecurityScheme, credential: str) -> Principal | None:
        user = _auth.user_of_token(state, credential)
        if user is None:
            return None
        return Principal(
            subject_id=user.user_id,
            organization_id=user.org_id,
            display_name=user.email,
            attributes={"user": user},
        )

    def credentials(self, state: Any) -> list[Credential]:
        return [
            Credential(
                label=f"{user.key} <{user.email}> ({user.org_role}, {user.organization})",
                organization_id=user.org_id,
                how="Authorization: Bearer",
                value=user.token,
                organization_name=user.organization,
                user_id=user.user_id,
                group_ids=tuple(group_id(user.org_id, name) for name in mock_user_groups(user)),
            )
            for user in USERS
        ]

    def render_problem(self, problem: Problem, *, state: Any) -> MockResponse:
        headers = dict(problem.headers)
        if problem.status == 401:
            headers["WWW-Authenticate"] = "Bearer"
        if problem.reason in (Reason.VALIDATION, Reason.MALFORMED_BODY) and problem.violations:
            detail: Any = [validation_item(violation) for violation in problem.violations]
        else:
            detail = problem.message
        return MockResponse(problem.status, {"detail": detail}, headers)


DEFAULT_INDEXING_SECONDS = 60


def _indexing_seconds(options: Mapping[str, Any]) -> int:
    value = options.get("indexing_seconds")
    if value is None:
        return DEFAULT_INDEXING_SECONDS
    if isinstance(value, bool) or not isinstance(value, int) or value < 1:
        raise ValueError(f"indexing_seconds must be a whole number of at least 1, not {value!r}")
    return value


def _positive(text: str) -> int:
    value = int(text)
    if value < 1:
        raise argparse.ArgumentTypeError("must be 1 or more")
    return value


def _max_connections(options: Mapping[str, Any]) -> int:
    value = options.get("max_connections")
    if value is None:
        seeded = options.get("connections")
        return (DEFAULT_CONNECTIONS if seeded is None else max(0, int(seeded))) + MAX_CREATED_CONNECTIONS
    if isinstance(value, bool) or not isinstance(value, int) or value < 1:
        raise ValueError(f"max_connections must be a whole number of at least 1, not {value!r}")
    return value


def _non_negative(text: str) -> int:
    value = int(text)
    if value < 0:
        raise argparse.ArgumentTypeError("must be 0 or more")
    return value


API = StackAiApi()
