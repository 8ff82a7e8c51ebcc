"""Filter rules: every operator against hypothesis-generated payloads, checked against an oracle.

The oracle below is written independently of `_filters`: JSON values are turned into tagged canonical
forms (numbers as exact fractions), so "no coercion" and "1 == 1.0" fall out of the representation.
"""

from __future__ import annotations

import contextlib
import json
from fractions import Fraction
from pathlib import Path
from typing import Any

import pytest
import yaml
from hs_support import create_connection, error, fresh_hookstream_fixture, headers, ingest, ok
from hypothesis import given, note, settings
from hypothesis import strategies as st

from mockserver.apis.hookstream._filters import FIELD_PATTERN, OPERATORS, Event, rule_matches, validate_rules

hookstream = fresh_hookstream_fixture()

MISSING = object()
SPEC = Path(__file__).resolve().parents[2] / "spec" / "hookstream.yaml"


def canon(value: Any) -> Any:
    if value is None:
        return ("null",)
    if isinstance(value, bool):
        return ("bool", value)
    if isinstance(value, int | float):
        return ("number", Fraction(value))
    if isinstance(value, str):
        return ("string", value)
    if isinstance(value, list):
        return ("array", tuple(canon(v) for v in value))
    return ("object", frozenset((k, canon(v)) for k, v in value.items()))


def lookup(payload: Any, path: list[str]) -> Any:
    for key in path:
        if isinstance(payload, dict):
            if key not in payload:
                return MISSING
            payload = payload[key]
        elif isinstance(payload, list):
            if not (key.isascii() and key.isdigit()) or int(key) >= len(payload):
                return MISSING
            payload = payload[int(key)]
        else:
            return MISSING
    return payload


def oracle(op: str, actual: Any, expected: Any) -> bool:
    present = actual is not MISSING
    if op == "exists":
        return present == expected
    if op == "neq":
        return not present or canon(actual) != canon(expected)
    if not present:
        return False
    if op == "eq":
        return canon(actual) == canon(expected)
    if op == "in":
        return canon(actual) in [canon(v) for v in expected]
    if op == "contains":
        if isinstance(actual, str):
            return isinstance(expected, str) and expected in actual
        if isinstance(actual, list):
            return canon(expected) in [canon(v) for v in actual]
        return False
    a, e = canon(actual), canon(expected)
    if a[0] != e[0] or a[0] not in ("number", "string"):
        return False
    return {"gt": a[1] > e[1], "gte": a[1] >= e[1], "lt": a[1] < e[1], "lte": a[1] <= e[1]}[op]


scalars = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(-1000, 1000),
    st.floats(-1000, 1000, allow_nan=False),
    st.sampled_from(["", "a", "abc", "order.created", "5", "10", "1.0", "true", "null"]),
    st.text(max_size=5),
)
json_values = st.recursive(
    scalars,
    lambda children: (
        st.lists(children, max_size=3) | st.dictionaries(st.sampled_from("abv"), children, max_size=3)
    ),
    max_leaves=6,
)


def variants(actual: Any) -> st.SearchStrategy[Any]:
    """Values likely to (almost) match `actual`: itself, its string / number / bool look-alikes."""
    options: list[Any] = [] if actual is MISSING else [actual, json.dumps(actual)]
    if isinstance(actual, bool):
        options += [int(actual), str(actual).lower()]
    elif isinstance(actual, int | float):
        options += [str(actual), float(actual), actual + 1, actual - 1]
    elif isinstance(actual, str):
        options += [actual[:1], actual[1:], actual + "x"]
        with contextlib.suppress(ValueError):
            options.append(float(actual))
    elif isinstance(actual, list) and actual:
        options += [actual[0], actual[-1]]
    return st.sampled_from(options) | json_values if options else json_values


def rule_value(op: str, actual: Any) -> st.SearchStrategy[Any]:
    if op == "exists":
        return st.booleans()
    if op == "in":
        return st.lists(variants(actual), max_size=4)
    if op in ("gt", "gte", "lt", "lte"):
        anything = (
            st.integers(-5, 5) | st.floats(-5, 5, allow_nan=False) | st.sampled_from(["", "a", "m", "5"])
        )
        if isinstance(actual, int | float) and not isinstance(actual, bool):
            nearby = st.sampled_from([-1, 1, 0.5, -0.5, 0]).map(lambda delta: actual + delta)
            return st.one_of(nearby, nearby, st.just(str(actual)), anything)
        if isinstance(actual, str):
            return st.one_of(st.sampled_from([actual + "a", actual[:-1], "m", actual]), anything)
        return anything
    return variants(actual)


