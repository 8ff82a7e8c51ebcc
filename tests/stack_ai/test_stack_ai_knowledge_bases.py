"""Knowledge bases: creation from a connection's resources, browsing, indexing on the mock clock, access."""

from __future__ import annotations

from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from stack_support import ACME, GLOBEX, ISO_MILLIS, client, find_by_role, headers, state_of

from mockserver.apis.stack_ai.knowledge_bases import _model
from mockserver.apis.stack_ai.knowledge_bases._indexing import UNSUPPORTED

KB_KEYS = [
    "knowledge_base_id",
    "connection_id",
    "created_at",
    "updated_at",
    "connection_source_ids",
    "website_sources",
    "connection_provider_type",
    "is_empty",
    "total_size",
    "total_files",
    "total_indexed_files",
    "total_error_files",
    "last_synced_at",
    "name",
    "description",
    "indexing_params",
    "cron_job_id",
    "org_id",
    "org_level_role",
    "role",
    "user_metadata_schema",
    "dataloader_metadata_schema",
]
INDEXING = {
    "ocr": False,
    "unstructured": True,
    "embedding_params": {"embedding_model": "text-embedding-ada-002", "api_key": None},
    "chunker_params": {"chunk_size": 1500, "chunk_overlap": 500, "chunker": "sentence"},
}


def gdrive(c: Any, user: str = "alice") -> str:
    return next(
        x["connection_id"]
        for x in c.get("/connections", headers=headers(user)).json()
        if x["provider_id"] == "gdrive"
    )


def children(c: Any, connection_id: str, resource_id: str | None = None) -> list[dict[str, Any]]:
    params = {"page_size": 1000, **({"resource_id": resource_id} if resource_id else {})}
    response = c.get(f"/connections/{connection_id}/resources/children", params=params, headers=headers())
    assert response.status_code == 200
    return list(response.json()["data"])


def files_under(c: Any, connection_id: str, item: dict[str, Any]) -> set[str]:
    if item["inode_type"] == "file":
        return {item["inode_path"]["path"]}
    found: set[str] = set()
    for child in children(c, connection_id, item["resource_id"]):
        found |= files_under(c, connection_id, child)
    return found


def create(c: Any, source_ids: list[str], user: str = "alice", **extra: Any) -> Any:
    body = {
        "connection_id": gdrive(c),
        "connection_source_ids": source_ids,
        "indexing_params": INDEXING,
        **extra,
    }
    return c.post("/knowledge_bases", json=body, headers=headers(user))


def folder_and_file_inside(c: Any) -> tuple[dict[str, Any], dict[str, Any]]:
    connection_id = gdrive(c)
    folder = next(item for item in children(c, connection_id) if item["inode_type"] == "directory")
    inside = next(
        item for item in children(c, connection_id, folder["resource_id"]) if item["inode_type"] == "file"
    )
    return folder, inside


def new_kb(c: Any, user: str = "alice", **extra: Any) -> dict[str, Any]:
    folder, inside = folder_and_file_inside(c)
    response = create(c, [folder["resource_id"], inside["resource_id"]], user=user, **extra)
    assert response.status_code == 200, response.text
    kb: dict[str, Any] = response.json()
    return kb


def sync(c: Any, kb: dict[str, Any], user: str = "alice") -> Any:
    return c.get(
        f"/knowledge_bases/sync/trigger/{kb['knowledge_base_id']}/{kb['org_id']}", headers=headers(user)
    )


def advance(c: Any, seconds: float) -> None:
    assert c.post("/__mock/clock", json={"advance_seconds": seconds}).status_code == 200


def listing(
    c: Any, kb_id: str, path: str = "/", page_size: int = 1000, user: str = "alice"
) -> list[dict[str, Any]]:
    items, cursor = [], None
    while True:
        params: dict[str, Any] = {"resource_path": path, "page_size": page_size}
        if cursor:
            params["cursor"] = cursor
        response = c.get(f"/knowledge_bases/{kb_id}/resources/children", params=params, headers=headers(user))
        assert response.status_code == 200, response.text
        page = response.json()
        assert page["current_cursor"] == cursor
        items += page["data"]
        cursor = page["next_cursor"]
        if cursor is None:
            return items


