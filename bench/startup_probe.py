"""What `mockserver serve` does before it can answer, without serving: for py-spy and tracemalloc.

python bench/startup_probe.py --api all                       # imports, specs, validators, seeded state
python bench/startup_probe.py --api stack-ai --connections 100000 --tracemalloc 12
"""

from __future__ import annotations

import argparse
import sys
import time
import tracemalloc
from collections.abc import Sequence
from pathlib import Path

REPO = str(Path(__file__).resolve().parent.parent) + "/"


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--api", default="all")
    parser.add_argument("--connections", type=int, default=None)
    parser.add_argument(
        "--tracemalloc", type=int, default=0, metavar="N", help="print the N largest allocation sites"
    )
    args = parser.parse_args(argv)
    if args.tracemalloc:
        tracemalloc.start(1)
    began = time.perf_counter()
    import uvicorn  # noqa: F401  (the CLI imports it before serving)

    from mockserver._app import MockConfig, create_app

    imported = time.perf_counter()
    options = {} if args.connections is None else {"connections": args.connections}
    create_app(MockConfig(api=args.api, strict=True, api_options=options))
    built = time.perf_counter()
    print(f"imports {imported - began:.2f} s, create_app {built - imported:.2f} s")
    if args.tracemalloc:
        snapshot = tracemalloc.take_snapshot()
        stats = snapshot.statistics("lineno")
        total = sum(stat.size for stat in stats)
        print(f"traced Python allocations alive after create_app: {total / 2**20:.0f} MB; largest sites:")
        for stat in stats[: args.tracemalloc]:
            frame = stat.traceback[0]
            print(
                f"{stat.size / 2**20:8.1f} MB {stat.count:>9,} blocks  {frame.filename.removeprefix(REPO)}:{frame.lineno}"
            )
    return 0


if __name__ == "__main__":
    sys.exit(main())
