"""`GET /api/v1/connections` served from the sorted views and cached matches of `_index.py`.

After random writes (through the API, through a path that bypasses the index, in the other organization,
and RBAC changes), every listing must equal a naive filter-and-sort of the organization's connections.
"""

from __future__ import annotations

from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st
from stack_support import ACME, CONFLUENCE, GDRIVE, fresh, headers, ok, state_of

from mockserver.apis.stack_ai import _index
from mockserver.apis.stack_ai._access import Viewer
from mockserver.apis.stack_ai._filters import parse_filters, sort_key
from mockserver.apis.stack_ai._index import SORT_BELOW, SortedView
from mockserver.apis.stack_ai._state import Connection, iso
from mockserver.apis.stack_ai._users import USERS

URL = "/api/v1/connections"
USER = {user.key: user for user in USERS}
NAMES = st.sampled_from(
    ["drive", "Drive", "DRIVE", "straße", "STRASSE", "Wiki", "wiki", "#eng", "Älpha", "a", ""]
)
SEEDED_NAME_PARTS = ["Drive", "drive", "Wiki", "Research", "channel", "ss"]


def _filters(draw: st.DrawFn, times: list[int]) -> dict[str, str]:
    chosen: dict[str, str] = {}
    for _ in range(draw(st.integers(0, 2))):
        key = draw(
            st.sampled_from(
                [
                    "name__icontains",
                    "name__contains",
                    "name__eq",
                    "name__gte",
                    "name__lt",
                    "provider_id__eq",
                    "provider_id__in",
                    "connection_type_id__neq",
                    "updated_at__gt",
                    "updated_at__neq",
                    "created_at__lte",
                    "created_at__gte",
                    "updated_at__contains",
                    "created_at__icontains",
                ]
            )
        )
        if key.startswith("name"):
            value = draw(st.sampled_from(SEEDED_NAME_PARTS) | NAMES)
        elif key.startswith(("provider_id", "connection_type_id")):
            value = draw(st.sampled_from(["gdrive", "confluence", "notion", "gdrive,confluence", "slack"]))
        elif key.endswith("contains"):  # a timestamp's text: the one filter that has no column test
            value = draw(st.sampled_from(["2025-0", "T1", ":3", "+00:00", "t0"]))
        else:
            value = iso(draw(st.sampled_from(times)) if times else 0)
        chosen[key] = value
    return chosen


@st.composite
def queries(draw: st.DrawFn, times: list[int]) -> dict[str, Any]:
    return {
        "user": draw(st.sampled_from(["alice", "bob"])),
        "sort_by": draw(st.sampled_from(["created_at", "updated_at", "name"])),
        "sort_dir": draw(st.sampled_from(["asc", "desc"])),
        "offset": draw(st.integers(0, 12)),
        "limit": draw(st.integers(0, 12)),
        **_filters(draw, times),
    }


def naive(test_client: Any, query: dict[str, Any]) -> tuple[list[str], int]:
    """What the listing did before the index: filter everything the caller sees, sort it all, slice."""
    query = dict(query)
    user, sort_by, sort_dir = query.pop("user"), query.pop("sort_by"), query.pop("sort_dir")
    offset, limit = query.pop("offset"), query.pop("limit")
    filters, violations = parse_filters(query)
    assert not violations
    organization = state_of(test_client).organizations[ACME]
    viewer = Viewer(organization, USER[user])
    matches = [
        c
        for c in organization.connections.values()
        if viewer.can_see(c) and all(item.predicate(c) for item in filters)
    ]
    if sort_by == "created_at":  # creation order
        ordered = matches[::-1] if sort_dir == "desc" else matches
    else:
        ordered = sorted(matches, key=sort_key(sort_by), reverse=sort_dir == "desc")
    return [c.connection_id for c in ordered[offset : offset + limit]], len(matches)


def listing(test_client: Any, query: dict[str, Any]) -> tuple[list[str], int]:
    params = {key: value for key, value in query.items() if key != "user"}
    body = ok(test_client.get(URL, params=params, headers=headers(query["user"])))
    return [item["connection_id"] for item in body["data"]], body["total"]


def _acme_ids(test_client: Any) -> list[str]:
    return list(state_of(test_client).organizations[ACME].connections)