def all_files(c: Any, kb_id: str, path: str = "/") -> list[dict[str, Any]]:
    found = []
    for item in listing(c, kb_id, path):
        if item["inode_type"] == "directory":
            found += all_files(c, kb_id, "/" + item["inode_path"]["path"])
        else:
            found.append(item)
    return found


def get(c: Any, kb: dict[str, Any], user: str = "alice") -> Any:
    return c.get(f"/knowledge_bases/{kb['knowledge_base_id']}", headers=headers(user))


def upload(
    c: Any,
    kb_id: str,
    path: str,
    content: bytes = b"hello",
    name: str = "notes.txt",
    mime: str = "text/plain",
    user: str = "alice",
) -> Any:
    return c.post(
        f"/knowledge_bases/{kb_id}/resources",
        data={"resource_type": "file", "resource_path": path},
        files={"file": (name, content, mime)},
        headers=headers(user),
    )


# ---------------------------------------------------------------- creation


def test_create_answers_every_documented_field_and_indexes_nothing_yet() -> None:
    c = client()
    kb = new_kb(c)
    assert list(kb) == KB_KEYS
    assert kb["name"] == "Unnamed Knowledge Base" and kb["description"] == ""
    assert kb["connection_provider_type"] == "gdrive" and kb["website_sources"] == []
    assert kb["org_id"] == ACME and kb["role"] == "admin" and kb["last_synced_at"] is None
    assert kb["created_at"].endswith("Z") and len(kb["created_at"]) == len("2025-08-29T08:21:36.502237Z")
    assert kb["indexing_params"]["embedding_params"]["batch_size"] == 300
    assert kb["indexing_params"]["chunker_params"] == {
        "chunk_size": 1500,
        "chunk_overlap": 500,
        "chunker_type": "sentence",
    }
    files = all_files(c, kb["knowledge_base_id"])
    assert {f["status"] for f in files} == {"resource"}
    assert kb["total_files"] == len(files) and kb["total_indexed_files"] == 0
    assert kb["total_size"] == sum(f["size"] for f in files) and kb["is_empty"] is False


def test_a_folder_and_a_file_inside_it_give_each_file_once() -> None:
    c = client()
    folder, inside = folder_and_file_inside(c)
    expected = files_under(c, gdrive(c), folder)
    kb = create(c, [folder["resource_id"], inside["resource_id"]]).json()
    paths = [f["inode_path"]["path"] for f in all_files(c, kb["knowledge_base_id"])]
    assert sorted(paths) == sorted(expected) and len(paths) == len(set(paths))
    assert inside["inode_path"]["path"] in paths


def test_an_empty_selection_is_an_empty_knowledge_base() -> None:
    c = client()
    kb = create(c, []).json()
    assert kb["is_empty"] is True and kb["total_files"] == 0 and kb["total_size"] == 0
    assert listing(c, kb["knowledge_base_id"]) == []


def test_an_embedding_key_is_masked() -> None:
    c = client()
    params = {
        **INDEXING,
        "embedding_params": {
            "embedding_model": "text-embedding-3-small",
            "api_key": "sk-proj-0123456789abcdefghij",
        },
    }
    kb = create(c, [], indexing_params=params).json()
    shown = kb["indexing_params"]["embedding_params"]["api"]
    assert shown != "sk-proj-0123456789abcdefghij" and "****" in shown
    assert (
        "0123456789abcdef" not in c.get(f"/knowledge_bases/{kb['knowledge_base_id']}", headers=headers()).text
    )


def test_unknown_resources_and_connections_are_refused_and_change_nothing() -> None:
    c = client()
    before = state_of(c).snapshot()
    response = create(c, ["1AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA"])
    assert response.status_code == 404 and "connection_source_ids[0]" in response.json()["detail"]
    body = {"connection_id": "00000000-0000-4000-8000-000000000000", "connection_source_ids": []}
    assert c.post("/knowledge_bases", json=body, headers=headers()).status_code == 404
    globex = gdrive(c, "carol")
    assert (
        c.post("/knowledge_bases", json={**body, "connection_id": globex}, headers=headers()).status_code
        == 404
    )
    assert state_of(c).snapshot() == before


