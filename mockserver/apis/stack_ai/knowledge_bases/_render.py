"""Knowledge bases and their resources as the API shows them."""

from __future__ import annotations

from typing import Any

from ...._clock import format_instant
from .._masking import mask_value
from .._rand import stable_uuid
from .._resources import resource_json, tree_of
from .._state import Connection, Organization, StackAiState, iso_millis
from ._model import KbFile, KnowledgeBase

__all__ = ["VIRTUAL_DIRECTORY", "file_json", "folder_json", "knowledge_base_json"]

VIRTUAL_DIRECTORY = "STACK_VFS_VIRTUAL_DIRECTORY"


def knowledge_base_json(state: StackAiState, kb: KnowledgeBase, role: str | None) -> dict[str, Any]:
    indexed, errors = kb.counts(state.clock.now)
    params = kb.indexing_params
    embedding = dict(params["embedding_params"])
    embedding["api"] = mask_value(embedding["api"])
    return {
        "knowledge_base_id": kb.knowledge_base_id,
        "connection_id": kb.connection_id,
        "created_at": format_instant(kb.created_at),
        "updated_at": format_instant(kb.updated_at),
        "connection_source_ids": list(kb.connection_source_ids),
        "website_sources": [],
        "connection_provider_type": kb.connection_provider_type,
        "is_empty": not kb.files,
        "total_size": kb.total_size,
        "total_files": len(kb.files),
        "total_indexed_files": indexed,
        "total_error_files": errors,
        "last_synced_at": None if kb.last_synced_at is None else format_instant(kb.last_synced_at),
        "name": kb.name,
        "description": kb.description,
        "indexing_params": {**params, "embedding_params": embedding},
        "cron_job_id": kb.cron_job_id,
        "org_id": kb.org_id,
        "org_level_role": kb.org_level_role,
        "role": role,
        "user_metadata_schema": None,
        "dataloader_metadata_schema": None,
    }


def folder_json(kb: KnowledgeBase, path: str) -> dict[str, Any]:
    """A folder of a knowledge base: virtual (it exists because files are under it)."""
    return {
        "knowledge_base_id": kb.knowledge_base_id,
        "created_at": None,
        "modified_at": None,
        "indexed_at": None,
        "inode_type": "directory",
        "resource_id": VIRTUAL_DIRECTORY,
        "inode_path": {"path": path},
        "dataloader_metadata": {},
        "user_metadata": {},
        "inode_id": None,
        "content_hash": None,
        "content_mime": None,
        "size": None,
        "status": None,
        "supabase_signed_url": None,
    }


def file_json(
    state: StackAiState,
    organization: Organization,
    kb: KnowledgeBase,
    file: KbFile,
    connection: Connection | None,
    now: int | None = None,
) -> dict[str, Any]:
    """A file with its status at `now` (the mock clock's): the connection's resource, or the upload.

    Rendered once per status and kept in a bounded cache (a file has at most four: `resource`, `pending`,
    `parsed`, then its outcome). The key is all it shows: a path and resource id name one file for good (an
    upload to a taken path gets a new resource id), and the status with its `indexed_at`.
    """
    status, indexed_at = file.status_at(state.clock.now if now is None else now)
    key = (kb.knowledge_base_id, file.resource_id, file.path, status, indexed_at)
    rendered: dict[str, Any] = state.knowledge_base_files.get(
        key, lambda: _rendered(state, organization, kb, file, connection, status, indexed_at)
    )
    return rendered


def _rendered(
    state: StackAiState,
    organization: Organization,
    kb: KnowledgeBase,
    file: KbFile,
    connection: Connection | None,
    status: str,
    indexed_at: int | None,
) -> dict[str, Any]:
    return {
        **_static(state, organization, kb, file, connection),
        "indexed_at": None if indexed_at is None else iso_millis(indexed_at),
        "status": status,
    }


def _static(
    state: StackAiState,
    organization: Organization,
    kb: KnowledgeBase,
    file: KbFile,
    connection: Connection | None,
) -> dict[str, Any]:
    if file.node is not None and connection is not None:
        tree = tree_of(state, connection)
        base = resource_json(state, tree, tree.node(file.node), connection, organization)
    else:
        base = _uploaded(file)
    return {
        **base,
        "knowledge_base_id": kb.knowledge_base_id,
        "inode_id": stable_uuid("stack-ai", state.seed, "inode", kb.knowledge_base_id, file.path),
    }


def _uploaded(file: KbFile) -> dict[str, Any]:
    created, modified = iso_millis(file.created_at), iso_millis(file.modified_at)
    return {
        "knowledge_base_id": None,
        "created_at": created,
        "modified_at": modified,
        "indexed_at": None,
        "inode_type": "file",
        "resource_id": file.resource_id,
        "inode_path": {"path": file.path},
        "dataloader_metadata": {
            "path": file.path,
            "last_modified_at": modified,
            "last_modified_by": file.uploaded_by,
            "created_at": created,
            "created_by": file.uploaded_by,
        },
        "user_metadata": {},
        "inode_id": None,
        "content_hash": file.content_hash,
        "content_mime": file.mime,
        "size": file.size,
        "status": None,
        "supabase_signed_url": None,
    }
