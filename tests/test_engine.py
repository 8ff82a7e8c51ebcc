"""The generic engine: routing, security, parameters, bodies, response checking, examples, a third API."""

from __future__ import annotations

import json
import re
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
import yaml
from conftest import hookstream_headers, make_client, stack_ai_headers
from hypothesis import given
from hypothesis import strategies as st
from starlette.testclient import TestClient

from mockserver import ApiDefinition, MockConfig, MockResponse, OperationContext, Principal, create_app
from mockserver._generate import RegexSampler, SchemaDataGenerator
from mockserver._validation import SpecSchemas

CONNECTION_ID = "123e4567-e89b-12d3-a456-426614174000"
HOOK_ID = "a1b2c3d4e5f6a7b8c9d0e1f2a3b4c5d6"
_PACKAGE = Path(__file__).resolve().parents[1] / "mockserver"
ENGINE_FILES = [  # the request engine, the control plane and the fixture tooling: everything but apis/
    path  # (the package's own docstring says which products it mocks)
    for path in sorted(_PACKAGE.rglob("*.py"))
    if "apis" not in path.relative_to(_PACKAGE).parts
    and path.relative_to(_PACKAGE).as_posix() != "__init__.py"
]


# ---------------------------------------------------------------- where each API is served


def test_all_apis_are_served_under_their_prefixes(client: TestClient) -> None:
    assert client.get("/stack-ai/connections", headers=stack_ai_headers()).status_code == 200
    assert client.get("/hookstream/v1/connections", headers=hookstream_headers()).status_code == 200
    assert client.get("/connections", headers=stack_ai_headers()).status_code == 404


def test_one_api_is_served_at_its_production_paths(stack_ai: TestClient, hookstream: TestClient) -> None:
    assert stack_ai.get("/connections", headers=stack_ai_headers()).status_code == 200
    assert stack_ai.get("/stack-ai/connections", headers=stack_ai_headers()).status_code == 404
    assert hookstream.get("/v1/connections", headers=hookstream_headers()).status_code == 200
    assert hookstream.get("/connections", headers=hookstream_headers()).status_code == 404


def test_unknown_api_name_is_refused() -> None:
    with pytest.raises(ValueError, match="unknown API 'nope'"):
        create_app(MockConfig(api="nope"))


# ---------------------------------------------------------------- routing errors


def test_unknown_path_is_404_in_each_api_format(client: TestClient) -> None:
    stack = client.get("/stack-ai/no/such/path")
    assert (stack.status_code, stack.json()) == (404, {"detail": "Not Found"})
    hook = client.get("/hookstream/v1/no-such-path")
    assert hook.status_code == 404
    assert hook.json()["error"] == "Not found" and hook.json()["status"] == 404
    assert re.fullmatch(r"req_[0-9a-f]{12}", hook.json()["request_id"])
    assert "ratelimit-limit" in hook.headers
    assert client.get("/elsewhere").status_code == 404


def test_wrong_method_is_405_with_allow(client: TestClient) -> None:
    stack = client.request("PATCH", "/stack-ai/connections", headers=stack_ai_headers())
    assert (stack.status_code, stack.json()) == (405, {"detail": "Method Not Allowed"})
    assert stack.headers["allow"] == "GET, POST"
    hook = client.request("PUT", f"/hookstream/v1/connections/{HOOK_ID}", headers=hookstream_headers())
    assert hook.status_code == 405
    assert hook.headers["allow"] == "DELETE, GET, PATCH"
    assert hook.json()["status"] == 405


def test_literal_path_wins_over_template(client: TestClient) -> None:
    response = client.get("/hookstream/v1/sources/templates", headers=hookstream_headers())
    assert response.status_code == 200
    assert "templates" in response.json()
    # The literal path owns its URL: no fall-through to /sources/{id} or /connections/{connection_id}.
    delete = client.delete("/hookstream/v1/sources/templates", headers=hookstream_headers())
    assert (delete.status_code, delete.headers["allow"]) == (405, "GET")
    put = client.put("/stack-ai/connections/available", headers=stack_ai_headers())
    assert (put.status_code, put.headers["allow"]) == (405, "GET")


# ---------------------------------------------------------------- security


