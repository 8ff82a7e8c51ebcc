"""The OAuth flow, end to end and offline (the consent and landing pages are mock-only, inferred).

1. `POST /connections/oauth/start` (body: the connection to create; `connection_provider_data` may carry
   `redirect_uri` and `state`) answers the URL of the mock's own consent page, `<base>/oauth/consent`.
2. The consent page shows who asks for what, with Allow and Deny buttons (plain HTML forms; for curl,
   `GET <consent url>&decision=allow` does the same). Allow redirects to `redirect_uri` with a single-use
   `code` and the `state`; Deny redirects with `error=access_denied`. Without a `redirect_uri` the
   target is the mock's landing page, `<base>/oauth/landing`, which shows the code and the next request.
3. `POST /connections/oauth/callback?code=` creates the connection with generated provider tokens;
   `PUT /connections/oauth/callback/{id}?code=` re-authorizes an existing one (new tokens).
A code is bound to the user who started the flow and to its connection type; it works once and
expires 10 minutes after it is issued (consent requests after 30 minutes) on the mock clock: the engine's
schedule purges it when that time comes (by wall time on a running clock, or `POST /__mock/clock`).
Bounded: at most `MAX_PENDING_AUTHORIZATIONS` consent requests and `MAX_AUTHORIZATION_CODES` codes per state,
the oldest going first (with its scheduled expiry), so a frozen clock cannot make them pile up.
A flow started in an `X-Mock-Session` carries the session in its page URLs (`session=`, since a browser
sends no such header): the consent page, the default landing page and the callback command it shows.
"""

from __future__ import annotations

import html
import json
from collections.abc import Callable, Mapping, Sequence
from typing import Any
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

from starlette.requests import Request
from starlette.responses import HTMLResponse, RedirectResponse, Response
from starlette.routing import BaseRoute, Route

from ..._api import MockResponse, OperationContext, Problem
from ..._validation import Violation
from ...control._runtime import SESSION_NAME
from ._access import invalid, load, organization_of, value_error
from ._catalogue import BY_TYPE, OAUTH2, CatalogueEntry, is_http_url, oauth_tokens, resolve
from ._connections import DEFAULT_NAME, check_room, checked_entry, new_connection
from ._index import writing
from ._masking import merge_secrets
from ._rand import Rand
from ._render import connection_json
from ._schedule import schedule
from ._state import (
    MAX_AUTHORIZATION_CODES,
    MAX_PENDING_AUTHORIZATIONS,
    AuthorizationCode,
    PendingAuthorization,
    StackAiState,
)

CODE_TTL_SECONDS = 600
CONSENT_TTL_SECONDS = 1800
CODE_EXPIRY = "oauth-code-expiry"
CONSENT_EXPIRY = "oauth-consent-expiry"
_MICROS = 1_000_000
CLIENT_ID = "stack-ai-mock"
FLOW_KEYS = ("redirect_uri", "state")
"""Keys of `connection_provider_data` that steer the flow and are not stored with the connection."""
CONSENT_PATH = "/oauth/consent"
LANDING_PATH = "/oauth/landing"
SESSION_PARAM = "session"
"""The query parameter of the mock's pages naming the `X-Mock-Session` a flow belongs to."""


def _with_query(url: str, params: Mapping[str, str]) -> str:
    parts = urlsplit(url)
    query = parse_qsl(parts.query, keep_blank_values=True) + list(params.items())
    return urlunsplit((parts.scheme, parts.netloc, parts.path, urlencode(query), parts.fragment))


# ---------------------------------------------------------------- expiry (run by the engine's schedule)


def expire_code(state: StackAiState, code: str, due: int) -> None:
    """A code's 10 minutes are over: it goes, and so does its answered request once that expired too."""
    grant = state.oauth.codes.pop(code, None)
    if grant is None:
        return
    pending = state.oauth.pending.get(grant.request_id)
    if pending is not None and due - pending.started >= CONSENT_TTL_SECONDS * _MICROS:
        del state.oauth.pending[grant.request_id]