payloads = st.dictionaries(st.sampled_from(["v", "w"]), json_values, max_size=2)
comparables = st.one_of(
    st.integers(-10, 10), st.floats(-10, 10, allow_nan=False), st.sampled_from(["a", "m", "5", "10"])
)


def payloads_for(op: str) -> st.SearchStrategy[Any]:
    """Payloads whose `v` is often of the kind the operator works on, so both outcomes are common."""
    if op in ("gt", "gte", "lt", "lte"):
        favoured = comparables
    elif op == "contains":
        favoured = st.text(alphabet="abc", max_size=4) | st.lists(scalars, max_size=3)
    else:
        return payloads
    return st.fixed_dictionaries({"v": st.one_of(favoured, favoured, favoured, json_values)})


paths = st.sampled_from([["v"], ["v"], ["v"], ["v", "a"], ["v", "0"], ["x"]])


def _event(payload: Any = None, **kwargs: Any) -> Event:
    defaults: dict[str, Any] = {
        "payload": payload,
        "has_payload": True,
        "headers": {},
        "method": "POST",
        "content_type": "application/json",
        "source_ip": "127.0.0.1",
    }
    return Event(**{**defaults, **kwargs})


@pytest.mark.parametrize("op", OPERATORS)
@settings(max_examples=max(200, settings().max_examples))
@given(data=st.data())
def test_each_operator_matches_the_oracle(op, data):
    payload = data.draw(payloads_for(op))
    path = data.draw(paths)
    actual = lookup(payload, path)
    expected = data.draw(rule_value(op, actual))
    rule = {"field": ".".join(["payload", *path]), "op": op, "value": expected}
    note(f"actual={actual!r}")
    assert validate_rules([rule]) == []
    assert rule_matches(rule, _event(payload)) is oracle(op, actual, expected)


@given(payload=payloads, value=json_values, path=st.sampled_from(["payload.v", "payload.v.a", "payload.z"]))
def test_neq_is_the_negation_of_eq(payload, value, path):
    eq = rule_matches({"field": path, "op": "eq", "value": value}, _event(payload))
    neq = rule_matches({"field": path, "op": "neq", "value": value}, _event(payload))
    assert eq is not neq


@pytest.mark.parametrize("op", OPERATORS)
def test_over_the_api_each_operator_routes_or_filters_like_the_oracle(hookstream, op):
    connection = create_connection(hookstream)
    path = f"/v1/connections/{connection['id']}"
    counted = {"n": 0}

    @given(data=st.data())
    def check(data):
        payload = data.draw(payloads_for(op))
        field = data.draw(paths)
        actual = lookup(payload, field)
        expected = data.draw(rule_value(op, actual))
        rule = {"field": ".".join(["payload", *field]), "op": op, "value": expected}
        stored = ok(hookstream.patch(path, json={"filter_rules": [rule]}, headers=headers()))["connection"]
        assert json.loads(stored["filter_rules"]) == [rule]
        result = ok(ingest(hookstream, connection["source_id"], payload))
        matched = oracle(op, actual, expected)
        assert result["matched_connections"] == ([connection["id"]] if matched else [])
        assert result["filtered_connections"] == ([] if matched else [connection["id"]])
        counted["n"] += matched

    check()
    assert ok(hookstream.get(path, headers=headers()))["connection"]["event_count"] == counted["n"]


NO_COERCION = [
    ("eq", 5, "5"),
    ("eq", "5", 5),
    ("eq", True, 1),
    ("eq", 0, False),
    ("eq", None, "null"),
    ("eq", [1], ["1"]),
    ("in", 1, ["1", True]),
    ("in", True, [1]),
    ("gt", "10", 5),
    ("gte", 10, "5"),
    ("lt", True, 5),
    ("lte", None, 0),
    ("gt", [10], 5),
    ("contains", 12345, "23"),
    ("contains", ["1", "2"], 1),
    ("contains", {"a": 1}, "a"),
]


@pytest.mark.parametrize(("op", "actual", "expected"), NO_COERCION)
def test_type_mismatches_never_match(op, actual, expected):
    assert rule_matches({"field": "payload.v", "op": op, "value": expected}, _event({"v": actual})) is False


