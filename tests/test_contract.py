"""Every operation of every API, fuzzed from its spec: valid requests never 5xx and always validate;
requests with one violation get a 4xx in the API's own error format."""

from __future__ import annotations

import json
import re
from typing import Any

import pytest
from conftest import hookstream_headers, make_client, stack_ai_headers
from hypothesis import given
from hypothesis import strategies as st
from strategies import OperationStrategies, RequestCase

from mockserver import Operation

CLIENT = make_client()
SERVICES = CLIENT.app.state.services
PREFIXES = {name: service.mount_path for name, service in SERVICES.items()}
AUTH = {"stack-ai": lambda op: stack_ai_headers(), "hookstream": lambda op: hookstream_headers()}
STRATEGIES = {
    name: OperationStrategies(
        service.spec, auth_headers=AUTH[name], validation_status=service.api.validation_status
    )
    for name, service in SERVICES.items()
}
OPERATIONS = [
    pytest.param(name, operation, id=f"{name}:{operation.operation_id}")
    for name, service in SERVICES.items()
    for operation in service.spec.operations
]
ERROR_SHAPES = {
    "stack-ai": {"detail"},
    "hookstream": {"error", "status", "request_id"},
}


def error_shapes(api: str, operation: Operation, status: int) -> list[set[str]]:
    """The API's error shape, or the required keys of the schema the operation declares for `status` (an
    operation answered by another service, like a sign-in, may send that service's errors)."""
    shapes = [ERROR_SHAPES[api]]
    spec = SERVICES[api].spec
    response = operation.response_for(status)
    for media in response.media_types.values() if response is not None else ():
        if media.schema is not None:
            shapes.append(set(spec.resolve_schema(media.schema).get("required", ())))
    return shapes


def send(api: str, case: RequestCase) -> Any:
    return case.send(CLIENT, PREFIXES[api])


def response_violations(api: str, operation: Operation, response: Any) -> list[str]:
    """Checks the response again, from the outside, with the same compiled validators."""
    from mockserver import NO_BODY, MockResponse

    compiled = SERVICES[api].operations[operation.operation_id]
    body = json.loads(response.content) if response.content else NO_BODY
    media_type = response.headers.get("content-type", "application/json").split(";")[0]
    mock = MockResponse(response.status_code, body, dict(response.headers), media_type)
    return [violation.describe() for violation in compiled.responses.violations(mock)]


@pytest.mark.parametrize(("api", "operation"), OPERATIONS)
@given(data=st.data())
def test_valid_requests_are_served_and_validate(api: str, operation: Operation, data: st.DataObject) -> None:
    case = data.draw(STRATEGIES[api].valid(operation))
    response = send(api, case)
    assert response.status_code < 500, response.text
    assert response_violations(api, operation, response) == []
    if response.status_code >= 400:
        assert set(response.json()) in error_shapes(api, operation, response.status_code)


@pytest.mark.parametrize(
    ("api", "operation"), [p for p in OPERATIONS if STRATEGIES[p.values[0]].mutations(p.values[1])]
)
@given(data=st.data())
def test_invalid_requests_are_refused_in_the_api_format(
    api: str, operation: Operation, data: st.DataObject
) -> None:
    case = data.draw(STRATEGIES[api].invalid(operation))
    response = send(api, case)
    assert response.status_code == case.expect_status, (case.violation, response.text)
    assert response_violations(api, operation, response) == []
    body = response.json()
    assert set(body) in error_shapes(api, operation, response.status_code), body
    if case.expect_location is None:
        return
    if api == "stack-ai":
        locations = [tuple(item["loc"]) for item in body["detail"]]
        assert any(loc[: len(case.expect_location)] == case.expect_location for loc in locations), (
            case.violation,
            locations,
        )
        for item in body["detail"]:
            assert {"type", "loc", "msg", "input"} <= set(item)
    else:
        assert body["status"] == response.status_code
        assert re.fullmatch(r"req_[0-9a-f]{12}", body["request_id"])
        dotted = ".".join(str(part) for part in case.expect_location)
        assert dotted in body["error"], (case.violation, body["error"])