def test_stack_ai_missing_and_unknown_tokens(client: TestClient) -> None:
    missing = client.get("/stack-ai/connections")
    assert (missing.status_code, missing.json()) == (401, {"detail": "Not authenticated"})
    assert missing.headers["www-authenticate"] == "Bearer"
    forged = stack_ai_headers()["Authorization"][:-4] + "AAAA"
    unknown = client.get("/stack-ai/connections", headers={"Authorization": forged})
    assert unknown.status_code == 401 and unknown.headers["www-authenticate"] == "Bearer"


def test_stack_ai_unauthenticated_operation(client: TestClient) -> None:
    assert client.get("/stack-ai/connections/available").status_code == 200


@pytest.mark.parametrize("how", ["header", "cookie", "bearer"])
def test_hookstream_accepts_every_documented_credential(client: TestClient, how: str) -> None:
    from mockserver.apis.hookstream._keys import API_KEYS

    key = API_KEYS[0]
    kwargs: dict[str, Any] = {
        "header": {"headers": {"X-API-Key": key.key}},
        "cookie": {"headers": {"Cookie": f"better-auth.session_token={key.session_token}"}},
        "bearer": {"headers": {"Authorization": f"Bearer {key.key}"}},
    }[how]
    assert client.get("/hookstream/v1/connections", **kwargs).status_code == 200


@pytest.mark.parametrize(
    "key", ["", "hs_test_123", "hs_prod_" + "a" * 64, "hs_test_" + "A" * 64, "hs_test_" + "0" * 64]
)
def test_hookstream_rejects_malformed_or_unknown_keys(client: TestClient, key: str) -> None:
    response = client.get("/hookstream/v1/connections", headers={"X-API-Key": key})
    assert response.status_code == 401
    assert response.json()["error"] == "Invalid API key"


def test_open_hookstream_operations_need_no_credentials(client: TestClient) -> None:
    assert client.get("/hookstream/v1/health").status_code == 200


# ---------------------------------------------------------------- parameters


def test_query_values_are_parsed_by_type(client: TestClient) -> None:
    headers = stack_ai_headers()
    ok = client.get(
        f"/stack-ai/connections/{CONNECTION_ID}/resources/children?page_size=1000&refresh_oauth_tokens=1",
        headers=headers,
    )
    assert ok.status_code in (200, 404), ok.text
    bad = client.get(
        f"/stack-ai/connections/{CONNECTION_ID}/resources/children?page_size=1001&refresh_oauth_tokens=x",
        headers=headers,
    )
    assert bad.status_code == 422
    assert [item["loc"] for item in bad.json()["detail"]] == [
        ["query", "page_size"],
        ["query", "refresh_oauth_tokens"],
    ]
    assert bad.json()["detail"][0]["type"] == "less_than_equal"
    assert bad.json()["detail"][1]["type"] == "bool_parsing"


def test_required_query_parameter(client: TestClient) -> None:
    response = client.get(
        f"/stack-ai/connections/{CONNECTION_ID}/resources/search", headers=stack_ai_headers()
    )
    assert response.status_code == 422
    assert response.json()["detail"] == [
        {"type": "missing", "loc": ["query", "query"], "msg": "Field required", "input": None}
    ]


def test_bad_uuid_in_path_and_enum_in_query(client: TestClient) -> None:
    response = client.delete(
        "/stack-ai/api/v1/connections/nope/rbac?subject_type=robot&subject_id=x", headers=stack_ai_headers()
    )
    assert response.status_code == 422
    locations = {tuple(item["loc"]): item["type"] for item in response.json()["detail"]}
    assert locations == {
        ("path", "connection_id"): "uuid_parsing",
        ("query", "subject_type"): "enum",
        ("query", "subject_id"): "uuid_parsing",
    }


def test_dynamic_filters_are_collected_and_checked(client: TestClient) -> None:
    headers = stack_ai_headers()
    ok = client.get(
        "/stack-ai/api/v1/connections?limit=5&name__icontains=drive&provider_id__in=gdrive,notion",
        headers=headers,
    )
    assert ok.status_code == 200, ok.text
    bad = client.get("/stack-ai/api/v1/connections?name__like=x", headers=headers)
    assert bad.status_code == 422
    assert bad.json()["detail"][0]["loc"] == ["query", "filters", "name__like"]


# ---------------------------------------------------------------- bodies


