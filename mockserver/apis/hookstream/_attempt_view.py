"""Delivery attempts and circuits as the API shows them (SQLite style: 0/1 flags, JSON columns as strings)."""

from __future__ import annotations

import json
from typing import Any

from ._attempt_log import DeliveryAttempt

__all__ = ["attempt_body", "circuit_body"]


def _json(value: Any) -> str | None:
    return None if value is None else json.dumps(value, ensure_ascii=False, separators=(",", ":"))


def attempt_body(attempt: DeliveryAttempt) -> dict[str, Any]:
    """Every documented field; `request_headers` were masked when the attempt was made."""
    return {
        "id": attempt.id,
        "org_id": attempt.org_id,
        "env_id": attempt.env_id,
        "event_id": attempt.event_id,
        "connection_id": attempt.connection_id,
        "destination_id": attempt.destination_id,
        "request_url": attempt.request_url,
        "request_method": attempt.request_method,
        "request_headers": _json(attempt.request_headers),
        "request_body_size": attempt.request_body_size,
        "response_status": attempt.response_status,
        "response_headers": _json(attempt.response_headers),
        "response_body": attempt.response_body,
        "duration_ms": attempt.duration_ms,
        "status": attempt.status,
        "error": attempt.error,
        "created_at": attempt.created_at,
        "attempt_number": attempt.attempt_number,
        "next_retry_at": attempt.next_retry_at,
        "is_dlq": 1 if attempt.is_dlq else 0,
        "dlq_at": attempt.dlq_at,
        "trigger_type": attempt.trigger_type,
        "connection_name": attempt.connection_name,
        "destination_name": attempt.destination_name,
    }


def circuit_body(circuit: Any, *, threshold: int, reset_ms: int, enabled: bool) -> dict[str, Any]:
    return {
        "destination_id": circuit.destination_id,
        "enabled": 1 if enabled else 0,
        "state": circuit.state,
        "failure_count": circuit.failure_count,
        "threshold": threshold,
        "reset_ms": reset_ms,
        "last_transition_at": circuit.last_transition_at,
        "opened_at": circuit.opened_at,
        "next_probe_at": circuit.next_probe_at,
        "held_count": len(circuit.held),
    }