@pytest.mark.parametrize(
    ("body", "location"),
    [
        ({"connection_source_ids": []}, ["body", "connection_id"]),
        ({"connection_id": "x", "connection_source_ids": []}, ["body", "connection_id"]),
        ({"connection_id": "00000000-0000-4000-8000-000000000000"}, ["body", "connection_source_ids"]),
        (
            {
                "connection_id": "00000000-0000-4000-8000-000000000000",
                "connection_source_ids": [],
                "name": "",
            },
            ["body", "name"],
        ),
        (
            {
                "connection_id": "00000000-0000-4000-8000-000000000000",
                "connection_source_ids": [],
                "org_level_role": "owner",
            },
            ["body", "org_level_role"],
        ),
        (
            {
                "connection_id": "00000000-0000-4000-8000-000000000000",
                "connection_source_ids": [],
                "surprise": 1,
            },
            ["body", "surprise"],
        ),
    ],
)
def test_bad_create_bodies_are_422_naming_the_field(body: dict[str, Any], location: list[str]) -> None:
    response = client().post("/knowledge_bases", json=body, headers=headers())
    assert response.status_code == 422
    assert location in [item["loc"][: len(location)] for item in response.json()["detail"]]


# ---------------------------------------------------------------- indexing on the mock clock


def test_files_go_pending_parsed_indexed_and_the_counts_follow() -> None:
    c = client()
    kb = new_kb(c)
    kb_id = kb["knowledge_base_id"]
    assert sync(c, kb).json() is None
    files = all_files(c, kb_id)
    assert {f["status"] for f in files} == {"pending"}
    assert get(c, kb).json()["total_indexed_files"] == 0
    advance(c, 40)
    middle = {f["status"] for f in all_files(c, kb_id)}
    assert "parsed" in middle
    advance(c, 60)  # every file's time is at most 1.5 x 60 s
    done = all_files(c, kb_id)
    assert {f["status"] for f in done} <= {"indexed", "error"}
    shown = get(c, kb).json()
    assert shown["total_indexed_files"] == sum(f["status"] == "indexed" for f in done)
    assert shown["total_error_files"] == sum(f["status"] == "error" for f in done) > 0
    assert all(ISO_MILLIS.fullmatch(f["indexed_at"]) for f in done if f["status"] == "indexed")
    assert all(f["indexed_at"] is None for f in done if f["status"] == "error")
    assert shown["last_synced_at"] is not None
    assert c.get("/__mock/clock").json()["apis"]["stack-ai"]["pending"] == 0


def test_images_need_ocr_and_binary_types_never_index() -> None:
    c = client()
    kb = new_kb(c)
    sync(c, kb)
    advance(c, 100)
    for file in all_files(c, kb["knowledge_base_id"]):
        if file["content_mime"].startswith("image/") or file["content_mime"] in UNSUPPORTED:
            assert file["status"] == "error"
    with_ocr = new_kb(c, indexing_params={**INDEXING, "ocr": True})
    sync(c, with_ocr)
    advance(c, 100)
    images = [
        f for f in all_files(c, with_ocr["knowledge_base_id"]) if f["content_mime"].startswith("image/")
    ]
    assert any(f["status"] == "indexed" for f in images) or not images


def test_indexing_seconds_sets_the_time_a_file_takes() -> None:
    c = client(indexing_seconds=600)
    kb = new_kb(c)
    sync(c, kb)
    advance(c, 250)
    assert {f["status"] for f in all_files(c, kb["knowledge_base_id"])} <= {"pending", "parsed"}
    advance(c, 700)
    assert {f["status"] for f in all_files(c, kb["knowledge_base_id"])} <= {"indexed", "error"}


def test_a_new_sync_picks_up_what_changed_and_leaves_indexed_files_alone() -> None:
    c = client()
    kb = new_kb(c)
    sync(c, kb)
    advance(c, 100)
    first = {f["inode_path"]["path"]: f for f in all_files(c, kb["knowledge_base_id"])}
    sync(c, kb)
    again = {f["inode_path"]["path"]: f for f in all_files(c, kb["knowledge_base_id"])}
    for path, file in first.items():
        if file["status"] == "indexed":
            assert again[path] == file
        else:
            assert again[path]["status"] == "pending"  # errors are retried
    assert get(c, kb).json()["total_indexed_files"] == sum(f["status"] == "indexed" for f in first.values())