def test_wrong_content_type_is_415(client: TestClient) -> None:
    stack = client.post(
        "/stack-ai/connections",
        content=b"name=x",
        headers={**stack_ai_headers(), "content-type": "application/x-www-form-urlencoded"},
    )
    assert stack.status_code == 415 and isinstance(stack.json()["detail"], str)
    hook = client.post(
        "/hookstream/v1/connections",
        content=b"<x/>",
        headers={**hookstream_headers(), "content-type": "text/xml"},
    )
    assert hook.status_code == 415 and hook.json()["status"] == 415


def test_json_with_parameters_and_suffix_is_accepted(client: TestClient) -> None:
    body = b'{"name": "Renamed"}'
    for content_type in ("application/json; charset=utf-8", "application/merge-patch+json"):
        response = client.patch(
            f"/stack-ai/connections/{CONNECTION_ID}",
            content=body,
            headers={**stack_ai_headers(), "content-type": content_type},
        )
        assert response.status_code != 415, content_type


def test_malformed_json(client: TestClient) -> None:
    stack = client.post(
        "/stack-ai/connections",
        content=b'{"name": ',
        headers={**stack_ai_headers(), "content-type": "application/json"},
    )
    assert stack.status_code == 422
    (item,) = stack.json()["detail"]
    assert item["type"] == "json_invalid" and item["loc"] == ["body", 9]
    hook = client.post(
        "/hookstream/v1/connections",
        content=b"{,}",
        headers={**hookstream_headers(), "content-type": "application/json"},
    )
    assert hook.status_code == 400 and "JSON" in hook.json()["error"]


def test_missing_body_and_every_violation_named(client: TestClient) -> None:
    missing = client.post("/stack-ai/connections", headers=stack_ai_headers())
    assert missing.json()["detail"] == [
        {"type": "missing", "loc": ["body"], "msg": "Field required", "input": None}
    ]
    several = client.post(
        "/hookstream/v1/connections", json={"name": 5, "enabled": "yes"}, headers=hookstream_headers()
    )
    assert several.status_code == 400
    for fragment in ("body.source_id", "body.destination_id", "body.name", "body.enabled"):
        assert fragment in several.json()["error"]


# ---------------------------------------------------------------- responses: strict and lenient


WIDGETS_SPEC: dict[str, Any] = {
    "openapi": "3.1.0",
    "info": {"title": "Widgets", "version": "1"},
    "servers": [{"url": "https://widgets.example/api"}],
    "components": {
        "securitySchemes": {"Key": {"type": "apiKey", "in": "header", "name": "X-Key"}},
        "schemas": {
            "Widget": {
                "type": "object",
                "required": ["id", "size"],
                "properties": {"id": {"type": "string", "format": "uuid"}, "size": {"type": "integer"}},
            }
        },
    },
    "security": [{"Key": []}],
    "paths": {
        "/widgets/{widget_id}": {
            "get": {
                "operationId": "getWidget",
                "parameters": [
                    {"name": "widget_id", "in": "path", "required": True, "schema": {"type": "string"}}
                ],
                "responses": {
                    "200": {
                        "description": "ok",
                        "headers": {"X-Count": {"required": True, "schema": {"type": "integer"}}},
                        "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Widget"}}},
                    },
                    "401": {
                        "description": "no",
                        "content": {"application/json": {"schema": {"type": "object"}}},
                    },
                },
            }
        },
        "/gadgets": {
            "get": {
                "operationId": "listGadgets",
                "security": [],
                "responses": {
                    "200": {
                        "description": "generated",
                        "content": {
                            "application/json": {
                                "schema": {
                                    "type": "array",
                                    "minItems": 2,
                                    "items": {"$ref": "#/components/schemas/Widget"},
                                }
                            }
                        },
                    }
                },
            }
        },
    },
}


class WidgetsApi(ApiDefinition):
    """A third API, to show the engine needs nothing but a spec and a definition."""

    name = "widgets"
    title = "Widgets"

    def authenticate(self, state: Any, scheme: Any, credential: str) -> Principal | None:
        return Principal("w", "org", "w") if credential == "let-me-in" else None

    def behaviours(self) -> dict[str, Any]:
        def get_widget(ctx: OperationContext) -> MockResponse:
            if ctx.path["widget_id"] == "good":
                return MockResponse(
                    200, {"id": "123e4567-e89b-12d3-a456-426614174000", "size": 3}, {"X-Count": "1"}
                )
            return MockResponse(200, {"id": "not-a-uuid", "size": "big"})

        return {"getWidget": get_widget}


