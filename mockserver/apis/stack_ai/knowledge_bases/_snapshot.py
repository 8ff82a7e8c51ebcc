"""Knowledge bases in the Stack AI snapshot: each organization's, with their files and running jobs.

A file in a job keeps its job, `parsed_at`, `done_at` and `outcome`; a job's sorted completion times are
rebuilt from its files, and the schedule entry that settles it is in the snapshot's `clock.due`. The
folder index is derived data, rebuilt on import.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from ...._clock import format_instant
from .. import _snapshot as base
from .._resources import tree_of
from .._state import ROLES, Organization, StackAiState
from ._model import MAX_FILES, Job, KbFile, KnowledgeBase

__all__ = ["export_knowledge_bases", "import_knowledge_bases"]

_KB_KEYS = (
    "knowledge_base_id",
    "connection_id",
    "connection_provider_type",
    "name",
    "description",
    "connection_source_ids",
    "indexing_params",
    "cron_job_id",
    "org_level_role",
    "created_at",
    "updated_at",
    "created_by",
    "user_roles",
    "group_roles",
    "last_synced_at",
    "jobs",
    "jobs_started",
    "files",
)
_JOB_KEYS = ("job_id", "started")
_FILE_KEYS = (
    "path",
    "resource_id",
    "node",
    "size",
    "mime",
    "content_hash",
    "created_at",
    "modified_at",
    "uploaded_by",
    "status",
    "indexed_at",
    "job",
    "parsed_at",
    "done_at",
    "outcome",
)
_SETTLED = ("resource", "indexed", "error")
_OUTCOMES = ("indexed", "error")


def _instant(micros: int | None) -> str | None:
    return None if micros is None else format_instant(micros)


def export_knowledge_bases(organization: Organization) -> list[dict[str, Any]]:
    return [
        {
            "knowledge_base_id": kb.knowledge_base_id,
            "connection_id": kb.connection_id,
            "connection_provider_type": kb.connection_provider_type,
            "name": kb.name,
            "description": kb.description,
            "connection_source_ids": list(kb.connection_source_ids),
            "indexing_params": kb.indexing_params,
            "cron_job_id": kb.cron_job_id,
            "org_level_role": kb.org_level_role,
            "created_at": format_instant(kb.created_at),
            "updated_at": format_instant(kb.updated_at),
            "created_by": kb.created_by,
            "user_roles": {role: list(ids) for role, ids in kb.user_roles.items()},
            "group_roles": {role: list(ids) for role, ids in kb.group_roles.items()},
            "last_synced_at": _instant(kb.last_synced_at),
            "jobs": [
                {"job_id": job.job_id, "started": format_instant(job.started)} for job in kb.jobs.values()
            ],
            "jobs_started": kb.jobs_started,
            "files": [_export_file(file) for file in kb.files.values()],
        }
        for kb in organization.knowledge_bases.values()
    ]


def _export_file(file: KbFile) -> dict[str, Any]:
    return {
        "path": file.path,
        "resource_id": file.resource_id,
        "node": None if file.node is None else list(file.node),
        "size": file.size,
        "mime": file.mime,
        "content_hash": file.content_hash,
        "created_at": format_instant(file.created_at),
        "modified_at": format_instant(file.modified_at),
        "uploaded_by": file.uploaded_by,
        "status": file.status,
        "indexed_at": _instant(file.indexed_at),
        "job": file.job,
        "parsed_at": _instant(file.parsed_at) if file.job else None,
        "done_at": _instant(file.done_at) if file.job else None,
        "outcome": file.outcome or None,
    }


def import_knowledge_bases(state: StackAiState, organization: Organization, items: Any, where: str) -> None:
    """Fill `organization.knowledge_bases` from `export_knowledge_bases`'s output; ValueError names the fault."""
    for index, item in enumerate(base._list(items, where)):
        at = f"{where}[{index}]"
        data = base._object(item, at, _KB_KEYS)
        kb_id = base._uuid(data["knowledge_base_id"], f"{at}.knowledge_base_id")
        if any(kb_id in org.knowledge_bases for org in state.organizations.values()):
            raise ValueError(f"{at}: knowledge base {kb_id} appears twice")
        connection = organization.connections.get(base._uuid(data["connection_id"], f"{at}.connection_id"))
        if connection is None:
            raise ValueError(
                f"{at}.connection_id: no connection {data['connection_id']} in {organization.name}"
            )
        if base._uuid(data["created_by"], f"{at}.created_by") not in organization.members:
            raise ValueError(f"{at}.created_by: {data['created_by']} is not a member of {organization.name}")
        role = data["org_level_role"]
        if role is not None:
            base._choice(role, f"{at}.org_level_role", ROLES)
        params = data["indexing_params"]
        if not isinstance(params, Mapping) or not isinstance(params.get("embedding_params"), Mapping):
            raise ValueError(f"{at}.indexing_params must be an object with embedding_params")
        source_ids = base._list(data["connection_source_ids"], f"{at}.connection_source_ids")
        kb = KnowledgeBase(
            knowledge_base_id=kb_id,
            org_id=organization.org_id,
            connection_id=connection.connection_id,
            connection_provider_type=base._string(
                data["connection_provider_type"], f"{at}.connection_provider_type"
            ),
            name=base._string(data["name"], f"{at}.name", empty=False),
            description=base._string(data["description"], f"{at}.description"),
            connection_source_ids=[
                base._string(s, f"{at}.connection_source_ids[{i}]") for i, s in enumerate(source_ids)
            ],
            indexing_params=dict(params),
            cron_job_id=base._optional_string(data["cron_job_id"], f"{at}.cron_job_id"),
            org_level_role=role,
            created_at=base._time(data["created_at"], f"{at}.created_at"),
            updated_at=base._time(data["updated_at"], f"{at}.updated_at"),
            created_by=data["created_by"],
            user_roles=base._grants(
                data["user_roles"], f"{at}.user_roles", organization.members, "member", organization
            ),
            group_roles=base._grants(
                data["group_roles"], f"{at}.group_roles", organization.groups, "group", organization
            ),
            last_synced_at=_optional_time(data["last_synced_at"], f"{at}.last_synced_at"),
            jobs_started=base._count(data["jobs_started"], f"{at}.jobs_started"),
        )
        for j_index, job_item in enumerate(base._list(data["jobs"], f"{at}.jobs")):
            job_at = f"{at}.jobs[{j_index}]"
            job_data = base._object(job_item, job_at, _JOB_KEYS)
            job_id = base._count(job_data["job_id"], f"{job_at}.job_id", kb.jobs_started)
            if job_id == 0 or job_id in kb.jobs:
                raise ValueError(f"{job_at}.job_id must be a distinct job from 1 to jobs_started")
            started = base._time(job_data["started"], f"{job_at}.started")
            kb.jobs[job_id] = Job(job_id=job_id, started=started, finishes=started)
        files = base._list(data["files"], f"{at}.files")
        if len(files) > MAX_FILES:
            raise ValueError(f"{at}.files: a knowledge base holds at most {MAX_FILES} files")
        tree = tree_of(state, connection)
        for f_index, file_item in enumerate(files):
            file = _file(file_item, f"{at}.files[{f_index}]", kb)
            if file.path in kb.files or kb.folders.has_folder(file.path):
                raise ValueError(f"{at}.files[{f_index}]: the path {file.path} appears twice")
            if file.node is not None and tree.resource_id(file.node) != file.resource_id:
                raise ValueError(
                    f"{at}.files[{f_index}]: node and resource_id are not of one resource of the connection"
                )
            kb.add_file(file)
            if file.job:
                kb.jobs[file.job].add(file)
        organization.knowledge_bases[kb_id] = kb