def expire_consent(state: StackAiState, request_id: str, due: int) -> None:
    """A consent request's 30 minutes are over: it goes, unless a code issued from it is still alive."""
    if any(code.request_id == request_id for code in state.oauth.codes.values()):
        return
    state.oauth.pending.pop(request_id, None)


def _keep_within_bounds(state: StackAiState) -> None:
    """The oldest consent requests and codes past their caps go, and so does their scheduled expiry."""
    oauth, timeline = state.oauth, state.clock.timeline
    while len(oauth.pending) > MAX_PENDING_AUTHORIZATIONS:
        request_id = next(iter(oauth.pending))
        del oauth.pending[request_id]
        timeline.cancel(CONSENT_EXPIRY, request_id)
    while len(oauth.codes) > MAX_AUTHORIZATION_CODES:
        code = next(iter(oauth.codes))
        del oauth.codes[code]
        timeline.cancel(CODE_EXPIRY, code)


def _session_query(session: str) -> dict[str, str]:
    return {SESSION_PARAM: session} if session else {}


# ---------------------------------------------------------------- API operations


def get_oauth_url(ctx: OperationContext) -> MockResponse:
    state, _, user = organization_of(ctx)
    body = ctx.body
    data = body["connection_provider_data"]
    entry, violations = resolve(body.get("provider_id"), body.get("connection_type_id"))
    if entry is not None and entry.connection_type != OAUTH2:
        violations.append(
            value_error(
                ("body", "connection_type_id"),
                f"connection type '{entry.connection_type_id}' takes credentials, not OAuth; "
                "create it with POST /connections",
                entry.connection_type_id,
            )
        )
    redirect_uri = data.get("redirect_uri")
    if redirect_uri is not None and not (isinstance(redirect_uri, str) and is_http_url(redirect_uri)):
        violations.append(
            Violation(
                ("body", "connection_provider_data", "redirect_uri"),
                "Input should be a valid URL, relative URL without a base",
                "url_parsing",
                redirect_uri,
            )
        )
    client_state = data.get("state")
    if client_state is not None and not isinstance(client_state, str):
        violations.append(
            Violation(
                ("body", "connection_provider_data", "state"),
                "Input should be a valid string",
                "string_type",
                client_state,
            )
        )
    if violations or entry is None or entry.oauth is None:
        raise invalid(violations)
    state.oauth.issued += 1
    rand = Rand.of("stack-ai", state.seed, "oauth-request", state.oauth.issued)
    pending = PendingAuthorization(
        request_id=rand.alnum(24),
        user_id=user.user_id,
        org_id=user.org_id,
        email=user.email,
        provider_id=entry.provider_id,
        connection_type_id=entry.connection_type_id,
        name=body.get("name"),
        redirect_uri=redirect_uri or _with_query(ctx.base_url + LANDING_PATH, _session_query(ctx.session)),
        state=client_state if client_state is not None else rand.alnum(32),
        started=state.clock.now,
    )
    schedule(state, pending.started + CONSENT_TTL_SECONDS * _MICROS, CONSENT_EXPIRY, pending.request_id)
    state.oauth.pending[pending.request_id] = pending
    _keep_within_bounds(state)
    query = {
        "request_id": pending.request_id,
        "client_id": CLIENT_ID,
        "response_type": "code",
        "provider": entry.provider_id,
        "scope": entry.oauth.scope,
        "redirect_uri": pending.redirect_uri,
        "state": pending.state,
        **_session_query(ctx.session),
    }
    return MockResponse(200, f"{ctx.base_url}{CONSENT_PATH}?{urlencode(query)}")


def _unknown_code(why: str) -> Problem:
    return Problem(
        404, f"OAuth code not found: this code {why}; start the OAuth flow again", "unknown_oauth_code"
    )


def _conflict(message: str) -> Problem:
    return Problem(409, message, "oauth_conflict")


