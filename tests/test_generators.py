"""Client generators on both specs, as SDK and frontend developers run them (needs the PyPI and npm registries).

- openapi-python-client (pinned in `tests/generators/requirements.txt`, in its own venv under `.cache/`, so
  that its dependencies never meet the project's) generates both clients with no warning; the clients, installed
  there, run `tests/generators/python_workflows.py` against a live mock.
- openapi-typescript types (npm tools pinned in `tests/generators/package.json` and its lock file) type-check
  `tests/generators/workflow.ts` with `tsc --strict`; hey-api and orval generate from both specs.

Set `MOCKSERVER_SKIP_GENERATORS=1` to skip them on a machine without the registries.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import venv
from collections.abc import Iterator
from pathlib import Path

import pytest
import yaml

from mockserver.apis.hookstream._keys import API_KEYS
from mockserver.apis.stack_ai._users import USERS

REPO = Path(__file__).resolve().parents[1]
TOOLS = REPO / "tests" / "generators"
CACHE = REPO / ".cache" / "generators"
APIS = ("stack-ai", "hookstream")
PACKAGES = {"stack-ai": "stack_ai_connections_api_client", "hookstream": "hookstream_connections_api_client"}
# The one thing openapi-python-client needs told: how to send hookstream's ingest body (any media type).
PYTHON_CONFIG = TOOLS / "openapi-python-client.yaml"
BASE_PATHS = {"stack-ai": "/stack-ai", "hookstream": "/hookstream/v1"}

pytestmark = pytest.mark.skipif(
    os.environ.get("MOCKSERVER_SKIP_GENERATORS") == "1", reason="MOCKSERVER_SKIP_GENERATORS=1"
)


def run(command: list[str], *, cwd: Path = REPO, env: dict[str, str] | None = None) -> str:
    """Runs a command (bounded), returns its output; fails the test with the output when it fails."""
    done = subprocess.run(command, cwd=cwd, env=env, capture_output=True, text=True, timeout=300, check=False)
    output = done.stdout + done.stderr
    assert done.returncode == 0, f"{' '.join(command)} exited {done.returncode}:\n{output}"
    return output


@pytest.fixture(scope="session")
def generator_venv() -> Path:
    """A venv with openapi-python-client as pinned, reused while the pin does not change."""
    requirements = (TOOLS / "requirements.txt").read_text()
    home = CACHE / "venv"
    stamp = home / ".requirements"
    if not stamp.exists() or stamp.read_text() != requirements:
        shutil.rmtree(home, ignore_errors=True)
        venv.create(home, with_pip=True)
        run(
            [
                str(home / "bin" / "python"),
                "-m",
                "pip",
                "install",
                "--quiet",
                "-r",
                str(TOOLS / "requirements.txt"),
            ]
        )
        stamp.write_text(requirements)
    return home


def generator_env(home: Path) -> dict[str, str]:
    # The generator formats its output with the ruff it depends on: its venv's bin goes first on PATH.
    return {**os.environ, "PATH": f"{home / 'bin'}{os.pathsep}{os.environ.get('PATH', '')}"}


@pytest.fixture(scope="session")
def python_clients(generator_venv: Path, tmp_path_factory: pytest.TempPathFactory) -> dict[str, str]:
    """Generates both Python clients, installs them into the generator's venv; the generator's output per API."""
    out = tmp_path_factory.mktemp("python-clients")
    outputs = {}
    for api in APIS:
        target = out / api
        outputs[api] = run(
            [
                str(generator_venv / "bin" / "openapi-python-client"),
                "generate",
                "--path",
                str(REPO / "spec" / f"{api}.yaml"),
                "--meta",
                "setup",
                "--output-path",
                str(target),
                "--config",
                str(PYTHON_CONFIG),
            ],
            env=generator_env(generator_venv),
        )
        run(
            [
                str(generator_venv / "bin" / "python"),
                "-m",
                "pip",
                "install",
                "--quiet",
                "--no-deps",
                str(target),
            ]
        )
        outputs[api] += f"\n[generated into {target}]"
    return outputs


def operation_ids(api: str) -> list[str]:
    spec = yaml.safe_load((REPO / "spec" / f"{api}.yaml").read_text())
    methods = ("get", "put", "post", "delete", "patch")
    return [op["operationId"] for item in spec["paths"].values() for m, op in item.items() if m in methods]


def snake(name: str) -> str:
    return re.sub(r"(?<=[a-z0-9])(?=[A-Z])", "_", name).lower()


@pytest.mark.parametrize("api", APIS)
def test_openapi_python_client_generates_every_operation_without_warning(
    api: str, python_clients: dict[str, str]
) -> None:
    output = python_clients[api]
    assert "warning" not in output.lower(), output
    target = Path(output.rsplit("[generated into ", 1)[1].rstrip("]"))
    modules = {path.stem for path in (target / PACKAGES[api] / "api").rglob("*.py")}
    missing = [op for op in operation_ids(api) if snake(op) not in modules]
    assert not missing, f"operations not generated: {missing}"


def test_every_documented_hookstream_error_is_a_typed_model(python_clients: dict[str, str]) -> None:
    """Each operation's generated parser knows each documented status (no 'undocumented status')."""
    target = Path(python_clients["hookstream"].rsplit("[generated into ", 1)[1].rstrip("]"))
    spec = yaml.safe_load((REPO / "spec" / "hookstream.yaml").read_text())
    for item in spec["paths"].values():
        for method, op in item.items():
            if method not in ("get", "put", "post", "delete", "patch"):
                continue
            source = next((target / PACKAGES["hookstream"] / "api").rglob(f"{snake(op['operationId'])}.py"))
            code = source.read_text()
            for status in op["responses"]:
                assert f"response.status_code == {status}" in code, (
                    f"{op['operationId']}: {status} not parsed"
                )


