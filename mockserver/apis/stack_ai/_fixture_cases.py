"""Stack AI's documented cases, as scripts against a seeded mock (alice is the default user).

Besides the derived 401 and 415: an unknown connection id (404), an id that is not a UUID and bad bodies or
queries (422), bob as a viewer or an editor where more is needed (403), OAuth codes from the consent page
(`&decision=allow`) or that nobody issued (400).
"""

from __future__ import annotations

from typing import Any
from urllib.parse import parse_qs, urlsplit

from ...fixtures._canonical import ApiCases, Call, CaseBook, GenerationError, Session, with_derived
from ._users import USERS
from .knowledge_bases._operations import MAX_KNOWLEDGE_BASES

UNKNOWN_UUID = "00000000-0000-4000-8000-000000000000"
NOT_AN_ID = "not-an-id"

# Mock-only provider secrets sent in request bodies; they are redacted in the files like real ones would be.
GDRIVE_TOKENS = {
    "access_token": "ya29.a0AfB_fixture-access-token-not-a-secret",
    "refresh_token": "1//0gfixture-refresh-token-not-a-secret",
    "scope": "https://www.googleapis.com/auth/drive.readonly",
    "token_type": "Bearer",
}


def _stack_ai_user_id(key: str) -> str:
    return next(user.user_id for user in USERS if user.key == key)


def _connections(s: Session, user: str = "alice") -> list[dict[str, Any]]:
    listed: list[dict[str, Any]] = s.get("/connections", user=user)
    return listed


def _gdrive_connection(s: Session) -> str:
    return str(next(c["connection_id"] for c in _connections(s) if c["provider_id"] == "gdrive"))


def _role_of(s: Session, user: str, connection_id: str) -> str | None:
    response = s.send(s.call("GET", f"/api/v1/connections/{connection_id}/rbac", user=user))
    if response.status == 404:
        return None
    role = response.json()["current_user_effective_role"]
    return str(role) if role is not None else None


def _connection_where(s: Session, user: str, role: str, provider: str | None = None) -> dict[str, Any]:
    """A connection of alice's organization on which `user` has exactly `role` (of `provider` if given)."""
    for connection in _connections(s):
        if provider is not None and connection["provider_id"] != provider:
            continue
        if _role_of(s, user, connection["connection_id"]) == role:
            return connection
    raise GenerationError(f"no connection where {user} is {role}")


def _oauth_code(s: Session, user: str, provider: str = "gdrive") -> str:
    """Start the OAuth flow as `user`, allow it on the consent page, and return the code."""
    body = {
        "name": "Marketing Drive",
        "provider_id": provider,
        "connection_type_id": provider,
        "connection_provider_data": {},
    }
    url = str(s.expect(s.call("POST", "/connections/oauth/start", user=user, json_body=body)))
    parts = urlsplit(url)
    query = [(k, v) for k, values in parse_qs(parts.query).items() for v in values]
    response = s.send(s.call("GET", parts.path, anonymous=True, query=[*query, ("decision", "allow")]))
    location = response.header("location")
    if response.status not in (302, 303) or location is None:
        raise GenerationError(f"the consent page answered {response.status}: {response.body[:300]!r}")
    return parse_qs(urlsplit(location).query)["code"][0]


def _gdrive_body(name: str = "Team Drive") -> dict[str, Any]:
    return {
        "name": name,
        "provider_id": "gdrive",
        "connection_type_id": "gdrive",
        "connection_provider_data": dict(GDRIVE_TOKENS),
    }


