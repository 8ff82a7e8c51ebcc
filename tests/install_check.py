"""The package as a user gets it, checked in a temporary folder outside the checkout (`make install-check`,
also run by `make test`):

1. build the sdist and, from that sdist, the wheel (`python -m build`): both must carry the specs;
2. install the wheel into a fresh venv with its runtime dependencies only (no dev extras);
3. `mockserver --version` (the package metadata's version) and `mockserver check`;
4. `mockserver serve` on a free port: wait on `/__mock/health`, then call one operation of each API with the
   header lines the startup banner printed, pasted as they stand;
5. run examples/user-project's tests with pytest, as a user would, with its own requirements installed.

Standard library only; it needs the package registry (pip and the build backend), as CI has.
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import tarfile
import tempfile
import time
import tomllib
import urllib.error
import urllib.request
import zipfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
EXAMPLE = ROOT / "examples" / "user-project"
SPECS = sorted(path.name for path in (ROOT / "spec").glob("*.yaml"))
RUNTIME_FILES = [f"mockserver/spec/{name}" for name in SPECS] + ["mockserver/control/control.yaml"]
DEV_ONLY = ("hypothesis", "ruff", "mypy", "pytest")


def step(message: str) -> None:
    print(f"install-check: {message}", flush=True)


def run(*command: str | Path, cwd: Path, env: dict[str, str] | None = None) -> str:
    completed = subprocess.run(
        [str(part) for part in command], cwd=cwd, env=env, capture_output=True, text=True, check=False
    )
    if completed.returncode != 0:
        raise SystemExit(
            f"install-check: `{' '.join(map(str, command))}` failed ({completed.returncode}):\n"
            f"{completed.stdout[-4000:]}\n{completed.stderr[-4000:]}"
        )
    return completed.stdout


def build(work: Path) -> Path:
    dist = work / "dist"
    step(f"building the sdist, and the wheel from it, into {dist}")
    run(sys.executable, "-m", "build", "--outdir", dist, ROOT, cwd=work)
    (sdist,) = dist.glob("*.tar.gz")
    (wheel,) = dist.glob("*.whl")
    with tarfile.open(sdist) as archive:
        in_sdist = {name.split("/", 1)[1] for name in archive.getnames() if "/" in name}
    missing = [f"spec/{name}" for name in SPECS if f"spec/{name}" not in in_sdist]
    missing += [name for name in ("mockserver/control/control.yaml",) if name not in in_sdist]
    with zipfile.ZipFile(wheel) as archive:
        missing += [name for name in RUNTIME_FILES if name not in archive.namelist()]
    if missing:
        raise SystemExit(f"install-check: the built packages lack {missing}")
    return wheel


def fresh_venv(work: Path, wheel: Path) -> Path:
    venv = work / "venv"
    step(f"installing {wheel.name} into a fresh venv, runtime dependencies only")
    run(sys.executable, "-m", "venv", venv, cwd=work)
    python = venv / "bin" / "python"
    run(python, "-m", "pip", "install", "--quiet", "--disable-pip-version-check", wheel, cwd=work)
    leaked = run(python, "-c", _FIND_MODULES, *DEV_ONLY, cwd=work).split()
    if leaked:
        raise SystemExit(f"install-check: dev-only packages came with the wheel: {leaked}")
    return venv


_FIND_MODULES = "import importlib.util, sys; print(*[m for m in sys.argv[1:] if importlib.util.find_spec(m)])"


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def fetch(url: str, headers: dict[str, str] | None = None) -> tuple[int, bytes]:
    request = urllib.request.Request(url, headers=headers or {})
    try:
        with urllib.request.urlopen(request, timeout=10) as response:
            return response.status, response.read()
    except urllib.error.HTTPError as error:
        return error.code, error.read()


def banner_headers(banner: str) -> dict[str, list[dict[str, str]]]:
    """Each API's header lines from the startup banner, split at the first `: ` as a user pasting them would."""
    found: dict[str, list[dict[str, str]]] = {}
    current = None
    for line in banner.splitlines():
        if line.startswith("  ") and not line.startswith("   ") and ": http://" in line:
            current = "http://" + line.split(": http://", 1)[1].rstrip("/")
            found[current] = []
        elif current is not None and line.startswith("      "):
            name, _, value = line.strip().partition(": ")
            found[current].append({name: value})
    return found


