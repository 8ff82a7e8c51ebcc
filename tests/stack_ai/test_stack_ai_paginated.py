"""`GET /api/v1/connections`: paging, sorting, `total`, `meta` and dynamic `field__operator` filters."""

from __future__ import annotations

from datetime import datetime
from typing import Any

import pytest
from hypothesis import assume, given
from hypothesis import strategies as st
from stack_support import ACME, create, detail_locs, fresh, headers, listed, ok, state_of

URL = "/api/v1/connections"


def page(c: Any, user: str = "alice", **params: Any) -> dict[str, Any]:
    body: dict[str, Any] = ok(c.get(URL, params=params, headers=headers(user)))
    return body


def ids(body: dict[str, Any]) -> list[str]:
    return [item["connection_id"] for item in body["data"]]


def test_defaults_newest_first_ten_per_page() -> None:
    c = fresh()
    body = page(c)
    assert body["status_code"] == 200 and body["response_code"] == "OK"
    assert body["offset"] == 0 and body["limit"] == 10 and body["total"] == 25
    created = [item["created_at"] for item in body["data"]]
    assert created == sorted(created, reverse=True) and len(created) == 10
    assert body["meta"] == {
        "sort_by": "created_at",
        "sort_dir": "desc",
        "filters": {},
        "count": 10,
        "has_more": True,
        "next_offset": 10,
        "previous_offset": None,
    }


def test_pages_cover_every_match_once() -> None:
    c = fresh()
    seen: list[str] = []
    offset: int | None = 0
    while offset is not None:
        body = page(c, limit=4, offset=offset, sort_by="name", sort_dir="asc")
        assert body["total"] == 25
        seen += ids(body)
        offset = body["meta"]["next_offset"]
    assert len(seen) == len(set(seen)) == 25
    last = page(c, limit=4, offset=24)
    assert last["meta"]["has_more"] is False and last["meta"]["previous_offset"] == 20


@pytest.mark.parametrize("sort_by", ["created_at", "updated_at", "name"])
@pytest.mark.parametrize("sort_dir", ["asc", "desc"])
def test_sorting(sort_by: str, sort_dir: str) -> None:
    c = fresh()
    body = page(c, limit=100, sort_by=sort_by, sort_dir=sort_dir)
    if sort_by == "name":
        values: list[Any] = [item["name"].casefold() for item in body["data"]]
    else:
        values = [datetime.fromisoformat(item[sort_by]) for item in body["data"]]
    assert values == sorted(values, reverse=sort_dir == "desc")
    assert page(c, limit=100, sort_by=sort_by, sort_dir=sort_dir) == body


def test_bad_sort_values_are_422() -> None:
    c = fresh()
    response = c.get(URL, params={"sort_by": "color", "sort_dir": "up"}, headers=headers())
    assert response.status_code == 422
    assert sorted(detail_locs(response)) == [["query", "sort_by"], ["query", "sort_dir"]]


def _model_match(item: dict[str, Any], field: str, operator: str, value: str) -> bool:
    actual = item[field]
    if field in ("created_at", "updated_at") and operator not in ("contains", "icontains"):
        instant = datetime.fromisoformat(actual)
        if operator == "in":
            return instant in {datetime.fromisoformat(v) for v in value.split(",")}
        other = datetime.fromisoformat(value)
        return {
            "eq": instant == other,
            "neq": instant != other,
            "gt": instant > other,
            "gte": instant >= other,
            "lt": instant < other,
            "lte": instant <= other,
        }[operator]
    return {
        "eq": lambda: actual == value,
        "neq": lambda: actual != value,
        "in": lambda: actual in value.split(","),
        "contains": lambda: value in actual,
        "icontains": lambda: value.casefold() in actual.casefold(),
        "gt": lambda: actual > value,
        "gte": lambda: actual >= value,
        "lt": lambda: actual < value,
        "lte": lambda: actual <= value,
    }[operator]()


FIELDS = ["connection_id", "name", "org_id", "provider_id", "connection_type_id", "created_at", "updated_at"]
OPERATORS = ["eq", "neq", "in", "contains", "icontains", "gt", "gte", "lt", "lte"]


@given(
    field=st.sampled_from(FIELDS),
    operator=st.sampled_from(OPERATORS),
    pick=st.integers(0, 24),
    fragment=st.sampled_from(["", "drive", "DRIVE", "a", "2025-0", "-", "notion"]),
)
def test_every_filter_on_every_field_matches_a_simple_model(
    field: str, operator: str, pick: int, fragment: str
) -> None:
    assume(not (field.endswith("_at") and operator == "in"))  # timestamps take no `in`
    c = fresh()
    everything = listed(c, "alice")
    sample = everything[pick][field]
    if operator in ("contains", "icontains"):
        value = fragment or sample[3:9]
    elif operator == "in":
        value = f"{sample},{everything[(pick + 7) % 25][field]}"
    else:
        value = sample
    body = page(c, limit=1000, **{f"{field}__{operator}": value})
    expected = [item for item in everything if _model_match(item, field, operator, value)]
    assert body["total"] == len(expected)
    assert sorted(ids(body)) == sorted(item["connection_id"] for item in expected)
    assert body["meta"]["filters"] == {f"{field}__{operator}": value}