def _explicit() -> CaseBook:
    book = CaseBook()
    add = book.add

    def by_id(operation_id: str, method: str, suffix: str = "", *, body: Any = None) -> None:
        """404 (an unknown id) and 422 (an id that is not a UUID) of an operation on one connection."""
        kwargs: dict[str, Any] = {} if body is None else {"json_body": body}

        def call(s: Session, connection_id: str) -> Call:
            return s.call(method, f"/connections/{connection_id}{suffix}", **kwargs)

        add(operation_id, 404, "not-found", "An id no connection has.")(lambda s: call(s, UNKNOWN_UUID))
        add(operation_id, 422, "invalid-id", "A connection id that is not a UUID: FastAPI's 422 item.")(
            lambda s: call(s, NOT_AN_ID)
        )

    # ------------------------------------------------ connections
    add("get_available_connections", 200, "ok", "The provider catalogue (no authentication).")(
        lambda s: s.call("GET", "/connections/available", anonymous=True)
    )
    add("get_connections", 200, "ok", "Alice's first five connections, oldest first.")(
        lambda s: s.call("GET", "/connections", query={"limit": 5})
    )
    add("get_connections", 422, "invalid-limit", "A limit that is not an integer.")(
        lambda s: s.call("GET", "/connections", query={"limit": "abc"})
    )
    add(
        "create_connection",
        201,
        "created",
        "A Google Drive connection with OAuth tokens (masked in the answer).",
    )(lambda s: s.call("POST", "/connections", json_body=_gdrive_body()))
    add(
        "create_connection",
        409,
        "bound",
        "A server started with --max-connections 25: the organization holds its 25 seeded connections.",
        app="connection-bound",
    )(lambda s: s.call("POST", "/connections", json_body=_gdrive_body()))
    add("create_connection", 422, "unknown-provider", "A provider outside the catalogue.")(
        lambda s: s.call("POST", "/connections", json_body={**_gdrive_body(), "provider_id": "myspace"})
    )
    add("get_connection_by_id", 200, "ok", "One of alice's connections.")(
        lambda s: s.call("GET", f"/connections/{_gdrive_connection(s)}")
    )
    by_id("get_connection_by_id", "GET")
    add("update_connection", 200, "ok", "Replace a Google Drive connection's name and tokens.")(
        lambda s: s.call(
            "PUT", f"/connections/{_gdrive_connection(s)}", json_body=_gdrive_body("Renamed Drive")
        )
    )
    add("update_connection", 403, "viewer", "Bob is only a viewer of this connection.")(
        lambda s: s.call(
            "PUT",
            f"/connections/{_connection_where(s, 'bob', 'viewer', 'gdrive')['connection_id']}",
            user="bob",
            json_body=_gdrive_body(),
        )
    )
    by_id("update_connection", "PUT", body=_gdrive_body())
    add("delete_connection", 204, "deleted", "Alice (an organization admin) deletes a connection.")(
        lambda s: s.call("DELETE", f"/connections/{_gdrive_connection(s)}")
    )
    add("delete_connection", 403, "editor", "Bob is an editor of this connection; deleting takes an admin.")(
        lambda s: s.call(
            "DELETE", f"/connections/{_connection_where(s, 'bob', 'editor')['connection_id']}", user="bob"
        )
    )
    by_id("delete_connection", "DELETE")
    add("patch_connection", 200, "ok", "Rename a connection.")(
        lambda s: s.call("PATCH", f"/connections/{_gdrive_connection(s)}", json_body={"name": "Renamed"})
    )
    add("patch_connection", 403, "viewer", "Bob is only a viewer of this connection.")(
        lambda s: s.call(
            "PATCH",
            f"/connections/{_connection_where(s, 'bob', 'viewer')['connection_id']}",
            user="bob",
            json_body={"name": "Renamed"},
        )
    )
    by_id("patch_connection", "PATCH", body={"name": "Renamed"})
    add("get_connection_health", 200, "ok", "The health of a connection.")(
        lambda s: s.call("GET", f"/connections/{_gdrive_connection(s)}/health")
    )
    by_id("get_connection_health", "GET", "/health")

    # ------------------------------------------------ OAuth
    start_body = {
        "name": "Marketing Drive",
        "provider_id": "gdrive",
        "connection_type_id": "gdrive",
        "connection_provider_data": {"redirect_uri": "http://localhost:3000/oauth/done", "state": "xyz"},
    }
    add("get_oauth_url", 200, "ok", "The consent page URL for a new Google Drive connection.")(
        lambda s: s.call("POST", "/connections/oauth/start", json_body=start_body)
    )
    add("get_oauth_url", 422, "unknown-provider", "A provider outside the catalogue.")(
        lambda s: s.call(
            "POST", "/connections/oauth/start", json_body={**start_body, "provider_id": "myspace"}
        )
    )
    callback_body = {
        "name": "Marketing Drive",
        "provider_id": "gdrive",
        "connection_type_id": "gdrive",
        "connection_provider_data": {},
    }
    add("create_connection_from_callback", 201, "created", "The code from an allowed consent page.")(
        lambda s: s.call(
            "POST",
            "/connections/oauth/callback",
            query={"code": _oauth_code(s, "alice")},
            json_body=callback_body,
        )
    )
    add("create_connection_from_callback", 404, "unknown-code", "A code the consent page never issued.")(
        lambda s: s.call(
            "POST", "/connections/oauth/callback", query={"code": "4/0Anope"}, json_body=callback_body
        )
    )
    add(
        "create_connection_from_callback",
        409,
        "other-type",
        "A Notion code used for a Google Drive connection.",
    )(
        lambda s: s.call(
            "POST",
            "/connections/oauth/callback",
            query={"code": _oauth_code(s, "alice", "notion")},
            json_body=callback_body,
        )
    )
    add(
        "create_connection_from_callback",
        409,
        "bound",
        "A code from an allowed consent page, on a server started with --max-connections 25 (the code stays "
        "unused).",
        app="connection-bound",
    )(
        lambda s: s.call(
            "POST",
            "/connections/oauth/callback",
            query={"code": _oauth_code(s, "alice")},
            json_body=callback_body,
        )
    )
    add("create_connection_from_callback", 422, "missing-code", "No code in the query.")(
        lambda s: s.call("POST", "/connections/oauth/callback", json_body=callback_body)
    )
    reauthorize = {"provider_id": "gdrive", "connection_type_id": "gdrive", "connection_provider_data": {}}

    def reauthorize_call(s: Session, connection_id: str, code: str, user: str = "alice") -> Call:
        return s.call(
            "PUT",
            f"/connections/oauth/callback/{connection_id}",
            user=user,
            query={"code": code},
            json_body=reauthorize,
        )

    add(
        "update_connection_from_callback",
        200,
        "ok",
        "Re-authorize a Google Drive connection with a new code.",
    )(lambda s: reauthorize_call(s, _gdrive_connection(s), _oauth_code(s, "alice")))
    add("update_connection_from_callback", 404, "unknown-code", "A code the consent page never issued.")(
        lambda s: reauthorize_call(s, _gdrive_connection(s), "4/0Anope")
    )
    add(
        "update_connection_from_callback",
        409,
        "other-provider",
        "Re-authorizing a Google Drive connection with Notion.",
    )(
        lambda s: s.call(
            "PUT",
            f"/connections/oauth/callback/{_gdrive_connection(s)}",
            query={"code": "4/0Anope"},
            json_body={**reauthorize, "provider_id": "notion", "connection_type_id": "notion"},
        )
    )
    add(
        "update_connection_from_callback",
        403,
        "viewer",
        "Bob, a viewer of the connection, with his own code.",
    )(
        lambda s: reauthorize_call(
            s, _connection_where(s, "bob", "viewer", "gdrive")["connection_id"], _oauth_code(s, "bob"), "bob"
        )
    )
    add("update_connection_from_callback", 404, "not-found", "An id no connection has.")(
        lambda s: reauthorize_call(s, UNKNOWN_UUID, _oauth_code(s, "alice"))
    )
    add("update_connection_from_callback", 422, "missing-code", "No code in the query.")(
        lambda s: s.call("PUT", f"/connections/oauth/callback/{_gdrive_connection(s)}", json_body=reauthorize)
    )

    # ------------------------------------------------ resources
    def first_resource(s: Session, connection_id: str) -> str:
        page = s.get(f"/connections/{connection_id}/resources/children", page_size=1)
        return str(page["data"][0]["resource_id"])

    def resources_call(s: Session) -> Call:
        connection_id = _gdrive_connection(s)
        return s.call(
            "GET",
            f"/connections/{connection_id}/resources",
            query={"resource_ids": first_resource(s, connection_id)},
        )

    add("get_connection_resources", 200, "ok", "Resources by id.")(resources_call)
    by_id("get_connection_resources", "GET", "/resources")
    add("get_children_resources", 200, "ok", "The first page of the root folder, three items.")(
        lambda s: s.call(
            "GET", f"/connections/{_gdrive_connection(s)}/resources/children", query={"page_size": 3}
        )
    )
    add("get_children_resources", 404, "not-found", "An id no connection has.")(
        lambda s: s.call("GET", f"/connections/{UNKNOWN_UUID}/resources/children")
    )
    add("get_children_resources", 404, "unknown-cursor", "A well-formed cursor the mock did not sign.")(
        lambda s: s.call(
            "GET", f"/connections/{_gdrive_connection(s)}/resources/children", query={"cursor": "AAAA"}
        )
    )
    add("get_children_resources", 422, "malformed-cursor", "A cursor outside both base64 alphabets.")(
        lambda s: s.call(
            "GET", f"/connections/{_gdrive_connection(s)}/resources/children", query={"cursor": "AA.A~"}
        )
    )
    add("search_resources", 200, "ok", "Search the whole tree, four items per page.")(
        lambda s: s.call(
            "GET",
            f"/connections/{_gdrive_connection(s)}/resources/search",
            query={"query": "re", "page_size": 4},
        )
    )
    add("search_resources", 404, "not-found", "An id no connection has.")(
        lambda s: s.call("GET", f"/connections/{UNKNOWN_UUID}/resources/search", query={"query": "re"})
    )
    add("search_resources", 422, "missing-query", "No query parameter.")(
        lambda s: s.call("GET", f"/connections/{_gdrive_connection(s)}/resources/search")
    )

    # ------------------------------------------------ paginated list and RBAC
    add("get_paginated_connections", 200, "ok", "Sorted by name, filtered by provider, five per page.")(
        lambda s: s.call(
            "GET",
            "/api/v1/connections",
            query=[("limit", "5"), ("sort_by", "name"), ("sort_dir", "asc"), ("provider_id__eq", "gdrive")],
        )
    )
    add("get_paginated_connections", 422, "invalid-filter", "A filter whose value is not a datetime.")(
        lambda s: s.call("GET", "/api/v1/connections", query={"created_at__gt": "soon"})
    )
    add("get_connection_rbac", 200, "ok", "Who has which role on a connection.")(
        lambda s: s.call("GET", f"/api/v1/connections/{_gdrive_connection(s)}/rbac")
    )

    def rbac_by_id(operation_id: str, method: str, suffix: str, **kwargs: Any) -> None:
        add(operation_id, 404, "not-found", "An id no connection has.")(
            lambda s: s.call(method, f"/api/v1/connections/{UNKNOWN_UUID}{suffix}", **kwargs)
        )
        add(operation_id, 422, "invalid-id", "A connection id that is not a UUID.")(
            lambda s: s.call(method, f"/api/v1/connections/{NOT_AN_ID}{suffix}", **kwargs)
        )

    rbac_by_id("get_connection_rbac", "GET", "/rbac")
    grant = {"subject_type": "user", "role": "viewer", "subject_id": _stack_ai_user_id("bob")}
    add("update_connection_rbac", 200, "ok", "Grant bob the viewer role.")(
        lambda s: s.call("PUT", f"/api/v1/connections/{_gdrive_connection(s)}/rbac", json_body=grant)
    )
    add("update_connection_rbac", 403, "editor", "Bob is an editor; managing access takes an admin.")(
        lambda s: s.call(
            "PUT",
            f"/api/v1/connections/{_connection_where(s, 'bob', 'editor')['connection_id']}/rbac",
            user="bob",
            json_body={**grant, "role": "admin"},
        )
    )
    add("update_connection_rbac", 422, "invalid-role", "A role that does not exist.")(
        lambda s: s.call(
            "PUT", f"/api/v1/connections/{_gdrive_connection(s)}/rbac", json_body={**grant, "role": "owner"}
        )
    )
    add("update_connection_rbac", 404, "not-found", "An id no connection has.")(
        lambda s: s.call("PUT", f"/api/v1/connections/{UNKNOWN_UUID}/rbac", json_body=grant)
    )
    add("update_connection_rbac", 404, "unknown-subject", "A user id of no member of the organization.")(
        lambda s: s.call(
            "PUT",
            f"/api/v1/connections/{_gdrive_connection(s)}/rbac",
            json_body={**grant, "subject_id": UNKNOWN_UUID},
        )
    )

    def existing_grant(s: Session, connection_id: str) -> list[tuple[str, str]]:
        rbac = s.get(f"/api/v1/connections/{connection_id}/rbac")
        for subject_type, roles in (("user", rbac["user_roles"]), ("group", rbac["group_roles"])):
            for subjects in roles.values():
                if subjects:
                    return [("subject_type", subject_type), ("subject_id", subjects[0])]
        raise GenerationError(f"connection {connection_id} has no grant")

    def unshare(s: Session, connection_id: str, user: str = "alice") -> Call:
        return s.call(
            "DELETE",
            f"/api/v1/connections/{connection_id}/rbac",
            user=user,
            query=existing_grant(s, connection_id),
        )

    add("delete_connection_rbac", 204, "deleted", "Remove a user's grant.")(
        lambda s: unshare(s, _gdrive_connection(s))
    )
    add("delete_connection_rbac", 403, "editor", "Bob is an editor; managing access takes an admin.")(
        lambda s: unshare(s, _connection_where(s, "bob", "editor")["connection_id"], "bob")
    )
    add("delete_connection_rbac", 404, "not-found", "An id no connection has.")(
        lambda s: s.call(
            "DELETE",
            f"/api/v1/connections/{UNKNOWN_UUID}/rbac",
            query={"subject_type": "user", "subject_id": _stack_ai_user_id("bob")},
        )
    )
    add("delete_connection_rbac", 422, "missing-subject", "No subject_type or subject_id.")(
        lambda s: s.call("DELETE", f"/api/v1/connections/{_gdrive_connection(s)}/rbac")
    )
    role = {"role": "viewer"}
    add("update_connection_organization_role", 200, "ok", "Everyone in the organization may view.")(
        lambda s: s.call(
            "PATCH", f"/api/v1/connections/{_gdrive_connection(s)}/organization-role", json_body=role
        )
    )
    add(
        "update_connection_organization_role",
        403,
        "editor",
        "Bob is an editor; managing access takes an admin.",
    )(
        lambda s: s.call(
            "PATCH",
            f"/api/v1/connections/{_connection_where(s, 'bob', 'editor')['connection_id']}/organization-role",
            user="bob",
            json_body=role,
        )
    )
    add("update_connection_organization_role", 422, "invalid-role", "A role that does not exist.")(
        lambda s: s.call(
            "PATCH",
            f"/api/v1/connections/{_gdrive_connection(s)}/organization-role",
            json_body={"role": "god"},
        )
    )
    rbac_by_id("update_connection_organization_role", "PATCH", "/organization-role", json_body=role)
    _file_picker(book)
    return book


