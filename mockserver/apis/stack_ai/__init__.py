"""Stack AI: a FastAPI service; errors are FastAPI's `{"detail": ...}` bodies."""

from __future__ import annotations

from typing import Any

from ..._api import ApiDefinition, Credential, MockResponse, Principal, Problem, Reason
from ..._spec import SecurityScheme
from ._users import TOKENS, USERS

__all__ = ["API", "StackAiApi"]


class StackAiApi(ApiDefinition):
    name = "stack-ai"
    title = "Stack AI Connections API"
    validation_status = 422

    def authenticate(self, state: Any, scheme: SecurityScheme, credential: str) -> Principal | None:
        user = TOKENS.get(credential)
        if user is None:
            return None
        return Principal(
            subject_id=user.user_id,
            organization_id=user.org_id,
            display_name=user.email,
            attributes={"user": user},
        )

    def credentials(self, state: Any) -> list[Credential]:
        return [
            Credential(
                label=f"{user.key} <{user.email}> ({user.org_role}, {user.organization})",
                organization_id=user.org_id,
                how="Authorization: Bearer",
                value=user.token,
            )
            for user in USERS
        ]

    def render_problem(self, problem: Problem, *, state: Any) -> MockResponse:
        headers = dict(problem.headers)
        if problem.status == 401:
            headers["WWW-Authenticate"] = "Bearer"
        if problem.reason in (Reason.VALIDATION, Reason.MALFORMED_BODY) and problem.violations:
            detail: Any = [_validation_item(violation) for violation in problem.violations]
        else:
            detail = problem.message
        return MockResponse(problem.status, {"detail": detail}, headers)


def _validation_item(violation: Any) -> dict[str, Any]:
    item: dict[str, Any] = {
        "type": violation.kind,
        "loc": list(violation.location),
        "msg": violation.message,
        "input": violation.input,
    }
    if violation.context:
        item["ctx"] = dict(violation.context)
    return item


API = StackAiApi()
