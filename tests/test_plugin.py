"""The pytest plugin (`pytest11` entry point), run inside `pytester` sessions as a user's suite would run it."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

pytest_plugins = ["pytester"]


def _run(pytester: pytest.Pytester, *args: str) -> pytest.RunResult:
    return pytester.runpytest_inprocess("-p", "no:cacheprovider", "-q", *args)


def test_mockserver_app_is_seeded_afresh_for_each_test(pytester: pytest.Pytester) -> None:
    pytester.makepyfile(
        """
        import pytest
        from mockserver._asgi import AsgiDriver
        from mockserver.pytest_plugin import auth_headers

        APPS = []

        def count(app):
            with AsgiDriver(app) as driver:
                response = driver.request("GET", "/connections", headers=auth_headers(app))
                assert response.status == 200
                return len(response.json())

        @pytest.mark.mockserver(api="stack-ai", seed=3, connections=4)
        def test_create(mockserver_app):
            APPS.append(mockserver_app)
            assert list(mockserver_app.state.services) == ["stack-ai"]
            assert mockserver_app.state.config.seed == 3 and mockserver_app.state.config.strict
            body = b'{"provider_id": "gdrive", "connection_type_id": "gdrive", "connection_provider_data": {}}'
            headers = {**auth_headers(mockserver_app), "content-type": "application/json"}
            with AsgiDriver(mockserver_app) as driver:
                assert driver.request("POST", "/connections", headers=headers, body=body).status == 201
            assert count(mockserver_app) == 5

        @pytest.mark.mockserver(api="stack-ai", seed=3, connections=4)
        def test_reset_between_tests(mockserver_app):
            assert mockserver_app is APPS[0]  # built once per configuration
            assert count(mockserver_app) == 4

        def test_defaults(mockserver_app):
            assert sorted(mockserver_app.state.services) == ["hookstream", "stack-ai"]
            assert mockserver_app.state.config.seed == 0
        """
    )
    _run(pytester).assert_outcomes(passed=3)


def test_mockserver_client_is_authenticated_as_the_default_or_marked_user(pytester: pytest.Pytester) -> None:
    pytester.makepyfile(
        """
        import pytest

        @pytest.mark.mockserver(api="stack-ai")
        def test_alice(mockserver_client):
            assert mockserver_client.get("/connections").status_code == 200
            assert mockserver_client.get("/connections", headers={"authorization": ""}).status_code == 401

        @pytest.mark.mockserver(api="stack-ai", user="bob")
        def test_bob_sees_fewer(mockserver_client, mockserver_headers):
            bob = mockserver_client.get("/connections").json()
            alice = mockserver_client.get("/connections", headers=mockserver_headers(user="alice")).json()
            assert 0 < len(bob) < len(alice)

        @pytest.mark.mockserver(api="hookstream", rate_limit="1/60")
        def test_hookstream_with_an_api_option(mockserver_client):
            assert mockserver_client.get("/v1/sources").status_code == 200
            assert mockserver_client.get("/v1/sources").status_code == 429

        def test_every_api_needs_the_helper(mockserver_client, mockserver_headers):
            assert mockserver_client.get("/stack-ai/connections").status_code == 401
            response = mockserver_client.get("/stack-ai/connections", headers=mockserver_headers("stack-ai"))
            assert response.status_code == 200
            response = mockserver_client.get(
                "/hookstream/v1/sources", headers=mockserver_headers("hookstream", "globex-production")
            )
            assert response.status_code == 200
        """
    )
    _run(pytester).assert_outcomes(passed=4)


def test_mockserver_url_is_one_live_server_reset_between_tests(pytester: pytest.Pytester) -> None:
    pytester.makepyfile(
        """
        import httpx
        import pytest

        SEEN = []
        KEY = None

        def headers(url):
            users = httpx.get(url + "/__mock/users").json()["hookstream"]
            return {"X-API-Key": users[0]["value"]}

        @pytest.mark.mockserver(api="hookstream")
        def test_write(mockserver_url):
            SEEN.append(mockserver_url)
            assert mockserver_url.startswith("http://127.0.0.1:")
            body = {"name": "New", "slug": "brand-new"}
            response = httpx.post(mockserver_url + "/v1/sources", json=body, headers=headers(mockserver_url))
            assert response.status_code == 201
            httpx.post(mockserver_url + "/__mock/faults", json={"status": 503})

        @pytest.mark.mockserver(api="hookstream")
        def test_fresh_state_same_server(mockserver_url):
            assert SEEN == [mockserver_url]
            listed = httpx.get(mockserver_url + "/v1/sources", headers=headers(mockserver_url))
            assert listed.status_code == 200  # the fault rule is gone
            assert "brand-new" not in listed.text
            assert httpx.get(mockserver_url + "/__mock/requests").json()["entries"][-1]["path"] == "/sources"
        """
    )
    _run(pytester).assert_outcomes(passed=2)


def test_ini_and_command_line_options(pytester: pytest.Pytester) -> None:
    pytester.makeini(
        """
        [pytest]
        mockserver_api = hookstream
        mockserver_seed = 7
        mockserver_strict = false
        mockserver_user = acme-staging
        """
    )
    pytester.makepyfile(
        """
        def test_configured(request, mockserver_app, mockserver_client):
            config = mockserver_app.state.config
            expected = request.config.getoption("--mockserver-api") or "hookstream"
            assert (config.api, config.strict) == (expected, False)
            assert config.seed == (request.config.getoption("--mockserver-seed") or 7)
            if expected == "hookstream":
                from mockserver.apis.hookstream._keys import API_KEYS

                staging = next(key.key for key in API_KEYS if key.owner == "acme-staging")
                assert mockserver_client.headers["x-api-key"] == staging
                assert mockserver_client.get("/v1/sources").status_code == 200
        """
    )
    _run(pytester).assert_outcomes(passed=1)
    _run(
        pytester, "--mockserver-api", "stack-ai", "--mockserver-seed", "2", "-o", "mockserver_user="
    ).assert_outcomes(passed=1)


def test_the_marker_takes_the_clock(pytester: pytest.Pytester) -> None:
    pytester.makepyfile(
        """
        import pytest

        def test_frozen_by_default(mockserver_client):
            clock = mockserver_client.get("/__mock/clock").json()
            assert clock["mode"] == "frozen"
            assert clock["apis"]["stack-ai"]["now"] == "2025-12-01T09:00:00.000000Z"

        def test_moved_then_fresh_again(mockserver_client):
            mockserver_client.post("/__mock/clock", json={"advance_seconds": 60})
            assert mockserver_client.get("/__mock/clock").json()["apis"]["stack-ai"]["now"].startswith(
                "2025-12-01T09:01:00"
            )

        def test_each_test_starts_at_the_seeded_time(mockserver_client):
            assert mockserver_client.get("/__mock/clock").json()["apis"]["stack-ai"]["now"] == (
                "2025-12-01T09:00:00.000000Z"
            )

        @pytest.mark.mockserver(clock="running")
        def test_running(mockserver_client):
            assert mockserver_client.get("/__mock/clock").json()["mode"] == "running"

        @pytest.mark.mockserver(clock="sometimes")
        def test_unknown_mode(mockserver_app):
            pass
        """
    )
    result = _run(pytester, "-p", "no:randomly")
    result.assert_outcomes(passed=4, errors=1)
    result.stdout.fnmatch_lines(["*clock mode must be one of frozen, running*"])


def test_configuration_mistakes_are_reported(pytester: pytest.Pytester) -> None:
    pytester.makepyfile(
        """
        import pytest

        @pytest.mark.mockserver(api="nope")
        def test_unknown_api(mockserver_app):
            pass

        @pytest.mark.mockserver(api="stack-ai", user="mallory")
        def test_unknown_user(mockserver_client):
            pass
        """
    )
    result = _run(pytester)
    result.assert_outcomes(errors=2)
    result.stdout.fnmatch_lines(["*unknown API 'nope'*", "*stack-ai has no user 'mallory'*"])


def test_the_plugin_is_registered_and_documents_its_marker(pytester: pytest.Pytester) -> None:
    result = pytester.runpytest_inprocess("--markers")
    result.stdout.fnmatch_lines(["*@pytest.mark.mockserver(api='all', seed=0, strict=True, user=None*"])
    result = pytester.runpytest_inprocess("--fixtures")
    result.stdout.fnmatch_lines(["*mockserver_app*", "*mockserver_client*", "*mockserver_url*"])


def test_the_readme_example_passes(pytester: pytest.Pytester) -> None:
    readme = (Path(__file__).resolve().parent.parent / "README.md").read_text(encoding="utf-8")
    section = readme[readme.index("### The pytest plugin") :]
    example = re.search(r"```python\n(.*?)```", section, re.DOTALL)
    assert example is not None
    pytester.makepyfile(example.group(1))
    _run(pytester).assert_outcomes(passed=3)
