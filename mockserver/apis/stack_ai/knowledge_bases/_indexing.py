"""Indexing on the mock clock: which files a sync starts, and when each one is parsed and done.

Each file of a job is `pending` from the start, `parsed` after 30-60 % of its time and done (`indexed`,
or `error`) after its time: the configured `--indexing-seconds` (default 60, the vendor's "about a
minute") times a seeded factor from 0.5 to 1.5. Images end in `error` unless the knowledge base was
created with `ocr: true`, as do binary types (`UNSUPPORTED`), and a seeded 3 % of the other files fail to
parse (both inferred). One entry of the engine's schedule per job settles it when its last file is done.
"""

from __future__ import annotations

from collections.abc import Iterable

from .._rand import Rand
from .._schedule import schedule
from .._state import Organization, StackAiState
from ._model import Job, KbFile, KnowledgeBase

__all__ = ["INDEX_DONE", "index_done", "start_job"]

INDEX_DONE = "knowledge-base-indexed"
_MICROS = 1_000_000
_PARSE_FAILURES = 0.03
UNSUPPORTED = frozenset({"application/octet-stream", "application/zip", "application/x-msdownload"})
"""MIME types no sync can index (inferred): their files end in `error`."""


def start_job(state: StackAiState, kb: KnowledgeBase, files: Iterable[KbFile]) -> Job | None:
    """Start indexing `files` now (those already in a job keep going); None when there is nothing to do."""
    now = state.clock.now
    chosen = [file for file in files if not file.job]
    if not chosen:
        return None
    kb.jobs_started += 1
    job = Job(job_id=kb.jobs_started, started=now, finishes=now)
    ocr = bool(kb.indexing_params.get("ocr"))
    typical = state.indexing_seconds * _MICROS
    for file in chosen:
        kb.count_settled(file, -1)
        rand = Rand.of("stack-ai", state.seed, "indexing", kb.knowledge_base_id, file.path, job.job_id)
        took = typical // 2 + rand.below(typical + 1)
        file.job = job.job_id
        file.parsed_at = now + took * (30 + rand.below(31)) // 100
        file.done_at = now + took
        unsupported = file.mime in UNSUPPORTED or (file.mime.startswith("image/") and not ocr)
        file.outcome = "error" if unsupported or rand.chance(_PARSE_FAILURES) else "indexed"
        job.add(file)
    kb.jobs[job.job_id] = job
    schedule(state, job.finishes, INDEX_DONE, f"{kb.org_id}/{kb.knowledge_base_id}/{job.job_id}")
    return job


def index_done(state: StackAiState, key: str, due: int) -> None:
    """The schedule's handler: a job's last file is done (the knowledge base may be gone since)."""
    org_id, kb_id, job_id = key.split("/")
    organization: Organization | None = state.organizations.get(org_id)
    kb = organization.knowledge_bases.get(kb_id) if organization is not None else None
    if kb is not None and job_id.isdigit():
        kb.settle(int(job_id), due)


def settle_due(kb: KnowledgeBase, now: int) -> None:
    """Settle the jobs whose last file is done: the schedule's entry does it when due, this is the fallback
    for a job the full schedule could not take."""
    for job in [job for job in kb.jobs.values() if job.finishes <= now]:
        kb.settle(job.job_id, job.finishes)
