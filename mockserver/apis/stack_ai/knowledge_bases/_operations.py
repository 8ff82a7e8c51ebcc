"""The knowledge-base operations of the vendor's file-picker walkthrough.

Access (inferred, the connections' rules): a knowledge base belongs to its organization; its creator is
its admin, `org_level_role` opens it to every member, and organization admins are admins of all. Reading
needs `viewer`, changing (rename, sync, upload, file delete) `editor`, deleting `admin`. Without a role,
or from another organization, a knowledge base is a 404. Building one needs a role on the connection.
Deleting a connection deletes the knowledge bases built from it (inferred; see `_connections.py`).
Bounded: `MAX_KNOWLEDGE_BASES` per organization and `MAX_FILES` per knowledge base (409 beyond).
Errors (inferred but the documented 400 of an unknown `resource_path` on the children listing): what no
schema can say is a 404 (an unknown resource, knowledge base or file) or a 409 (a folder where a file is
needed, a file where a folder is, a bound reached), as on the connection routes.
"""

from __future__ import annotations

import hashlib
import mimetypes
from typing import Any

from ...._api import NO_BODY, MockResponse, OperationContext, Problem
from ...._forms import UploadedFile
from .._access import RANK, Viewer, caller, not_found, organization_of
from .._cursor import decode_cursor, encode_cursor
from .._rand import stable_uuid
from .._resources import Node, Tree, resource_json, tree_of
from .._state import Connection, Organization, StackAiState
from ._indexing import settle_due, start_job
from ._model import MAX_FILES, KbFile, KnowledgeBase
from ._render import file_json, folder_json, knowledge_base_json

__all__ = [
    "MAX_KNOWLEDGE_BASES",
    "create_knowledge_base",
    "delete_knowledge_base",
    "delete_knowledge_base_resource",
    "get_knowledge_base",
    "list_knowledge_base_children",
    "list_knowledge_bases",
    "sync_knowledge_base",
    "update_knowledge_base",
    "upload_knowledge_base_resource",
]

MAX_KNOWLEDGE_BASES = 1000
DEFAULT_NAME = "Unnamed Knowledge Base"
KNOWLEDGE_BASE_NOT_FOUND = "Knowledge base not found"
_VERBS = {"editor": "modify", "admin": "delete"}


def _bad_request(message: str) -> Problem:
    return Problem(400, message, "bad_request")


def _conflict(message: str) -> Problem:
    """What no schema can say and conflicts with stored state (a folder where a file is needed, a bound)."""
    return Problem(409, message, "conflict")


def _load(
    ctx: OperationContext, *, need: str = "viewer"
) -> tuple[StackAiState, Organization, KnowledgeBase, Viewer, str]:
    state, organization, user = organization_of(ctx)
    kb = organization.knowledge_bases.get(str(ctx.path["knowledge_base_id"]).lower())
    viewer = Viewer(organization, user)
    role = viewer.role(kb) if kb is not None else None
    if kb is None or role is None:
        raise not_found(KNOWLEDGE_BASE_NOT_FOUND)
    settle_due(kb, state.clock.now)
    if RANK[role] < RANK[need]:
        raise Problem(
            403,
            f"You do not have permission to {_VERBS[need]} this knowledge base (your role: {role}; "
            f"required: {need})",
            "forbidden",
        )
    return state, organization, kb, viewer, role


def _connection_of(organization: Organization, kb: KnowledgeBase) -> Connection | None:
    return organization.connections.get(kb.connection_id)


def _indexing_params(body: Any) -> dict[str, Any]:
    given = body.get("indexing_params") or {}
    embedding = given.get("embedding_params") or {}
    chunker = given.get("chunker_params") or {}
    model = embedding.get("embedding_model", "text-embedding-ada-002")
    return {
        "ocr": given.get("ocr", False),
        "unstructured": given.get("unstructured", True),
        "embedding_params": {
            "api": embedding.get("api_key"),
            "base_url": None,
            "embedding_model": model,
            "provider": "openai" if model.startswith("text-embedding") else None,
            "batch_size": 300,
            "track_usage": True,
            "timeout": 5,
        },
        "chunker_params": {
            "chunk_size": chunker.get("chunk_size", 1500),
            "chunk_overlap": chunker.get("chunk_overlap", 500),
            "chunker_type": chunker.get("chunker", "sentence"),
        },
    }


