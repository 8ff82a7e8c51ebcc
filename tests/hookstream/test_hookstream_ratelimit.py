"""Rate limiting: headers on every response, `--rate-limit N/SECONDS`, per-organization 429s."""

from __future__ import annotations

import argparse

import pytest
from hs_support import (
    ACME,
    ACME_STAGING,
    GLOBEX,
    create_source,
    error,
    fresh_hookstream_fixture,
    headers,
    ingest,
    new_client,
    ok,
    snapshot,
)
from hypothesis import given
from hypothesis import strategies as st

from mockserver.apis.hookstream import API
from mockserver.apis.hookstream._ratelimit import RateLimit, RateLimiter, parse_rate_limit

hookstream = fresh_hookstream_fixture()

RATE_HEADERS = ("RateLimit-Limit", "RateLimit-Remaining", "RateLimit-Reset")


class FakeClock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def limited(spec: str = "3/60"):
    client = new_client(rate_limit=spec)
    clock = FakeClock()
    client.app.state.services["hookstream"].state.limiter.clock = clock
    return client, clock


def rate(response) -> tuple[int, int, int]:
    limit, remaining, reset = (int(response.headers[name]) for name in RATE_HEADERS)
    return limit, remaining, reset


@pytest.mark.parametrize(
    ("method", "path", "kwargs"),
    [
        ("get", "/v1/connections", {"headers": headers()}),
        ("get", "/v1/connections", {}),
        ("get", "/v1/connections/" + "0" * 32, {"headers": headers()}),
        ("get", "/v1/connections/bad", {"headers": headers()}),
        ("put", "/v1/connections/" + "0" * 32, {"headers": headers()}),
        ("get", "/v1/nowhere", {}),
        ("get", "/v1/health", {}),
        ("post", "/v1/ingest/" + "0" * 32, {"json": {}}),
        ("post", "/v1/ingest/" + "0" * 32, {"content": b"x", "headers": {"Content-Type": "text/plain"}}),
        ("post", "/v1/connections", {"json": {}, "headers": headers()}),
    ],
)
def test_every_response_carries_rate_limit_headers(hookstream, method, path, kwargs):
    response = hookstream.request(method, path, **kwargs)
    limit, remaining, reset = rate(response)
    assert limit == 1000 and 0 <= remaining < 1000 and 0 <= reset <= 60


def test_default_mode_counts_per_organization_but_never_refuses(hookstream):
    remaining = [rate(hookstream.get("/v1/health"))[1] for _ in range(3)]
    assert remaining == [999, 998, 997]
    acme = [rate(hookstream.get("/v1/sources", headers=headers(owner)))[1] for owner in (ACME, ACME_STAGING)]
    assert acme == [999, 998]
    assert rate(hookstream.get("/v1/sources", headers=headers(GLOBEX)))[1] == 999
    for window in hookstream.app.state.services["hookstream"].state.limiter.windows.values():
        window.used = 5000
    over = hookstream.get("/v1/health")
    assert over.status_code == 200 and rate(over)[:2] == (1000, 0)


def test_limit_is_enforced_per_organization_with_documented_429():
    client, clock = limited("3/60")
    with client:
        responses = [client.get("/v1/connections", headers=headers(ACME)) for _ in range(3)]
        assert [r.status_code for r in responses] == [200, 200, 200]
        assert [rate(r)[:2] for r in responses] == [(3, 2), (3, 1), (3, 0)]
        clock.now += 10
        refused = client.get("/v1/connections", headers=headers(ACME_STAGING))
        error(refused, 429, "Rate limit exceeded")
        assert rate(refused) == (3, 0, 50) and refused.headers["Retry-After"] == "50"
        assert client.get("/v1/connections", headers=headers(GLOBEX)).status_code == 200
        clock.now += 50
        again = client.get("/v1/connections", headers=headers(ACME))
        assert again.status_code == 200 and rate(again) == (3, 2, 60)