# ---------------------------------------------------------------- the file-picker walkthrough

UPLOAD_BOUNDARY = "mockserver-fixture-boundary"
GLOBEX_ORG = next(user.org_id for user in USERS if user.key == "carol")


def _multipart(fields: dict[str, str], file: tuple[str, str, bytes] | None) -> bytes:
    """A multipart/form-data body with a fixed boundary (the fixtures stay byte-stable)."""
    lines: list[bytes] = []
    for name, value in fields.items():
        lines += [f"--{UPLOAD_BOUNDARY}".encode(), f'Content-Disposition: form-data; name="{name}"'.encode()]
        lines += [b"", value.encode()]
    if file is not None:
        filename, content_type, data = file
        lines += [
            f"--{UPLOAD_BOUNDARY}".encode(),
            f'Content-Disposition: form-data; name="file"; filename="{filename}"'.encode(),
            f"Content-Type: {content_type}".encode(),
            b"",
            data,
        ]
    lines += [f"--{UPLOAD_BOUNDARY}--".encode(), b""]
    return b"\r\n".join(lines)


def _upload(s: Session, kb_id: str, path: str, *, user: str = "alice", file: bool = True) -> Call:
    body = _multipart(
        {"resource_type": "file", "resource_path": path},
        ("meeting-notes.txt", "text/plain", b"Notes of the kick-off meeting.\n") if file else None,
    )
    return s.call(
        "POST",
        f"/knowledge_bases/{kb_id}/resources",
        user=user,
        headers={"Content-Type": f"multipart/form-data; boundary={UPLOAD_BOUNDARY}"},
        content=body,
    )


