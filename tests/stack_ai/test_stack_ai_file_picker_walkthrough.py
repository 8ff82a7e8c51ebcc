"""The vendor's file-picker walkthrough, step by step over HTTP, as a frontend drives it, on a frozen clock.

1. sign in; 2. get the current organization; 3. pick a connection; 4. browse its resources; 5. create a
knowledge base from the selected files and folders; 6. trigger a sync; 7. watch each file go from `pending`
to `indexed` (the clock moved with `POST /__mock/clock`); 8. remove a file, then add one by upload.
Served with every API, so Stack AI is under `/stack-ai` and the auth client's URL is that base.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import httpx
import pytest

from mockserver import ClockSettings, MockConfig, create_app
from mockserver._live import LiveServer

BASE = "/stack-ai"


@pytest.fixture(scope="module")
def http() -> Iterator[httpx.Client]:
    app = create_app(MockConfig(clock=ClockSettings(mode="frozen")))
    with LiveServer(app) as server, httpx.Client(base_url=server.url, timeout=10) as client:
        yield client


def files_of(http: httpx.Client, auth: dict[str, str], kb_id: str, path: str = "/") -> list[dict[str, Any]]:
    """Every file under `path`, walking folders and pages as a file picker does."""
    found: list[dict[str, Any]] = []
    cursor = None
    while True:
        params = {"resource_path": path, "page_size": 25, **({"cursor": cursor} if cursor else {})}
        page = http.get(f"{BASE}/knowledge_bases/{kb_id}/resources/children", params=params, headers=auth)
        assert page.status_code == 200, page.text
        body = page.json()
        for item in body["data"]:
            if item["inode_type"] == "directory":
                assert item["resource_id"] == "STACK_VFS_VIRTUAL_DIRECTORY"
                found += files_of(http, auth, kb_id, "/" + item["inode_path"]["path"])
            else:
                found.append(item)
        cursor = body["next_cursor"]
        if cursor is None:
            return found


def test_the_whole_walkthrough(http: httpx.Client) -> None:
    # 1. sign in, as the vendor's auth client does (Supabase GoTrue under the mock's base)
    signed = http.post(
        f"{BASE}/auth/v1/token",
        params={"grant_type": "password"},
        headers={"Apikey": "anon-key"},
        json={"email": "alice@acme.test", "password": "mock-password-alice", "gotrue_meta_security": {}},
    )
    assert signed.status_code == 200, signed.text
    session = signed.json()
    assert session["token_type"] == "bearer"
    auth = {"Authorization": f"Bearer {session['access_token']}"}

    # 2. the current organization
    org_id = http.get(f"{BASE}/organizations/me/current", headers=auth).json()["org_id"]

    # 3. pick a connection
    connections = http.get(
        f"{BASE}/connections", params={"connection_provider": "gdrive", "limit": 1}, headers=auth
    )
    connection = connections.json()[0]
    assert connection["org_id"] == org_id
    connection_id = connection["connection_id"]

    # 4. browse: the root, then a folder
    root = http.get(f"{BASE}/connections/{connection_id}/resources/children", headers=auth).json()["data"]
    folder = next(item for item in root if item["inode_type"] == "directory")
    inside = http.get(
        f"{BASE}/connections/{connection_id}/resources/children",
        params={"resource_id": folder["resource_id"]},
        headers=auth,
    ).json()["data"]
    a_file_inside = next(item for item in inside if item["inode_type"] == "file")
    a_root_file = next((item for item in root if item["inode_type"] == "file"), None)

    # 5. a knowledge base from a folder, a file inside it (indexed once) and a top-level file
    selected = [folder["resource_id"], a_file_inside["resource_id"]]
    if a_root_file is not None:
        selected.append(a_root_file["resource_id"])
    created = http.post(
        f"{BASE}/knowledge_bases",
        headers=auth,
        json={
            "connection_id": connection_id,
            "connection_source_ids": selected,
            "indexing_params": {
                "ocr": False,
                "unstructured": True,
                "embedding_params": {"embedding_model": "text-embedding-ada-002", "api_key": None},
                "chunker_params": {"chunk_size": 1500, "chunk_overlap": 500, "chunker": "sentence"},
            },
            "org_level_role": None,
            "cron_job_id": None,
        },
    )
    assert created.status_code == 200, created.text
    kb = created.json()
    kb_id = kb["knowledge_base_id"]
    assert kb["connection_source_ids"] == selected and kb["org_id"] == org_id

    # 6. sync
    triggered = http.get(f"{BASE}/knowledge_bases/sync/trigger/{kb_id}/{org_id}", headers=auth)
    assert triggered.status_code == 200 and triggered.json() is None

    # 7. pending now; the frozen clock does not move by itself
    files = files_of(http, auth, kb_id)
    paths = [f["inode_path"]["path"] for f in files]
    assert len(paths) == len(set(paths)) == kb["total_files"]
    assert {f["status"] for f in files} == {"pending"}
    assert {f["status"] for f in files_of(http, auth, kb_id)} == {"pending"}
    moved = http.post("/__mock/clock", json={"advance_seconds": 120})
    assert moved.status_code == 200
    files = files_of(http, auth, kb_id)
    assert {f["status"] for f in files} <= {"indexed", "error"}
    assert any(f["status"] == "indexed" for f in files)
    shown = http.get(f"{BASE}/knowledge_bases/{kb_id}", headers=auth).json()
    assert shown["total_indexed_files"] == sum(f["status"] == "indexed" for f in files)
    assert shown["total_error_files"] == sum(f["status"] == "error" for f in files)
    assert shown["last_synced_at"] is not None

    # 8. remove a file (a folder cannot be removed), then add one by upload
    indexed = next(f for f in files if f["status"] == "indexed")
    removed = http.delete(
        f"{BASE}/knowledge_bases/{kb_id}/resources",
        params={"resource_path": indexed["inode_path"]["path"]},
        headers=auth,
    )
    assert removed.status_code == 204
    refused = http.delete(
        f"{BASE}/knowledge_bases/{kb_id}/resources",
        params={"resource_path": "/" + folder["inode_path"]["path"]},
        headers=auth,
    )
    assert refused.status_code == 409 and "only files" in refused.json()["detail"].lower()
    as_json = http.post(
        f"{BASE}/knowledge_bases/{kb_id}/resources", json={"resource_type": "file"}, headers=auth
    )
    assert as_json.status_code == 422
    uploaded = http.post(
        f"{BASE}/knowledge_bases/{kb_id}/resources",
        headers=auth,
        data={"resource_type": "file", "resource_path": "/uploads/kickoff-notes.txt"},
        files={"file": ("kickoff-notes.txt", b"What we agreed on at the kick-off.", "text/plain")},
    )
    assert uploaded.status_code == 202, uploaded.text
    assert uploaded.json()["status"] == "pending"
    http.post("/__mock/clock", json={"advance_seconds": 120})
    (notes,) = files_of(http, auth, kb_id, "/uploads")
    assert notes["status"] == "indexed" and notes["size"] == len(b"What we agreed on at the kick-off.")
    final = http.get(f"{BASE}/knowledge_bases/{kb_id}", headers=auth).json()
    assert final["total_files"] == kb["total_files"]  # one removed, one added
    assert indexed["inode_path"]["path"] not in [f["inode_path"]["path"] for f in files_of(http, auth, kb_id)]

    # and the refresh token rotates the session, as the auth client does before the hour is over
    refreshed = http.post(
        f"{BASE}/auth/v1/token",
        params={"grant_type": "refresh_token"},
        json={"refresh_token": session["refresh_token"]},
    )
    assert refreshed.status_code == 200
    renewed = {"Authorization": f"Bearer {refreshed.json()['access_token']}"}
    assert http.get(f"{BASE}/knowledge_bases", headers=renewed).json()[0]["knowledge_base_id"] == kb_id