@pytest.mark.parametrize("api", APIS)
def test_the_generated_python_client_runs_a_workflow_against_the_mock(
    api: str, python_clients: dict[str, str], generator_venv: Path, mockserver_url: str
) -> None:
    token = USERS[0].token if api == "stack-ai" else API_KEYS[0].key
    output = run(
        [
            str(generator_venv / "bin" / "python"),
            str(TOOLS / "python_workflows.py"),
            api,
            mockserver_url + BASE_PATHS[api],
            token,
        ]
    )
    assert f"{api}: workflow OK" in output


@pytest.fixture(scope="session")
def npm_tools() -> Path:
    """`tests/generators/node_modules` as the lock file pins it."""
    npm = shutil.which("npm")
    assert npm, "npm is needed (node 20); set MOCKSERVER_SKIP_GENERATORS=1 to skip these tests"
    modules = TOOLS / "node_modules"
    stamp = modules / ".package-lock.json"
    lock = TOOLS / "package-lock.json"
    if not stamp.exists() or stamp.stat().st_mtime < lock.stat().st_mtime:
        run([npm, "ci", "--no-audit", "--no-fund", "--loglevel=error"], cwd=TOOLS)
    return modules / ".bin"


@pytest.fixture(scope="session")
def typescript_sources(npm_tools: Path) -> Iterator[Path]:
    """`tests/generators/generated/`: openapi-typescript types, hey-api SDKs and orval clients of both specs."""
    generated = TOOLS / "generated"
    shutil.rmtree(generated, ignore_errors=True)
    generated.mkdir()
    for api in APIS:
        # Request bodies with defaults (Stack AI's `name`) stay optional: `--default-non-nullable false`.
        output = run(
            [
                str(npm_tools / "openapi-typescript"),
                f"./spec/{api}.yaml",
                "--default-non-nullable",
                "false",
                "-o",
                str(generated / f"{api}.d.ts"),
            ]
        )
        assert "warn" not in output.lower(), output
        # hey-api reads `spec/x.yaml` as a registry shorthand (`organization/project`): a local file needs `./`.
        output = run(
            [
                str(npm_tools / "openapi-ts"),
                "-i",
                f"./spec/{api}.yaml",
                "-o",
                str(generated / "hey-api" / api),
            ]
        )
        assert "error" not in output.lower() and "warn" not in output.lower(), output
        orval = generated / "orval" / f"{api}.ts"
        run(
            [
                str(npm_tools / "orval"),
                "--input",
                f"./spec/{api}.yaml",
                "--output",
                str(orval),
                "--client",
                "fetch",
            ]
        )
        assert orval.stat().st_size > 0
    yield generated


