"""The shortcuts of a large seed: provider data built on first read, and the frozen heap."""

from __future__ import annotations

import gc
import hashlib
import json

import pytest
from hypothesis import given
from hypothesis import strategies as st
from stack_support import ACME, seeded

from mockserver.apis.stack_ai._catalogue import BY_TYPE
from mockserver.apis.stack_ai._rand import Rand, digest, stream_values
from mockserver.apis.stack_ai._seed import (
    FREEZE_FROM,
    Tenant,
    after_provider_data,
    create_state,
    provider_data,
)
from mockserver.apis.stack_ai._snapshot import export_snapshot


@pytest.mark.parametrize("type_id", sorted(BY_TYPE))
def test_skipping_provider_data_draws_what_building_it_draws(type_id: str) -> None:
    organization = seeded(connections=0).organizations[ACME]
    for stream in range(200):
        key = digest("test", type_id, stream)
        start = stream % 20
        built = Rand(key)
        built.skip_to(start)
        provider_data(BY_TYPE[type_id], built, Tenant.of(organization), "someone@acme.test")

        def value_at(position: int, key: bytes = key) -> int:
            return stream_values(key, position // 8, 1)[position % 8]

        assert after_provider_data(BY_TYPE[type_id], start, value_at) == built.drawn


@given(key=st.binary(min_size=1, max_size=16), first_block=st.integers(0, 1000), blocks=st.integers(0, 3))
def test_stream_values_are_what_rand_draws_from_their_position(
    key: bytes, first_block: int, blocks: int
) -> None:
    rand = Rand(key)
    rand.skip_to(8 * first_block)
    assert stream_values(key, first_block, blocks) == [rand.next() for _ in range(8 * blocks)]


def test_seeded_data_at_scale_does_not_change_unnoticed() -> None:
    """The fixtures pin the default seed; this pins 2 x 3,000 connections (ids, times, roles, trees, tokens).
    A deliberate change of seeded data updates the digest here and says so in the changelog."""
    snapshot = json.dumps(export_snapshot(create_state(seed=1, connections=3000)), sort_keys=True)
    assert hashlib.sha256(snapshot.encode()).hexdigest()[:16] == "0f1c7666878ada5f"


def test_provider_data_is_built_on_first_read_and_then_kept() -> None:
    state = seeded(connections=40)
    connection = next(iter(state.organizations[ACME].connections.values()))
    assert connection.pending_data is not None
    first = connection.provider_data
    assert connection.pending_data is None and connection.provider_data is first
    connection.provider_data = {"replaced": True}
    assert connection.provider_data == {"replaced": True}


def test_reading_provider_data_in_any_order_gives_the_same_state() -> None:
    untouched = export_snapshot(seeded(connections=60, seed=3))
    state = seeded(connections=60, seed=3)
    for organization in state.organizations.values():
        for connection in reversed(organization.connections.values()):
            assert connection.provider_data
    assert json.dumps(export_snapshot(state)) == json.dumps(untouched)


def test_a_large_seed_freezes_what_it_built_and_collects_again_afterwards() -> None:
    assert gc.isenabled()
    frozen = gc.get_freeze_count()
    try:
        state = create_state(seed=0, connections=FREEZE_FROM)
        assert gc.isenabled() and gc.get_freeze_count() > frozen
        assert sum(len(org.connections) for org in state.organizations.values()) == 2 * FREEZE_FROM
    finally:
        gc.unfreeze()
