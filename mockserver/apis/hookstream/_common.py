"""Helpers shared by the behaviours: the caller, JSON responses, and the standard refusals."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any

from ..._api import MockResponse, OperationContext, Problem, Reason
from ._keys import ENVIRONMENTS
from ._state import HookstreamState
from ._store import Connection, Store


@dataclass(frozen=True, slots=True)
class Caller:
    org_id: str
    env_id: str


def state_of(ctx: OperationContext) -> HookstreamState:
    state: HookstreamState = ctx.state
    return state


def store_of(ctx: OperationContext) -> Store:
    return state_of(ctx).store


def caller_of(ctx: OperationContext) -> Caller:
    principal = ctx.principal
    if principal is None:  # the spec makes every operation but health and ingest authenticated
        raise Problem(401, "Invalid API key", Reason.UNAUTHENTICATED)
    return Caller(principal.organization_id, str(principal.attributes.get("env_id", "")))


def environment_ids(org_id: str) -> frozenset[str]:
    return frozenset(env.env_id for env in ENVIRONMENTS if env.org_id == org_id)


def json_response(status: int, body: Any) -> MockResponse:
    return MockResponse(status, body)


def deleted() -> MockResponse:
    return MockResponse(200, {"success": True})


def invalid(messages: Sequence[str]) -> Problem:
    return Problem(400, "; ".join(messages), Reason.VALIDATION)


def not_found(what: str) -> Problem:
    return Problem(404, f"{what} not found", "resource_not_found")


def conflict(message: str) -> Problem:
    return Problem(409, message, "conflict")


def slug_conflict(
    kind: str, records: Iterable[Any], *, org_id: str, env_id: str, slug: str, other_than: str = ""
) -> Problem | None:
    """The 409 for a slug another source or destination of the same environment already uses (inferred)."""
    taken = any(
        r.slug == slug and r.org_id == org_id and r.env_id == env_id and r.id != other_than for r in records
    )
    return conflict(f"A {kind} with slug '{slug}' already exists in this environment") if taken else None


def in_use(kind: str, connections: Sequence[Connection]) -> Problem:
    """409 naming the connections that still use a source or destination."""
    count = len(connections)
    names = ", ".join(f'"{c.name}" ({c.id})' for c in connections)
    noun, pronoun = ("connection", "it") if count == 1 else ("connections", "them")
    return conflict(f"{kind} is used by {count} {noun}: {names}; delete {pronoun} first")