def test_a_sync_with_nothing_to_do_just_stamps_last_synced_at() -> None:
    c = client()
    kb = create(c, []).json()
    advance(c, 5)
    sync(c, kb)
    assert get(c, kb).json()["last_synced_at"] == c.get("/__mock/clock").json()["apis"]["stack-ai"]["now"]


def test_the_same_seed_and_requests_give_the_same_bytes() -> None:
    def run() -> list[str]:
        c = client()
        kb = new_kb(c)
        sync(c, kb)
        advance(c, 45)
        return [
            c.get(
                f"/knowledge_bases/{kb['knowledge_base_id']}/resources/children",
                params={"resource_path": "/"},
                headers=headers(),
            ).text,
            get(c, kb).text,
        ]

    assert run() == run()


# ---------------------------------------------------------------- browsing


def test_folders_are_virtual_and_listed_first_then_by_name() -> None:
    c = client()
    kb = new_kb(c)
    top = listing(c, kb["knowledge_base_id"])
    folders = [item for item in top if item["inode_type"] == "directory"]
    assert folders and all(
        f["resource_id"] == "STACK_VFS_VIRTUAL_DIRECTORY" and f["status"] is None for f in folders
    )
    kinds = [item["inode_type"] for item in top]
    assert kinds == sorted(kinds)  # "directory" < "file"
    for item in top:
        assert item["knowledge_base_id"] == kb["knowledge_base_id"]


def test_paths_are_read_with_or_without_slashes_and_pages_follow_cursors() -> None:
    c = client()
    kb = new_kb(c)
    kb_id = kb["knowledge_base_id"]
    folder = listing(c, kb_id)[0]["inode_path"]["path"]
    whole = listing(c, kb_id, f"/{folder}")
    assert listing(c, kb_id, f"{folder}/") == whole == listing(c, kb_id, f"/{folder}", page_size=2)
    assert all(item["inode_path"]["path"].startswith(f"{folder}/") for item in whole)


def test_an_unknown_path_is_400_and_a_file_has_no_children() -> None:
    c = client()
    kb = new_kb(c)
    kb_id = kb["knowledge_base_id"]
    response = c.get(
        f"/knowledge_bases/{kb_id}/resources/children", params={"resource_path": "/nope"}, headers=headers()
    )
    assert response.status_code == 400 and response.json() == {
        "detail": "Resource path not found in the knowledge base: /nope"
    }
    a_file = all_files(c, kb_id)[0]["inode_path"]["path"]
    assert listing(c, kb_id, a_file) == []


def test_a_cursor_of_another_folder_is_404() -> None:
    c = client()
    kb = new_kb(c)
    kb_id = kb["knowledge_base_id"]
    upload(c, kb_id, "/top.txt")
    page = c.get(
        f"/knowledge_bases/{kb_id}/resources/children",
        params={"resource_path": "/", "page_size": 1},
        headers=headers(),
    ).json()
    folder = page["data"][0]["inode_path"]["path"]
    response = c.get(
        f"/knowledge_bases/{kb_id}/resources/children",
        params={"resource_path": f"/{folder}", "cursor": page["next_cursor"]},
        headers=headers(),
    )
    assert response.status_code == 404 and "another listing" in response.json()["detail"]


def test_a_page_renders_only_its_own_files(monkeypatch: pytest.MonkeyPatch) -> None:
    """A children page costs its page size, not the knowledge base's size: no file outside it is read."""
    c = client()
    kb = new_kb(c)
    sync(c, kb)
    kb_id = kb["knowledge_base_id"]
    folder = max(listing(c, kb_id), key=lambda item: item["inode_type"] == "directory")["inode_path"]["path"]
    calls: list[str] = []
    original = _model.KbFile.status_at

    def counted(self: _model.KbFile, now: int) -> tuple[str, int | None]:
        calls.append(self.path)
        return original(self, now)

    monkeypatch.setattr(_model.KbFile, "status_at", counted)
    response = c.get(
        f"/knowledge_bases/{kb_id}/resources/children",
        params={"resource_path": f"/{folder}", "page_size": 2},
        headers=headers(),
    )
    assert len(response.json()["data"]) == 2
    assert len(calls) <= 2
    calls.clear()
    get(c, kb)
    assert calls == []  # the counts come from the jobs' sorted completion times


