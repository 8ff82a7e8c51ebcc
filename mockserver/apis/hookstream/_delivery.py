"""Delivery: each routed event becomes attempts to its connections' destinations, with retries on the mock
clock, a dead-letter queue, and a circuit breaker per destination.

What happens is decided here; *when* is the engine's: retries and circuit probes are entries on the state's
`Timeline` (they run when the mock clock reaches them: wall time, `POST /__mock/clock`, or a request), and
real HTTP requests go through the engine's `OutboundRunner` (in the background, bounded, with the
destination's timeout). This module never sleeps, spawns tasks or reads the wall clock.

Where a request really goes: HTTP destinations the runner allows (loopback, or `--deliver-to`) get a real
request; every other destination (non-HTTP types, other hosts) gets a simulated outcome, deterministic from
the seed, the destination and the attempt.
"""

from __future__ import annotations

import base64
import copy
import dataclasses
import functools
import hashlib
import hmac
import json
import logging
import sys
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from ..._generate import stable_seed
from ..._outbound import OutboundRequest, OutboundResult, OutboundRunner
from ...control._clock import ScheduleFull, Timeline, to_micros
from ._attempt_log import FAILED, PENDING, SUCCESS, AttemptLog, DeliveryAttempt
from ._event_log import StoredEvent
from ._event_view import parsed_payload
from ._store import TIME_FORMAT, Connection, Destination, Store, format_micros

__all__ = [
    "BODY_LIMIT",
    "CIRCUIT_KIND",
    "CIRCUIT_STATES",
    "MAX_HELD",
    "RETRY_KIND",
    "Circuit",
    "Deliveries",
    "backoff_seconds",
    "run_transform",
]

logger = logging.getLogger("mockserver")

RETRY_KIND = "hookstream.retry"
CIRCUIT_KIND = "hookstream.circuit"
BODY_LIMIT = 10 * 1024
"""Bytes of a receiver's answer kept in `response_body` (the rest is cut; inferred)."""
MAX_HELD = 1000
"""Attempts an open circuit holds per destination; beyond that a new attempt fails at once."""
TRANSFORM_TIMEOUT_MS = 200
TRANSFORM_MAX_DEPTH = 100
DEFAULT_INTERVALS = (30, 300, 1800, 7200, 86400)
USER_AGENT = "hookstream-mock/1"

CLOSED, OPEN, HALF_OPEN = "closed", "open", "half-open"
CIRCUIT_STATES = (CLOSED, OPEN, HALF_OPEN)


def backoff_seconds(backoff_type: str, intervals: list[int], failed_attempt: int) -> int:
    """Seconds before the attempt after `failed_attempt` (1-based): the documented schedule, no jitter."""
    steps = list(intervals) or list(DEFAULT_INTERVALS)
    if backoff_type == "linear":
        return steps[0] * failed_attempt
    if backoff_type == "fixed":
        return steps[0]
    return steps[min(failed_attempt - 1, len(steps) - 1)]


@functools.cache
def _jsonata() -> Any:
    """The library, loaded with the first transform. It raises the whole process's recursion limit to 10000
    when it loads; the limit is put back (expressions are bounded by `TRANSFORM_MAX_DEPTH` anyway)."""
    limit = sys.getrecursionlimit()
    import jsonata
    import jsonata.jexception

    sys.setrecursionlimit(limit)
    return jsonata


@functools.lru_cache(maxsize=256)
def _compiled(expression: str) -> Any:
    return _jsonata().Jsonata(expression)


def run_transform(expression: str, payload: Any) -> tuple[dict[str, Any] | None, str | None]:
    """The JSONata result (a JSON object), or None and why it failed."""
    JException = _jsonata().jexception.JException
    try:
        compiled = _compiled(expression)
        frame = compiled.create_frame()
        frame.set_runtime_bounds(TRANSFORM_TIMEOUT_MS, TRANSFORM_MAX_DEPTH)
        result = compiled.evaluate(payload, frame)
    except JException as exc:
        return None, f"Transform failed: {exc}"
    except RecursionError:
        return None, "Transform failed: the expression recursed too deeply"
    except Exception as exc:  # the library's own failures on odd input
        return None, f"Transform failed: {type(exc).__name__}: {exc}"
    if not isinstance(result, dict):
        kind = "nothing" if result is None else type(result).__name__.replace("list", "an array")
        return None, f"Transform failed: transform_expression must return a JSON object, it returned {kind}"
    try:
        json.dumps(result, allow_nan=False)
    except (TypeError, ValueError) as exc:
        return None, f"Transform failed: the result is not JSON ({exc})"
    return result, None