def _kb_body(s: Session, **extra: Any) -> dict[str, Any]:
    """The walkthrough's create body: the first folder of a Google Drive connection and a file inside it."""
    connection_id = _gdrive_connection(s)
    root = s.get(f"/connections/{connection_id}/resources/children", page_size=50)["data"]
    folder = next(item for item in root if item["inode_type"] == "directory")
    inside = s.get(f"/connections/{connection_id}/resources/children", resource_id=folder["resource_id"])
    first_file = next(item for item in inside["data"] if item["inode_type"] == "file")
    return {
        "connection_id": connection_id,
        "connection_source_ids": [folder["resource_id"], first_file["resource_id"]],
        "indexing_params": {
            "ocr": False,
            "unstructured": True,
            "embedding_params": {"embedding_model": "text-embedding-ada-002", "api_key": None},
            "chunker_params": {"chunk_size": 1500, "chunk_overlap": 500, "chunker": "sentence"},
        },
        "org_level_role": None,
        "cron_job_id": None,
        **extra,
    }


def _kb(s: Session, **extra: Any) -> dict[str, Any]:
    created: dict[str, Any] = s.expect(s.call("POST", "/knowledge_bases", json_body=_kb_body(s, **extra)))
    return created


def _synced(s: Session, **extra: Any) -> dict[str, Any]:
    kb = _kb(s, **extra)
    s.get(f"/knowledge_bases/sync/trigger/{kb['knowledge_base_id']}/{kb['org_id']}")
    return kb