def test_filters_combine_and_count_all_matches() -> None:
    c = fresh()
    everything = listed(c, "alice")
    gdrive = [i for i in everything if i["provider_id"] == "gdrive"]
    body = page(c, limit=1, provider_id__eq="gdrive")
    assert body["total"] == len(gdrive) and len(body["data"]) == 1
    cutoff = gdrive[len(gdrive) // 2]["created_at"]
    body = page(c, limit=100, provider_id__in="gdrive,notion", created_at__gte=cutoff.replace("+00:00", "Z"))
    expected = [
        i for i in everything if i["provider_id"] in ("gdrive", "notion") and i["created_at"] >= cutoff
    ]
    assert body["total"] == len(expected) > 0
    body = page(c, name__icontains="ZZZ-no-such-name")
    assert body["total"] == 0 and body["data"] == [] and body["meta"]["has_more"] is False


def test_timestamps_compare_as_instants_across_offsets() -> None:
    c = fresh()
    first = listed(c, "alice")[0]
    moment = datetime.fromisoformat(first["created_at"])
    shifted = moment.astimezone(datetime.fromisoformat("2025-01-01T00:00:00+02:00").tzinfo).isoformat()
    assert ids(page(c, created_at__eq=shifted)) == [first["connection_id"]]


@pytest.mark.parametrize(
    ("key", "value"),
    [
        ("color__eq", "red"),
        ("name__like", "drive"),
        ("name", "drive"),
        ("created_at__gte", "yesterday"),
        ("updated_at__lt", "2025-13-01T00:00:00Z"),
    ],
)
def test_unknown_field_operator_or_unparsable_value_is_422(key: str, value: str) -> None:
    c = fresh()
    before = state_of(c).snapshot()
    response = c.get(URL, params={key: value}, headers=headers())
    assert response.status_code == 422, response.text
    assert detail_locs(response) == [["query", "filters", key]]
    assert state_of(c).snapshot() == before


@pytest.mark.parametrize("value", ["soon", "2025-01-01", "2025-01-01 00:00:00Z", "2025-02-29T00:00:00Z"])
def test_a_timestamp_filter_takes_rfc_3339_only(value: str) -> None:
    c = fresh()
    response = c.get(URL, params={"created_at__gte": value}, headers=headers())
    assert response.status_code == 422
    assert response.json()["detail"] == [
        {
            "type": "datetime_from_date_parsing",
            "loc": ["query", "filters", "created_at__gte"],
            "msg": "Input should be a valid datetime (RFC 3339)",
            "input": value,
        }
    ]


def test_timestamps_take_no_in_operator() -> None:
    c = fresh()
    response = c.get(URL, params={"created_at__in": "2025-01-01T00:00:00Z"}, headers=headers())
    assert response.status_code == 422
    assert detail_locs(response) == [["query", "filters", "created_at__in"]]


def test_extreme_offsets_compare_as_instants() -> None:
    """RFC 3339 admits offsets that move an instant past year 9999 or before year 1: no overflow."""
    c = fresh()
    for value in ("9999-12-31T23:59:59-23:59", "0001-01-01T00:00:00+23:59"):
        body = ok(c.get(URL, params={"created_at__lte": value, "limit": 1}, headers=headers()))
        assert body["meta"]["filters"] == {"created_at__lte": value}


def test_lists_show_only_what_the_caller_may_see() -> None:
    c = fresh()
    alice = page(c, limit=1000)
    bob = page(c, "bob", limit=1000)
    assert alice["total"] == 25 and 0 < bob["total"] < 25
    assert set(ids(bob)) < set(ids(alice))
    assert [i["connection_id"] for i in listed(c, "bob")] == sorted(ids(bob), key=ids(alice)[::-1].index)
    mine = create(c, "bob")
    assert page(c, "bob", limit=1000)["total"] == bob["total"] + 1
    assert page(c, limit=1000)["total"] == 26
    assert page(c, "carol", limit=1000)["total"] == 25
    assert mine["connection_id"] not in ids(page(c, "carol", limit=1000))
    assert state_of(c).organizations[ACME].connections[mine["connection_id"]].org_level_role is None


@pytest.mark.parametrize("value", ["[object Object]", "provider_id__eq=gdrive", ""])
def test_the_filters_parameter_name_itself_is_an_unknown_key(value: str) -> None:
    """orval sends `filters=[object Object]`: the exploded object has no key of its own, so it is refused."""
    c = fresh()
    response = c.get(URL, params={"filters": value}, headers=headers())
    assert response.status_code == 422, response.text
    assert detail_locs(response) == [["query", "filters", "filters"]]