def test_frontend_workflows_type_check_with_tsc_strict(npm_tools: Path, typescript_sources: Path) -> None:
    """`workflow.ts` (openapi-typescript + openapi-fetch) and `workflow-hey-api.ts`, with orval's clients."""
    for name in ("workflow.ts", "workflow-hey-api.ts"):
        code = (TOOLS / name).read_text().splitlines()
        workflow = "\n".join(line for line in code if not line.startswith(("import ", "//")))
        assert not re.search(r"\bas\s+(unknown|any|[A-Z{])", workflow), f"{name} must not cast"
        assert "<any>" not in workflow and "@ts-" not in workflow, name
    for types in typescript_sources.glob("*.d.ts"):
        declarations = types.read_text().split("export type webhooks")[0]
        assert "Record<string, never>;" not in declarations, f"{types.name}: a free-form object lost its keys"
    run([str(npm_tools / "tsc"), "-p", "tsconfig.json", "--strict"], cwd=TOOLS)


def test_hey_api_reads_a_path_without_dot_slash_as_a_registry_shorthand(
    npm_tools: Path, tmp_path: Path
) -> None:
    """What the README says about hey-api's input path, checked on the pinned version."""
    done = subprocess.run(
        [str(npm_tools / "openapi-ts"), "-i", "spec/stack-ai.yaml", "-o", str(tmp_path)],
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert "Invalid Hey API shorthand format" in done.stdout + done.stderr


def test_node_modules_and_generated_files_are_git_ignored() -> None:
    ignored = set((REPO / ".gitignore").read_text().split())
    assert {"node_modules/", ".cache/", "tests/generators/generated/"} <= ignored


def test_without_its_config_openapi_python_client_only_skips_the_ingest_body_of_any_type(
    generator_venv: Path, tmp_path: Path
) -> None:
    """What the config is for: hookstream's `*/*` ingest body, and nothing else."""
    done = subprocess.run(
        [
            str(generator_venv / "bin" / "openapi-python-client"),
            "generate",
            "--path",
            str(REPO / "spec" / "hookstream.yaml"),
            "--meta",
            "none",
            "--output-path",
            str(tmp_path / "client"),
        ],
        env=generator_env(generator_venv),
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    output = done.stdout + done.stderr
    warnings = re.findall(r"^WARNING parsing (.+?)\.$\n\n(.+)$", output, flags=re.MULTILINE)
    document = yaml.safe_load((REPO / "spec" / "hookstream.yaml").read_text())
    bodies = document["components"]["requestBodies"]

    def takes_any_type(operation: object) -> bool:
        body = operation.get("requestBody", {}) if isinstance(operation, dict) else {}
        body = bodies[body["$ref"].rsplit("/", 1)[1]] if "$ref" in body else body
        return "*/*" in body.get("content", {})

    with_any_body = sorted(
        f"{method.upper()} /ingest/{{source_id}} within ingest"
        for method, operation in document["paths"]["/ingest/{source_id}"].items()
        if takes_any_type(operation)
    )
    assert with_any_body, "the ingest operations take a body of any type"
    assert sorted(warnings) == [(where, "Unsupported content type */*") for where in with_any_body], output
