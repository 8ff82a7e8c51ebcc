"""Knowledge-base pages on the mock clock: does a page of a 10,000-file knowledge base cost what one of a
10-file knowledge base does, and does polling `children` while indexing runs keep up with a connection's
`children` page of the same size? (issue 16; in-process through the ASGI app, not run in CI)

    .venv/bin/python bench/knowledge_bases.py [--rounds 400]

Each knowledge base is created through the API, filled with files (the big one through the model: 10,000
uploads over HTTP would only time the uploads), synced, and its clock moved to the middle of indexing, so
that every page mixes pending, parsed and indexed files. Times are medians of `--rounds` requests.
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import sys
import time
import warnings
from typing import Any
from urllib.parse import urlencode

with warnings.catch_warnings():
    warnings.simplefilter("ignore")
    from starlette.testclient import TestClient

from mockserver import MockConfig, create_app
from mockserver.apis.stack_ai._users import USERS
from mockserver.apis.stack_ai.knowledge_bases._indexing import start_job
from mockserver.apis.stack_ai.knowledge_bases._model import KbFile

ALICE = {"Authorization": f"Bearer {USERS[0].token}"}
PAGE = 10


def median_ms(client: TestClient, path: str, params: dict[str, Any], rounds: int) -> float:
    """Median time of the app answering the request, called directly as ASGI (no client or socket)."""
    app = client.app
    scope = {
        "type": "http",
        "method": "GET",
        "path": path,
        "raw_path": path.encode(),
        "query_string": urlencode(params).encode(),
        "headers": [(b"authorization", ALICE["Authorization"].encode()), (b"host", b"127.0.0.1")],
        "scheme": "http",
        "client": ("127.0.0.1", 1),
        "server": ("127.0.0.1", 4010),
        "root_path": "",
        "http_version": "1.1",
    }
    statuses: list[int] = []

    async def receive() -> dict[str, Any]:
        return {"type": "http.request", "body": b"", "more_body": False}

    async def send(message: dict[str, Any]) -> None:
        if message["type"] == "http.response.start":
            statuses.append(message["status"])

    async def run() -> list[float]:
        times = []
        for index in range(rounds + 20):
            started = time.perf_counter()
            await app(dict(scope), receive, send)  # type: ignore[arg-type]
            if index >= 20:
                times.append(time.perf_counter() - started)
        return times

    times = asyncio.run(run())
    assert set(statuses) == {200}, statuses
    return statistics.median(times) * 1000


def knowledge_base(client: TestClient, files: int) -> str:
    connection = client.get("/connections", headers=ALICE).json()[0]["connection_id"]
    kb = client.post(
        "/knowledge_bases", json={"connection_id": connection, "connection_source_ids": []}, headers=ALICE
    ).json()
    state = client.app.state.services["stack-ai"].state  # type: ignore[attr-defined]
    organization = state.organizations[kb["org_id"]]
    model = organization.knowledge_bases[kb["knowledge_base_id"]]
    now = state.clock.now
    for index in range(files):
        path = f"folder-{index % 10 if files > 10 else 0}/file-{index:05d}.txt"
        model.add_file(
            KbFile(
                path,
                f"upload-{index}",
                None,
                1000 + index,
                "text/plain",
                "0" * 64,
                now,
                now,
                "alice@acme.test",
            )
        )
    start_job(state, model, list(model.files.values()))
    client.post("/__mock/clock", json={"advance_seconds": 45})
    return str(kb["knowledge_base_id"])


def main() -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--rounds", type=int, default=400)
    args = parser.parse_args()
    client = TestClient(create_app(MockConfig(api="stack-ai", strict=True)))
    rows = []
    connection = next(
        c["connection_id"]
        for c in client.get("/connections", headers=ALICE).json()
        if client.get(
            f"/connections/{c['connection_id']}/resources/children", params={"page_size": PAGE}, headers=ALICE
        ).json()["next_cursor"]
    )  # a root with more than one page: its page carries a next_cursor, as the big knowledge base's do
    rows.append(
        (
            "connection children, 10 per page",
            median_ms(
                client, f"/connections/{connection}/resources/children", {"page_size": PAGE}, args.rounds
            ),
        )
    )
    for files in (10, 10_000):
        kb_id = knowledge_base(client, files)
        # pages of 10 files: the small knowledge base's only page, one of the big one's 100 per folder
        params = {"resource_path": "/folder-0", "page_size": PAGE}
        rows.append(
            (
                f"{files:,}-file knowledge base, children page",
                median_ms(client, f"/knowledge_bases/{kb_id}/resources/children", params, args.rounds),
            )
        )
        rows.append(
            (
                f"{files:,}-file knowledge base, GET (counts)",
                median_ms(client, f"/knowledge_bases/{kb_id}", {}, args.rounds),
            )
        )
    print("| request | median ms |\n|---|---|")
    for label, value in rows:
        print(f"| {label} | {value:.3f} |")
    return 0


if __name__ == "__main__":
    sys.exit(main())
