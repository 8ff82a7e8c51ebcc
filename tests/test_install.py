"""What a user's own project relies on: bundled specs, `--spec-dir`, the version, `/__mock/health`, a banner and
a user listing that can be pasted. The built wheel itself is checked by `tests/install_check.py` (`make test`)."""

from __future__ import annotations

import base64
import importlib.metadata
import json
import shutil
import subprocess
import tomllib
from pathlib import Path
from typing import Any

import pytest
from conftest import make_client
from hypothesis import given
from hypothesis import strategies as st
from starlette.testclient import TestClient

import mockserver
from mockserver import MockConfig, create_app
from mockserver._cli import _parser, banner, main
from mockserver._commands import build_replay_app
from mockserver._resources import bundled_spec_dir, control_spec, spec_file

ROOT = Path(__file__).resolve().parents[1]
REMOTE = ("203.0.113.7", 50000)


def test_the_specs_are_found_as_package_resources_and_are_the_top_level_ones() -> None:
    shipped = sorted(path.name for path in (ROOT / "spec").glob("*.yaml"))
    assert (
        shipped
        and sorted(p.name for p in bundled_spec_dir().iterdir() if p.name.endswith(".yaml")) == shipped
    )
    for name in shipped:
        assert spec_file(name.removesuffix(".yaml")).read_bytes() == (ROOT / "spec" / name).read_bytes()
    assert control_spec().read_bytes() == (ROOT / "mockserver" / "control" / "control.yaml").read_bytes()


def test_no_module_finds_a_file_relative_to_the_checkout() -> None:
    for module in (ROOT / "mockserver").rglob("*.py"):
        text = module.read_text(encoding="utf-8")
        assert "__file__" not in text, f"{module}: use importlib.resources (mockserver/_resources.py)"


@pytest.mark.parametrize("command", ["serve", "check", "record", "replay"])
def test_spec_dir_is_a_documented_option_of(command: str) -> None:
    required = {"record": ["--api", "hookstream", "--upstream", "http://x", "--out", "o"], "replay": ["d"]}
    args = _parser().parse_args([command, *required.get(command, []), "--spec-dir", "/elsewhere"])
    assert args.spec_dir == Path("/elsewhere")
    assert "--spec-dir" in _help(command)


def _help(command: str) -> str:
    parser = _parser()
    subparsers = next(a for a in parser._actions if a.dest == "command")
    return str(subparsers.choices[command].format_help())  # type: ignore[attr-defined]


def test_spec_dir_replaces_the_bundled_specs(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    for name in ("stack-ai", "hookstream"):
        shutil.copy(ROOT / "spec" / f"{name}.yaml", tmp_path / f"{name}.yaml")
    text = (tmp_path / "hookstream.yaml").read_text(encoding="utf-8")
    (tmp_path / "hookstream.yaml").write_text(
        text.replace("title: hookstream Connections API", "title: Forked hooks")
    )
    app = create_app(MockConfig(spec_dir=tmp_path))
    assert app.state.services["hookstream"].spec.document["info"]["title"] == "Forked hooks"
    assert main(["check", "--spec-dir", str(tmp_path)]) == 0
    (tmp_path / "stack-ai.yaml").unlink()
    assert main(["check", "--spec-dir", str(tmp_path)]) == 1
    assert f"cannot read {tmp_path / 'stack-ai.yaml'}" in capsys.readouterr().err
    with pytest.raises(ValueError, match="cannot read"):
        build_replay_app(ROOT / "fixtures", api="stack-ai", spec_dir=tmp_path)


def test_serve_with_unreadable_specs_says_so_and_exits(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["serve", "--spec-dir", str(tmp_path), "--port", "0"]) == 2
    assert "serve: cannot read" in capsys.readouterr().err


def test_the_version_has_one_source(capsys: pytest.CaptureFixture[str]) -> None:
    declared = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))["project"]["version"]
    assert mockserver.__version__ == importlib.metadata.version("mockserver") == declared
    with pytest.raises(SystemExit) as exited:
        main(["--version"])
    assert exited.value.code == 0
    assert capsys.readouterr().out.strip() == f"mockserver {declared}"
    for module in (ROOT / "mockserver").rglob("*.py"):
        assert f'"{declared}"' not in module.read_text(encoding="utf-8"), module


# ---------------------------------------------------------------- /__mock/health


def test_health_answers_anyone_without_credentials() -> None:
    app = create_app(MockConfig(seed=7))
    with TestClient(app, client=REMOTE) as remote:
        response = remote.get("/__mock/health")
        assert response.status_code == 200, response.text
        assert remote.get("/__mock/users").status_code == 403  # the rest stays loopback-only
        assert remote.post("/__mock/health").status_code == 403
    body = response.json()
    assert body["status"] == "ok" and body["version"] == mockserver.__version__ and body["seed"] == 7
    assert body["apis"] == [
        {"name": "hookstream", "title": "hookstream API", "base_path": "/hookstream/v1"},
        {"name": "stack-ai", "title": "Stack AI Connections API", "base_path": "/stack-ai"},
    ]
    assert body["uptime_seconds"] >= 0 and body["max_sessions"] == 32