@pytest.fixture
def widgets_dir(tmp_path: Path) -> Path:
    (tmp_path / "widgets.yaml").write_text(yaml.safe_dump(WIDGETS_SPEC))
    return tmp_path


def _widgets(spec_dir: Path, *, strict: bool) -> TestClient:
    config = MockConfig(api="all", strict=strict, spec_dir=spec_dir)
    return TestClient(create_app(config, apis={"widgets": WidgetsApi()}))


def test_a_third_api_is_served_from_its_spec_alone(widgets_dir: Path) -> None:
    with _widgets(widgets_dir, strict=True) as client:
        assert client.get("/api/widgets/good").status_code == 401
        good = client.get("/api/widgets/good", headers={"X-Key": "let-me-in"})
        assert good.status_code == 200 and good.json()["size"] == 3
        generated = client.get("/api/gadgets")
        assert generated.status_code == 200 and len(generated.json()) >= 2


def test_strict_mode_turns_a_bad_response_into_a_500_that_explains(widgets_dir: Path) -> None:
    with _widgets(widgets_dir, strict=True) as client:
        response = client.get("/api/widgets/bad", headers={"X-Key": "let-me-in"})
    assert response.status_code == 500
    detail = response.json()["detail"]
    assert "response.body.id: Input should be a valid UUID" in detail
    assert "response.body.size: Input should be a valid integer" in detail
    assert "response.headers.X-Count: Header required" in detail


def test_lenient_mode_sends_the_response_and_reports_violations(widgets_dir: Path) -> None:
    with _widgets(widgets_dir, strict=False) as client:
        response = client.get("/api/widgets/bad", headers={"X-Key": "let-me-in"})
    assert response.status_code == 200
    assert "response.body.id" in response.headers["x-mock-violations"]


def test_engine_knows_no_vendor_names() -> None:
    for path in ENGINE_FILES:
        text = path.read_text().lower()
        for vendor in ("stack", "hookstream", "gdrive"):
            assert vendor not in text, f"{path.name} mentions {vendor}"


# ---------------------------------------------------------------- examples and generated data


def test_same_seed_same_bytes() -> None:
    first, second = make_client(seed=7), make_client(seed=7)
    for path, headers in (
        ("/stack-ai/connections", stack_ai_headers()),
        ("/hookstream/v1/connections", hookstream_headers()),
    ):
        assert first.get(path, headers=headers).content == second.get(path, headers=headers).content


def _component_schemas() -> list[Any]:
    app = create_app()
    cases = []
    for service in app.state.services.values():
        for name in service.spec.document["components"]["schemas"]:
            cases.append(pytest.param(service.spec, name, id=f"{service.api.name}:{name}"))
    return cases


@pytest.mark.parametrize(("spec", "name"), _component_schemas())
@given(seed=st.integers(0, 2**32))
def test_generated_data_matches_every_schema(spec: Any, name: str, seed: int) -> None:
    pointer = f"#/components/schemas/{name}"
    validator = SpecSchemas(spec).validator(pointer)
    value = SchemaDataGenerator(spec).generate({"$ref": pointer}, seed=seed, key=name)
    assert validator.violations(value, at=()) == []
    assert SchemaDataGenerator(spec).generate({"$ref": pointer}, seed=seed, key=name) == value


def _json_string_properties() -> list[Any]:
    app = create_app()
    cases = []
    for service in app.state.services.values():
        for name, schema in service.spec.document["components"]["schemas"].items():
            for prop, sub in schema.get("properties", {}).items():
                if isinstance(sub, dict) and sub.get("contentMediaType") == "application/json":
                    cases.append(
                        pytest.param(service.spec, name, prop, id=f"{service.api.name}:{name}.{prop}")
                    )
    return cases


@pytest.mark.parametrize(("spec", "name", "prop"), _json_string_properties())
@given(seed=st.integers(0, 2**32))
def test_generated_json_strings_hold_json_of_their_content_schema(
    spec: Any, name: str, prop: str, seed: int
) -> None:
    """`Prefer: dynamic=true` honours `contentMediaType` and `contentSchema`: a client can parse the field."""
    pointer = f"#/components/schemas/{name}"
    value = SchemaDataGenerator(spec).generate({"$ref": pointer}, seed=seed, key=name)
    decoded = json.loads(value[prop])
    schema = spec.document["components"]["schemas"][name]["properties"][prop]
    if "contentSchema" in schema:
        content = SpecSchemas(spec).validator(f"{pointer}/properties/{prop}/contentSchema")
        assert content.violations(decoded, at=()) == []
    else:
        assert isinstance(decoded, dict)