def check_serve(venv: Path, work: Path, expected_version: str) -> None:
    port = free_port()
    step(f"mockserver serve on 127.0.0.1:{port}")
    log = (work / "serve.log").open("w+")
    server = subprocess.Popen(
        [str(venv / "bin" / "mockserver"), "serve", "--port", str(port)],
        cwd=work,
        stdout=log,
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )
    try:
        health = _wait_for_health(f"http://127.0.0.1:{port}/__mock/health", server, log)
        if health["version"] != expected_version or not health["apis"]:
            raise SystemExit(f"install-check: unexpected health {health}")
        log.seek(0)
        by_base = banner_headers(log.read())
        calls = {"hookstream": "/connections", "stack-ai": "/connections"}
        for api in health["apis"]:
            base = f"http://127.0.0.1:{port}{api['base_path']}"
            pasted = by_base.get(base)
            if not pasted:
                raise SystemExit(f"install-check: the banner lists no credentials for {base}")
            for headers in pasted:
                status, body = fetch(base + calls[api["name"]], headers)
                if status != 200:
                    raise SystemExit(
                        f"install-check: {api['name']} with {headers} answered {status}: {body[:300]!r}"
                    )
            status, _ = fetch(base + calls[api["name"]])
            if status != 401:
                raise SystemExit(
                    f"install-check: {api['name']} without credentials answered {status}, not 401"
                )
            step(f"{api['name']}: {len(pasted)} banner header lines authenticate; none gives 401")
    finally:
        os.killpg(server.pid, signal.SIGTERM)
        server.wait(timeout=20)
        log.close()


def _wait_for_health(url: str, server: subprocess.Popen[bytes], log: object) -> dict[str, object]:
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if server.poll() is not None:
            raise SystemExit(f"install-check: mockserver serve exited with {server.returncode}")
        try:
            status, body = fetch(url)
        except OSError:
            time.sleep(0.2)
            continue
        if status == 200:
            return dict(json.loads(body))
    raise SystemExit("install-check: /__mock/health did not answer within 60 s")


def check_user_project(venv: Path, work: Path) -> None:
    project = work / "user-project"
    shutil.copytree(EXAMPLE, project, ignore=shutil.ignore_patterns("__pycache__", ".pytest_cache"))
    python = venv / "bin" / "python"
    step("installing the user project's requirements and running its tests")
    run(
        python,
        "-m",
        "pip",
        "install",
        "--quiet",
        "--disable-pip-version-check",
        "-r",
        "requirements.txt",
        cwd=project,
    )
    env = {key: value for key, value in os.environ.items() if not key.startswith(("PYTHON", "VIRTUAL_ENV"))}
    print(
        run(python, "-m", "pytest", "-q", "-p", "no:cacheprovider", cwd=project, env=env), end="", flush=True
    )


def main() -> int:
    expected_version = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))["project"][
        "version"
    ]
    with tempfile.TemporaryDirectory(prefix="mockserver-install-check-") as temporary:
        work = Path(temporary)
        wheel = build(work)
        venv = fresh_venv(work, wheel)
        printed = run(venv / "bin" / "mockserver", "--version", cwd=work).strip()
        if printed != f"mockserver {expected_version}":
            raise SystemExit(f"install-check: `mockserver --version` printed {printed!r}")
        step(printed)
        step(run(venv / "bin" / "mockserver", "check", cwd=work).strip())
        check_serve(venv, work, expected_version)
        check_user_project(venv, work)
    step("passed")
    return 0


if __name__ == "__main__":
    sys.exit(main())
