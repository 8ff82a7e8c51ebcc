"""The stages of answering one request, each a plain function that returns data.

route → authenticate → read parameters → read body → behaviour or example → check the response.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from ._api import NO_BODY, ApiDefinition, MockResponse, Principal, Problem, Reason
from ._forms import FormBody, file_fields, is_form, read_form
from ._generate import SchemaDataGenerator
from ._jsontext import decode_json
from ._parameters import ParameterReader, RawParameters, coerce_scalar, schema_types
from ._spec import MediaType, Operation, Spec
from ._validation import SchemaValidator, SpecSchemas, Violation, malformed_json

JSON_MEDIA_TYPE = "application/json"


def _media_type_matches(declared: str, actual: str) -> bool:
    if declared in ("*/*", actual):
        return True
    main, _, sub = declared.partition("/")
    actual_main, _, actual_sub = actual.partition("/")
    if sub == "*":
        return main == actual_main
    return declared == JSON_MEDIA_TYPE and actual_main == "application" and actual_sub.endswith("+json")


def _is_json(media_type: str) -> bool:
    return _media_type_matches(JSON_MEDIA_TYPE, media_type)


# ---------------------------------------------------------------- authentication


def extract_credentials(operation: Operation, spec: Spec, raw: RawParameters) -> dict[str, str]:
    """Each security scheme of the operation that the request carries a credential for."""
    found: dict[str, str] = {}
    authorization = raw.headers.get("authorization", "")
    scheme_word, _, token = authorization.partition(" ")
    bearer = token.strip() if scheme_word.lower() == "bearer" else ""
    for requirement in operation.security:
        for scheme_name in requirement:
            scheme = spec.security_schemes.get(scheme_name)
            if scheme is None or scheme_name in found:
                continue
            value = ""
            if scheme.type == "apiKey" and scheme.parameter_name:
                if scheme.location == "header":
                    value = raw.headers.get(scheme.parameter_name.lower(), "")
                elif scheme.location == "cookie":
                    value = raw.cookies.get(scheme.parameter_name, "")
                elif scheme.location == "query":
                    value = next((v for k, v in raw.query if k == scheme.parameter_name), "")
            elif scheme.type in ("oauth2", "openIdConnect") or (
                scheme.type == "http" and scheme.scheme == "bearer"
            ):
                value = bearer
            if value:
                found[scheme_name] = value
    return found


def authenticate(
    operation: Operation, spec: Spec, api: ApiDefinition, state: Any, raw: RawParameters
) -> Principal | Problem | None:
    """The caller, `None` for an operation open to anyone, or the 401 to send."""
    if not operation.requires_auth:
        return None
    credentials = extract_credentials(operation, spec, raw)
    if not credentials:
        return Problem(401, "Not authenticated", Reason.UNAUTHENTICATED)
    for requirement in operation.security:
        principal: Principal | None = None
        for scheme_name in requirement:
            value = credentials.get(scheme_name)
            scheme = spec.security_schemes.get(scheme_name)
            candidate = api.authenticate(state, scheme, value) if value and scheme else None
            if candidate is None or (principal is not None and candidate != principal):
                principal = None
                break
            principal = candidate
        if principal is not None:
            return principal
    return Problem(401, "Could not validate credentials", Reason.INVALID_CREDENTIALS)


# ---------------------------------------------------------------- the request body


@dataclass(frozen=True, slots=True)
class BodyReader:
    """Checks the content type, parses JSON and validates the body of one operation."""

    required: bool
    media_types: Mapping[str, MediaType]
    validators: Mapping[str, SchemaValidator | None]
    file_fields: Mapping[str, frozenset[str]] = field(default_factory=dict)
    """Per form media type, the properties that hold an uploaded file."""

    @property
    def form_only(self) -> bool:
        return bool(self.media_types) and all(is_form(declared) for declared in self.media_types)

    def read(
        self, content_type_header: str | None, payload: bytes
    ) -> tuple[Any, list[Violation], Problem | None]:
        if self.form_only:
            return self._read_form(content_type_header, payload)
        if not payload:
            if self.required:
                return NO_BODY, [Violation(("body",), "Field required", "missing", None)], None
            return NO_BODY, [], None
        media_type = (content_type_header or JSON_MEDIA_TYPE).split(";")[0].strip().lower()
        declared = next((d for d in self.media_types if _media_type_matches(d, media_type)), None)
        if declared is None:
            allowed = ", ".join(self.media_types)
            problem = Problem(
                415,
                f"Unsupported Media Type: Content-Type {media_type!r} is not accepted; send {allowed}",
                Reason.UNSUPPORTED_MEDIA_TYPE,
            )
            return NO_BODY, [], problem
        if not _is_json(media_type):
            return payload, [], None  # a non-JSON body an operation accepts (`*/*`, say) stays bytes
        try:
            body = decode_json(payload)
        except json.JSONDecodeError as exc:
            return NO_BODY, [malformed_json(exc)], None
        validator = self.validators.get(declared)
        return body, (validator.violations(body, at=("body",)) if validator else []), None

    def _read_form(
        self, content_type_header: str | None, payload: bytes
    ) -> tuple[Any, list[Violation], Problem | None]:
        """As FastAPI reads `Form()`/`File()` parameters: a body of another type (JSON, say) is an empty
        form, so the missing fields are a 422 rather than a 415."""
        media_type = (content_type_header or "").split(";")[0].strip().lower()
        declared = next((d for d in self.media_types if d == media_type), None)
        form, violations = FormBody(), list[Violation]()
        if declared is not None and payload:
            form, violations = read_form(
                media_type,
                content_type_header or "",
                payload,
                files=self.file_fields.get(declared, frozenset()),
            )
        validator = self.validators.get(declared or next(iter(self.media_types)))
        if validator is not None:
            violations = validator.violations(form.for_validation(), at=("body",)) + violations
        return form, violations, None


# ---------------------------------------------------------------- responses from the spec


class ExampleResponder:
    """Answers an operation from its documented examples, or from data generated from its schema."""

    def __init__(self, spec: Spec, *, seed: int) -> None:
        self._spec = spec
        self._seed = seed
        self._generator = SchemaDataGenerator(spec)

    def _media(self, operation: Operation, status: int | None) -> tuple[int, MediaType | None]:
        codes = [status] if status is not None else operation.success_statuses()
        if not codes:
            raise Problem(500, f"{operation.operation_id} declares no success response", Reason.INTERNAL)
        response = operation.response_for(codes[0])
        if response is None:
            raise Problem(500, f"{operation.operation_id} declares no {codes[0]} response", Reason.INTERNAL)
        if not response.media_types:
            return codes[0], None
        return codes[0], response.media_types.get(JSON_MEDIA_TYPE) or next(
            iter(response.media_types.values())
        )

    def respond(
        self,
        operation: Operation,
        *,
        status: int | None = None,
        dynamic: bool = False,
        seed: int | None = None,
    ) -> MockResponse:
        """The first documented example, or (with `dynamic`, or without examples) generated data; `seed`
        replaces the server's seed for the generated data."""
        code, media = self._media(operation, status)
        if media is None:
            return MockResponse(code)
        if media.examples and not dynamic:
            return MockResponse(code, next(iter(media.examples.values())), media_type=media.content_type)
        key = f"{operation.operation_id}:{code}"
        body = self._generator.generate(
            media.schema or {}, seed=self._seed if seed is None else seed, key=key
        )
        return MockResponse(code, body, media_type=media.content_type)

    def example_names(self, operation: Operation, *, status: int | None = None) -> list[str]:
        statuses = [str(status)] if status is not None else list(operation.responses)
        return [
            name
            for code in statuses
            if code in operation.responses
            for media in operation.responses[code].media_types.values()
            for name in media.examples
        ]

    def find_example(
        self, operation: Operation, name: str, *, status: int | None = None
    ) -> MockResponse | None:
        """The named example of the given status, or of any status (success first) when none is given."""
        statuses = [str(status)] if status is not None else sorted(operation.responses)
        for code in statuses:
            response = operation.responses.get(code)
            if response is None or not code.isdigit():
                continue
            for media in response.media_types.values():
                if name in media.examples:
                    return MockResponse(int(code), media.examples[name], media_type=media.content_type)
        return None