def test_dynamic_responses_fill_json_columns_with_json(hookstream: TestClient) -> None:
    prefer = {**hookstream_headers(), "Prefer": "dynamic=true, seed=3"}
    [destination, *_] = hookstream.get("/v1/destinations", headers=prefer).json()["destinations"]
    assert isinstance(json.loads(destination["headers"]), dict)
    assert all(isinstance(delay, int) for delay in json.loads(destination["retry_intervals"]))
    [connection, *_] = hookstream.get("/v1/connections", headers=prefer).json()["connections"]
    assert all({"field", "op"} <= set(rule) for rule in json.loads(connection["filter_rules"]))


@given(
    pattern=st.sampled_from(
        [
            r"^[0-9a-f]{32}$",
            r"^org_[0-9a-f]+$",
            r"^#[0-9A-Fa-f]{6}$",
            r"^[a-z0-9]+(?:-[a-z0-9]+)*$",
            r"^req_[0-9a-f]{12}$",
            r"\d{2,4}[^x]?",
        ]
    ),
    seed=st.integers(0, 1000),
)
def test_regex_sampler_matches(pattern: str, seed: int) -> None:
    from faker import Faker

    faker = Faker()
    faker.seed_instance(seed)
    assert re.fullmatch(pattern.strip("^$"), RegexSampler(faker).sample(pattern))


# ---------------------------------------------------------------- CLI


def test_check_command_passes_on_the_shipped_specs(capsys: pytest.CaptureFixture[str]) -> None:
    from mockserver._cli import main

    assert main(["check"]) == 0
    assert "specs OK" in capsys.readouterr().out


