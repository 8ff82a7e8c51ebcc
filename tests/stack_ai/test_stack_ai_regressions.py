"""Minimal failing examples found by contract tools, kept as regression tests."""

from conftest import stack_ai_headers


def test_huge_limit_and_offset_are_not_a_500(stack_ai):
    # schemathesis: GET /connections?limit=<beyond sys.maxsize> raised in itertools.islice.
    for query in ("limit=100000000000000000000", "offset=100000000000000000000", "limit=-5&offset=-5"):
        response = stack_ai.get(f"/connections?{query}", headers=stack_ai_headers())
        assert response.status_code == 200, (query, response.text)
    paginated = stack_ai.get("/api/v1/connections?limit=100000000000000000000", headers=stack_ai_headers())
    assert paginated.status_code == 200, paginated.text


# schemathesis (ST202, "schema-valid request rejected"): each request below matched the spec but got a 400 or
# 422. The spec now says what the mock checks (catalogue, roles, filters, cursor alphabet), and what no schema
# can say (an id or code that does not exist, a conflict with stored state) is a 404 or a 409.


def test_unknown_rbac_subject_is_404_not_422(stack_ai):
    connection_id = stack_ai.get("/connections", headers=stack_ai_headers()).json()[0]["connection_id"]
    url = f"/api/v1/connections/{connection_id}/rbac"
    unknown = "9d2e4f6a-8b0c-4d1e-a3f5-7c9b1d3e5f70"
    body = {"subject_type": "user", "role": "viewer", "subject_id": unknown}
    assert stack_ai.put(url, json=body, headers=stack_ai_headers()).status_code == 404
    params = {"subject_type": "user", "subject_id": unknown}
    assert stack_ai.delete(url, params=params, headers=stack_ai_headers()).status_code == 404


def test_role_outside_the_enum_is_a_schema_violation(stack_ai):
    connection_id = stack_ai.get("/connections", headers=stack_ai_headers()).json()[0]["connection_id"]
    response = stack_ai.patch(
        f"/api/v1/connections/{connection_id}/organization-role",
        json={"role": "J"},
        headers=stack_ai_headers(),
    )
    assert response.status_code == 422
    assert response.json()["detail"] == [
        {
            "type": "enum",
            "loc": ["body", "role"],
            "msg": "Input should be 'admin', 'editor' or 'viewer'",
            "input": "J",
            "ctx": {"expected": "'admin', 'editor' or 'viewer'"},
        }
    ]


def test_the_seed_example_cursor_is_well_formed_and_not_found(stack_ai):
    connection_id = stack_ai.get("/connections", headers=stack_ai_headers()).json()[0]["connection_id"]
    for operation, extra in (("children", {}), ("search", {"query": "a"})):
        response = stack_ai.get(
            f"/connections/{connection_id}/resources/{operation}",
            params={"cursor": "ZXhhbXBsZV9jdXJzb3I=", **extra},
            headers=stack_ai_headers(),
        )
        assert response.status_code == 404, response.text


def test_unparsable_filter_values_are_schema_violations(stack_ai):
    # `updated_at__gt=True` and `updated_at__eq=` were schema-valid (any string) and then a 422.
    response = stack_ai.get(
        "/api/v1/connections",
        params={"updated_at__gt": "True", "updated_at__eq": ""},
        headers=stack_ai_headers(),
    )
    assert response.status_code == 422
    assert sorted(item["loc"] for item in response.json()["detail"]) == [
        ["query", "filters", "updated_at__eq"],
        ["query", "filters", "updated_at__gt"],
    ]


def test_never_issued_oauth_code_is_404(stack_ai):
    body = {
        "name": "Marketing Drive",
        "provider_id": "gdrive",
        "connection_type_id": "gdrive",
        "connection_provider_data": {},
    }
    response = stack_ai.post(
        "/connections/oauth/callback",
        params={"code": "4/0AeanS0a8Jq2vX7KpLmNzR5tYw3bC9dE1fG6hI0jK"},
        json=body,
        headers=stack_ai_headers(),
    )
    assert response.status_code == 404


def test_mismatched_provider_and_type_is_a_schema_violation(stack_ai):
    connection_id = stack_ai.get("/connections", headers=stack_ai_headers()).json()[0]["connection_id"]
    body = {"provider_id": "slack", "connection_type_id": "sharepoint_app", "connection_provider_data": {}}
    response = stack_ai.put(
        f"/connections/oauth/callback/{connection_id}",
        params={"code": "x"},
        json=body,
        headers=stack_ai_headers(),
    )
    assert response.status_code == 422
    assert [item["loc"] for item in response.json()["detail"]] == [["body", "connection_type_id"]]
    # sharepoint_app takes credentials: the OAuth flow names its own types.
    assert response.json()["detail"][0]["msg"] == (
        "Input should be 'gdrive', 'onedrive', 'sharepoint', 'dropbox', 'notion' or 'slack'"
    )
    body = {"provider_id": "slack", "connection_type_id": "gdrive", "connection_provider_data": {}}
    response = stack_ai.put(
        f"/connections/oauth/callback/{connection_id}",
        params={"code": "x"},
        json=body,
        headers=stack_ai_headers(),
    )
    assert [(item["loc"], item["msg"]) for item in response.json()["detail"]] == [
        (["body", "connection_type_id"], "Input should be 'slack'")
    ]


def test_credentials_type_params_are_in_the_schema(stack_ai):
    # PUT with `confluence` and OAuth tokens in connection_provider_data: a 422 the spec did not predict.
    connection_id = stack_ai.get("/connections", headers=stack_ai_headers()).json()[0]["connection_id"]
    body = {
        "name": "Unnamed connection",
        "provider_id": "confluence",
        "connection_type_id": "confluence",
        "connection_provider_data": {"access_token": "x", "token_type": "Bearer"},
    }
    response = stack_ai.put(f"/connections/{connection_id}", json=body, headers=stack_ai_headers())
    assert response.status_code == 422
    assert sorted(item["loc"][-1] for item in response.json()["detail"]) == ["api_token", "url", "username"]


def test_a_url_param_of_control_characters_is_a_schema_violation(stack_ai):
    # POST /connections with `"url": "êW\U000982a5=ý"` for confluence was schema-valid, then a 422.
    body = {
        "provider_id": "confluence",
        "connection_type_id": "confluence",
        "connection_provider_data": {"url": "êW\U000982a5=ý", "username": "u", "api_token": "t"},
    }
    response = stack_ai.post("/connections", json=body, headers=stack_ai_headers())
    assert response.status_code == 422
    assert [item["type"] for item in response.json()["detail"]] == ["string_pattern_mismatch"]
