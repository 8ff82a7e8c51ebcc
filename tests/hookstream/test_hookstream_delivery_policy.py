"""Where real requests may go, the documented retry schedule, and the simulated outcomes (no network)."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from mockserver._outbound import OutboundRunner, is_loopback, parse_host_rule
from mockserver.apis.hookstream._delivery import backoff_seconds, run_transform


@pytest.mark.parametrize(
    "url",
    ["http://localhost:3000/hooks", "http://127.0.0.1/x", "http://127.8.9.10:81/", "http://[::1]:3000/h",
     "https://LOCALHOST/h"],
)  # fmt: skip
def test_loopback_destinations_get_real_requests_by_default(url):
    assert OutboundRunner().allows(url)


@pytest.mark.parametrize(
    "url",
    ["https://hooks.example.com/in", "http://10.0.0.1/h", "http://169.254.169.254/latest/meta-data",
     "http://0.0.0.0:80/", "ftp://localhost/x", "http://localhost.evil.com/", "http://api.localhost:9/h", "not a url", "http://[::ffff:7f00:1/"],
)  # fmt: skip
def test_every_other_destination_is_simulated_by_default(url):
    assert not OutboundRunner().allows(url)


def test_deliver_to_allows_a_host_on_any_port_or_one_port():
    runner = OutboundRunner(
        allowed_hosts=[parse_host_rule("hooks.internal"), parse_host_rule("10.0.0.5:8080")]
    )
    assert runner.allows("https://hooks.internal/x") and runner.allows("http://hooks.internal:9999/x")
    assert runner.allows("http://10.0.0.5:8080/h") and not runner.allows("http://10.0.0.5:8081/h")
    assert not runner.allows("http://10.0.0.5/h")  # port 80


@pytest.mark.parametrize(
    "text", ["", "http://x/y", "a:b:c:d:x", "host:0", "host:70000", "user@host", "[::1]:x"]
)
def test_bad_deliver_to_values_are_refused(text):
    with pytest.raises(ValueError):
        parse_host_rule(text)


def test_ipv6_deliver_to_rule():
    assert parse_host_rule("[fd00::5]:443") == ("fd00::5", 443)
    assert is_loopback("[::1]") and not is_loopback("fd00::5")


@given(
    intervals=st.lists(st.integers(min_value=0, max_value=86400), min_size=1, max_size=8),
    attempt=st.integers(min_value=1, max_value=10),
)
def test_backoff_is_exactly_the_documented_schedule(intervals, attempt):
    assert (
        backoff_seconds("exponential", intervals, attempt) == intervals[min(attempt - 1, len(intervals) - 1)]
    )
    assert backoff_seconds("linear", intervals, attempt) == intervals[0] * attempt
    assert backoff_seconds("fixed", intervals, attempt) == intervals[0]


def test_empty_intervals_use_the_documented_defaults():
    assert [backoff_seconds("exponential", [], n) for n in range(1, 7)] == [30, 300, 1800, 7200, 86400, 86400]


@given(payload=st.dictionaries(st.text(min_size=1, max_size=5), st.integers(), max_size=5))
def test_a_transform_returns_the_object_or_says_why_not(payload):
    assert run_transform("$", payload) == (payload, None)
    result, error = run_transform("$keys($)", payload)
    assert result is None and error is not None and error.startswith("Transform failed")


def test_a_runaway_transform_is_stopped():
    result, error = run_transform("($f := function($x){ $f($x + 1) }; $f(1))", {})
    assert result is None and error is not None


def test_serve_takes_repeated_deliver_to_rules():
    from mockserver._cli import _parser

    parser = _parser()
    args = parser.parse_args(["serve", "--deliver-to", "hooks.internal", "--deliver-to", "10.0.0.5:8080"])
    assert args.deliver_to == [("hooks.internal", None), ("10.0.0.5", 8080)]
    assert parser.parse_args(["serve"]).deliver_to is None
    with pytest.raises(SystemExit):
        parser.parse_args(["serve", "--deliver-to", "http://x/y"])


def test_the_app_takes_the_rules_and_shows_them():
    import warnings

    from mockserver import MockConfig, create_app

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        from starlette.testclient import TestClient

    rules = (("hooks.internal", None), ("fd00::5", 443))
    app = create_app(MockConfig(api="hookstream", outbound_hosts=rules))
    assert app.state.runtime.outbound.allows("https://[fd00::5]/h")
    with TestClient(app) as client:
        shown = client.get("/__mock/outbound").json()
    assert shown["allowed_hosts"] == ["hooks.internal", "[fd00::5]:443"] and shown["pending"] == 0