@dataclass(slots=True)
class Circuit:
    destination_id: str
    state: str = CLOSED
    failure_count: int = 0
    last_transition_at: str | None = None
    opened_at: str | None = None
    next_probe_at: str | None = None
    held: deque[str] = field(default_factory=deque)
    probe_attempt_id: str | None = None


@dataclass(frozen=True, slots=True)
class _Prepared:
    request: OutboundRequest
    shown_headers: dict[str, str]


def _unix_seconds(micros: int) -> str:
    return str(micros // 1_000_000)


def _auth_headers(destination: Destination) -> dict[str, str]:
    config = destination.auth_config or {}
    if destination.auth_type == "bearer_token":
        token = config.get("token") or config.get("bearer_token") or ""
        return {"Authorization": f"Bearer {token}"}
    if destination.auth_type == "basic":
        user = str(config.get("username", config.get("user", "")))
        password = str(config.get("password", ""))
        return {"Authorization": "Basic " + base64.b64encode(f"{user}:{password}".encode()).decode()}
    if destination.auth_type == "api_key":
        header = str(config.get("header") or config.get("header_name") or "X-API-Key")
        key = config.get("key") or config.get("api_key") or config.get("value") or ""
        return {header: str(key)}
    return {}


def _signature_headers(destination: Destination, body: bytes, unix_time: str) -> dict[str, str]:
    config = destination.signing_config
    if not config or not config.get("secret"):
        return {}
    algorithm = config.get("algorithm", "sha256")
    digest = hashlib.sha1 if algorithm == "sha1" else hashlib.sha256
    message = f"{unix_time}.".encode() + body if config.get("include_timestamp") else body
    signature = hmac.new(str(config["secret"]).encode(), message, digest).hexdigest()
    prefix = str(config.get("prefix", "{algorithm}=")).replace("{algorithm}", algorithm)
    found = {str(config.get("header") or "X-hookstream-Signature"): prefix + signature}
    timestamp_header = str(config.get("timestamp_header") or "X-hookstream-Timestamp")
    if timestamp_header.lower() != "x-hookstream-timestamp":
        found[timestamp_header] = unix_time
    return found


def _shown(headers: dict[str, str], destination: Destination) -> dict[str, str]:
    """Headers as `request_headers` shows them: credentials and signatures masked."""
    secret_names = {"authorization", "cookie", "proxy-authorization"}
    secret_names |= {name.lower() for name in _auth_headers(destination)}
    if destination.signing_config:
        secret_names.add(str(destination.signing_config.get("header") or "X-hookstream-Signature").lower())
    from ._secrets import MASK, mask_mapping

    masked = mask_mapping(dict(headers))
    for name, value in headers.items():
        if name.lower() in secret_names:
            masked[name] = MASK + value[-4:] if len(value) >= 12 else MASK
    return masked


class Deliveries:
    """The delivery machinery of one state: attempts, retries, the DLQ and circuits."""

    def __init__(self, *, store: Store, seed: int, publish: Callable[[DeliveryAttempt], None]) -> None:
        self.store = store
        self.seed = seed
        self.publish = publish
        self.outbound: OutboundRunner | None = None
        self.session = ""
        self.api = "hookstream"
        self.owner: object = None
        """The state that owns this machinery (the runner cancels its work on reset)."""
        self.timeline.handle(RETRY_KIND, self._retry_due)
        self.timeline.handle(CIRCUIT_KIND, self._probe_due)

    def __deepcopy__(self, memo: dict[int, Any]) -> Deliveries:
        """A copy over a copy of the store (tests copy stores); the engine's runner is shared, not copied."""
        copied = Deliveries.__new__(Deliveries)
        memo[id(self)] = copied
        copied.store = copy.deepcopy(self.store, memo)
        copied.seed, copied.publish, copied.outbound = self.seed, self.publish, self.outbound
        copied.session, copied.api, copied.owner = self.session, self.api, None
        return copied

    @property
    def timeline(self) -> Timeline:
        return self.store.timeline

    @property
    def attempts(self) -> AttemptLog:
        return self.store.attempts

    @property
    def circuits(self) -> dict[str, Circuit]:
        return self.store.circuits

    def now(self) -> str:
        return format_micros(self.timeline.now())

    # ------------------------------------------------------------------ starting attempts

    def deliver(self, event: StoredEvent) -> list[DeliveryAttempt]:
        """The first attempt over each connection the event matched."""
        made = []
        for connection_id in event.matched_connections:
            connection = self.store.connections.get(connection_id)
            if connection is not None:
                made.append(self.attempt(event, connection, attempt_number=1, trigger="initial"))
        return made

    def attempt(
        self, event: StoredEvent, connection: Connection, *, attempt_number: int, trigger: str
    ) -> DeliveryAttempt:
        """A new attempt, sent (or held by the circuit, or failed before sending)."""
        destination = self.store.destinations.get(connection.destination_id)
        attempt = self._new_attempt(
            event, connection, destination, attempt_number, trigger, self.timeline.now()
        )
        if destination is None:
            self._finish(attempt, OutboundResult(None, error="Destination not found"), final=True)
            return attempt
        circuit = self._circuit(destination)
        if circuit is not None and (circuit.state == OPEN or circuit.probe_attempt_id is not None):
            self._hold(attempt, circuit)
            return attempt
        if circuit is not None and circuit.state == HALF_OPEN:
            circuit.probe_attempt_id = attempt.id
        self._send(attempt, event, connection, destination)
        return attempt

    def replay(self, event: StoredEvent) -> None:
        """Seeded history: the simulated attempts an event got, at the times they would have happened.

        A retry that falls due after the clock's start is scheduled and happens live. Circuits are not
        replayed (they start closed).
        """
        now = self.timeline.now()
        for connection_id in event.matched_connections:
            connection = self.store.connections.get(connection_id)
            destination = self.store.destinations.get(connection.destination_id) if connection else None
            if connection is None or destination is None:
                continue
            at, number = _parse_micros(event.received_at), 1
            while True:
                trigger = "initial" if number == 1 else "retry"
                attempt = self._new_attempt(event, connection, destination, number, trigger, at)
                prepared = self._prepare(attempt, event, connection, destination, at=at)
                if isinstance(prepared, str):
                    self._record(attempt, OutboundResult(None, error=prepared))
                else:
                    attempt.request_headers = prepared.shown_headers
                    attempt.request_body_size = len(prepared.request.body)
                    self._record(attempt, self._simulated(attempt, destination, 0))
                if attempt.status == SUCCESS:
                    break
                if number >= self._attempt_limit(destination):
                    attempt.is_dlq, attempt.dlq_at = True, format_micros(at)
                    break
                wait = backoff_seconds(destination.retry_backoff_type, destination.retry_intervals, number)
                due = at + wait * 1_000_000
                attempt.next_retry_at = format_micros(due)
                if due > now:
                    self.timeline.schedule(due, RETRY_KIND, attempt.id)
                    break
                at, number = due, number + 1
        self._settle_event(event.id)

    def _new_attempt(
        self,
        event: StoredEvent,
        connection: Connection,
        destination: Destination | None,
        attempt_number: int,
        trigger: str,
        at: int,
    ) -> DeliveryAttempt:
        attempt = DeliveryAttempt(
            id=self.store.new_id("attempt"),
            seq=self.attempts.next_seq,
            org_id=event.org_id,
            env_id=event.env_id,
            event_id=event.id,
            connection_id=connection.id,
            destination_id=connection.destination_id,
            request_url=_target_url(destination),
            request_method=destination.method if destination is not None else "POST",
            request_headers=None,
            request_body_size=0,
            response_status=None,
            response_headers=None,
            response_body=None,
            duration_ms=None,
            status=PENDING,
            error=None,
            created_at=format_micros(at),
            attempt_number=attempt_number,
            next_retry_at=None,
            is_dlq=False,
            dlq_at=None,
            trigger_type=trigger,
            connection_name=connection.name,
            destination_name=destination.name if destination is not None else None,
        )
        self.attempts.add(attempt)
        return attempt

    def _hold(self, attempt: DeliveryAttempt, circuit: Circuit) -> None:
        if len(circuit.held) >= MAX_HELD:
            self._finish(
                attempt,
                OutboundResult(
                    None, error=f"Circuit open and {MAX_HELD} attempts already held for this destination"
                ),
            )
            return
        attempt.held = True
        attempt.error = "Held: the destination's circuit is open"
        circuit.held.append(attempt.id)
        self.publish(attempt)

    def _prepare(
        self,
        attempt: DeliveryAttempt,
        event: StoredEvent,
        connection: Connection,
        destination: Destination,
        *,
        at: int | None = None,
    ) -> _Prepared | str:
        """The request to send, or why there is none (a failed transform)."""
        body = event.body.encode("utf-8")
        content_type = event.content_type or "application/json"
        if connection.transform_enabled and connection.transform_expression:
            result, error = run_transform(connection.transform_expression, parsed_payload(event))
            if error is not None:
                return error
            body = json.dumps(result, ensure_ascii=False, separators=(",", ":")).encode("utf-8")
            content_type = "application/json"
        micros = self.timeline.now() if at is None else at
        unix_time = _unix_seconds(micros)
        headers: dict[str, str] = {"Content-Type": content_type, "User-Agent": USER_AGENT}
        headers.update(destination.headers or {})
        headers.update(_auth_headers(destination))
        headers["X-hookstream-Event-Id"] = event.id
        headers["X-hookstream-Delivery-Attempt"] = str(attempt.attempt_number)
        headers["X-hookstream-Timestamp"] = unix_time
        headers.update(_signature_headers(destination, body, unix_time))
        request = OutboundRequest(
            method=destination.method,
            url=attempt.request_url,
            headers=tuple(headers.items()),
            body=body,
            timeout_s=destination.timeout_ms / 1000,
        )
        return _Prepared(request, _shown(headers, destination))

    def _send(
        self, attempt: DeliveryAttempt, event: StoredEvent, connection: Connection, destination: Destination
    ) -> None:
        attempt.held = False
        attempt.error = None
        prepared = self._prepare(attempt, event, connection, destination)
        if isinstance(prepared, str):
            self._finish(attempt, OutboundResult(None, error=prepared))
            return
        attempt.request_headers = prepared.shown_headers
        attempt.request_body_size = len(prepared.request.body)
        runner = self.outbound
        rule = runner.fault_for(self.api, destination.id) if runner is not None else None
        if rule is not None and rule.status is not None:
            body = json.dumps({"error": rule.message or f"Injected fault {rule.id}"}).encode()
            faulted = OutboundResult(rule.status, {"content-type": "application/json"}, body, 0)
            self._finish(attempt, faulted)
            return
        real = destination.type == "http" and runner is not None and runner.allows(attempt.request_url)
        if not real:
            extra_ms = 0 if rule is None or rule.latency_ms is None else rule.latency_ms[1]
            result = self._simulated(attempt, destination, extra_ms)
            if runner is not None:
                runner.record_simulated(prepared.request, result, api=self.api, session=self.session)
            self._finish(attempt, result)
            return
        assert runner is not None
        attempt_id = attempt.id
        request = prepared.request
        if rule is not None and rule.latency_ms is not None:
            request = dataclasses.replace(request, delay_s=runner.fault_delay(rule))
        queued = runner.submit(
            request,
            owner=self.owner,
            api=self.api,
            session=self.session,
            done=lambda result: self._arrived(attempt_id, result),
        )
        if not queued:
            self._finish(
                attempt, OutboundResult(None, error="Outbound queue full or server stopping: not sent")
            )
            return
        self.publish(attempt)

    def _arrived(self, attempt_id: str, result: OutboundResult) -> None:
        attempt = self.attempts.find(attempt_id)
        if attempt is not None and attempt.status == PENDING:
            self._finish(attempt, result)

    def _simulated(self, attempt: DeliveryAttempt, destination: Destination, extra_ms: int) -> OutboundResult:
        """A deterministic outcome: most destinations healthy, some flaky, a few down (by seed and id)."""
        profile = stable_seed("hookstream:simulated", self.seed, destination.id) % 100
        roll = stable_seed(
            "hookstream:attempt", self.seed, destination.id, attempt.event_id, attempt.attempt_number
        )
        latency = 35 + roll % 320 + extra_ms
        fails = profile >= 90 or (profile >= 70 and (roll >> 12) % 100 < 50)
        if latency > destination.timeout_ms:
            return OutboundResult(
                None, duration_ms=destination.timeout_ms, error=_timeout(destination.timeout_ms)
            )
        if not fails:
            status = (200, 200, 200, 200, 202, 204)[(roll >> 20) % 6]
            body = b"" if status == 204 else b'{"received":true}'
            return OutboundResult(status, {"content-type": "application/json"}, body, latency)
        kind = (roll >> 24) % 5
        if kind == 4:
            return OutboundResult(
                None, duration_ms=destination.timeout_ms, error=_timeout(destination.timeout_ms)
            )
        status = (500, 502, 503, 503)[kind]
        reason = {500: "Internal Server Error", 502: "Bad Gateway"}.get(status, "Service Unavailable")
        answer = json.dumps({"error": reason}).encode()
        return OutboundResult(status, {"content-type": "application/json"}, answer, latency)

    # ------------------------------------------------------------------ results

    def _record(self, attempt: DeliveryAttempt, result: OutboundResult) -> None:
        attempt.held = False
        attempt.response_status = result.status
        attempt.response_headers = dict(result.headers) if result.status is not None else None
        attempt.response_body = (
            result.body[:BODY_LIMIT].decode("utf-8", errors="replace") if result.status is not None else None
        )
        attempt.duration_ms = result.duration_ms
        succeeded = result.status is not None and 200 <= result.status < 300
        attempt.status = SUCCESS if succeeded else FAILED
        attempt.error = None if succeeded else (result.error or f"Destination answered HTTP {result.status}")

    def _finish(self, attempt: DeliveryAttempt, result: OutboundResult, *, final: bool = False) -> None:
        self._record(attempt, result)
        succeeded = attempt.status == SUCCESS
        destination = self.store.destinations.get(attempt.destination_id)
        circuit = self._circuit(destination) if destination is not None else None
        if circuit is not None:
            self._count(circuit, destination, attempt, succeeded)  # type: ignore[arg-type]
        if not succeeded:
            self._after_failure(attempt, destination, final=final)
        self._settle_event(attempt.event_id)
        self.publish(attempt)

    def _after_failure(
        self, attempt: DeliveryAttempt, destination: Destination | None, *, final: bool
    ) -> None:
        if attempt.trigger_type == "manual":
            return  # a manual retry is one attempt: a failure is shown, not retried again (inferred)
        if final or destination is None or attempt.attempt_number >= self._attempt_limit(destination):
            attempt.is_dlq = True
            attempt.dlq_at = self.now()
            return
        wait = backoff_seconds(
            destination.retry_backoff_type, destination.retry_intervals, attempt.attempt_number
        )
        due = self.timeline.now() + wait * 1_000_000
        try:
            self.timeline.schedule(due, RETRY_KIND, attempt.id)
        except ScheduleFull:
            attempt.error = f"{attempt.error}; no retry: the mock's schedule is full"
            attempt.is_dlq = True
            attempt.dlq_at = self.now()
            return
        attempt.next_retry_at = format_micros(due)

    @staticmethod
    def _attempt_limit(destination: Destination) -> int:
        return max(1, destination.retry_max_attempts) if destination.retry_enabled else 1

    def _retry_due(self, attempt_id: str, due: int) -> None:
        previous = self.attempts.find(attempt_id)
        if (
            previous is None
            or self.attempts.latest(previous.event_id, previous.connection_id) is not previous
        ):
            return  # dropped by retention, or superseded by a manual retry
        event = self.store.events.get(previous.org_id, previous.event_id)
        connection = self.store.connections.get(previous.connection_id)
        if event is None or connection is None:
            previous.is_dlq = True
            previous.dlq_at = self.now()
            previous.error = (
                f"{previous.error}; no retry: the {'event' if event is None else 'connection'} is gone"
            )
            self.publish(previous)
            return
        self.attempt(event, connection, attempt_number=previous.attempt_number + 1, trigger="retry")

    def retry(self, previous: DeliveryAttempt) -> DeliveryAttempt | str:
        """A manual retry of `previous`: a new attempt, or why there can be none."""
        if previous.status == PENDING:
            return "Retry failed: the attempt is still pending"
        event = self.store.events.get(previous.org_id, previous.event_id)
        if event is None:
            return "Retry failed: the event is no longer stored"
        connection = self.store.connections.get(previous.connection_id)
        if connection is None:
            return "Retry failed: the connection was deleted"
        if connection.destination_id not in self.store.destinations:
            return "Retry failed: the destination was deleted"
        chain = [a for a in self.attempts.of_event(event.id) if a.connection_id == connection.id]
        number = max((a.attempt_number for a in chain), default=0) + 1
        return self.attempt(event, connection, attempt_number=number, trigger="manual")

    def failed_latest(self, event: StoredEvent) -> list[DeliveryAttempt]:
        """The latest attempt over each of the event's connections, where it failed."""
        found = []
        for connection_id in event.matched_connections:
            attempt = self.attempts.latest(event.id, connection_id)
            if attempt is not None and attempt.status == FAILED:
                found.append(attempt)
        return found

    def _settle_event(self, event_id: str) -> None:
        """`delivered` once every connection's latest attempt succeeded, `failed` when one is in the DLQ (or
        a manual retry failed), else `processing`."""
        attempt_list = self.attempts.of_event(event_id)
        if not attempt_list:
            return
        event = self.store.events.get(attempt_list[0].org_id, event_id)
        if event is None:
            return
        latest = []
        for connection_id in event.matched_connections:
            found = self.attempts.latest(event_id, connection_id)
            if found is not None:
                latest.append(found)
        if latest and all(a.status == SUCCESS for a in latest):
            event.status = "delivered"
        elif any(a.status == FAILED and a.next_retry_at is None for a in latest):
            event.status = "failed"
        else:
            event.status = "processing"

    # ------------------------------------------------------------------ circuit breaker

    def _circuit(self, destination: Destination | None) -> Circuit | None:
        if destination is None or not destination.circuit_breaker_enabled:
            return None
        circuit = self.circuits.get(destination.id)
        if circuit is None:
            circuit = self.circuits[destination.id] = Circuit(destination.id)
        return circuit

    def circuit_of(self, destination: Destination) -> Circuit:
        return self.circuits.get(destination.id) or Circuit(destination.id)

    def _count(
        self, circuit: Circuit, destination: Destination, attempt: DeliveryAttempt, succeeded: bool
    ) -> None:
        was_probe = circuit.probe_attempt_id == attempt.id
        if was_probe:
            circuit.probe_attempt_id = None
        if succeeded:
            circuit.failure_count = 0
            if circuit.state != CLOSED:
                self._close(circuit)
            return
        circuit.failure_count += 1
        if circuit.state == HALF_OPEN or (
            circuit.state == CLOSED and circuit.failure_count >= destination.circuit_breaker_threshold
        ):
            self._open(circuit, destination)

    def _transition(self, circuit: Circuit, state: str) -> None:
        circuit.state = state
        circuit.last_transition_at = self.now()

    def _open(self, circuit: Circuit, destination: Destination) -> None:
        self._transition(circuit, OPEN)
        circuit.opened_at = circuit.last_transition_at
        due = self.timeline.now() + destination.circuit_breaker_reset_ms * 1000
        try:
            self.timeline.schedule(due, CIRCUIT_KIND, destination.id)
            circuit.next_probe_at = format_micros(due)
        except ScheduleFull:
            circuit.next_probe_at = None

    def _close(self, circuit: Circuit) -> None:
        self._transition(circuit, CLOSED)
        circuit.opened_at = None
        circuit.next_probe_at = None
        self._release(circuit, every=True)

    def _probe_due(self, destination_id: str, due: int) -> None:
        circuit = self.circuits.get(destination_id)
        if circuit is None or circuit.state != OPEN or circuit.next_probe_at != format_micros(due):
            return  # reset, closed or reopened since this probe was planned
        self._transition(circuit, HALF_OPEN)
        circuit.next_probe_at = None
        self._release(circuit, every=False)

    def _release(self, circuit: Circuit, *, every: bool) -> None:
        """Send the held attempts (all of them, or the oldest one as the half-open probe)."""
        while circuit.held:
            attempt = self.attempts.find(circuit.held.popleft())
            if attempt is None or not attempt.held:
                continue
            event = self.store.events.get(attempt.org_id, attempt.event_id)
            connection = self.store.connections.get(attempt.connection_id)
            destination = self.store.destinations.get(attempt.destination_id)
            if event is None or connection is None or destination is None:
                self._finish(
                    attempt,
                    OutboundResult(
                        None, error="Held attempt dropped: its event, connection or destination is gone"
                    ),
                    final=True,
                )
                continue
            if not every:
                circuit.probe_attempt_id = attempt.id
            self._send(attempt, event, connection, destination)
            if not every or circuit.state == OPEN:
                return

    def reset_circuit(self, destination: Destination) -> Circuit:
        circuit = self.circuits.get(destination.id) or Circuit(destination.id)
        self.circuits[destination.id] = circuit
        circuit.failure_count = 0
        circuit.probe_attempt_id = None
        if circuit.state != CLOSED:
            self._close(circuit)
        return circuit


def _parse_micros(text: str) -> int:
    return to_micros(datetime.strptime(text, TIME_FORMAT).replace(tzinfo=UTC))


def _timeout(timeout_ms: int) -> str:
    return f"Timed out after {timeout_ms} ms"


def _target_url(destination: Destination | None) -> str:
    """The URL of an HTTP destination; a `type://slug` name for the others (inferred)."""
    if destination is None:
        return ""
    if destination.type == "http" and destination.url:
        return destination.url
    return f"{destination.type}://{destination.slug}"
