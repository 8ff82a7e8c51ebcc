"""Connections as the vendor's JSON: key order of the docs, timestamps in its formats, secrets masked."""

from __future__ import annotations

from typing import Any

from ..._validation import Violation
from ._catalogue import choices_text
from ._masking import masked, masked_input
from ._state import Connection, Organization, iso


def connection_json(organization: Organization, connection: Connection) -> dict[str, Any]:
    """The vendor's JSON of a connection, rendered once per version of what it shows.

    Every write of a shown field ticks `updated_at` (the refresh of a token changes its dict in place);
    the other fields in the key make a missed tick harmless. Members never change within a state.
    """
    version = (
        connection.updated_at,
        connection.updated_by,
        connection.name,
        connection.provider_id,
        connection.connection_type_id,
        id(connection.provider_data),
    )
    rendered: dict[str, Any] = organization.rendered.get_current(
        connection.connection_id, version, lambda: _render(organization, connection)
    )
    return rendered


def _render(organization: Organization, connection: Connection) -> dict[str, Any]:
    members = organization.members
    return {
        "connection_id": connection.connection_id,
        "created_by": members[connection.created_by].profile(),
        "created_at": iso(connection.created_at),
        "updated_by": members[connection.updated_by].profile(),
        "updated_at": iso(connection.updated_at),
        "name": connection.name,
        "org_id": connection.org_id,
        "provider_id": connection.provider_id,
        "connection_type_id": connection.connection_type_id,
        "connection_provider_data": masked(connection.provider_data),
    }


def validation_item(violation: Violation) -> dict[str, Any]:
    """One item of a FastAPI 422 `detail` list (secrets in `input` masked)."""
    item: dict[str, Any] = {
        "type": violation.kind,
        "loc": list(violation.location),
        "msg": violation.message,
        "input": masked_input(violation.location, violation.input),
    }
    if violation.context:
        context = dict(violation.context)
        # The engine lists an enum's values; pydantic words them.
        if isinstance(context.get("expected"), list):
            context["expected"] = choices_text(context["expected"])
        item["ctx"] = context
    return item