# ---------------------------------------------------------------- deleting and uploading files


def test_delete_a_file_204_and_the_counts_follow_even_while_indexing() -> None:
    c = client()
    kb = new_kb(c)
    kb_id = kb["knowledge_base_id"]
    sync(c, kb)
    advance(c, 45)
    files = all_files(c, kb_id)
    victim = files[0]
    response = c.delete(
        f"/knowledge_bases/{kb_id}/resources",
        params={"resource_path": victim["inode_path"]["path"]},
        headers=headers(),
    )
    assert response.status_code == 204 and response.content == b""
    advance(c, 100)
    after = all_files(c, kb_id)
    shown = get(c, kb).json()
    assert len(after) == len(files) - 1 == shown["total_files"]
    assert shown["total_indexed_files"] + shown["total_error_files"] == len(after)
    assert shown["total_size"] == sum(f["size"] for f in after)


def test_folders_cannot_be_deleted_and_unknown_files_are_404() -> None:
    c = client()
    kb = new_kb(c)
    kb_id = kb["knowledge_base_id"]
    folder = listing(c, kb_id)[0]["inode_path"]["path"]
    before = state_of(c).snapshot()
    response = c.delete(
        f"/knowledge_bases/{kb_id}/resources", params={"resource_path": f"/{folder}"}, headers=headers()
    )
    assert (
        response.status_code == 409
        and response.json()["detail"] == f"Only files can be deleted: /{folder} is a folder"
    )
    response = c.delete(
        f"/knowledge_bases/{kb_id}/resources", params={"resource_path": "/no/such.pdf"}, headers=headers()
    )
    assert response.status_code == 404
    assert state_of(c).snapshot() == before


def test_deleting_the_last_file_of_a_folder_removes_the_folder() -> None:
    c = client()
    kb = create(c, []).json()
    kb_id = kb["knowledge_base_id"]
    assert upload(c, kb_id, "/a/b/only.txt").status_code == 202
    assert [item["inode_path"]["path"] for item in listing(c, kb_id)] == ["a"]
    c.delete(
        f"/knowledge_bases/{kb_id}/resources", params={"resource_path": "a/b/only.txt"}, headers=headers()
    )
    assert listing(c, kb_id) == []
    assert get(c, kb).json()["is_empty"] is True


def test_an_upload_is_202_pending_then_indexes_like_the_others() -> None:
    c = client()
    kb = create(c, []).json()
    kb_id = kb["knowledge_base_id"]
    response = upload(c, kb_id, "/uploads/notes.txt", b"Kick-off notes")
    assert response.status_code == 202
    shown = response.json()
    assert shown["status"] == "pending" and shown["size"] == 14 and shown["content_mime"] == "text/plain"
    assert shown["inode_path"] == {"path": "uploads/notes.txt"}
    assert shown["dataloader_metadata"]["created_by"] == "alice@acme.test"
    advance(c, 100)
    (listed,) = listing(c, kb_id, "/uploads")
    assert listed["status"] in ("indexed", "error") and listed["resource_id"] == shown["resource_id"]
    assert get(c, kb).json()["total_files"] == 1


def test_an_upload_to_a_folder_path_keeps_the_file_name_and_a_second_upload_replaces() -> None:
    c = client()
    kb = create(c, []).json()
    kb_id = kb["knowledge_base_id"]
    assert (
        upload(c, kb_id, "/inbox/", name="report.md", mime="text/markdown").json()["inode_path"]["path"]
        == "inbox/report.md"
    )
    upload(c, kb_id, "/inbox/report.md", b"a longer second version", name="report.md", mime="text/markdown")
    (only,) = listing(c, kb_id, "/inbox")
    assert only["size"] == len(b"a longer second version")
    assert get(c, kb).json()["total_size"] == only["size"]


def test_an_image_upload_without_ocr_ends_in_error() -> None:
    c = client()
    kb = create(c, []).json()
    upload(c, kb["knowledge_base_id"], "/scan.png", b"\x89PNG", name="scan.png", mime="image/png")
    advance(c, 100)
    assert listing(c, kb["knowledge_base_id"])[0]["status"] == "error"
    assert get(c, kb).json()["total_error_files"] == 1