def _kb_file(s: Session, kb: dict[str, Any]) -> str:
    """The path of a file two levels down (the selected folder's first file)."""
    kb_id = kb["knowledge_base_id"]
    folder = s.get(f"/knowledge_bases/{kb_id}/resources/children", resource_path="/")["data"][0]
    inside = s.get(f"/knowledge_bases/{kb_id}/resources/children", resource_path=folder["inode_path"]["path"])
    return str(next(item for item in inside["data"] if item["inode_type"] == "file")["inode_path"]["path"])


def _file_picker(book: CaseBook) -> None:
    add = book.add
    password = {"email": "alice@acme.test", "password": "mock-password-alice", "gotrue_meta_security": {}}

    def token(s: Session, grant: str, body: dict[str, Any]) -> Call:
        return s.call("POST", "/auth/v1/token", anonymous=True, query={"grant_type": grant}, json_body=body)

    add("sign_in", 200, "password", "Alice signs in with her documented password.")(
        lambda s: token(s, "password", password)
    )

    def refresh(s: Session) -> Call:
        session = s.expect(token(s, "password", password))
        return token(s, "refresh_token", {"refresh_token": session["refresh_token"]})

    add("sign_in", 200, "refresh", "The refresh token of a sign-in, exchanged for a new pair.")(refresh)
    add("sign_in", 400, "wrong-password", "A wrong password: the auth service's error body.")(
        lambda s: token(s, "password", {**password, "password": "wrong"})
    )
    add("sign_in", 400, "unknown-refresh-token", "A refresh token the mock never issued.")(
        lambda s: token(s, "refresh_token", {"refresh_token": "never-issued"})
    )
    add("sign_in", 422, "unknown-grant", "A grant type the auth service does not offer.")(
        lambda s: token(s, "magic_link", password)
    )

    def signed_in(s: Session, grant_body: dict[str, Any] = password) -> dict[str, str]:
        session = s.expect(token(s, "password", grant_body))
        return {"Authorization": f"Bearer {session['access_token']}"}

    add("get_auth_user", 200, "ok", "The user of a session, as the Supabase client's getUser() reads it.")(
        lambda s: s.call("GET", "/auth/v1/user", anonymous=True, headers=signed_in(s))
    )
    add("sign_out", 204, "global", "Sign out every session of the user (their refresh tokens stop working).")(
        lambda s: s.call("POST", "/auth/v1/logout", anonymous=True, headers=signed_in(s))
    )
    add("sign_out", 422, "unknown-scope", "A scope the auth service does not know.")(
        lambda s: s.call(
            "POST", "/auth/v1/logout", anonymous=True, headers=signed_in(s), query={"scope": "all"}
        )
    )
    add("get_current_organization", 200, "ok", "Alice's organization.")(
        lambda s: s.call("GET", "/organizations/me/current")
    )

    def kb_path(kb: dict[str, Any], suffix: str = "") -> str:
        return f"/knowledge_bases/{kb['knowledge_base_id']}{suffix}"

    add("create_knowledge_base", 200, "walkthrough", "A folder and a file inside it (indexed once).")(
        lambda s: s.call("POST", "/knowledge_bases", json_body=_kb_body(s))
    )
    add("create_knowledge_base", 404, "unknown-resource", "A resource id the connection does not have.")(
        lambda s: s.call(
            "POST", "/knowledge_bases", json_body={**_kb_body(s), "connection_source_ids": ["1nope"]}
        )
    )

    def past_the_bound(s: Session) -> Call:
        body = {"connection_id": _gdrive_connection(s), "connection_source_ids": []}
        for _ in range(MAX_KNOWLEDGE_BASES):
            s.expect(s.call("POST", "/knowledge_bases", json_body=body))
        return s.call("POST", "/knowledge_bases", json_body=body)

    add("create_knowledge_base", 409, "bound", f"The organization already holds {MAX_KNOWLEDGE_BASES}.")(
        past_the_bound
    )
    add("create_knowledge_base", 404, "unknown-connection", "A connection id no connection has.")(
        lambda s: s.call("POST", "/knowledge_bases", json_body={**_kb_body(s), "connection_id": UNKNOWN_UUID})
    )
    add("create_knowledge_base", 422, "missing-sources", "No connection_source_ids.")(
        lambda s: s.call("POST", "/knowledge_bases", json_body={"connection_id": _gdrive_connection(s)})
    )
    add("list_knowledge_bases", 200, "ok", "The organization's knowledge bases (one, just created).")(
        lambda s: (_kb(s), s.call("GET", "/knowledge_bases"))[1]
    )
    add("list_knowledge_bases", 422, "invalid-limit", "A limit that is not an integer.")(
        lambda s: s.call("GET", "/knowledge_bases", query={"limit": "many"})
    )
    add("get_knowledge_base", 200, "syncing", "Right after a sync: nothing indexed yet on the frozen clock.")(
        lambda s: s.call("GET", kb_path(_synced(s)))
    )

    def by_id(operation_id: str, method: str, suffix: str = "", **kwargs: Any) -> None:
        add(operation_id, 404, "not-found", "An id no knowledge base has.")(
            lambda s: s.call(method, f"/knowledge_bases/{UNKNOWN_UUID}{suffix}", **kwargs)
        )
        add(operation_id, 422, "invalid-id", "A knowledge-base id that is not a UUID.")(
            lambda s: s.call(method, f"/knowledge_bases/{NOT_AN_ID}{suffix}", **kwargs)
        )

    by_id("get_knowledge_base", "GET")
    rename = {"name": "Research papers", "description": "Papers the team reads"}
    add("update_knowledge_base", 200, "renamed", "A new name and description.")(
        lambda s: s.call("PATCH", kb_path(_kb(s)), json_body=rename)
    )
    add(
        "update_knowledge_base",
        403,
        "viewer",
        "Bob sees the knowledge base through its org-level viewer role.",
    )(lambda s: s.call("PATCH", kb_path(_kb(s, org_level_role="viewer")), user="bob", json_body=rename))
    by_id("update_knowledge_base", "PATCH", json_body=rename)
    add("delete_knowledge_base", 204, "deleted", "Alice deletes a knowledge base she created.")(
        lambda s: s.call("DELETE", kb_path(_kb(s)))
    )
    add(
        "delete_knowledge_base", 403, "editor", "Bob is an editor (org-level role); deleting takes an admin."
    )(lambda s: s.call("DELETE", kb_path(_kb(s, org_level_role="editor")), user="bob"))
    by_id("delete_knowledge_base", "DELETE")

    def sync(s: Session, kb: dict[str, Any], org_id: str | None = None, user: str = "alice") -> Call:
        return s.call(
            "GET",
            f"/knowledge_bases/sync/trigger/{kb['knowledge_base_id']}/{org_id or kb['org_id']}",
            user=user,
        )

    add("sync_knowledge_base", 200, "started", "Indexing starts; the answer is null.")(
        lambda s: sync(s, _kb(s))
    )
    add("sync_knowledge_base", 403, "viewer", "Bob may only view this knowledge base.")(
        lambda s: sync(s, _kb(s, org_level_role="viewer"), user="bob")
    )
    add("sync_knowledge_base", 404, "other-organization", "The org_id of another organization.")(
        lambda s: sync(s, _kb(s), GLOBEX_ORG)
    )
    add("sync_knowledge_base", 422, "invalid-id", "A knowledge-base id that is not a UUID.")(
        lambda s: s.call("GET", f"/knowledge_bases/sync/trigger/{NOT_AN_ID}/{GLOBEX_ORG}")
    )
    children = "/resources/children"
    add("list_knowledge_base_children", 200, "root", "The top level: virtual folders, then files, pending.")(
        lambda s: s.call("GET", kb_path(_synced(s), children), query={"resource_path": "/"})
    )

    def folder_page(s: Session) -> Call:
        kb = _synced(s)
        folder = s.get(kb_path(kb, children), resource_path="/")["data"][0]["inode_path"]["path"]
        return s.call("GET", kb_path(kb, children), query={"resource_path": f"/{folder}", "page_size": 3})

    add("list_knowledge_base_children", 200, "folder", "Three files of a folder, each with its status.")(
        folder_page
    )
    add(
        "list_knowledge_base_children", 400, "unknown-path", "A path that is no folder of the knowledge base."
    )(lambda s: s.call("GET", kb_path(_kb(s), children), query={"resource_path": "/nope"}))
    add("list_knowledge_base_children", 404, "not-found", "An id no knowledge base has.")(
        lambda s: s.call("GET", f"/knowledge_bases/{UNKNOWN_UUID}{children}")
    )
    add("list_knowledge_base_children", 422, "invalid-page-size", "A page size above 1000.")(
        lambda s: s.call("GET", kb_path(_kb(s), children), query={"page_size": 5000})
    )
    resources = "/resources"
    add("delete_knowledge_base_resource", 204, "deleted", "A file goes from the knowledge base.")(
        lambda s: (
            kb := _kb(s),
            s.call("DELETE", kb_path(kb, resources), query={"resource_path": _kb_file(s, kb)}),
        )[1]
    )

    def delete_folder(s: Session) -> Call:
        kb = _kb(s)
        folder = s.get(kb_path(kb, children), resource_path="/")["data"][0]["inode_path"]["path"]
        return s.call("DELETE", kb_path(kb, resources), query={"resource_path": f"/{folder}"})

    add("delete_knowledge_base_resource", 409, "folder", "For now, only files can be deleted.")(delete_folder)
    add("delete_knowledge_base_resource", 403, "viewer", "Bob may only view this knowledge base.")(
        lambda s: (
            kb := _kb(s, org_level_role="viewer"),
            s.call("DELETE", kb_path(kb, resources), user="bob", query={"resource_path": _kb_file(s, kb)}),
        )[1]
    )
    add("delete_knowledge_base_resource", 404, "unknown-path", "A path no file of the knowledge base has.")(
        lambda s: s.call("DELETE", kb_path(_kb(s), resources), query={"resource_path": "/nope.pdf"})
    )
    add("delete_knowledge_base_resource", 422, "missing-path", "No resource_path.")(
        lambda s: s.call("DELETE", kb_path(_kb(s), resources))
    )
    add("upload_knowledge_base_resource", 202, "accepted", "A text file uploaded into a new folder.")(
        lambda s: _upload(s, _kb(s)["knowledge_base_id"], "/uploads/meeting-notes.txt")
    )

    def upload_on_folder(s: Session) -> Call:
        kb = _kb(s)
        folder = s.get(kb_path(kb, children), resource_path="/")["data"][0]["inode_path"]["path"]
        return _upload(s, kb["knowledge_base_id"], f"/{folder}")

    add(
        "upload_knowledge_base_resource",
        409,
        "folder-path",
        "A resource_path that is a folder's (no trailing /).",
    )(upload_on_folder)
    add("upload_knowledge_base_resource", 403, "viewer", "Bob may only view this knowledge base.")(
        lambda s: _upload(s, _kb(s, org_level_role="viewer")["knowledge_base_id"], "/notes.txt", user="bob")
    )
    add("upload_knowledge_base_resource", 404, "not-found", "An id no knowledge base has.")(
        lambda s: _upload(s, UNKNOWN_UUID, "/notes.txt")
    )
    add("upload_knowledge_base_resource", 422, "json-body", "A JSON body instead of the multipart form.")(
        lambda s: s.call(
            "POST",
            kb_path(_kb(s), resources),
            json_body={"resource_type": "file", "resource_path": "/notes.txt"},
        )
    )


def cases() -> ApiCases:
    return ApiCases(
        api="stack-ai",
        default_user="alice",
        cases=with_derived("stack-ai", _explicit()),
        apps={"default": {}, "connection-bound": {"max_connections": 25}},
    )
