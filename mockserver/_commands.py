"""The `fixtures generate`, `record` and `replay` commands of `mockserver`."""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Any

from ._app import MockConfig, build_services, discover_apis

if TYPE_CHECKING:
    from .fixtures._contract import Contract

REDACTION_KEY_VARIABLE = "MOCKSERVER_REDACTION_KEY"
COMMANDS = ("fixtures", "record", "replay")


def add_commands(commands: Any) -> None:
    """Add the subcommands to `mockserver`'s `add_subparsers()` object."""
    apis = list(discover_apis())

    fixtures = commands.add_parser("fixtures", help="canonical exchanges of every operation")
    fixtures_commands = fixtures.add_subparsers(dest="fixtures_command")
    generate = fixtures_commands.add_parser(
        "generate", help="write the success and documented error cases of every operation"
    )
    generate.add_argument("--out", type=Path, default=Path("fixtures"), help="folder (default: fixtures)")

    record = commands.add_parser(
        "record", help="a validating, redacting reverse proxy that records exchanges"
    )
    record.add_argument("--api", choices=apis, required=True, help="the API the upstream serves")
    record.add_argument(
        "--upstream", required=True, help="the API's base URL, e.g. https://api.example.com/v1"
    )
    record.add_argument("--out", type=Path, required=True, help="folder for exchanges and drift.json")
    _server_arguments(record)
    record.add_argument(
        "--timeout", type=float, default=30.0, help="upstream timeout in seconds (default: 30)"
    )
    add_spec_dir(record)

    replay = commands.add_parser("replay", help="serve recorded exchanges")
    replay.add_argument("dir", type=Path, help="a folder of exchanges (searched recursively)")
    replay.add_argument("--api", choices=apis, default=None, help="serve only this API's exchanges")
    replay.add_argument(
        "--match-body", action="store_true", help="a request matches only exchanges with the same body"
    )
    _server_arguments(replay)
    add_spec_dir(replay)


def add_spec_dir(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--spec-dir",
        type=Path,
        default=None,
        metavar="DIR",
        help="a folder of <api>.yaml specs to use instead of the ones shipped with mockserver",
    )


def _server_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--host", default="127.0.0.1", help="address to bind (default: 127.0.0.1)")
    parser.add_argument("--port", type=int, default=4010, help="port to bind (default: 4010)")
    parser.add_argument(
        "--log-level", default="warning", choices=["critical", "error", "warning", "info", "debug"]
    )


def run_command(args: argparse.Namespace) -> int | None:
    """Run one of these commands; None when `args.command` is not one of them."""
    if args.command == "fixtures":
        return _fixtures(args)
    if args.command == "record":
        return _record(args)
    if args.command == "replay":
        return _replay(args)
    return None


def _fixtures(args: argparse.Namespace) -> int:
    if args.fixtures_command != "generate":
        print("usage: mockserver fixtures generate [--out DIR]", file=sys.stderr)
        return 2
    from .fixtures._canonical import GenerationError, describe_counts, generate

    try:
        written = generate(args.out)
    except GenerationError as exc:
        print(f"fixtures: {exc}", file=sys.stderr)
        return 1
    print(f"wrote {describe_counts(written, args.out)}")
    return 0


def contract_for(api: str, spec_dir: Path | None = None) -> Contract:
    from .fixtures._contract import (
        Contract,  # here, like every command's own module: `serve` starts without them
    )

    (service,) = build_services(MockConfig(api=api, spec_dir=spec_dir, strict=True))
    return Contract(service)


def redaction_key() -> bytes:
    """`MOCKSERVER_REDACTION_KEY` (placeholders stable across recordings), else a key for this run only."""
    configured = os.environ.get(REDACTION_KEY_VARIABLE)
    return configured.encode("utf-8") if configured else os.urandom(32)


def build_recorder(
    api: str, *, upstream: str, out: Path, spec_dir: Path | None = None, **options: Any
) -> Any:
    from .fixtures._record import Recorder
    from .fixtures._redact import Redactor, known_credentials

    contract = contract_for(api, spec_dir)
    service = contract.service
    known = known_credentials(api, service.api.credentials(service.state))
    redactor = Redactor(redaction_key(), known=known)
    return Recorder(contract, upstream=upstream, out=out, redactor=redactor, **options)


def build_replay_app(
    root: Path, *, api: str | None = None, match_body: bool = False, spec_dir: Path | None = None
) -> Any:
    """The replay ASGI app for the exchanges under `root`; ValueError when there is nothing to serve."""
    from .fixtures._exchange import load_exchanges
    from .fixtures._replay import build_replayer

    loaded = load_exchanges(root)
    names = sorted({item.exchange.api for item in loaded if api is None or item.exchange.api == api})
    known = discover_apis()
    unknown = [name for name in names if name not in known]
    if unknown:
        raise ValueError(f"{root} holds exchanges of unknown APIs: {', '.join(unknown)}")
    if not names:
        raise ValueError(f"no exchanges{f' of {api}' if api else ''} under {root}")
    contracts = {name: contract_for(name, spec_dir) for name in names}
    return build_replayer(contracts, loaded, match_body=match_body)


def _record(args: argparse.Namespace) -> int:
    import uvicorn

    try:
        recorder = build_recorder(
            args.api, upstream=args.upstream, out=args.out, spec_dir=args.spec_dir, timeout=args.timeout
        )
    except ValueError as exc:
        print(f"record: {exc}", file=sys.stderr)
        return 2
    base = recorder.contract.base_path
    print(
        f"recording {args.api}: http://{args.host}:{args.port}{base} → {recorder.upstream}\n"
        f"  exchanges in {args.out}/{args.api}/, drift in {args.out}/drift.json "
        f"(also GET /__mock/drift and /__mock/requests)",
        flush=True,
    )
    uvicorn.run(recorder, host=args.host, port=args.port, log_level=args.log_level)
    summary = recorder.summary()
    print(f"recorded {summary['recorded_this_run']} exchange(s); {summary['drifted']} with drift", flush=True)
    return 0


def _replay(args: argparse.Namespace) -> int:
    import uvicorn

    try:
        app = build_replay_app(args.dir, api=args.api, match_body=args.match_body, spec_dir=args.spec_dir)
    except ValueError as exc:
        print(f"replay: {exc}", file=sys.stderr)
        return 2
    lines = [f"replaying {args.dir}:"]
    for name in sorted(app.apis):
        base = app.apis[name].contract.base_path
        lines.append(f"  {name}: http://{args.host}:{args.port}{app.mount_of(name)}{base}")
    print("\n".join(lines), flush=True)
    uvicorn.run(app, host=args.host, port=args.port, log_level=args.log_level)
    return 0
