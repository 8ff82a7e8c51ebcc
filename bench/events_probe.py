"""In-process probe of issue 17's two numbers (no HTTP server, no wrk): ingest of a 2 KB JSON event with and
without HMAC verification, and `GET /v1/events` at 100,000 stored events, unfiltered and filtered.

    .venv/bin/python bench/events_probe.py [--events 100000] [--requests 2000]

Times are of the whole pipeline (routing, validation, behaviour, response validation) through `AsgiDriver`;
they leave out uvicorn and the network, so they bound from above what `make bench` would show.
"""

from __future__ import annotations

import argparse
import hashlib
import hmac
import json
import statistics
import time

from mockserver._app import MockConfig, create_app
from mockserver._asgi import AsgiDriver
from mockserver.apis.hookstream._keys import API_KEYS

KEY = {"X-API-Key": API_KEYS[0].key}


def _source(driver: AsgiDriver, **fields: object) -> str:
    body = json.dumps({"name": "probe", "slug": f"probe-{len(fields)}", **fields}).encode()
    answer = driver.request(
        "POST", "/v1/sources", headers={**KEY, "Content-Type": "application/json"}, body=body
    )
    return str(answer.json()["source"]["id"])


def _rate(driver: AsgiDriver, source_id: str, body: bytes, headers: dict[str, str], count: int) -> float:
    started = time.perf_counter()
    for _ in range(count):
        assert driver.request("POST", f"/v1/ingest/{source_id}", headers=headers, body=body).status == 200
    return count / (time.perf_counter() - started)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--events", type=int, default=100_000)
    parser.add_argument("--requests", type=int, default=2000)
    args = parser.parse_args()
    app = create_app(MockConfig(api="hookstream", api_options={"event_retention": args.events}))
    with AsgiDriver(app) as driver:
        body = json.dumps({"type": "invoice.paid", "pad": "x" * 2000}).encode()[:2048]
        plain = _source(driver)
        signed = _source(
            driver,
            verification_enabled=True,
            verification_type="hmac_sha256",
            verification_secret="probe-secret",
            verification_header="X-Signature",
        )
        json_headers = {"Content-Type": "application/json"}
        signature = "sha256=" + hmac.new(b"probe-secret", body, hashlib.sha256).hexdigest()
        print(
            f"ingest 2 KB, plain source:    {_rate(driver, plain, body, json_headers, args.requests):8.0f} req/s"
        )
        signed_headers = {**json_headers, "X-Signature": signature}
        print(
            f"ingest 2 KB, HMAC verified:   {_rate(driver, signed, body, signed_headers, args.requests):8.0f} req/s"
        )
        started = time.perf_counter()
        store = app.state.services["hookstream"].state.store
        while len(store.events) < args.events:
            driver.request(
                "POST", f"/v1/ingest/{plain}", headers=json_headers, body=b'{"type":"order.created"}'
            )
        print(f"filled to {len(store.events)} events in {time.perf_counter() - started:.0f} s")
        for label, query in (
            ("unfiltered", [("limit", "50")]),
            ("source_id", [("source_id", signed), ("limit", "50")]),
            ("method=POST", [("method", "POST"), ("limit", "50")]),
            ("method+dedup", [("method", "POST"), ("dedup_status", "skipped"), ("limit", "50")]),
            ("status=received", [("status", "received"), ("limit", "50")]),
            ("search", [("search", "invoice"), ("limit", "50")]),
        ):
            times = []
            for _ in range(50):
                started = time.perf_counter()
                assert driver.request("GET", "/v1/events", query=query, headers=KEY).status == 200
                times.append((time.perf_counter() - started) * 1000)
            print(f"GET /v1/events {label:<16} p50 {statistics.median(times):7.2f} ms")


if __name__ == "__main__":
    main()