def test_check_command_reports_a_bad_example(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    from mockserver._check import check_specs

    broken = yaml.safe_load(yaml.safe_dump(WIDGETS_SPEC))
    broken["paths"]["/gadgets"]["get"]["responses"]["200"]["content"]["application/json"]["examples"] = {
        "wrong": {"value": [{"id": "x", "size": 1}]}
    }
    (tmp_path / "widgets.yaml").write_text(yaml.safe_dump(broken))
    problems = check_specs(tmp_path, {"widgets": WidgetsApi()})
    assert any("examples/wrong" in problem and "UUID" in problem for problem in problems), problems


def test_serve_defaults_to_loopback() -> None:
    from mockserver._cli import _parser

    args = _parser().parse_args(["serve"])
    assert (args.host, args.port, args.api, args.strict) == ("127.0.0.1", 4010, "all", False)


def test_banner_lists_base_urls_and_credentials() -> None:
    from mockserver._cli import banner

    app = create_app()
    text = banner(list(app.state.services.values()), host="127.0.0.1", port=4010)
    assert "http://127.0.0.1:4010/stack-ai" in text and "http://127.0.0.1:4010/hookstream/v1" in text
    assert stack_ai_headers()["Authorization"].split()[1] in text
    assert hookstream_headers()["X-API-Key"] in text


def test_readme_lists_every_credential() -> None:
    readme = (Path(__file__).resolve().parents[1] / "README.md").read_text()
    app = create_app()
    for service in app.state.services.values():
        for credential in service.api.credentials(service.state):
            assert credential.value in readme, credential.label


def test_a_body_too_large_is_413_not_500(client: TestClient) -> None:
    payload = b'{"name": "' + b"x" * (10 * 1024 * 1024) + b'"}'
    response = client.patch(
        f"/stack-ai/connections/{CONNECTION_ID}",
        content=payload,
        headers={**stack_ai_headers(), "content-type": "application/json"},
    )
    assert response.status_code == 413
    assert "larger than" in response.json()["detail"]


@pytest.mark.parametrize(
    "path", ["/hookstream/v1/health%0A", "/hookstream/v1/sou%0Arces", "/stack-ai/connections%0A"]
)
def test_paths_with_newlines_are_404_in_the_api_format(client: TestClient, path: str) -> None:
    response = client.get(path, headers={**stack_ai_headers(), **hookstream_headers()})
    assert response.status_code == 404
    assert response.headers["content-type"] == "application/json"


def test_check_reports_broken_links() -> None:
    from mockserver._check import check_links
    from mockserver._spec import parse_spec

    document = yaml.safe_load((Path(__file__).resolve().parents[1] / "spec" / "hookstream.yaml").read_text())
    assert check_links(parse_spec(document, name="hookstream")) == []
    document["components"]["links"]["GetSource"]["parameters"] = {"nope": "$response.body#/source/id"}
    document["components"]["links"]["GetConnection"]["operationId"] = "ghost"
    problems = check_links(parse_spec(document, name="hookstream"))
    assert (
        len(problems) == 2 and any("'ghost'" in p for p in problems) and any("'nope'" in p for p in problems)
    )


def test_a_pattern_end_anchor_does_not_admit_a_final_newline() -> None:
    """Python's `re` lets `$` match before a final newline, ECMA-262 does not: the stricter reading wins."""
    app = create_app(MockConfig(api="stack-ai"))
    spec = app.state.services["stack-ai"].spec
    validator = SpecSchemas(spec).validator("#/components/schemas/HttpUrl")
    assert validator.violations("https://example.com/a", at=()) == []
    [violation] = validator.violations("https://example.com/a\n", at=("body", "url"))
    assert violation.location == ("body", "url") and violation.kind == "string_pattern_mismatch"


def test_an_any_of_inside_an_object_names_the_exact_location(client: TestClient) -> None:
    """A branch error's path already starts at the root: it is not prefixed twice."""
    body = {
        "provider_id": "gdrive",
        "connection_type_id": "gdrive",
        "connection_provider_data": {"redirect_uri": "/relative"},
    }
    response = client.post("/stack-ai/connections/oauth/start", json=body, headers=stack_ai_headers())
    assert response.status_code == 422
    assert [item["loc"] for item in response.json()["detail"]] == [
        ["body", "connection_provider_data", "redirect_uri"]
    ]
    assert response.json()["detail"][0]["type"] == "string_pattern_mismatch"  # the URL branch, not `null`


_FIRST_REFUSAL = """
import sys
from starlette.testclient import TestClient
from mockserver import MockConfig, create_app
from conftest import stack_ai_headers

client = TestClient(create_app(MockConfig(api="stack-ai")))
assert client.get("/connections", headers=stack_ai_headers()).status_code == 200
loaded_before = "jsonschema" in sys.modules
refused = client.get("/connections", params={"limit": "many"}, headers=stack_ai_headers())
print(loaded_before, refused.status_code, [item["loc"] for item in refused.json()["detail"]])
"""


def test_jsonschema_is_loaded_by_the_first_invalid_instance_and_names_it() -> None:
    """Starting and valid answers need only jsonschema-rs; the first refusal still names its field."""
    run = subprocess.run(
        [sys.executable, "-c", _FIRST_REFUSAL],
        capture_output=True,
        text=True,
        cwd=Path(__file__).parent,
        timeout=120,
        check=False,
    )
    assert run.returncode == 0, run.stderr
    assert run.stdout.split() == ["False", "422", "[['query',", "'limit']]"]


@given(
    root=st.sampled_from(["", "/stack-ai", "/stack-ai/v1", "/a"]),
    path=st.text(alphabet="/abcitk-v1", max_size=20),
)
def test_extra_routes_see_the_path_starlette_routes_see(root: str, path: str) -> None:
    """The dispatcher's shortcut (a route's pattern tried before any scope is built) reads the same path."""
    from starlette._utils import get_route_path

    from mockserver._service import _route_path

    assert _route_path(path, root) == get_route_path({"path": path, "root_path": root})


@pytest.mark.parametrize(
    ("path", "headers", "field"),
    [
        (f"/stack-ai/connections/{CONNECTION_ID}", stack_ai_headers, "detail"),
        ("/hookstream/v1/sources", None, "error"),
    ],
)
def test_headers_too_large_are_431_in_the_api_format(
    client: TestClient, path: str, headers: Any, field: str
) -> None:
    from mockserver._service import MAX_HEADER_BYTES

    sent = {**(headers() if headers else {}), "x-padding": "p" * MAX_HEADER_BYTES}
    response = client.get(path, headers=sent)
    assert response.status_code == 431
    assert "too large" in response.json()[field] and str(MAX_HEADER_BYTES) in response.json()[field]
    small = {**(headers() if headers else {}), "x-padding": "p" * (MAX_HEADER_BYTES // 2)}
    assert client.get(path, headers=small).status_code != 431
