"""A stateful machine for every API in `spec/`, driven by the specs' OpenAPI links; it knows no vendor.

Invariants: no 5xx; every response validates against the spec; a created resource is readable at once and
404 after its delete; another organization never sees it; a request with one violation is refused in the
API's format and leaves the state unchanged; secured operations refuse missing credentials; an undeclared
method is a 405 with a correct `Allow`.
"""

from __future__ import annotations

import json
from collections import defaultdict
from dataclasses import dataclass
from typing import Any

import pytest
from conftest import make_client
from hypothesis import event, settings
from hypothesis import strategies as st
from hypothesis.stateful import Bundle, RuleBasedStateMachine, initialize, multiple, rule
from strategies import OperationStrategies, RequestCase, credential_headers, response_violations

from mockserver import Operation

CLIENT = make_client()
SERVICES = CLIENT.app.state.services
HTTP_METHODS = ("GET", "PUT", "POST", "DELETE", "PATCH")


def _organizations(api: str) -> list[dict[str, str]]:
    """The first credential of each organization, as request headers."""
    first: dict[str, dict[str, str]] = {}
    for credential in CLIENT.get("/__mock/users").json()[api]:
        first.setdefault(
            credential["organization_id"], credential_headers(credential["how"], credential["value"])
        )
    return list(first.values())


def _raw_links(service: Any, operation: Operation) -> list[dict[str, Any]]:
    spec = service.spec
    found = []
    for status in operation.responses:
        raw, _ = spec.deref(spec.resolve_pointer(f"{operation.pointer}/responses/{status}"), "#")
        for link in (raw.get("links") or {}).values():
            found.append(spec.deref(link, "#")[0])
    return found


def _links(service: Any, operation: Operation) -> list[tuple[Operation, dict[str, str]]]:
    """(target operation, {parameter: runtime expression}) for each link of the operation's responses that
    names parameters."""
    return [
        (service.spec.operation(link["operationId"]), dict(link["parameters"]))
        for link in _raw_links(service, operation)
        if link.get("parameters")
    ]


def _body_links(service: Any, operation: Operation) -> list[tuple[Operation, Any]]:
    """(target operation, request body template) for each link that gives the target's body."""
    return [
        (service.spec.operation(link["operationId"]), link["requestBody"])
        for link in _raw_links(service, operation)
        if "requestBody" in link
    ]


def _resolve_template(template: Any, body: Any) -> Any:
    """A link's parameter or request body with each runtime expression in it replaced by its value (anything
    else is a constant)."""
    if isinstance(template, str) and template.startswith("$response.body#"):
        return _resolve(template, body)
    if isinstance(template, dict):
        return {key: _resolve_template(value, body) for key, value in template.items()}
    if isinstance(template, list):
        return [_resolve_template(value, body) for value in template]
    return template


def _resolve(expression: str, body: Any) -> Any:
    prefix = "$response.body#"
    assert expression.startswith(prefix), f"unsupported link expression {expression}"
    node = body
    for token in expression[len(prefix) :].split("/")[1:]:
        node = node[int(token)] if isinstance(node, list) else node[token]
    return node


@dataclass(frozen=True)
class Created:
    producer: Operation
    key: str
    links: tuple[tuple[Operation, tuple[tuple[str, Any], ...]], ...]