def _write(test_client: Any, data: st.DataObject) -> None:
    ids = _acme_ids(test_client)
    kind = data.draw(
        st.sampled_from(["create", "create", "rename", "replace", "delete", "unannounced", "globex", "role"])
        if ids
        else st.sampled_from(["create", "globex"])
    )
    target = data.draw(st.sampled_from(ids)) if ids else ""
    name = data.draw(NAMES)
    if kind == "create":
        user = data.draw(st.sampled_from(["alice", "bob"]))
        body = {**data.draw(st.sampled_from([GDRIVE, CONFLUENCE])), "name": name}
        ok(test_client.post("/connections", json=body, headers=headers(user)), 201)
    elif kind == "rename":
        ok(test_client.patch(f"/connections/{target}", json={"name": name}, headers=headers()))
    elif kind == "replace":
        body = {**data.draw(st.sampled_from([GDRIVE, CONFLUENCE])), "name": name}
        ok(test_client.put(f"/connections/{target}", json=body, headers=headers()))
    elif kind == "delete":
        ok(test_client.delete(f"/connections/{target}", headers=headers()), 204)
    elif kind == "unannounced":  # a write that bypasses `ConnectionIndex.writing` (a hand-edited state)
        state = state_of(test_client)
        connection = state.organizations[ACME].connections[target]
        connection.name = name
        connection.updated_at = state.clock.tick()
    elif kind == "globex":  # moves the shared clock
        ok(test_client.post("/connections", json={**GDRIVE, "name": name}, headers=headers("carol")), 201)
    else:  # visibility of bob changes: no tick, no count change
        role = data.draw(st.sampled_from(["viewer", None]))
        path = f"{URL}/{target}/organization-role"
        ok(test_client.patch(path, json={"role": role}, headers=headers()))


@pytest.mark.parametrize("sort_below", [1, SORT_BELOW], ids=["sorting-matches", "walking-views"])
@given(data=st.data())
def test_listing_equals_a_naive_filter_and_sort_after_random_writes(
    monkeypatch: pytest.MonkeyPatch, sort_below: int, data: st.DataObject
) -> None:
    monkeypatch.setattr(_index, "SORT_BELOW", sort_below)
    test_client = fresh(connections=8)
    for _ in range(data.draw(st.integers(1, 12))):
        if data.draw(st.booleans()):
            _write(test_client, data)
        organization = state_of(test_client).organizations[ACME]
        times = sorted(c.updated_at for c in organization.connections.values())
        query = data.draw(queries(times))
        assert listing(test_client, query) == naive(test_client, query), query


def test_pages_of_one_query_come_from_one_pass_until_a_write() -> None:
    test_client = fresh(connections=30)
    query = {"user": "alice", "sort_by": "name", "sort_dir": "asc", "limit": 4, "name__icontains": "d"}
    pages = [listing(test_client, {**query, "offset": offset}) for offset in range(0, 32, 4)]
    assert [page for ids, _ in pages for page in ids] == naive(
        test_client, {**query, "offset": 0, "limit": 99}
    )[0]
    created = ok(test_client.post("/connections", json={**GDRIVE, "name": "!drive"}, headers=headers()), 201)
    ids, total = listing(test_client, {**query, "offset": 0})
    assert ids[0] == created["connection_id"] and total == pages[0][1] + 1


def test_a_sorted_view_refiles_connections_changed_behind_its_back() -> None:
    test_client = fresh(connections=20)
    organization = state_of(test_client).organizations[ACME]
    key = sort_key("name")
    view = SortedView(key, organization.connections.values())
    connections: list[Connection] = list(organization.connections.values())
    connections[3].name, connections[7].name = "zzz", "AAA"
    removed = connections[5]
    present = {c.connection_id: c for c in connections if c is not removed}
    view.refile([connections[3], connections[7]], present)
    assert view.connections == sorted(present.values(), key=key)


def test_queries_between_writes_use_positions_by_value_with_the_same_answers() -> None:
    test_client = fresh(connections=40)
    queries = [
        {"provider_id__eq": "gdrive", "name__icontains": "drive"},
        {"connection_type_id__in": "gdrive,confluence", "updated_at__gt": iso(0)},
        {"name__gte": "M", "provider_id__neq": "slack"},
    ]
    index = _index.index_of(state_of(test_client), state_of(test_client).organizations[ACME])
    for round_ in range(2):
        for filters in queries:
            query = {"user": "bob", "sort_by": "name", "sort_dir": "asc", "offset": 0, "limit": 50, **filters}
            assert listing(test_client, query) == naive(test_client, query), (round_, filters)
        assert set(index._groups) >= {"provider_id", "connection_type_id", "name"}  # built, then read
        ok(
            test_client.patch(
                f"/connections/{_acme_ids(test_client)[5]}", json={"name": "Zed"}, headers=headers()
            )
        )
        assert not index._groups  # a write drops them