def test_refused_requests_change_nothing_and_are_refused_before_validation():
    client, clock = limited("2/30")
    with client:
        source = create_source(client)
        ok(client.get("/v1/sources", headers=headers()))
        before = snapshot(client)
        attempts = [
            client.post("/v1/sources", json={"name": "n", "slug": "late"}, headers=headers()),
            client.patch(f"/v1/sources/{source['id']}", json={"name": "late"}, headers=headers()),
            client.delete(f"/v1/sources/{source['id']}", headers=headers()),
            client.post("/v1/sources", json={"bogus": 1}, headers=headers()),
            client.get("/v1/sources/not-an-id", headers=headers()),
            ingest(client, source["id"], {"a": 1}),
            ingest(client, source["id"], content=b"a", headers={"Content-Type": "text/plain"}),
        ]
        for response in attempts:
            error(response, 429, "Rate limit exceeded")
            assert rate(response)[1] == 0
        assert snapshot(client) == before
        clock.now += 30
        assert ok(ingest(client, source["id"], {"a": 1}))["accepted"]


def test_unauthenticated_requests_share_an_anonymous_bucket():
    client, _ = limited("2/60")
    with client:
        assert [client.get("/v1/health").status_code for _ in range(2)] == [200, 200]
        error(client.get("/v1/health"), 429)
        error(client.get("/v1/connections"), 429)
        assert client.get("/v1/connections", headers=headers()).status_code == 200


def test_ingest_counts_against_the_sources_organization():
    client, _ = limited("3/60")
    with client:
        source = create_source(client, GLOBEX)
        assert ok(ingest(client, source["id"], {}))["accepted"]
        assert client.get("/v1/sources", headers=headers(GLOBEX)).status_code == 200
        error(ingest(client, source["id"], {}), 429)
        assert client.get("/v1/sources", headers=headers(ACME)).status_code == 200


@pytest.mark.parametrize(("text", "expected"), [("3/60", RateLimit(3, 60)), (" 100 / 1 ", RateLimit(100, 1))])
def test_parse_rate_limit(text, expected):
    assert parse_rate_limit(text) == expected


@pytest.mark.parametrize("text", ["", "3", "3/", "/60", "0/60", "3/0", "-1/60", "3/60s", "a/b", "3.5/60"])
def test_invalid_rate_limits_are_refused(text):
    with pytest.raises(ValueError, match=r"N/SECONDS|at least 1"):
        parse_rate_limit(text)
    with pytest.raises(ValueError):
        new_client(rate_limit=text)


def test_cli_arguments():
    parser = argparse.ArgumentParser()
    API.add_arguments(parser.add_argument_group("hookstream"))
    limits = ["--source-limit", "2", "--destination-limit", "3", "--connection-limit", "4"]
    args = parser.parse_args(["--rate-limit", "5/10", *limits])
    assert args.rate_limit == RateLimit(5, 10)
    assert (args.source_limit, args.destination_limit, args.connection_limit) == (2, 3, 4)
    assert parser.parse_args([]).rate_limit is None
    for bad in (["--rate-limit", "5"], ["--destination-limit", "0"], ["--source-limit", "x"]):
        with pytest.raises(SystemExit):
            parser.parse_args(bad)
    with new_client(**vars(args)) as client:
        assert rate(client.get("/v1/health")) == (5, 4, 10)
        plan = client.app.state.services["hookstream"].state.plan
        assert (plan.sources, plan.destinations, plan.connections) == (2, 3, 4)


@given(
    start=st.floats(0, 1e9, allow_nan=False),
    steps=st.lists(st.floats(0, 90, allow_nan=False), max_size=12),
    limit=st.integers(1, 4),
)
def test_limiter_headers_stay_within_bounds(start, steps, limit):
    clock = [start]
    limiter = RateLimiter(RateLimit(limit, 60), enforce=True, clock=lambda: clock[0])
    allowed_in_window = 0
    window_start = None
    for step in [0.0, *steps]:
        clock[0] += step
        if window_start is None or clock[0] >= window_start + 60:
            window_start, allowed_in_window = clock[0], 0
        decision = limiter.admit("org")
        assert 0 <= decision.reset_seconds <= 60 and 0 <= decision.remaining < limit + 1
        assert decision.allowed is (allowed_in_window < limit)
        allowed_in_window += decision.allowed
        assert decision.remaining == limit - allowed_in_window
