"""hookstream: errors are `{"error", "status", "request_id"}`; every response carries rate-limit headers."""

from __future__ import annotations

import argparse
from collections.abc import Callable, Mapping, Sequence
from types import MappingProxyType
from typing import Any

from starlette.routing import BaseRoute

from ..._api import ApiDefinition, Behaviour, Credential, MockResponse, Principal, Problem, Reason
from ..._outbound import OutboundRunner
from ..._spec import SecurityScheme
from ...control._clock import FROZEN, ClockSettings, Timeline
from . import _attempts, _connections, _destinations, _events, _ingest, _sources
from ._errors import describe_all
from ._keys import API_KEY_FORMAT, API_KEYS, BY_KEY, BY_SESSION
from ._plan import DEFAULT_PLAN_LIMIT
from ._ratelimit import rate_limit_argument
from ._snapshot import export_store, import_store
from ._state import ANONYMOUS, RATE_LIMITED, HookstreamState, new_state, read_event_retention
from ._stream import stream_routes

__all__ = ["API", "HookstreamApi", "HookstreamState"]

_MESSAGES = MappingProxyType(
    {
        Reason.NOT_FOUND: "Not found",
        Reason.METHOD_NOT_ALLOWED: "Method not allowed",
        Reason.UNAUTHENTICATED: "Invalid API key",
        Reason.INVALID_CREDENTIALS: "Invalid API key",
        Reason.UNSUPPORTED_MEDIA_TYPE: "Content-Type must be application/json",
        Reason.MALFORMED_BODY: "Malformed JSON body",
    }
)


