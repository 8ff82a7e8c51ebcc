"""The `mockserver` command: `serve` and `check` (and `fixtures generate`, `record`, `replay`)."""

from __future__ import annotations

import argparse
import asyncio
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any, cast

from ._app import ALL_APIS, MockConfig, build_services, create_app, discover_apis
from ._commands import add_commands, add_spec_dir, run_command
from ._outbound import parse_host_rule
from ._resources import package_version
from ._service import ApiService
from .control._clock import CLOCK_MODES, ClockSettings, parse_instant
from .control._runtime import parse_latency


def _host_rule(text: str) -> tuple[str, int | None]:
    try:
        return parse_host_rule(text)
    except ValueError as exc:
        raise argparse.ArgumentTypeError(str(exc)) from exc


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="mockserver", description=__doc__)
    parser.add_argument("--version", action="version", version=f"mockserver {package_version()}")
    commands = parser.add_subparsers(dest="command")
    apis = [ALL_APIS, *discover_apis()]

    serve = commands.add_parser("serve", help="serve the mock APIs")
    serve.add_argument("--host", default="127.0.0.1", help="address to bind (default: 127.0.0.1)")
    serve.add_argument("--port", type=int, default=4010, help="port to bind (default: 4010)")
    serve.add_argument(
        "--api", choices=apis, default=ALL_APIS, help="serve one API at the root, or all under prefixes"
    )
    serve.add_argument("--seed", type=int, default=0, help="seed for generated data (default: 0)")
    serve.add_argument(
        "--strict",
        action=argparse.BooleanOptionalAction,
        default=False,
        help="turn a response that violates the spec into a 500 (default: log it and send X-Mock-Violations)",
    )
    add_spec_dir(serve)
    serve.add_argument(
        "--log-level", default="info", choices=["critical", "error", "warning", "info", "debug"]
    )
    serve.add_argument(
        "--latency",
        type=_latency,
        default=None,
        metavar="MS|MIN-MAX",
        help="delay every response by MS milliseconds, or by a random MIN-MAX",
    )
    serve.add_argument(
        "--cors-origin",
        action="append",
        dest="cors_origins",
        metavar="ORIGIN",
        help="an origin browsers may call from (repeatable; default: * on loopback, none elsewhere)",
    )
    serve.add_argument(
        "--deliver-to",
        action="append",
        dest="deliver_to",
        type=_host_rule,
        default=None,
        metavar="HOST[:PORT]",
        help="a host (and port) beyond loopback that may receive the mock's own requests, e.g. webhook "
        "deliveries (repeatable; default: loopback only, every other destination is simulated)",
    )
    serve.add_argument(
        "--state-file",
        type=Path,
        default=None,
        metavar="PATH",
        help="load state from PATH at startup; save it there atomically on shutdown",
    )
    serve.add_argument(
        "--admin-token",
        default=None,
        help="lets non-loopback callers use /__mock with 'Authorization: Bearer TOKEN'",
    )
    serve.add_argument(
        "--journal-size",
        type=_positive,
        default=1000,
        metavar="N",
        help="requests kept in the /__mock/requests journal (default: 1000)",
    )
    serve.add_argument(
        "--max-sessions",
        type=_positive,
        default=32,
        metavar="N",
        help="X-Mock-Session states kept; the least recently used goes first (default: 32)",
    )
    serve.add_argument(
        "--clock",
        choices=CLOCK_MODES,
        default="running",
        help="mock time: 'running' follows the wall clock from the start time (default); 'frozen' moves "
        "only by writes and POST /__mock/clock",
    )
    serve.add_argument(
        "--start-time",
        type=_instant,
        default=None,
        metavar="RFC3339",
        help="the clock's start, e.g. 2025-12-01T09:00:00Z (default: each API's seeded start)",
    )
    for definition in discover_apis().values():
        definition.add_arguments(serve.add_argument_group(f"{definition.name} options"))

    check = commands.add_parser("check", help="validate the spec files and every example in them")
    add_spec_dir(check)
    add_commands(commands)  # fixtures generate, record, replay
    return parser


def _latency(text: str) -> tuple[int, int]:
    try:
        return parse_latency(text)
    except ValueError as exc:
        raise argparse.ArgumentTypeError(str(exc)) from exc


