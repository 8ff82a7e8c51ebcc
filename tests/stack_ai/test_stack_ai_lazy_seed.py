"""The shortcuts of a large seed: provider data built on first read, and the frozen heap."""

from __future__ import annotations

import gc
import json

import pytest
from stack_support import ACME, seeded

from mockserver.apis.stack_ai._catalogue import BY_TYPE
from mockserver.apis.stack_ai._rand import Rand
from mockserver.apis.stack_ai._seed import (
    FREEZE_FROM,
    Tenant,
    create_state,
    provider_data,
    skip_provider_data,
)
from mockserver.apis.stack_ai._snapshot import export_snapshot


@pytest.mark.parametrize("type_id", sorted(BY_TYPE))
def test_skipping_provider_data_draws_what_building_it_draws(type_id: str) -> None:
    organization = seeded(connections=0).organizations[ACME]
    for stream in range(200):
        built, skipped = Rand.of("test", type_id, stream), Rand.of("test", type_id, stream)
        provider_data(BY_TYPE[type_id], built, Tenant.of(organization), "someone@acme.test")
        skip_provider_data(BY_TYPE[type_id], skipped)
        assert skipped.drawn == built.drawn
        assert skipped.next() == built.next()


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
