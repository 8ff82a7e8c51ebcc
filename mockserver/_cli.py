"""The `mockserver` command: `serve` and `check`."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence
from pathlib import Path

from ._app import ALL_APIS, DEFAULT_SPEC_DIR, MockConfig, build_services, create_app, discover_apis
from ._check import check_specs
from ._service import ApiService


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="mockserver", description=__doc__)
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
    serve.add_argument("--spec-dir", type=Path, default=DEFAULT_SPEC_DIR, help=argparse.SUPPRESS)
    serve.add_argument(
        "--log-level", default="info", choices=["critical", "error", "warning", "info", "debug"]
    )
    for definition in discover_apis().values():
        definition.add_arguments(serve.add_argument_group(f"{definition.name} options"))

    check = commands.add_parser("check", help="validate the spec files and every example in them")
    check.add_argument("--spec-dir", type=Path, default=DEFAULT_SPEC_DIR, help=argparse.SUPPRESS)
    return parser


def banner(services: Sequence[ApiService], *, host: str, port: int) -> str:
    lines = ["mockserver is serving:"]
    for service in services:
        lines.append(f"\n  {service.api.title}: http://{host}:{port}{service.mount_path}")
        previous_label = None
        for credential in service.api.credentials(service.state):
            if credential.label != previous_label:
                lines.append(f"    {credential.label}")
                previous_label = credential.label
            lines.append(f"      {credential.how}: {credential.value}")
    return "\n".join(lines) + "\n"


def main(argv: Sequence[str] | None = None) -> int:
    parser = _parser()
    args = parser.parse_args(argv)
    if args.command == "check":
        problems = check_specs(args.spec_dir, discover_apis())
        for problem in problems:
            print(problem, file=sys.stderr)
        print("specs OK" if not problems else f"{len(problems)} problem(s)")
        return 1 if problems else 0
    if args.command != "serve":
        parser.print_help()
        return 2
    import uvicorn

    config = MockConfig(
        api=args.api, seed=args.seed, strict=args.strict, spec_dir=args.spec_dir, api_options=vars(args)
    )
    app = create_app(config)
    print(banner(list(app.state.services.values()), host=args.host, port=args.port), flush=True)
    uvicorn.run(app, host=args.host, port=args.port, log_level=args.log_level)
    return 0


__all__ = ["banner", "build_services", "main"]