def _grant(state: StackAiState, code: str, user_id: str, entry: CatalogueEntry) -> AuthorizationCode:
    """The authorization code, if this user may exchange it now for this type (404, or 409 for another type).

    A code issued to another user is "never issued" to the caller: codes are not shared across users.
    """
    grant = state.oauth.codes.get(code)
    if grant is None or grant.user_id != user_id:
        raise _unknown_code("was never issued or has expired")
    if grant.used:
        raise _unknown_code("was already used")
    if state.clock.now - grant.issued >= CODE_TTL_SECONDS * _MICROS:
        raise _unknown_code("has expired")
    if grant.connection_type_id != entry.connection_type_id:
        raise _conflict(
            f"OAuth code conflict: this code was issued for connection type '{grant.connection_type_id}', "
            f"not '{entry.connection_type_id}'"
        )
    return grant


def _flow_free(data: Mapping[str, Any]) -> dict[str, Any]:
    return {key: value for key, value in data.items() if key not in FLOW_KEYS}


def create_connection_from_callback(ctx: OperationContext) -> MockResponse:
    state, organization, user = organization_of(ctx)
    body = ctx.body
    entry = checked_entry(body)
    code = str(ctx.query["code"])
    grant = _grant(state, code, user.user_id, entry)
    check_room(state, organization)  # before the code is spent: a refusal changes nothing
    grant.used = True
    pending = state.oauth.pending.get(grant.request_id)
    name = body.get("name") or (pending.name if pending else None) or DEFAULT_NAME
    tokens = oauth_tokens(entry, Rand.of("stack-ai", state.seed, "oauth-tokens", code))
    data = {**_flow_free(body["connection_provider_data"]), **tokens}
    connection = new_connection(state, organization, user.user_id, name=name, entry=entry, data=data)
    return MockResponse(201, connection_json(organization, connection))


def update_connection_from_callback(ctx: OperationContext) -> MockResponse:
    state, organization, connection, user = load(ctx, need="editor")
    body = ctx.body
    entry = checked_entry(body)
    if entry.provider_id != connection.provider_id:
        raise _conflict(
            f"The connection's provider is '{connection.provider_id}'; re-authorize it with that provider"
        )
    code = str(ctx.query["code"])
    grant = _grant(state, code, user.user_id, entry)
    grant.used = True
    tokens = oauth_tokens(entry, Rand.of("stack-ai", state.seed, "oauth-tokens", code))
    data = merge_secrets(_flow_free(body["connection_provider_data"]), connection.provider_data)
    with writing(state, organization, connection.connection_id):
        if "name" in body:
            connection.name = body["name"]
        connection.connection_type_id = entry.connection_type_id
        connection.provider_data = {**data, **tokens}
        connection.health_issue = None
        connection.health_forced = False
        connection.updated_at = state.clock.tick()
        connection.updated_by = user.user_id
    return MockResponse(200, connection_json(organization, connection))


# ---------------------------------------------------------------- mock-only pages

_STYLE = """
body{font-family:system-ui,-apple-system,Segoe UI,Roboto,sans-serif;background:#f4f5f7;margin:0;color:#1f2328}
main{max-width:460px;margin:48px auto;background:#fff;border-radius:12px;padding:32px;
box-shadow:0 1px 3px rgba(0,0,0,.12)}
h1{font-size:20px;margin:0 0 16px}.badge{display:inline-block;width:12px;height:12px;border-radius:3px;
margin-right:8px}.muted{color:#656d76;font-size:13px}ul{padding-left:20px}code{background:#f0f1f3;
padding:2px 4px;border-radius:4px;word-break:break-all}pre{background:#f0f1f3;padding:12px;
border-radius:8px;white-space:pre-wrap;word-break:break-all;font-size:12px}
.actions{display:flex;gap:12px;margin-top:24px}button{flex:1;padding:10px;border-radius:8px;
font-size:15px;cursor:pointer;border:1px solid #d0d7de;background:#f6f8fa}
button.allow{background:#1f6feb;border-color:#1f6feb;color:#fff}
"""