@pytest.mark.parametrize(
    ("op", "expected", "matches"),
    [
        ("eq", None, False),
        ("neq", "x", True),
        ("neq", None, True),
        ("contains", "", False),
        ("gt", 0, False),
        ("gte", "", False),
        ("lt", 0, False),
        ("lte", "z", False),
        ("in", [None], False),
        ("exists", True, False),
        ("exists", False, True),
    ],
)
@pytest.mark.parametrize(
    "payload", [{}, {"a": 1}, {"a": {"c": 1}}, {"a": [1]}, {"a": "text"}, {"a": None}, [1, 2], "x", None]
)
def test_missing_paths(op, expected, matches, payload):
    rule = {"field": "payload.a.b", "op": op, "value": expected}
    assert rule_matches(rule, _event(payload)) is matches


def test_present_null_exists_and_whole_payload():
    assert rule_matches({"field": "payload.a", "op": "exists", "value": True}, _event({"a": None}))
    assert rule_matches({"field": "payload.a", "op": "eq", "value": None}, _event({"a": None}))
    assert rule_matches({"field": "payload", "op": "eq", "value": [1, 2]}, _event([1, 2]))
    assert rule_matches(
        {"field": "payload.1.id", "op": "eq", "value": "b"}, _event([{"id": "a"}, {"id": "b"}])
    )
    assert not rule_matches({"field": "payload.2", "op": "exists", "value": True}, _event([1, 2]))
    assert not rule_matches({"field": "payload", "op": "exists", "value": True}, _event(has_payload=False))
    assert rule_matches({"field": "payload.a", "op": "eq", "value": 1.0}, _event({"a": 1}))


def test_ordering_compares_numbers_or_strings():
    def matches(op, actual, expected):
        return rule_matches({"field": "payload.v", "op": op, "value": expected}, _event({"v": actual}))

    assert (
        matches("gt", 10, 9.5)
        and matches("gte", 10, 10)
        and matches("lt", -1, 0)
        and matches("lte", 2.5, 2.5)
    )
    assert (
        matches("gt", "b", "a") and matches("lt", "2026-01-01", "2026-02-01") and not matches("gt", "10", "9")
    )


# ------------------------------------------------------------------ request fields, over the API


def _routes(client, connection, rules, **request):
    ok(client.patch(f"/v1/connections/{connection['id']}", json={"filter_rules": rules}, headers=headers()))
    result = ok(ingest(client, connection["source_id"], **request))
    return result["matched_connections"] == [connection["id"]]


def test_header_rules_are_case_insensitive_and_never_coerced(hookstream):
    connection = create_connection(hookstream)
    rule = [{"field": "headers.X-GitHub-Event", "op": "eq", "value": "push"}]
    assert _routes(hookstream, connection, rule, json={}, headers={"x-github-event": "push"})
    assert _routes(hookstream, connection, rule, json={}, headers={"X-GITHUB-EVENT": "push"})
    assert not _routes(hookstream, connection, rule, json={}, headers={"X-GitHub-Event": "Push"})
    assert not _routes(hookstream, connection, rule, json={})
    number = [{"field": "headers.x-attempt", "op": "gt", "value": 1}]
    assert not _routes(hookstream, connection, number, json={}, headers={"x-attempt": "5"})
    text = [{"field": "headers.x-attempt", "op": "gt", "value": "1"}]
    assert _routes(hookstream, connection, text, json={}, headers={"x-attempt": "5"})
    exists = [{"field": "headers.stripe-signature", "op": "exists", "value": True}]
    assert _routes(hookstream, connection, exists, json={}, headers={"Stripe-Signature": "t=1,v1=abc"})
    assert not _routes(hookstream, connection, exists, json={})


def test_method_content_type_and_source_ip_rules(hookstream):
    connection = create_connection(hookstream)
    method = [{"field": "method", "op": "eq", "value": "POST"}]
    assert _routes(hookstream, connection, method, json={})
    json_type = [{"field": "content_type", "op": "eq", "value": "application/json"}]
    assert _routes(hookstream, connection, json_type, json={})
    assert _routes(
        hookstream,
        connection,
        json_type,
        content=b"{}",
        headers={"Content-Type": "application/json; charset=utf-8"},
    )
    assert not _routes(
        hookstream, connection, json_type, content=b"a=1", headers={"Content-Type": "text/plain"}
    )
    has_type = [{"field": "content_type", "op": "exists", "value": False}]
    assert _routes(hookstream, connection, has_type)
    ip = [{"field": "source_ip", "op": "in", "value": ["203.0.113.9", "testclient"]}]
    assert _routes(hookstream, connection, ip, json={})
    assert _routes(hookstream, connection, ip, json={}, headers={"X-Forwarded-For": "203.0.113.9, 10.0.0.1"})
    assert not _routes(hookstream, connection, ip, json={}, headers={"X-Forwarded-For": "198.51.100.1"})