def _connection_file(
    state: StackAiState, tree: Tree, node: Node, connection: Connection, organization: Organization
) -> KbFile:
    shown = resource_json(state, tree, node, connection, organization)
    return KbFile(
        path=shown["inode_path"]["path"],
        resource_id=shown["resource_id"],
        node=node.path,
        size=shown["size"] or 0,
        mime=shown["content_mime"] or "application/octet-stream",
        content_hash=shown["content_hash"] or "",
        created_at=0,
        modified_at=0,
    )


def _selected_files(
    state: StackAiState, connection: Connection, organization: Organization, source_ids: list[str]
) -> dict[str, KbFile]:
    """Every selected file and every file under a selected folder, each once (by path)."""
    tree = tree_of(state, connection)
    files: dict[str, KbFile] = {}
    for position, resource_id in enumerate(source_ids):
        node = tree.find(resource_id)
        if node is None:
            raise not_found(
                f"Resource not found: connection_source_ids[{position}] ({resource_id}) is not in connection "
                f"{connection.connection_id}"
            )
        stack = [node]
        while stack:
            item = stack.pop()
            if item.is_dir:
                stack.extend(tree.children(item.path))
                continue
            found = _connection_file(state, tree, item, connection, organization)
            files.setdefault(found.path, found)
            if len(files) > MAX_FILES:
                raise _conflict(f"A knowledge base holds at most {MAX_FILES} files")
    return files


def create_knowledge_base(ctx: OperationContext) -> MockResponse:
    state, organization, user = organization_of(ctx)
    body = ctx.body
    viewer = Viewer(organization, user)
    connection = organization.connections.get(str(body["connection_id"]).lower())
    if connection is None or viewer.role(connection) is None:
        raise not_found()
    if len(organization.knowledge_bases) >= MAX_KNOWLEDGE_BASES:
        raise _conflict(f"An organization holds at most {MAX_KNOWLEDGE_BASES} knowledge bases")
    source_ids = [str(item) for item in body["connection_source_ids"]]
    files = _selected_files(state, connection, organization, source_ids)
    now = state.clock.tick()
    state.knowledge_bases_created += 1
    kb = KnowledgeBase(
        knowledge_base_id=_new_id(state),
        org_id=organization.org_id,
        connection_id=connection.connection_id,
        connection_provider_type=connection.provider_id,
        name=body.get("name", DEFAULT_NAME),
        description=body.get("description", ""),
        connection_source_ids=source_ids,
        indexing_params=_indexing_params(body),
        cron_job_id=body.get("cron_job_id"),
        org_level_role=body.get("org_level_role"),
        created_at=now,
        updated_at=now,
        created_by=user.user_id,
        user_roles={"admin": [user.user_id]},
    )
    for path in sorted(files):
        kb.add_file(files[path])
    organization.knowledge_bases[kb.knowledge_base_id] = kb
    return MockResponse(200, knowledge_base_json(state, kb, viewer.role(kb)))


def _new_id(state: StackAiState) -> str:
    return stable_uuid("stack-ai", state.seed, "knowledge-base", state.knowledge_bases_created)


def get_knowledge_base(ctx: OperationContext) -> MockResponse:
    state, _, kb, _, role = _load(ctx)
    return MockResponse(200, knowledge_base_json(state, kb, role))


def list_knowledge_bases(ctx: OperationContext) -> MockResponse:
    state, organization, user = organization_of(ctx)
    viewer = Viewer(organization, user)
    offset, limit = int(ctx.query["offset"]), int(ctx.query["limit"])
    shown = []
    for kb in organization.knowledge_bases.values():
        role = viewer.role(kb)
        if role is not None:
            shown.append((kb, role))
    return MockResponse(
        200, [knowledge_base_json(state, kb, role) for kb, role in shown[offset : offset + limit]]
    )


def update_knowledge_base(ctx: OperationContext) -> MockResponse:
    state, _, kb, _, role = _load(ctx, need="editor")
    body = ctx.body
    kb.name = body.get("name", kb.name)
    kb.description = body.get("description", kb.description)
    kb.updated_at = state.clock.tick()
    return MockResponse(200, knowledge_base_json(state, kb, role))


def delete_knowledge_base(ctx: OperationContext) -> MockResponse:
    _, organization, kb, _, _ = _load(ctx, need="admin")
    del organization.knowledge_bases[kb.knowledge_base_id]
    return MockResponse(204, NO_BODY)


