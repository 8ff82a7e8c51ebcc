"""The attempt log against a brute-force oracle: retention, dropping an event's attempts, the indexes, pages."""

from __future__ import annotations

from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st

from mockserver.apis.hookstream._attempt_log import AttemptLog, DeliveryAttempt

ORGS = ("org_a", "org_b")
EVENTS = tuple(f"evt_{n}" for n in range(6))
CONNECTIONS = ("con_1", "con_2", "con_3")


def _attempt(seq: int, org: str, event: str, connection: str) -> DeliveryAttempt:
    return DeliveryAttempt(
        id=f"{seq:032x}",
        seq=seq,
        org_id=org,
        env_id="env_x",
        event_id=f"{org}:{event}",
        connection_id=f"{org}:{connection}",  # ids are unique across organizations
        destination_id=f"{org}:dst_{connection}",
        request_url="http://127.0.0.1/hook",
        request_method="POST",
        request_headers=None,
        request_body_size=0,
        response_status=None,
        response_headers=None,
        response_body=None,
        duration_ms=None,
        status="pending",
        error=None,
        created_at="2026-02-28T12:00:00Z",
        attempt_number=1,
        next_retry_at=None,
        is_dlq=False,
        dlq_at=None,
        trigger_type="initial",
        connection_name=None,
        destination_name=None,
    )


def _ids(org: str, prefix: str) -> list[str]:
    return [f"{org}:{prefix}{connection}" for connection in CONNECTIONS]


def _other(org: str) -> str:
    return ORGS[1 - ORGS.index(org)]


steps = st.lists(
    st.one_of(
        st.tuples(
            st.just("add"), st.sampled_from(ORGS), st.sampled_from(EVENTS), st.sampled_from(CONNECTIONS)
        ),
        st.tuples(st.just("drop"), st.sampled_from(ORGS), st.sampled_from(EVENTS)),
    ),
    max_size=80,
)


@settings(deadline=None)
@given(steps=steps, retention=st.integers(1, 20), limit=st.integers(1, 8), offset=st.integers(0, 12))
def test_the_log_matches_the_oracle(
    steps: list[tuple[str, ...]], retention: int, limit: int, offset: int
) -> None:
    log = AttemptLog(retention=retention)
    kept: list[DeliveryAttempt] = []
    for seq, step in enumerate(steps, start=1):
        if step[0] == "add":
            attempt = _attempt(seq, *step[1:])
            dropped = log.add(attempt)
            kept.append(attempt)
            for gone in dropped:  # the organization's oldest
                assert gone is next(a for a in kept if a.org_id == gone.org_id)
                kept.remove(gone)
        else:
            event_id = f"{step[1]}:{step[2]}"
            gone_ids = {a.id for a in log.drop_event(event_id)}
            assert gone_ids == {a.id for a in kept if a.event_id == event_id}
            kept = [a for a in kept if a.event_id != event_id]
    assert len(log) == len(kept)
    assert [a.id for a in log.chronological()] == [
        a.id for org in dict.fromkeys(a.org_id for a in log.chronological()) for a in kept if a.org_id == org
    ]
    for org in ORGS:
        mine = [a for a in reversed(kept) if a.org_id == org]
        assert len(mine) <= retention
        filters: list[tuple[tuple[str, str] | None, Any]] = [(None, lambda a: True)]
        filters += [(("event_id", f"{org}:{e}"), lambda a, e=f"{org}:{e}": a.event_id == e) for e in EVENTS]
        filters += [(("connection_id", c), lambda a, c=c: a.connection_id == c) for c in CONNECTIONS]
        filters += [
            (("destination_id", f"dst_{c}"), lambda a, c=c: a.connection_id == c) for c in CONNECTIONS
        ]
        for index, wanted in filters:
            expected = [a for a in mine if wanted(a)]
            page = log.page(org, index=index, limit=limit, offset=offset)
            assert page.attempts == expected[offset : offset + limit] and page.total == len(expected)
    for event in EVENTS:
        for org in ORGS:
            for connection in CONNECTIONS:
                connection_id = f"{org}:{connection}"
                chain = [
                    a for a in kept if a.event_id == f"{org}:{event}" and a.connection_id == connection_id
                ]
                assert log.latest(f"{org}:{event}", connection_id) is (chain[-1] if chain else None)
    for attempt in kept:
        assert log.get(attempt.org_id, attempt.id) is attempt