def _page(title: str, content: str, status: int = 200) -> HTMLResponse:
    document = (
        f'<!doctype html><html lang="en"><head><meta charset="utf-8"><title>{html.escape(title)}</title>'
        f'<meta name="viewport" content="width=device-width,initial-scale=1"><style>{_STYLE}</style></head>'
        f'<body><main>{content}<p class="muted">Mock OAuth provider of the offline Stack AI mock server: '
        "no request leaves this machine.</p></main></body></html>"
    )
    return HTMLResponse(document, status_code=status)


def _error_page(message: str, status: int) -> HTMLResponse:
    return _page(
        "Authorization failed", f"<h1>Authorization failed</h1><p>{html.escape(message)}</p>", status
    )


def _consent_page(pending: PendingAuthorization, session: str) -> HTMLResponse:
    entry = BY_TYPE[pending.connection_type_id]
    scope = entry.oauth.scope if entry.oauth else ""
    scopes = "".join(f"<li><code>{html.escape(item)}</code></li>" for item in scope.replace(",", " ").split())
    request_id = html.escape(pending.request_id)
    hidden = f'<input type="hidden" name="request_id" value="{request_id}">'
    if session:
        hidden += f'<input type="hidden" name="{SESSION_PARAM}" value="{html.escape(session)}">'
    curl_query = html.escape(urlencode({"request_id": pending.request_id, **_session_query(session)}))
    name = f" as <strong>{html.escape(pending.name)}</strong>" if pending.name else ""
    content = (
        f'<h1><span class="badge" style="background:{entry.color}"></span>Connect {html.escape(entry.name)}</h1>'
        f"<p><strong>Stack AI</strong> wants to access the {html.escape(entry.name)} account of "
        f"<strong>{html.escape(pending.email)}</strong>{name}.</p>"
        f"<p>It asks for:</p><ul>{scopes}</ul>"
        f'<p class="muted">You will be sent back to <code>{html.escape(pending.redirect_uri)}</code>.</p>'
        f'<div class="actions">'
        f'<form method="post" action="consent">{hidden}'
        f'<button type="submit" name="decision" value="deny">Deny</button></form>'
        f'<form method="post" action="consent">{hidden}'
        f'<button class="allow" type="submit" name="decision" value="allow">Allow</button></form></div>'
        f'<p class="muted">Without a browser: <code>GET consent?{curl_query}&amp;decision=allow</code> '
        "(or <code>deny</code>) answers the same way.</p>"
    )
    return _page(f"Connect {entry.name}", content)


def _decide(state: StackAiState, request_id: str, decision: str, status: int) -> Response:
    pending = state.oauth.pending.get(request_id)
    if pending is None:
        return _error_page("Unknown authorization request. Start the OAuth flow again.", 404)
    if pending.answered:
        return _error_page(
            "This authorization request was already answered. Start the OAuth flow again.", 400
        )
    if state.clock.now - pending.started >= CONSENT_TTL_SECONDS * _MICROS:
        return _error_page("This authorization request has expired. Start the OAuth flow again.", 400)
    if decision not in ("allow", "deny"):
        return _error_page("The decision must be 'allow' or 'deny'.", 400)
    pending.answered = True
    if decision == "deny":
        params = {
            "error": "access_denied",
            "error_description": "The user denied access",
            "state": pending.state,
        }
        return RedirectResponse(_with_query(pending.redirect_uri, params), status_code=status)
    state.oauth.issued += 1
    code = "4/0A" + Rand.of("stack-ai", state.seed, "oauth-code", state.oauth.issued).text(70)
    state.oauth.codes[code] = AuthorizationCode(
        code=code,
        request_id=pending.request_id,
        user_id=pending.user_id,
        org_id=pending.org_id,
        provider_id=pending.provider_id,
        connection_type_id=pending.connection_type_id,
        issued=state.clock.now,
    )
    schedule(state, state.clock.now + CODE_TTL_SECONDS * _MICROS, CODE_EXPIRY, code)
    _keep_within_bounds(state)
    params = {"code": code, "state": pending.state}
    profile = BY_TYPE[pending.connection_type_id].oauth
    if profile is not None:
        params["scope"] = profile.scope
    return RedirectResponse(_with_query(pending.redirect_uri, params), status_code=status)


