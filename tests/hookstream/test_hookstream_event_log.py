"""The event log against a brute-force oracle: retention, the per-field indexes, offset and cursor pages."""

from __future__ import annotations

from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st

from mockserver.apis.hookstream._event_log import EventLog, StoredEvent

ORGS = ("org_a", "org_b")
SOURCES = ("s1", "s2", "s3")
VERIFICATION = ("verified", "failed", "skipped")
METHODS = ("GET", "POST")


def _event(seq: int, org: str, source: str, verification: str, method: str) -> StoredEvent:
    return StoredEvent(
        id=f"{seq:032x}",
        seq=seq,
        org_id=org,
        env_id="env_x",
        source_id=source,
        method=method,
        content_type=None,
        source_ip=None,
        payload_size=0,
        headers={},
        query_params={},
        body="",
        verification_status=verification,
        verification_error=None,
        dedup_status="skipped",
        dedup_hash=None,
        status="received" if seq % 3 else "processing",
        received_at=f"2026-02-28T12:{seq // 60 % 60:02d}:{seq % 60:02d}Z",
    )


events_strategy = st.lists(
    st.tuples(
        st.sampled_from(ORGS),
        st.sampled_from(SOURCES),
        st.sampled_from(VERIFICATION),
        st.sampled_from(METHODS),
    ),
    max_size=60,
)
filters_strategy = st.fixed_dictionaries(
    {},
    optional={
        "source_id": st.sampled_from(SOURCES),
        "verification_status": st.sampled_from(VERIFICATION),
        "method": st.sampled_from(METHODS),
    },
)


@settings(deadline=None)
@given(
    events=events_strategy,
    retention=st.integers(1, 25),
    equal=filters_strategy,
    only_processing=st.booleans(),
    limit=st.integers(1, 10),
    offset=st.integers(0, 30),
    data=st.data(),
)
def test_pages_match_the_oracle(
    events: list[tuple[str, ...]],
    retention: int,
    equal: dict[str, str],
    only_processing: bool,
    limit: int,
    offset: int,
    data: Any,
) -> None:
    log = EventLog(retention=retention)
    kept: list[StoredEvent] = []
    for seq, (org, source, verification, method) in enumerate(events, start=1):
        event = _event(seq, org, source, verification, method)
        dropped = log.add(event)
        kept.append(event)
        for gone in dropped:
            kept.remove(gone)
            assert gone.org_id == org and log.get(org, gone.id) is None
    for org in ORGS:
        assert sum(1 for e in kept if e.org_id == org) <= retention

    def wanted(event: StoredEvent) -> bool:
        return all(getattr(event, name) == value for name, value in equal.items()) and (
            not only_processing or event.status == "processing"
        )

    predicate = (lambda event: event.status == "processing") if only_processing else None
    org = data.draw(st.sampled_from(ORGS), label="org")
    expected = [e for e in reversed(kept) if e.org_id == org and wanted(e)]
    page = log.page(org, equal=equal, predicate=predicate, limit=limit, offset=offset)
    assert page.events == expected[offset : offset + limit]
    assert page.total == len(expected) and page.offset == offset
    assert page.has_more == (offset + limit < len(expected))
    if page.events:
        older = log.page(org, equal=equal, predicate=predicate, limit=limit, cursor=page.events[-1].seq)
        assert older.events == expected[offset + limit : offset + 2 * limit]
        assert older.offset == offset + len(page.events)
        newer = log.page(
            org, equal=equal, predicate=predicate, limit=limit, cursor=page.events[0].seq, newer=True
        )
        assert newer.events == expected[max(0, offset - limit) : offset]
    for event in kept:
        assert log.get(event.org_id, event.id) is event
        assert log.get("org_other", event.id) is None


def test_the_dedup_window_forgets_keys_that_left_it() -> None:
    log = EventLog(retention=3)
    log.remember("s1", "k1", now=100.0)
    assert log.seen_within("s1", "k1", now=159.0, window=60)
    assert not log.seen_within("s1", "k1", now=160.0, window=60)
    assert not log.seen_within("s2", "k1", now=101.0, window=60)
    for n in range(5):
        log.remember("s1", f"key{n}", now=200.0 + n)
    assert not log.seen_within("s1", "key0", now=205.0, window=60)  # the bound keeps the newest three
    assert log.seen_within("s1", "key4", now=205.0, window=60)