def test_a_json_body_is_422_listing_the_form_fields() -> None:
    c = client()
    kb = create(c, []).json()
    response = c.post(
        f"/knowledge_bases/{kb['knowledge_base_id']}/resources",
        json={"resource_type": "file"},
        headers=headers(),
    )
    assert response.status_code == 422
    assert [item["loc"] for item in response.json()["detail"]] == [
        ["body", "resource_type"],
        ["body", "resource_path"],
        ["body", "file"],
    ]


@pytest.mark.parametrize(
    ("form", "files", "location"),
    [
        (
            {"resource_type": "folder", "resource_path": "/x.txt"},
            {"file": ("x.txt", b"x")},
            ["body", "resource_type"],
        ),
        ({"resource_type": "file", "resource_path": "/x.txt", "file": "not a file"}, None, ["body", "file"]),
        ({"resource_type": "file"}, {"file": ("x.txt", b"x")}, ["body", "resource_path"]),
    ],
)
def test_bad_forms_are_422_naming_the_field(form: dict[str, str], files: Any, location: list[str]) -> None:
    c = client()
    kb = create(c, []).json()
    before = state_of(c).snapshot()
    kwargs: dict[str, Any] = {"data": form}
    if files is not None:
        kwargs["files"] = files
    else:  # a text part named file: multipart, without an upload
        kwargs["files"] = {"other": ("o.txt", b"o")}
    response = c.post(f"/knowledge_bases/{kb['knowledge_base_id']}/resources", headers=headers(), **kwargs)
    assert response.status_code == 422, response.text
    assert location in [item["loc"] for item in response.json()["detail"]]
    assert state_of(c).snapshot() == before


@pytest.mark.parametrize(
    ("path", "stored"),
    [("/", "notes.txt"), ("//inbox//", "inbox/notes.txt"), ("/a/./b.txt", "a/b.txt"), ("x.txt", "x.txt")],
)
def test_upload_paths_are_read_leniently(path: str, stored: str) -> None:
    c = client()
    kb = create(c, []).json()
    response = upload(c, kb["knowledge_base_id"], path)
    assert response.status_code == 202 and response.json()["inode_path"]["path"] == stored


def test_an_upload_onto_a_folder_or_under_a_file_is_409() -> None:
    c = client()
    kb = create(c, []).json()
    kb_id = kb["knowledge_base_id"]
    upload(c, kb_id, "/docs/a.txt")
    before = state_of(c).snapshot()
    assert upload(c, kb_id, "/docs").status_code == 409
    assert upload(c, kb_id, "/docs/a.txt/b.txt").status_code == 409
    assert upload(c, kb_id, "/docs/a.txt/deeper/b.txt").status_code == 409
    assert state_of(c).snapshot() == before


# ---------------------------------------------------------------- access


def test_another_organization_gets_404_everywhere() -> None:
    c = client()
    kb = new_kb(c)
    kb_id = kb["knowledge_base_id"]
    carol = headers("carol")
    assert c.get(f"/knowledge_bases/{kb_id}", headers=carol).status_code == 404
    assert c.patch(f"/knowledge_bases/{kb_id}", json={"name": "x"}, headers=carol).status_code == 404
    assert c.delete(f"/knowledge_bases/{kb_id}", headers=carol).status_code == 404
    assert c.get(f"/knowledge_bases/sync/trigger/{kb_id}/{GLOBEX}", headers=carol).status_code == 404
    assert c.get(f"/knowledge_bases/{kb_id}/resources/children", headers=carol).status_code == 404
    assert c.get("/knowledge_bases", headers=carol).json() == []
    assert sync(c, {**kb, "org_id": GLOBEX}).status_code == 404  # alice, with the other org's id