def _landing_page(state: StackAiState, request: Request, session: str) -> HTMLResponse:
    query = request.query_params
    api_base = str(request.base_url).rstrip("/")
    root_path = str(request.scope.get("root_path", ""))
    if not api_base.endswith(root_path):  # older Starlette leaves the root path out of `base_url`
        api_base += root_path
    if "error" in query:
        content = (
            "<h1>Access denied</h1>"
            f"<p>The provider answered <code>error={html.escape(query['error'])}</code> "
            f"for <code>state={html.escape(query.get('state', ''))}</code>. No connection was created.</p>"
        )
        return _page("Access denied", content)
    code = query.get("code", "")
    grant = state.oauth.codes.get(code)
    if grant is None:
        return _error_page("This page expects the `code` of a mock OAuth redirect.", 400)
    pending = state.oauth.pending.get(grant.request_id)
    name = pending.name if pending and pending.name else DEFAULT_NAME
    body = json.dumps(
        {
            "name": name,
            "provider_id": grant.provider_id,
            "connection_type_id": grant.connection_type_id,
            "connection_provider_data": {},
        }
    ).replace("'", "'\\''")
    session_header = f"  -H 'X-Mock-Session: {session}' \\\n" if session else ""
    command = (
        f"curl -X POST '{api_base}/connections/oauth/callback?{urlencode({'code': code})}' \\\n"
        f"{session_header}"
        "  -H 'Authorization: Bearer <your token>' -H 'Content-Type: application/json' \\\n"
        f"  -d '{body}'"
    )
    content = (
        "<h1>Authorization granted</h1>"
        f"<p>Code (single use, valid 10 minutes):</p><p><code>{html.escape(code)}</code></p>"
        f"<p>State: <code>{html.escape(query.get('state', ''))}</code></p>"
        "<p>Exchange it for a connection (or use <code>PUT /connections/oauth/callback/{id}</code> "
        "to re-authorize an existing one):</p>"
        f"<pre>{html.escape(command)}</pre>"
    )
    return _page("Authorization granted", content)


def routes(get_state: Callable[..., Any]) -> Sequence[BaseRoute]:
    """The consent page (`/oauth/consent`) and the default landing page (`/oauth/landing`), mock-only; each
    serves the state of the session its `session=` names (the default state without one)."""

    def current(session: str) -> StackAiState:
        state = get_state(session)
        assert isinstance(state, StackAiState)
        return state

    async def consent(request: Request) -> Response:
        if request.method == "POST":
            form = dict(parse_qsl((await request.body()).decode("utf-8", "replace")))
            session = form.get(SESSION_PARAM) or request.query_params.get(SESSION_PARAM, "")
            return _decide(current(session), form.get("request_id", ""), form.get("decision", ""), 303)
        session = request.query_params.get(SESSION_PARAM, "")
        session = session if SESSION_NAME.match(session) else ""
        state = current(session)
        request_id = request.query_params.get("request_id", "")
        decision = request.query_params.get("decision")
        if decision is not None:
            return _decide(state, request_id, decision, 302)
        pending = state.oauth.pending.get(request_id)
        if pending is None:
            return _error_page("Unknown authorization request. Start the OAuth flow again.", 404)
        if pending.answered:
            return _error_page(
                "This authorization request was already answered. Start the OAuth flow again.", 400
            )
        return _consent_page(pending, session)

    async def landing(request: Request) -> Response:
        session = request.query_params.get(SESSION_PARAM, "")
        session = session if SESSION_NAME.match(session) else ""
        return _landing_page(current(session), request, session)

    return (
        Route(CONSENT_PATH, consent, methods=["GET", "POST"]),
        Route(LANDING_PATH, landing, methods=["GET"]),
    )
