"""The records of a knowledge base: its files, its folder index and its indexing jobs.

A file's status is computed when it is read: a file in a job is `pending` until its `parsed_at`,
`parsed` until its `done_at`, then its `outcome`; a file in no job shows its settled `status`. Counts
come from per-job sorted completion times (a bisection per job), so neither a read nor a page ever
walks the files. When a job's last file is done the engine's schedule runs `settle` once.
"""

from __future__ import annotations

from bisect import bisect_right, insort
from dataclasses import dataclass, field
from typing import Any

__all__ = ["MAX_FILES", "FolderIndex", "Job", "KbFile", "KnowledgeBase", "split_path"]

MAX_FILES = 20_000
"""Files one knowledge base holds at most (a create or upload beyond it is a 400)."""

Entry = tuple[int, str, str]
"""A folder's child: (0 for a folder, 1 for a file; the casefolded name; the name)."""


def split_path(path: str) -> tuple[str, str]:
    """`a/b/c.pdf` → (`a/b`, `c.pdf`); the top level is ``."""
    parent, _, name = path.rpartition("/")
    return parent, name


@dataclass(slots=True)
class KbFile:
    path: str
    """As `inode_path.path` shows it: `Reports/annual-report.pdf` (no leading slash)."""
    resource_id: str
    node: tuple[int, ...] | None
    """Position in the connection's resource tree, or None for an uploaded file."""
    size: int
    mime: str
    content_hash: str
    created_at: int
    modified_at: int
    uploaded_by: str | None = None
    status: str = "resource"
    """The settled status: `resource` (never synced), `indexed` or `error`."""
    indexed_at: int | None = None
    job: int = 0
    """The job indexing it now (0: none); then `parsed_at`, `done_at` and `outcome` apply."""
    parsed_at: int = 0
    done_at: int = 0
    outcome: str = ""

    def status_at(self, now: int) -> tuple[str, int | None]:
        """The status and `indexed_at` at the instant `now`."""
        if not self.job:
            return self.status, self.indexed_at
        if now < self.parsed_at:
            return "pending", None
        if now < self.done_at:
            return "parsed", None
        return self.outcome, self.done_at if self.outcome == "indexed" else None


@dataclass(slots=True)
class Job:
    job_id: int
    started: int
    finishes: int
    paths: set[str] = field(default_factory=set)
    indexed_done: list[int] = field(default_factory=list)
    error_done: list[int] = field(default_factory=list)
    """Sorted completion times of the files that end indexed, and of those that end in error."""

    def add(self, file: KbFile) -> None:
        self.paths.add(file.path)
        insort(self.indexed_done if file.outcome == "indexed" else self.error_done, file.done_at)
        self.finishes = max(self.finishes, file.done_at)

    def remove(self, file: KbFile) -> None:
        self.paths.discard(file.path)
        times = self.indexed_done if file.outcome == "indexed" else self.error_done
        position = bisect_right(times, file.done_at) - 1
        if position >= 0 and times[position] == file.done_at:
            del times[position]


class FolderIndex:
    """Each folder's children, kept sorted (folders first, then by name): a page is a slice."""

    __slots__ = ("_children",)

    def __init__(self) -> None:
        self._children: dict[str, list[Entry]] = {"": []}

    def has_folder(self, folder: str) -> bool:
        return folder in self._children

    def children(self, folder: str) -> list[Entry]:
        return self._children[folder]

    def add_file(self, path: str) -> None:
        parent, name = split_path(path)
        self._ensure_folder(parent)
        insort(self._children[parent], (1, name.casefold(), name))

    def remove_file(self, path: str) -> None:
        parent, name = split_path(path)
        self._remove_entry(parent, (1, name.casefold(), name))
        while parent and not self._children[parent]:
            del self._children[parent]
            grand, folder_name = split_path(parent)
            self._remove_entry(grand, (0, folder_name.casefold(), folder_name))
            parent = grand

    def _ensure_folder(self, folder: str) -> None:
        if folder in self._children:
            return
        self._children[folder] = []
        parent, name = split_path(folder)
        self._ensure_folder(parent)
        insort(self._children[parent], (0, name.casefold(), name))

    def _remove_entry(self, folder: str, entry: Entry) -> None:
        entries = self._children[folder]
        position = bisect_right(entries, entry) - 1
        if position >= 0 and entries[position] == entry:
            del entries[position]


@dataclass(slots=True)
class KnowledgeBase:
    knowledge_base_id: str
    org_id: str
    connection_id: str
    connection_provider_type: str
    name: str
    description: str
    connection_source_ids: list[str]
    indexing_params: dict[str, Any]
    """As the API shows them, except `embedding_params.api`, stored in clear and masked when shown."""
    cron_job_id: str | None
    org_level_role: str | None
    created_at: int
    updated_at: int
    created_by: str
    user_roles: dict[str, list[str]] = field(default_factory=dict)
    group_roles: dict[str, list[str]] = field(default_factory=dict)
    last_synced_at: int | None = None
    files: dict[str, KbFile] = field(default_factory=dict)
    folders: FolderIndex = field(default_factory=FolderIndex, compare=False, repr=False)
    """Derived from `files` (never in a snapshot)."""
    total_size: int = 0
    settled_indexed: int = 0
    settled_error: int = 0
    """Files in no job that are indexed, or in error."""
    jobs: dict[int, Job] = field(default_factory=dict)
    jobs_started: int = 0

    def add_file(self, file: KbFile) -> None:
        self.files[file.path] = file
        self.folders.add_file(file.path)
        self.total_size += file.size
        self.count_settled(file, 1)

    def remove_file(self, path: str) -> KbFile:
        file = self.files.pop(path)
        self.folders.remove_file(path)
        self.total_size -= file.size
        if file.job and file.job in self.jobs:
            self.jobs[file.job].remove(file)
        else:
            self.count_settled(file, -1)
        return file

    def count_settled(self, file: KbFile, step: int) -> None:
        """Count a file in no job in (`step` 1) or out of (-1) the settled totals."""
        if file.job:
            return
        if file.status == "indexed":
            self.settled_indexed += step
        elif file.status == "error":
            self.settled_error += step

    def counts(self, now: int) -> tuple[int, int]:
        """Indexed files and files in error at the instant `now`."""
        indexed, errors = self.settled_indexed, self.settled_error
        for job in self.jobs.values():
            indexed += bisect_right(job.indexed_done, now)
            errors += bisect_right(job.error_done, now)
        return indexed, errors

    def settle(self, job_id: int, due: int) -> None:
        """A job's last file is done: its files take their outcome as their settled status."""
        job = self.jobs.pop(job_id, None)
        if job is None:
            return
        for path in job.paths:
            file = self.files.get(path)
            if file is None or file.job != job_id:
                continue
            file.status = file.outcome
            file.indexed_at = file.done_at if file.outcome == "indexed" else None
            file.job, file.parsed_at, file.done_at, file.outcome = 0, 0, 0, ""
            self.count_settled(file, 1)
        self.last_synced_at = due