# ---------------------------------------------------------------- checking responses


@dataclass(frozen=True, slots=True)
class _HeaderCheck:
    name: str
    required: bool
    types: frozenset[str]
    validator: SchemaValidator


class ResponseChecker:
    """Checks status, content type, headers and body of one operation's responses against the spec."""

    def __init__(self, spec: Spec, operation: Operation, *, schemas: SpecSchemas) -> None:
        self._operation = operation
        self._bodies: dict[tuple[str, str], SchemaValidator | None] = {}
        self._headers: dict[str, tuple[_HeaderCheck, ...]] = {}
        for status, response in operation.responses.items():
            for content_type, media in response.media_types.items():
                self._bodies[(status, content_type)] = (
                    schemas.validator(media.schema_pointer) if media.schema_pointer else None
                )
            self._headers[status] = tuple(
                _HeaderCheck(
                    name=header.name,
                    required=header.required,
                    types=frozenset(schema_types(spec, header.schema)),
                    validator=schemas.validator(header.schema_pointer),
                )
                for header in response.headers.values()
            )

    def violations(self, response: MockResponse) -> list[Violation]:
        operation = self._operation
        declared = operation.response_for(response.status)
        if declared is None:
            listed = ", ".join(operation.responses)
            return [
                Violation(
                    ("response", "status"),
                    f"{operation.operation_id} does not declare status {response.status} (declares {listed})",
                    "undeclared_status",
                    response.status,
                )
            ]
        found: list[Violation] = []
        lowered = {name.lower(): value for name, value in response.headers.items()}
        for check in self._headers.get(declared.status, ()):
            value = lowered.get(check.name.lower())
            if value is None:
                if check.required:
                    found.append(Violation(("response", "headers", check.name), "Header required", "missing"))
                continue
            found.extend(
                check.validator.violations(
                    coerce_scalar(value, check.types), at=("response", "headers", check.name)
                )
            )
        if not declared.media_types:
            if response.body is not NO_BODY:
                found.append(
                    Violation(
                        ("response", "body"), f"Status {response.status} must have no body", "unexpected_body"
                    )
                )
            return found
        if response.body is NO_BODY:
            found.append(Violation(("response", "body"), "A body is required", "missing"))
            return found
        content_type = next(
            (d for d in declared.media_types if _media_type_matches(d, response.media_type)), None
        )
        if content_type is None:
            found.append(
                Violation(
                    ("response", "content-type"),
                    f"{response.media_type} is not declared for status {response.status}",
                    "undeclared_media_type",
                    response.media_type,
                )
            )
            return found
        validator = self._bodies.get((declared.status, content_type))
        if validator is not None:
            found.extend(validator.violations(response.body, at=("response", "body")))
        return found