def test_roles_follow_the_connections_rules() -> None:
    c = client()
    private = new_kb(c)
    assert get(c, private, "bob").status_code == 404
    assert private["knowledge_base_id"] not in c.get("/knowledge_bases", headers=headers("bob")).text
    viewer = new_kb(c, org_level_role="viewer")
    assert get(c, viewer, "bob").json()["role"] == "viewer"
    assert (
        c.patch(
            f"/knowledge_bases/{viewer['knowledge_base_id']}", json={"name": "x"}, headers=headers("bob")
        ).status_code
        == 403
    )
    assert sync(c, viewer, "bob").status_code == 403
    editor = new_kb(c, org_level_role="editor")
    renamed = c.patch(
        f"/knowledge_bases/{editor['knowledge_base_id']}", json={"name": "Bob's"}, headers=headers("bob")
    )
    assert renamed.status_code == 200 and renamed.json()["name"] == "Bob's"
    assert sync(c, editor, "bob").status_code == 200
    assert (
        c.delete(f"/knowledge_bases/{editor['knowledge_base_id']}", headers=headers("bob")).status_code == 403
    )
    assert c.delete(f"/knowledge_bases/{editor['knowledge_base_id']}", headers=headers()).status_code == 204
    assert get(c, editor).status_code == 404


def test_building_needs_a_role_on_the_connection() -> None:
    c = client()
    hidden = find_by_role(c, "bob", None)
    body = {"connection_id": hidden, "connection_source_ids": []}
    assert c.post("/knowledge_bases", json=body, headers=headers("bob")).status_code == 404
    visible = find_by_role(c, "bob", "viewer")
    made = c.post("/knowledge_bases", json={**body, "connection_id": visible}, headers=headers("bob"))
    assert made.status_code == 200 and made.json()["role"] == "admin"


def test_deleting_a_connection_deletes_its_knowledge_bases() -> None:
    c = client()
    kb = new_kb(c)
    sync(c, kb)
    assert c.delete(f"/connections/{kb['connection_id']}", headers=headers()).status_code == 204
    assert get(c, kb).status_code == 404
    advance(c, 100)  # the job's due entry finds nothing to settle
    assert c.get("/__mock/clock").json()["apis"]["stack-ai"]["pending"] == 0


def test_list_patch_and_the_limit() -> None:
    c = client()
    first, second = new_kb(c), create(c, [], name="Second").json()
    listed = c.get("/knowledge_bases", headers=headers()).json()
    assert [kb["knowledge_base_id"] for kb in listed] == [
        first["knowledge_base_id"],
        second["knowledge_base_id"],
    ]
    assert len(c.get("/knowledge_bases", params={"limit": 1, "offset": 1}, headers=headers()).json()) == 1
    advance(c, 1)
    patched = c.patch(
        f"/knowledge_bases/{second['knowledge_base_id']}", json={"description": "Notes"}, headers=headers()
    ).json()
    assert patched["description"] == "Notes" and patched["name"] == "Second"
    assert patched["updated_at"] > second["updated_at"]
    assert (
        c.patch(f"/knowledge_bases/{second['knowledge_base_id']}", json={}, headers=headers()).status_code
        == 422
    )


# ---------------------------------------------------------------- state


def test_snapshots_keep_knowledge_bases_mid_indexing() -> None:
    c = client()
    kb = new_kb(c)
    sync(c, kb)
    upload(c, kb["knowledge_base_id"], "/uploads/x.txt")
    advance(c, 40)
    snapshot = c.get("/__mock/state").json()
    fresh = client()
    assert fresh.put("/__mock/state", json=snapshot).status_code == 200
    assert fresh.get("/__mock/state").json() == snapshot
    for moved in (c, fresh):
        advance(moved, 100)
    assert get(fresh, kb).json() == get(c, kb).json()
    assert all_files(fresh, kb["knowledge_base_id"]) == all_files(c, kb["knowledge_base_id"])


@pytest.mark.parametrize(
    "damage",
    [
        lambda kb: kb["files"][0].update(status="sleeping"),
        lambda kb: kb["files"][0].update(node=[99, 99]),
        lambda kb: kb["files"][0].update(job=42),
        lambda kb: kb.update(connection_id="00000000-0000-4000-8000-000000000000"),
        lambda kb: kb["files"].append(dict(kb["files"][0])),
        lambda kb: kb.pop("jobs"),
    ],
)
def test_a_damaged_knowledge_base_snapshot_is_refused(damage: Any) -> None:
    c = client()
    new_kb(c)
    snapshot = c.get("/__mock/state").json()
    damage(snapshot["apis"]["stack-ai"]["organizations"][0]["knowledge_bases"][0])
    response = c.put("/__mock/state", json=snapshot)
    assert response.status_code == 422 and "knowledge_bases" in response.json()["detail"]