def _positive_int(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        value = 0
    if value < 1:
        raise argparse.ArgumentTypeError(f"expected a positive integer, got {text!r}")
    return value


class HookstreamApi(ApiDefinition):
    name = "hookstream"
    title = "hookstream API"
    validation_status = 400
    bookkeeping_keys = frozenset({"requests_served"})

    def add_arguments(self, group: argparse._ArgumentGroup) -> None:
        group.add_argument(
            "--rate-limit",
            dest="rate_limit",
            type=rate_limit_argument,
            default=None,
            metavar="N/SECONDS",
            help="allow N requests per SECONDS per organization, then answer 429 "
            "(default: count only, 1000/60, never refuse)",
        )
        group.add_argument(
            "--source-limit",
            dest="source_limit",
            type=_positive_int,
            default=None,
            metavar="N",
            help=f"plan limit of sources per organization; more gives 403 (default: {DEFAULT_PLAN_LIMIT})",
        )
        group.add_argument(
            "--destination-limit",
            dest="destination_limit",
            type=_positive_int,
            default=None,
            metavar="N",
            help=f"plan limit of destinations per organization; more gives 403 (default: {DEFAULT_PLAN_LIMIT})",
        )
        group.add_argument(
            "--connection-limit",
            dest="connection_limit",
            type=_positive_int,
            default=None,
            metavar="N",
            help=f"plan limit of connections per organization; more gives 403 (default: {DEFAULT_PLAN_LIMIT})",
        )
        group.add_argument(
            "--event-retention",
            dest="event_retention",
            type=_positive_int,
            default=None,
            metavar="N",
            help="events kept per organization for GET /v1/events; the oldest are dropped first (default: 1000)",
        )

    def create_state(
        self, *, seed: int, options: Mapping[str, Any], clock: ClockSettings = FROZEN
    ) -> HookstreamState:
        return new_state(seed, options, clock=clock)

    def timeline(self, state: Any) -> Timeline:
        assert isinstance(state, HookstreamState)
        return state.store.timeline

    def connect(self, state: Any, *, outbound: OutboundRunner, session: str) -> None:
        assert isinstance(state, HookstreamState)
        state.deliveries.outbound = outbound
        state.deliveries.session = session

    def export_state(self, state: HookstreamState) -> dict[str, Any]:
        return {"store": export_store(state.store), "requests_served": state.requests_served}

    def import_state(
        self,
        snapshot: Mapping[str, Any],
        *,
        seed: int,
        options: Mapping[str, Any],
        clock: ClockSettings = FROZEN,
    ) -> HookstreamState:
        served = snapshot.get("requests_served", 0)
        if isinstance(served, bool) or not isinstance(served, int) or served < 0:
            raise ValueError("requests_served must be a non-negative integer")
        retention = read_event_retention(options.get("event_retention"))
        store = import_store(snapshot["store"], seed=seed, retention=retention, clock_settings=clock)
        state = new_state(seed, options, store=store)
        state.requests_served = served
        return state

    def extra_routes(self, get_state: Callable[..., Any]) -> Sequence[BaseRoute]:
        return stream_routes(lambda session: get_state(session).stream)

    def fixture_cases(self) -> Any:
        from ._fixture_cases import cases  # imported late: it builds on the engine's fixture runner

        return cases()

    def behaviours(self) -> Mapping[str, Behaviour]:
        return {
            "listConnections": _connections.list_connections,
            "createConnection": _connections.create_connection,
            "getConnection": _connections.get_connection,
            "updateConnection": _connections.update_connection,
            "deleteConnection": _connections.delete_connection,
            "listSources": _sources.list_sources,
            "createSource": _sources.create_source,
            "listSourceTemplates": _sources.list_source_templates,
            "getSource": _sources.get_source,
            "updateSource": _sources.update_source,
            "deleteSource": _sources.delete_source,
            "listDestinations": _destinations.list_destinations,
            "createDestination": _destinations.create_destination,
            "getDestination": _destinations.get_destination,
            "updateDestination": _destinations.update_destination,
            "deleteDestination": _destinations.delete_destination,
            "ingestEvent": _ingest.ingest_event,
            "ingestEventGet": _ingest.ingest_event,
            "ingestEventPut": _ingest.ingest_event,
            "ingestEventPatch": _ingest.ingest_event,
            "ingestEventDelete": _ingest.ingest_event,
            "listEvents": _events.list_events,
            "getEvent": _events.get_event,
            "retryEvent": _attempts.retry_event,
            "listDeliveryAttempts": _attempts.list_delivery_attempts,
            "getDeliveryAttempt": _attempts.get_delivery_attempt,
            "retryDeliveryAttempt": _attempts.retry_delivery_attempt,
            "getDestinationCircuit": _attempts.get_circuit,
            "resetDestinationCircuit": _attempts.reset_circuit,
            "getHealth": _ingest.get_health,
        }

    def authenticate(self, state: Any, scheme: SecurityScheme, credential: str) -> Principal | None:
        if scheme.type == "apiKey" and scheme.location == "cookie":
            api_key = BY_SESSION.get(credential)
        elif API_KEY_FORMAT.match(credential):
            api_key = BY_KEY.get(credential)
        else:
            api_key = None
        if api_key is None:
            return None
        environment = api_key.environment
        return Principal(
            subject_id=api_key.owner,
            organization_id=environment.org_id,
            display_name=api_key.owner,
            attributes={"env_id": environment.env_id},
        )

    def credentials(self, state: Any) -> list[Credential]:
        found = []
        for api_key in API_KEYS:
            environment = api_key.environment
            label = f"{api_key.owner} ({environment.org_name}, {environment.name})"
            for how, value in (
                ("X-API-Key", api_key.key),
                ("Cookie: better-auth.session_token", api_key.session_token),
            ):
                found.append(
                    Credential(
                        label,
                        environment.org_id,
                        how,
                        value,
                        organization_name=environment.org_name,
                        environment_id=environment.env_id,
                    )
                )
        return found

    def render_problem(self, problem: Problem, *, state: HookstreamState) -> MockResponse:
        if problem.violations and problem.reason in (Reason.VALIDATION, Reason.MALFORMED_BODY):
            message = describe_all(problem.violations)
        else:
            message = _MESSAGES.get(problem.reason) or problem.message
        return MockResponse(problem.status, state.error_body(problem.status, message), dict(problem.headers))

    def finalize(
        self, response: MockResponse, *, state: HookstreamState, principal: Principal | None
    ) -> None:
        """Rate-limit what no behaviour admitted (401s, validation errors, unknown routes)."""
        if "RateLimit-Limit" in response.headers:
            return
        decision = state.limiter.admit(principal.organization_id if principal else ANONYMOUS)
        if not decision.allowed and response.status < 500:
            refused = self.render_problem(Problem(429, "Rate limit exceeded", RATE_LIMITED), state=state)
            response.status, response.body, response.media_type = 429, refused.body, refused.media_type
            response.headers.pop("Allow", None)
        response.headers.update(decision.headers())


API = HookstreamApi()