def test_health_counts_live_sessions_and_base_paths_of_one_api(stack_ai: TestClient) -> None:
    assert stack_ai.get("/__mock/health").json()["sessions"] == 0
    for session in ("a", "b", "a"):
        stack_ai.get("/connections", headers={"X-Mock-Session": session, **_alice()})
    health = stack_ai.get("/__mock/health").json()
    assert health["sessions"] == 2
    assert health["apis"] == [{"name": "stack-ai", "title": "Stack AI Connections API", "base_path": ""}]
    first = health["uptime_seconds"]
    assert stack_ai.get("/__mock/health").json()["uptime_seconds"] >= first


def _alice() -> dict[str, str]:
    from conftest import stack_ai_headers

    return stack_ai_headers()


# ---------------------------------------------------------------- banner and users, pasted as they stand


def _banner_headers(text: str) -> list[tuple[str, dict[str, str]]]:
    found, base = [], ""
    for line in text.splitlines():
        if line.startswith("  ") and not line.startswith("   ") and ": http://127.0.0.1:4010" in line:
            base = line.split("http://127.0.0.1:4010", 1)[1]
        elif line.startswith("      "):
            name, _, value = line.strip().partition(": ")
            found.append((base, {name: value}))
    return found


def test_every_banner_line_pasted_as_a_header_authenticates(client: TestClient) -> None:
    text = banner(list(client.app.state.services.values()), host="127.0.0.1", port=4010)  # type: ignore[attr-defined]
    pasted = _banner_headers(text)
    assert {base for base, _ in pasted} == {"/stack-ai", "/hookstream/v1"}
    assert len(pasted) == 12
    assert "Bearer:" not in text
    for base, header in pasted:
        assert client.get(f"{base}/connections", headers=header).status_code == 200, header
        broken = {name: value[:-2] + "zz" for name, value in header.items()}
        assert client.get(f"{base}/connections", headers=broken).status_code == 401, broken


def _jwt_claims(token: str) -> dict[str, Any]:
    payload = token.split(".")[1]
    return dict(json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4))))


def test_users_give_the_ids_rbac_calls_need(client: TestClient) -> None:
    users = client.get("/__mock/users").json()
    organizations = {
        org["org_id"]: org for org in client.get("/__mock/state").json()["apis"]["stack-ai"]["organizations"]
    }
    for user in users["stack-ai"]:
        assert user["header"] == f"Authorization: Bearer {user['value']}"
        assert user["user_id"] == _jwt_claims(user["value"])["sub"]
        organization = organizations[user["organization_id"]]
        assert organization["name"] == user["organization_name"]
        groups = {g["group_id"]: g for g in organization["groups"]}
        assert user["group_ids"] and all(user["user_id"] in groups[g]["members"] for g in user["group_ids"])
    for key in users["hookstream"]:
        assert key["environment_id"].startswith("env_") and key["organization_id"].startswith("org_")
        assert key["header"] in (
            f"X-API-Key: {key['value']}",
            f"Cookie: better-auth.session_token={key['value']}",
        )


def test_a_listed_group_id_is_accepted_by_an_rbac_grant(client: TestClient) -> None:
    alice = next(u for u in client.get("/__mock/users").json()["stack-ai"] if u["label"].startswith("alice"))
    headers = {"Authorization": alice["header"].split(": ", 1)[1]}
    connection_id = client.get("/stack-ai/connections", headers=headers).json()[0]["connection_id"]
    response = client.put(
        f"/stack-ai/api/v1/connections/{connection_id}/rbac",
        headers=headers,
        json={"subject_type": "group", "subject_id": alice["group_ids"][0], "role": "viewer"},
    )
    assert response.status_code == 200, response.text
    rbac = client.get(f"/stack-ai/api/v1/connections/{connection_id}/rbac", headers=headers).json()
    assert alice["group_ids"][0] in rbac["group_roles"]["viewer"]


@given(
    how=st.sampled_from(["X-API-Key", "Authorization: Bearer", "Authorization: Token", "Cookie: sid"]),
    value=st.text(alphabet="abcdef0123456789_-.", min_size=1, max_size=40),
)
def test_a_credential_header_line_parses_back_to_its_headers(how: str, value: str) -> None:
    credential = mockserver.Credential("someone", "org", how, value)
    name, _, pasted = credential.header_line.partition(": ")
    assert {name: pasted} == credential.headers
    assert value in pasted


# ---------------------------------------------------------------- make run


def test_make_run_refuses_a_port_inside_args() -> None:
    completed = subprocess.run(
        ["make", "-s", "-C", str(ROOT), "run", "ARGS=--seed 3 --port 4610"],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert completed.returncode != 0
    assert "PORT=" in completed.stderr


def test_make_run_documents_port() -> None:
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    assert "make run PORT=4610" in readme
    dry = subprocess.run(
        ["make", "-n", "-C", str(ROOT), "run", "PORT=4610", "ARGS=--api stack-ai"],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    (serve,) = [line for line in dry.stdout.splitlines() if "mockserver serve" in line]
    assert serve.endswith("--port 4610 --api stack-ai") and serve.count("--port") == 1, serve


def test_make_client_still_works() -> None:
    with make_client("hookstream") as hookstream:
        assert hookstream.get("/__mock/health").json()["apis"][0]["base_path"] == "/v1"
