"""The baseline: a bare Starlette app that answers recorded requests with the mock's recorded bytes.

`bench/run.py` records the mock's answer to every request a scenario sends (status, headers, body), writes
them to a JSON file, and starts this app on them. No validation, no state, no middleware: one dictionary
lookup per request, then the same bytes the mock sent.

    python bench/bare_app.py --recording RECORDING.json --port PORT
"""

from __future__ import annotations

import argparse
import base64
import importlib.util
import json
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import uvicorn
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

METHODS = ["GET", "POST", "PUT", "PATCH", "DELETE"]
Recorded = tuple[int, dict[str, str], bytes]


def load_recording(path: Path) -> dict[tuple[str, str], Recorded]:
    """`{(method, path?query): (status, headers, body)}` from the file `bench/run.py` wrote."""
    entries: list[dict[str, Any]] = json.loads(path.read_text())
    return {
        (entry["method"], entry["target"]): (
            int(entry["status"]),
            dict(entry["headers"]),
            base64.b64decode(entry["body"]),
        )
        for entry in entries
    }


def create_app(recording: dict[tuple[str, str], Recorded]) -> Starlette:
    async def answer(request: Request) -> Response:
        query = request.url.query
        target = request.url.path + ("?" + query if query else "")
        found = recording.get((request.method, target))
        if found is None:
            return Response(b'{"detail":"Not Found"}', 404, media_type="application/json")
        if request.method in ("POST", "PUT", "PATCH"):
            await request.body()  # read the body, as the mock does
        status, headers, body = found
        return Response(body, status, headers=headers)

    return Starlette(routes=[Route("/{path:path}", answer, methods=METHODS)])


def main(argv: Sequence[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--recording", type=Path, required=True)
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, required=True)
    args = parser.parse_args(argv)
    app = create_app(load_recording(args.recording))
    http = "httptools" if importlib.util.find_spec("httptools") else "auto"
    loop = "uvloop" if importlib.util.find_spec("uvloop") else "auto"
    uvicorn.run(app, host=args.host, port=args.port, log_level="warning", http=http, loop=loop)


if __name__ == "__main__":
    main()