def machine_for(api: str) -> type[RuleBasedStateMachine]:
    service = SERVICES[api]
    prefix = service.mount_path
    organizations = _organizations(api)
    owner, stranger = organizations[0], organizations[1]
    strategies = OperationStrategies(
        service.spec, auth_headers=lambda _operation: owner, validation_status=service.api.validation_status
    )
    producers = [op for op in service.spec.operations if _links(service, op)]
    breakable = [op for op in service.spec.operations if strategies.mutations(op)]
    templates: dict[str, set[str]] = defaultdict(set)
    for operation in service.spec.operations:
        templates[operation.path].add(operation.method)
    bookkeeping = getattr(service.api, "bookkeeping_keys", frozenset())

    def snapshot() -> Any:
        exported = service.api.export_state(service.state)
        if isinstance(exported, dict):
            exported = {key: value for key, value in exported.items() if key not in bookkeeping}
        return json.dumps(exported, sort_keys=True, default=str)

    def send(case: RequestCase, operation: Operation) -> Any:
        response = case.send(CLIENT, prefix)
        assert response.status_code < 500, (operation.operation_id, case, response.text)
        assert response_violations(service, operation, response) == [], (
            operation.operation_id,
            response.text,
        )
        return response

    def minimal(
        target: Operation, fixed: tuple[tuple[str, Any], ...], headers: dict[str, str]
    ) -> RequestCase | None:
        """The smallest valid request: only the link's parameters, when nothing else is required."""
        values = dict(fixed)
        if target.request_body is not None or any(
            p.required and p.name not in values for p in target.parameters
        ):
            return None
        path, query = target.path, []
        for parameter in target.parameters:
            if parameter.name in values and parameter.location == "path":
                path = path.replace("{" + parameter.name + "}", str(values[parameter.name]))
            elif parameter.name in values and parameter.location == "query":
                query.append((parameter.name, str(values[parameter.name])))
        return RequestCase(target.method, path, tuple(query), headers)

    class ApiMachine(RuleBasedStateMachine):
        created = Bundle("created")

        @initialize()
        def fresh_state(self) -> None:
            assert CLIENT.post("/__mock/reset", json={"api": api}).status_code == 200
            self.deleted: set[str] = set()

        @rule(target=created, data=st.data())
        def create(self, data: st.DataObject) -> Any:
            producer = data.draw(st.sampled_from(producers), label="producer")
            response = send(data.draw(strategies.valid(producer), label="request"), producer)
            event(f"create {producer.operation_id}: {response.status_code}")
            if not 200 <= response.status_code < 300:
                return multiple()
            body = response.json()
            made = [self._created(producer, body)]
            for target, template in _body_links(service, producer):  # e.g. a resource built from this one
                if target not in producers:
                    continue
                case = RequestCase(
                    target.method, target.path, (), owner, _resolve_template(template, body), has_body=True
                )
                chained = send(case, target)
                event(f"chain {target.operation_id}: {chained.status_code}")
                if 200 <= chained.status_code < 300:
                    made.append(self._created(target, chained.json()))
            return multiple(*made)

        def _created(self, producer: Operation, body: Any) -> Created:
            links = tuple(
                (target, tuple((name, _resolve_template(expr, body)) for name, expr in parameters.items()))
                for target, parameters in _links(service, producer)
            )
            key = str(links[0][1][0][1])
            self._readable(links, owner, expect_found=True)
            return Created(producer, key, links)

        def _readable(self, links: Any, headers: dict[str, str], *, expect_found: bool) -> None:
            for target, fixed in links:
                if target.method != "GET":
                    continue
                case = minimal(target, fixed, headers)
                if case is None:
                    continue
                response = send(case, target)
                path_scoped = bool(fixed) and any(
                    p.location == "path" and p.name == fixed[0][0] for p in target.parameters
                )
                if expect_found:
                    assert 200 <= response.status_code < 300, (target.operation_id, response.text)
                elif path_scoped:
                    assert response.status_code == 404, (target.operation_id, response.text)

        @rule(resource=created, data=st.data())
        def follow_link(self, resource: Created, data: st.DataObject) -> None:
            target, fixed = data.draw(st.sampled_from(resource.links), label="link")
            case = data.draw(strategies.valid_with(target, dict(fixed)), label="request")
            response = send(case, target)
            event(f"follow {target.operation_id}: {response.status_code}")
            path_scoped = bool(fixed) and any(
                p.location == "path" and p.name == fixed[0][0] for p in target.parameters
            )
            if resource.key in self.deleted and path_scoped:
                assert response.status_code in (404, service.api.validation_status), response.text
            if target.method == "DELETE" and 200 <= response.status_code < 300:
                self.deleted.add(resource.key)
                self._readable(resource.links, owner, expect_found=False)

        @rule(resource=created)
        def other_organizations_never_see_it(self, resource: Created) -> None:
            for target, fixed in resource.links:
                case = minimal(target, fixed, stranger) if target.method == "GET" else None
                if case is None:
                    continue
                response = send(case, target)
                assert response.status_code in (403, 404) or resource.key not in response.text, response.text

        @rule(data=st.data())
        def a_violation_is_refused_and_changes_nothing(self, data: st.DataObject) -> None:
            operation = data.draw(st.sampled_from(breakable), label="operation")
            case = data.draw(strategies.invalid(operation), label="request")
            before = snapshot()
            response = send(case, operation)
            assert response.status_code == case.expect_status, (case.violation, response.text)
            assert snapshot() == before, case.violation

        @rule(data=st.data())
        def an_undeclared_method_is_405(self, data: st.DataObject) -> None:
            path = data.draw(st.sampled_from(sorted(templates)), label="path")
            undeclared = [m for m in HTTP_METHODS if m not in templates[path]]
            if not undeclared:
                return
            method = data.draw(st.sampled_from(undeclared), label="method")
            concrete = path
            path_parameters = {
                p.name: p for op in service.spec.operations if op.path == path for p in op.parameters
            }
            for parameter in path_parameters.values():
                if parameter.location == "path":
                    value = data.draw(strategies.parameter_value(parameter), label=parameter.name)
                    concrete = concrete.replace("{" + parameter.name + "}", str(value))
            response = CLIENT.request(method, prefix + concrete, headers=owner)
            assert response.status_code == 405, response.text
            assert response.headers["allow"] == ", ".join(sorted(templates[path]))

    ApiMachine.__name__ = f"Machine_{api.replace('-', '_')}"
    return ApiMachine


@pytest.mark.parametrize("api", sorted(SERVICES))
def test_stateful_contract(api: str) -> None:
    from hypothesis.stateful import run_state_machine_as_test

    budget = settings(
        settings.default, max_examples=min(settings.default.max_examples, 15), stateful_step_count=20
    )
    run_state_machine_as_test(machine_for(api), settings=budget)