def _optional_time(value: Any, where: str) -> int | None:
    return None if value is None else base._time(value, where)


def _file(value: Any, where: str, kb: KnowledgeBase) -> KbFile:
    data = base._object(value, where, _FILE_KEYS)
    path = base._string(data["path"], f"{where}.path", empty=False)
    if path != path.strip("/") or any(not part for part in path.split("/")):
        raise ValueError(f"{where}.path must be a file path like Reports/q3.pdf, not {base._show(path)}")
    node = data["node"]
    if node is not None:
        node = tuple(
            base._count(i, f"{where}.node[{n}]", 65535)
            for n, i in enumerate(base._list(node, f"{where}.node"))
        )
        if not node:
            raise ValueError(f"{where}.node must not be empty")
    job = base._count(data["job"], f"{where}.job")
    if job and job not in kb.jobs:
        raise ValueError(f"{where}.job: no job {job} in the knowledge base's jobs")
    file = KbFile(
        path=path,
        resource_id=base._string(data["resource_id"], f"{where}.resource_id", empty=False),
        node=node,
        size=base._count(data["size"], f"{where}.size"),
        mime=base._string(data["mime"], f"{where}.mime", empty=False),
        content_hash=base._string(data["content_hash"], f"{where}.content_hash"),
        created_at=base._time(data["created_at"], f"{where}.created_at"),
        modified_at=base._time(data["modified_at"], f"{where}.modified_at"),
        uploaded_by=base._optional_string(data["uploaded_by"], f"{where}.uploaded_by"),
        status=base._choice(data["status"], f"{where}.status", _SETTLED),
        indexed_at=_optional_time(data["indexed_at"], f"{where}.indexed_at"),
        job=job,
    )
    if job:
        file.parsed_at = base._time(data["parsed_at"], f"{where}.parsed_at")
        file.done_at = base._time(data["done_at"], f"{where}.done_at")
        file.outcome = base._choice(data["outcome"], f"{where}.outcome", _OUTCOMES)
        if not file.parsed_at <= file.done_at:
            raise ValueError(f"{where}: parsed_at must not be after done_at")
    elif any(data[key] is not None for key in ("parsed_at", "done_at", "outcome")):
        raise ValueError(f"{where}: parsed_at, done_at and outcome are null for a file in no job")
    return file