def sync_knowledge_base(ctx: OperationContext) -> MockResponse:
    """Index every file that is not indexed and not on its way (inferred: indexed files stay as they are)."""
    state, organization, kb, _, _ = _load(ctx, need="editor")
    if str(ctx.path["org_id"]).lower() != organization.org_id:
        raise not_found(KNOWLEDGE_BASE_NOT_FOUND)
    waiting = [file for file in kb.files.values() if not file.job and file.status != "indexed"]
    if start_job(state, kb, waiting) is None and not kb.jobs:
        kb.last_synced_at = state.clock.now
    return MockResponse(200, None)


def _folder_path(text: str) -> str:
    return text.strip("/")


def list_knowledge_base_children(ctx: OperationContext) -> MockResponse:
    state, organization, kb, _, _ = _load(ctx)
    requested = str(ctx.query.get("resource_path") or "/")
    folder = _folder_path(requested)
    page_size = int(ctx.query["page_size"])
    cursor = ctx.query.get("cursor") or None
    scope = [kb.knowledge_base_id, folder]
    offset = int(decode_cursor(state.secret, cursor, kind="kb-children", scope=scope)) if cursor else 0
    if kb.folders.has_folder(folder):
        entries = kb.folders.children(folder)
    elif folder in kb.files:
        entries = []  # a file has no children, as in a connection's listing
    else:
        raise _bad_request(f"Resource path not found in the knowledge base: {requested}")
    end = offset + page_size
    connection = _connection_of(organization, kb)
    prefix = f"{folder}/" if folder else ""
    now = state.clock.now
    data = [
        folder_json(kb, prefix + name)
        if kind == 0
        else file_json(state, organization, kb, kb.files[prefix + name], connection, now)
        for kind, _, name in entries[offset:end]
    ]
    next_cursor = (
        encode_cursor(state.secret, {"k": "kb-children", "s": scope, "p": end})
        if end < len(entries)
        else None
    )
    return MockResponse(200, {"data": data, "next_cursor": next_cursor, "current_cursor": cursor})


def delete_knowledge_base_resource(ctx: OperationContext) -> MockResponse:
    _, _, kb, _, _ = _load(ctx, need="editor")
    requested = str(ctx.query["resource_path"])
    path = _folder_path(requested)
    if path in kb.files:
        kb.remove_file(path)
        return MockResponse(204, NO_BODY)
    if kb.folders.has_folder(path):
        raise _conflict(f"Only files can be deleted: {requested} is a folder")
    raise not_found(f"Resource not found in the knowledge base: {requested}")


def _upload_path(requested: str, upload: UploadedFile) -> str:
    """Where an upload goes: the path's names (empty and `.` ones dropped), plus the file's own name when the
    path ends with `/` or names no file (`/` is the top level)."""
    parts = [part for part in requested.split("/") if part not in ("", ".")]
    if requested.endswith("/") or not parts:
        parts.append(upload.filename.replace("\\", "/").rsplit("/", 1)[-1] or "upload")
    return "/".join(parts)


def upload_knowledge_base_resource(ctx: OperationContext) -> MockResponse:
    state, organization, kb, _, _ = _load(ctx, need="editor")
    user = caller(ctx)
    form = ctx.body
    upload = form["file"]
    assert isinstance(upload, UploadedFile)
    path = _upload_path(str(form["resource_path"]), upload)
    if kb.folders.has_folder(path):
        raise _conflict(f"{path} is a folder of the knowledge base: name a file")
    if path not in kb.files and len(kb.files) >= MAX_FILES:
        raise _conflict(f"A knowledge base holds at most {MAX_FILES} files")
    ancestors = path.split("/")[:-1]
    for depth in range(1, len(ancestors) + 1):
        if "/".join(ancestors[:depth]) in kb.files:
            raise _conflict(
                f"{'/'.join(ancestors[:depth])} is a file of the knowledge base: it cannot hold files"
            )
    if path in kb.files:
        kb.remove_file(path)
    now = state.clock.tick()
    guessed = mimetypes.guess_type(path)[0]
    declared = upload.content_type if upload.content_type != "application/octet-stream" else None
    file = KbFile(
        path=path,
        resource_id=_uploaded_id(state, kb, path),
        node=None,
        size=upload.size,
        mime=declared or guessed or "application/octet-stream",
        content_hash=hashlib.sha256(upload.data).hexdigest(),
        created_at=now,
        modified_at=now,
        uploaded_by=user.email,
    )
    kb.add_file(file)
    start_job(state, kb, [file])
    return MockResponse(202, file_json(state, organization, kb, file, _connection_of(organization, kb)))


def _uploaded_id(state: StackAiState, kb: KnowledgeBase, path: str) -> str:
    return stable_uuid("stack-ai", state.seed, "upload", kb.knowledge_base_id, path, state.clock.now)