@dataclass(frozen=True, slots=True)
class CompiledOperation:
    """An operation with everything built once at startup."""

    operation: Operation
    parameters: ParameterReader
    parameter_validators: Mapping[tuple[str, str], SchemaValidator]
    body: BodyReader | None
    responses: ResponseChecker

    def check_parameters(self, values: Mapping[str, Mapping[str, Any]]) -> list[Violation]:
        found: list[Violation] = []
        for (location, name), validator in self.parameter_validators.items():
            if name in values[location]:
                found.extend(
                    validator.violations(values[location][name], at=(location, name), from_text=True)
                )
        return found


def compile_operation(spec: Spec, operation: Operation, *, schemas: SpecSchemas) -> CompiledOperation:
    parameter_validators = {
        (parameter.location, parameter.name): schemas.validator(parameter.schema_pointer)
        for parameter in operation.parameters
    }
    body = None
    if operation.request_body is not None:
        body = BodyReader(
            required=operation.request_body.required,
            media_types=operation.request_body.media_types,
            file_fields={
                content_type: file_fields(spec.resolve_schema(media.schema))
                for content_type, media in operation.request_body.media_types.items()
                if is_form(content_type) and media.schema is not None
            },
            validators={
                content_type: (schemas.validator(media.schema_pointer) if media.schema_pointer else None)
                for content_type, media in operation.request_body.media_types.items()
            },
        )
    return CompiledOperation(
        operation=operation,
        parameters=ParameterReader(spec, operation.parameters),
        parameter_validators=parameter_validators,
        body=body,
        responses=ResponseChecker(spec, operation, schemas=schemas),
    )