def test_each_session_has_its_own_knowledge_bases_and_clock() -> None:
    c = client()
    session = {"X-Mock-Session": "picker"}
    folder, _ = folder_and_file_inside(c)
    body = {"connection_id": gdrive(c), "connection_source_ids": [folder["resource_id"]]}
    kb = c.post("/knowledge_bases", json=body, headers={**headers(), **session}).json()
    assert get(c, kb).status_code == 404
    c.get(
        f"/knowledge_bases/sync/trigger/{kb['knowledge_base_id']}/{kb['org_id']}",
        headers={**headers(), **session},
    )
    c.post("/__mock/clock", json={"advance_seconds": 100}, headers=session)
    shown = c.get(f"/knowledge_bases/{kb['knowledge_base_id']}", headers={**headers(), **session}).json()
    assert shown["total_indexed_files"] + shown["total_error_files"] == shown["total_files"]


Step = tuple[str, int]


@settings(max_examples=15, deadline=None)
@given(
    steps=st.lists(
        st.tuples(st.sampled_from(["advance", "sync", "upload", "delete"]), st.integers(0, 90)), max_size=8
    )
)
def test_the_counts_always_match_the_files(steps: list[Step]) -> None:
    c = client()
    kb = new_kb(c)
    kb_id = kb["knowledge_base_id"]
    for action, amount in steps:
        if action == "advance":
            advance(c, amount)
        elif action == "sync":
            sync(c, kb)
        elif action == "upload":
            upload(c, kb_id, f"/uploads/file-{amount}.txt", b"x" * amount)
        else:
            files = all_files(c, kb_id)
            if files:
                victim = files[amount % len(files)]["inode_path"]["path"]
                assert (
                    c.delete(
                        f"/knowledge_bases/{kb_id}/resources",
                        params={"resource_path": victim},
                        headers=headers(),
                    ).status_code
                    == 204
                )
        files = all_files(c, kb_id)
        shown = get(c, kb).json()
        assert shown["total_files"] == len(files)
        assert shown["total_indexed_files"] == sum(f["status"] == "indexed" for f in files)
        assert shown["total_error_files"] == sum(f["status"] == "error" for f in files)
        assert shown["total_size"] == sum(f["size"] for f in files)
        assert shown["is_empty"] == (not files)


def test_on_a_running_clock_polling_alone_sees_files_indexed() -> None:
    """`mockserver serve` runs the clock: a frontend that only polls sees the files reach `indexed`."""
    from mockserver import ClockSettings, Timeline
    from mockserver.apis.stack_ai._schedule import attach_handlers

    c = client()
    state = state_of(c)
    wall = [1000.0]
    state.clock.timeline = Timeline(
        start=state.clock.now, settings=ClockSettings(mode="running"), wall=lambda: wall[0]
    )
    attach_handlers(state)
    kb = new_kb(c)
    sync(c, kb)
    assert {f["status"] for f in all_files(c, kb["knowledge_base_id"])} == {"pending"}
    wall[0] += 95  # wall time passes; nobody moves the clock
    assert {f["status"] for f in all_files(c, kb["knowledge_base_id"])} <= {"indexed", "error"}
    assert c.get("/__mock/clock").json()["apis"]["stack-ai"]["pending"] == 0  # settled by the schedule


def test_with_a_full_schedule_indexing_still_completes_when_read() -> None:
    from mockserver._clock import MAX_DUE

    c = client()
    kb = new_kb(c)
    timeline = state_of(c).clock.timeline
    far = timeline.now() + 10**15
    for index in range(MAX_DUE - timeline.pending):
        timeline.schedule(far, "nothing", str(index))
    assert sync(c, kb).status_code == 200  # the job could not be scheduled: it settles when read
    advance(c, 100)
    shown = get(c, kb).json()
    assert shown["last_synced_at"] is not None
    assert shown["total_indexed_files"] + shown["total_error_files"] == shown["total_files"]
    assert not state_of(c).organizations[ACME].knowledge_bases[kb["knowledge_base_id"]].jobs