def test_form_and_text_bodies(hookstream):
    connection = create_connection(hookstream)
    form = [{"field": "payload.event", "op": "eq", "value": "order.created"}]
    body = b"event=order.created&order_id=1042&amount=49.00"
    form_headers = {"Content-Type": "application/x-www-form-urlencoded"}
    assert _routes(hookstream, connection, form, content=body, headers=form_headers)
    amount = [{"field": "payload.amount", "op": "gt", "value": 10}]
    assert not _routes(hookstream, connection, amount, content=body, headers=form_headers)
    text = [{"field": "payload", "op": "contains", "value": "hello"}]
    assert _routes(
        hookstream, connection, text, content=b"well hello there", headers={"Content-Type": "text/plain"}
    )
    sns = [{"field": "payload.Type", "op": "eq", "value": "Notification"}]
    sns_body = b'{"Type": "Notification", "Message": "hi"}'
    assert _routes(hookstream, connection, sns, content=sns_body, headers={"Content-Type": "text/plain"})


def test_rules_are_anded(hookstream):
    connection = create_connection(hookstream)
    rules = [
        {"field": "payload.type", "op": "eq", "value": "invoice.paid"},
        {"field": "payload.amount", "op": "gte", "value": 1000},
    ]
    assert _routes(hookstream, connection, rules, json={"type": "invoice.paid", "amount": 1000})
    assert not _routes(hookstream, connection, rules, json={"type": "invoice.paid", "amount": 999})
    assert not _routes(hookstream, connection, rules, json={"type": "other", "amount": 5000})
    assert _routes(hookstream, connection, None, json={"anything": True})


@given(
    rules=st.lists(
        st.fixed_dictionaries(
            {"field": st.sampled_from(["payload.a", "headers.x", "method"]), "op": st.sampled_from(OPERATORS)}
        ).flatmap(
            lambda r: st.fixed_dictionaries(
                {
                    **{k: st.just(v) for k, v in r.items()},
                    "value": st.booleans()
                    if r["op"] == "exists"
                    else st.lists(scalars, max_size=2)
                    if r["op"] == "in"
                    else st.integers() | st.text(max_size=3)
                    if r["op"] in ("gt", "gte", "lt", "lte")
                    else json_values,
                }
            )
        ),
        max_size=3,
    )
)
def test_every_well_formed_rule_list_is_valid(rules):
    assert validate_rules(rules) == []


def test_rules_with_unknown_operator_are_reported_by_index():
    problems = validate_rules(
        [{"field": "method", "op": "eq", "value": 1}, {"field": "x", "op": "nope", "value": 1}]
    )
    assert problems == [
        "body.filter_rules.1.field must be payload, payload.<path>, headers.<name>, method, content_type or source_ip",
        "body.filter_rules.1.op must be one of eq, neq, contains, gt, gte, lt, lte, exists, in",
    ]


def test_paused_connection_keeps_rules_but_gets_nothing(hookstream):
    connection = create_connection(hookstream)
    ok(hookstream.patch(f"/v1/connections/{connection['id']}", json={"status": "paused"}, headers=headers()))
    result = ok(ingest(hookstream, connection["source_id"], {}))
    assert result["matched_connections"] == [] and result["filtered_connections"] == []
    error(hookstream.get("/v1/connections/zz", headers=headers()), 400)


def test_the_spec_and_the_validator_agree_on_field_paths():
    spec = yaml.safe_load(SPEC.read_text())
    assert spec["components"]["schemas"]["FilterRule"]["properties"]["field"]["pattern"] == FIELD_PATTERN


@pytest.mark.parametrize("field", ["method\n", "payload.a\n", "headers.x\n"])
def test_a_trailing_newline_never_resolves(field):
    event = _event({"a": 1}, headers={"x": "1"})
    assert not rule_matches({"field": field, "op": "exists", "value": True}, event)