def _instant(text: str) -> int:
    try:
        return parse_instant(text)
    except ValueError as exc:
        raise argparse.ArgumentTypeError(str(exc)) from exc


def _positive(text: str) -> int:
    if not text.isdigit() or int(text) < 1:
        raise argparse.ArgumentTypeError(f"expected a whole number of at least 1, not {text!r}")
    return int(text)


def banner(services: Sequence[ApiService], *, host: str, port: int) -> str:
    lines = ["mockserver is serving:"]
    for service in services:
        lines.append(f"\n  {service.api.title}: http://{host}:{port}{service.mount_path}")
        previous_label = None
        for credential in service.api.credentials(service.state):
            if credential.label != previous_label:
                lines.append(f"    {credential.label}")
                previous_label = credential.label
            lines.append(f"      {credential.header_line}")
    lines.append(f"\n  Docs (Swagger UI, offline): http://{host}:{port}/docs")
    lines.append(f"  Control API: http://{host}:{port}/__mock (OpenAPI at /__mock/openapi.json)")
    return "\n".join(lines) + "\n"


def main(argv: Sequence[str] | None = None) -> int:
    parser = _parser()
    args = parser.parse_args(argv)
    if args.command == "check":
        from ._check import check_specs  # imported late: openapi-spec-validator costs ~0.1 s to import

        problems = check_specs(args.spec_dir, discover_apis())
        for problem in problems:
            print(problem, file=sys.stderr)
        print("specs OK" if not problems else f"{len(problems)} problem(s)")
        return 1 if problems else 0
    outcome = run_command(args)
    if outcome is not None:
        return outcome
    if args.command != "serve":
        parser.print_help()
        return 2
    import uvicorn

    loopback = args.host in ("127.0.0.1", "localhost", "::1")
    config = MockConfig(
        api=args.api,
        seed=args.seed,
        strict=args.strict,
        spec_dir=args.spec_dir,
        api_options=vars(args),
        latency_ms=args.latency,
        journal_size=args.journal_size,
        max_sessions=args.max_sessions,
        cors_origins=tuple(args.cors_origins or (["*"] if loopback else [])),
        admin_token=args.admin_token,
        state_file=args.state_file,
        clock=ClockSettings(mode=args.clock, start=args.start_time),
        outbound_hosts=tuple(args.deliver_to or ()),
    )
    try:
        app = create_app(config)
    except ValueError as exc:  # a spec that cannot be read (SpecError), a state file that cannot be loaded
        print(f"serve: {exc}", file=sys.stderr)
        return 2
    print(banner(list(app.state.services.values()), host=args.host, port=args.port), flush=True)
    # The websockets package costs ~50 ms to import: loaded on the first upgrade, and only if an API serves one.
    serves_websockets = any(s.serves_websockets for s in app.state.services.values())
    ws = cast(Any, _websocket_protocol) if serves_websockets else "none"
    uvicorn.run(app, host=args.host, port=args.port, log_level=args.log_level, ws=ws, **SERVER_LIMITS)
    return 0


SERVER_LIMITS: dict[str, Any] = {
    "timeout_keep_alive": 5,
    # h11 (when httptools is missing) refuses a header section past this with a bare 400 before the app sees
    # it; above MAX_HEADER_BYTES (16 KB) so the app answers 431 in the API's format first.
    "h11_max_incomplete_event_size": 64 * 1024,
    # A WebSocket message past this closes the stream with 1009 (message too big); the live stream's
    # messages are a few hundred bytes.
    "ws_max_size": 1024 * 1024,
    "ws_max_queue": 32,
}
"""uvicorn's settings for a mock left running (see the README's request limits): idle keep-alive connections
close after 5 s; `limit_concurrency` is left unset, since uvicorn answers a 503 past it."""


def _websocket_protocol(**options: Any) -> asyncio.Protocol:
    """uvicorn's WebSocket protocol for one upgraded connection, imported when the first one arrives."""
    from uvicorn.protocols.websockets.auto import AutoWebSocketsProtocol

    if AutoWebSocketsProtocol is None:  # uvicorn[standard] brings websockets; a bare uvicorn may not
        raise RuntimeError("WebSockets need the websockets package (pip install 'uvicorn[standard]')")
    return AutoWebSocketsProtocol(**options)


__all__ = ["SERVER_LIMITS", "banner", "build_services", "main"]
