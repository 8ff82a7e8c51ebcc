"""Resources: deterministic trees, children pages, opaque cursors, search and lookups by id."""

from __future__ import annotations

import base64
import time
from typing import Any

import pytest
from stack_support import (
    ACME,
    CONFLUENCE,
    DRIVE_ID,
    ISO_MILLIS,
    connection_ids,
    create,
    detail_locs,
    find_by_role,
    fresh,
    headers,
    ok,
    state_of,
)

from mockserver.apis.stack_ai._resources import BULK_FOLDER, tree_of
from mockserver.apis.stack_ai._state import BoundedCache

RESOURCE_KEYS = {
    "knowledge_base_id",
    "created_at",
    "modified_at",
    "indexed_at",
    "inode_type",
    "resource_id",
    "inode_path",
    "dataloader_metadata",
    "user_metadata",
    "inode_id",
    "content_hash",
    "content_mime",
    "size",
    "status",
    "supabase_signed_url",
}


def children(c: Any, cid: str, user: str = "alice", **params: Any) -> dict[str, Any]:
    body: dict[str, Any] = ok(
        c.get(f"/connections/{cid}/resources/children", params=params, headers=headers(user))
    )
    return body


def all_children(
    c: Any, cid: str, resource_id: str | None = None, page_size: int = 1000
) -> list[dict[str, Any]]:
    items: list[dict[str, Any]] = []
    cursor = None
    while True:
        params: dict[str, Any] = {"page_size": page_size}
        if resource_id:
            params["resource_id"] = resource_id
        if cursor:
            params["cursor"] = cursor
        body = children(c, cid, **params)
        assert body["current_cursor"] == cursor
        items += body["data"]
        cursor = body["next_cursor"]
        if cursor is None:
            return items


def walk(c: Any, cid: str) -> list[dict[str, Any]]:
    """Every resource of the connection, depth-first in listing order."""
    found: list[dict[str, Any]] = []

    def visit(resource_id: str | None) -> None:
        for item in all_children(c, cid, resource_id):
            found.append(item)
            if item["inode_type"] == "directory":
                visit(item["resource_id"])

    visit(None)
    return found


def test_resources_have_the_vendor_shape() -> None:
    c = fresh()
    cid = connection_ids(c)[2]
    items = walk(c, cid)
    files = [i for i in items if i["inode_type"] == "file"]
    folders = [i for i in items if i["inode_type"] == "directory"]
    assert files and folders
    for item in items:
        assert set(item) == RESOURCE_KEYS
        assert DRIVE_ID.fullmatch(item["resource_id"])
        assert item["knowledge_base_id"] == "00000000-0000-0000-0000-000000000000"
        assert ISO_MILLIS.fullmatch(item["created_at"]) and ISO_MILLIS.fullmatch(item["modified_at"])
        assert item["modified_at"] >= item["created_at"]
        meta = item["dataloader_metadata"]
        assert meta["path"] == item["inode_path"]["path"] and meta["web_url"].startswith("https://")
        assert "@" in meta["created_by"] and "@" in meta["last_modified_by"]
    for item in files:
        assert item["content_mime"] and item["size"] > 0 and len(item["content_hash"]) == 64
        assert item["status"] == "resource"
        assert item["inode_path"]["path"].endswith("." + item["inode_path"]["path"].rsplit(".", 1)[1])
    for item in folders:
        assert item["content_mime"] is None and item["size"] is None and item["status"] is None
    assert len({i["resource_id"] for i in items}) == len(items)


def test_every_tree_is_at_least_three_folders_deep() -> None:
    c = fresh()
    state = state_of(c)
    for connection in state.organizations[ACME].connections.values():
        tree = tree_of(state, connection)
        deepest, stack = 0, [()]
        while stack:
            path = stack.pop()
            for node in tree.children(path):
                deepest = max(deepest, len(node.path))
                if node.is_dir:
                    stack.append(node.path)
        assert deepest >= 4, connection.tree
    small = next(
        cid for cid in connection_ids(c) if state.organizations[ACME].connections[cid].tree == "small"
    )
    depths = [
        len(item["inode_path"]["path"].split("/")) for item in walk(c, small) if item["inode_type"] == "file"
    ]
    assert max(depths) >= 4


def test_some_trees_hold_hundreds_of_items_and_a_thousand_file_folder() -> None:
    c = fresh()
    first, second = connection_ids(c)[:2]
    large = walk(c, first)
    assert len(large) > 1500
    bulk = next(i for i in large if i["inode_path"]["path"] == BULK_FOLDER)
    assert len(all_children(c, first, bulk["resource_id"])) > 1000
    assert 150 < len(walk(c, second)) < 1500


def test_children_are_folders_first_then_by_name_and_stable() -> None:
    c = fresh()
    cid = connection_ids(c)[1]
    items = all_children(c, cid)
    keys = [(i["inode_type"] != "directory", i["inode_path"]["path"].casefold()) for i in items]
    assert keys == sorted(keys)
    assert all_children(c, cid) == items
    assert all_children(c, cid, page_size=3) == items
    assert all_children(c, cid, page_size=1) == items


@pytest.mark.parametrize("page_size", [1, 7, 50, 999, 1000])
def test_children_pages_of_a_big_folder(page_size: int) -> None:
    c = fresh()
    cid = connection_ids(c)[0]
    bulk = next(i for i in all_children(c, cid) if i["inode_path"]["path"] == BULK_FOLDER)
    first = children(c, cid, resource_id=bulk["resource_id"], page_size=page_size)
    assert len(first["data"]) == page_size and first["current_cursor"] is None and first["next_cursor"]
    every = all_children(c, cid, bulk["resource_id"], page_size=1000)
    assert every[:page_size] == first["data"]
    second = children(
        c, cid, resource_id=bulk["resource_id"], page_size=page_size, cursor=first["next_cursor"]
    )
    assert second["current_cursor"] == first["next_cursor"]
    assert second["data"] == every[page_size : 2 * page_size]


def test_last_page_has_no_next_cursor() -> None:
    c = fresh()
    cid = connection_ids(c)[3]
    items = all_children(c, cid)
    body = children(c, cid, page_size=len(items))
    assert body["next_cursor"] is None and len(body["data"]) == len(items)
    body = children(c, cid, page_size=len(items) - 1)
    last = children(c, cid, page_size=len(items) - 1, cursor=body["next_cursor"])
    assert len(last["data"]) == 1 and last["next_cursor"] is None


def test_page_size_bounds_are_422() -> None:
    c = fresh()
    cid = connection_ids(c)[0]
    for size in (0, 1001, "x"):
        response = c.get(
            f"/connections/{cid}/resources/children", params={"page_size": size}, headers=headers()
        )
        assert response.status_code == 422 and detail_locs(response) == [["query", "page_size"]]


def test_a_file_has_no_children_and_unknown_ids_are_404() -> None:
    c = fresh()
    cid = connection_ids(c)[0]
    file = next(i for i in all_children(c, cid) if i["inode_type"] == "file")
    assert children(c, cid, resource_id=file["resource_id"]) == {
        "data": [],
        "next_cursor": None,
        "current_cursor": None,
    }
    for unknown in (
        "1" + "A" * 32,
        "root",
        file["resource_id"][:-1] + ("A" if file["resource_id"][-1] != "A" else "B"),
    ):
        response = c.get(
            f"/connections/{cid}/resources/children", params={"resource_id": unknown}, headers=headers()
        )
        assert response.status_code == 404 and response.json() == {"detail": "Resource not found"}
    other = connection_ids(c)[1]
    response = c.get(
        f"/connections/{other}/resources/children",
        params={"resource_id": file["resource_id"]},
        headers=headers(),
    )
    assert response.status_code == 404


def _forge(cursor: str) -> list[str]:
    """Cursors in the base64url alphabet that this server did not sign."""
    raw = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4))
    flipped = bytes([raw[0] ^ 1]) + raw[1:]
    forged = raw.replace(b'"p":', b'"p":1')
    return [
        base64.urlsafe_b64encode(flipped).rstrip(b"=").decode(),
        base64.urlsafe_b64encode(forged).rstrip(b"=").decode(),
        cursor[:-2],
        "ZXhhbXBsZV9jdXJzb3I=",  # the seed's example
        "AAAA",
    ]


@pytest.mark.parametrize("bad", ["%%%", "not a cursor", "abc~", "ZXhh.bXBs", "a b"])
def test_a_cursor_outside_the_base64url_alphabet_is_422(bad: str) -> None:
    c = fresh()
    cid = connection_ids(c)[0]
    before = state_of(c).snapshot()
    response = c.get(f"/connections/{cid}/resources/children", params={"cursor": bad}, headers=headers())
    assert response.status_code == 422, bad
    assert detail_locs(response) == [["query", "cursor"]]
    assert response.json()["detail"][0]["type"] == "string_pattern_mismatch"
    assert state_of(c).snapshot() == before


def test_a_cursor_in_the_standard_base64_alphabet_is_read_too() -> None:
    """The seed's example cursor is standard base64 (padded): `+`, `/` and `=` are the same cursor."""
    c = fresh()
    cid = connection_ids(c)[0]
    pairs = []
    for page_size in range(1, 9):
        issued = children(c, cid, page_size=page_size)["next_cursor"]
        raw = base64.urlsafe_b64decode(issued + "=" * (-len(issued) % 4))
        pairs.append((page_size, issued, base64.b64encode(raw).decode()))
    differing = [pair for pair in pairs if pair[1] != pair[2]]
    assert any(set(standard) & set("+/") for _, _, standard in differing)
    for page_size, issued, standard in differing:
        expected = children(c, cid, page_size=page_size, cursor=issued)
        again = children(c, cid, page_size=page_size, cursor=standard)
        assert again["data"] == expected["data"] and again["next_cursor"] == expected["next_cursor"]
    for odd in ("abc+/", "ZXhhbXBsZV9jdXJzb3I="):
        response = c.get(f"/connections/{cid}/resources/children", params={"cursor": odd}, headers=headers())
        assert response.status_code == 404, (odd, response.text)


def test_empty_values_are_values_as_fastapi_reads_them() -> None:
    """`cursor=` is the first page, `query=` matches everything, `resource_id=` is the root."""
    c = fresh()
    cid = connection_ids(c)[0]
    root = children(c, cid, page_size=5)
    empty = ok(
        c.get(
            f"/connections/{cid}/resources/children",
            params={"cursor": "", "resource_id": "", "page_size": 5},
            headers=headers(),
        )
    )
    assert empty["data"] == root["data"]
    found = ok(
        c.get(f"/connections/{cid}/resources/search", params={"query": "", "page_size": 5}, headers=headers())
    )
    assert len(found["data"]) == 5


def test_forged_or_foreign_cursors_are_404() -> None:
    """The spec cannot tell a signed cursor from a forged one, so a well-formed unknown cursor is not found."""
    c = fresh()
    cid, other = connection_ids(c)[:2]
    first = children(c, cid, page_size=2)
    before = state_of(c).snapshot()
    for bad in _forge(first["next_cursor"]):
        response = c.get(f"/connections/{cid}/resources/children", params={"cursor": bad}, headers=headers())
        assert response.status_code == 404, bad
        assert response.json() == {
            "detail": "Cursor not found: this server never issued it, or it was altered; list again without a cursor"
        }
    foreign = [
        (f"/connections/{other}/resources/children", {"cursor": first["next_cursor"]}),
        (f"/connections/{cid}/resources/search", {"query": "a", "cursor": first["next_cursor"]}),
    ]
    folder = next(i for i in all_children(c, cid) if i["inode_type"] == "directory")
    foreign.append(
        (
            f"/connections/{cid}/resources/children",
            {"cursor": first["next_cursor"], "resource_id": folder["resource_id"]},
        )
    )
    for url, params in foreign:
        response = c.get(url, params=params, headers=headers())
        assert response.status_code == 404
        assert response.json() == {
            "detail": "Cursor not found: it belongs to another listing; list again without a cursor"
        }
    assert state_of(c).snapshot() == before


def test_resources_map_with_null_for_unknown_ids() -> None:
    c = fresh()
    cid = connection_ids(c)[1]
    items = walk(c, cid)
    deep = max(items, key=lambda i: i["inode_path"]["path"].count("/"))
    wanted = [items[0]["resource_id"], deep["resource_id"], "1" + "x" * 32, "not-an-id"]
    body = ok(c.get(f"/connections/{cid}/resources", params={"resource_ids": wanted}, headers=headers()))
    assert list(body) == wanted
    assert body[items[0]["resource_id"]] == items[0] and body[deep["resource_id"]] == deep
    assert body["1" + "x" * 32] is None and body["not-an-id"] is None
    assert ok(c.get(f"/connections/{cid}/resources", headers=headers())) == {}


def test_search_is_case_insensitive_across_the_tree_and_pages_like_children() -> None:
    c = fresh()
    cid = connection_ids(c)[1]
    items = walk(c, cid)
    for query in ("report", "REPORT", "Q3", ".pdf", "zzz-nothing"):
        expected = [
            i for i in items if query.casefold() in i["inode_path"]["path"].rsplit("/", 1)[-1].casefold()
        ]
        found: list[dict[str, Any]] = []
        cursor = None
        pages = 0
        while True:
            params: dict[str, Any] = {"query": query, "page_size": 7}
            if cursor:
                params["cursor"] = cursor
            body = ok(c.get(f"/connections/{cid}/resources/search", params=params, headers=headers()))
            assert body["current_cursor"] == cursor and len(body["data"]) <= 7
            found += body["data"]
            pages += 1
            cursor = body["next_cursor"]
            if cursor is None:
                break
            assert len(body["data"]) == 7
        assert found == expected, query
        assert pages == max(1, -(-len(expected) // 7))
    assert any(query in i["inode_path"]["path"] for i in items for query in ("/",))


def test_search_requires_a_query() -> None:
    c = fresh()
    cid = connection_ids(c)[0]
    response = c.get(f"/connections/{cid}/resources/search", headers=headers())
    assert response.status_code == 422 and detail_locs(response) == [["query", "query"]]


def test_connections_created_through_the_api_have_trees_too() -> None:
    c = fresh()
    cid = create(c)["connection_id"]
    assert len(walk(c, cid)) > 10


def test_rendered_resources_are_shared_but_follow_the_connections_provider() -> None:
    c = fresh()
    cid = create(c)["connection_id"]
    url = f"/connections/{cid}/resources/children"
    first = ok(c.get(url, headers=headers()))
    assert ok(c.get(url, headers=headers())) == first  # served from state.resources
    assert all(
        item["dataloader_metadata"]["web_url"].startswith("https://drive.google.com/")
        for item in first["data"]
    )
    ok(c.put(f"/connections/{cid}", json=CONFLUENCE, headers=headers()))
    again = ok(c.get(url, headers=headers()))
    assert [item["resource_id"] for item in again["data"]] == [item["resource_id"] for item in first["data"]]
    assert all(".atlassian.net/wiki/" in item["dataloader_metadata"]["web_url"] for item in again["data"])
    state = state_of(c)
    state.resources = BoundedCache(2048)  # nothing cached: rendered afresh, the same bytes
    assert ok(c.get(url, headers=headers())) == again


def test_viewers_browse_and_hidden_connections_stay_hidden() -> None:
    c = fresh()
    viewer = find_by_role(c, "bob", "viewer")
    assert children(c, viewer, "bob")["data"]
    hidden = find_by_role(c, "bob", None)
    response = c.get(f"/connections/{hidden}/resources/children", headers=headers("bob"))
    assert response.status_code == 404
    response = c.get(f"/connections/{hidden}/resources/children", headers=headers("carol"))
    assert response.status_code == 404


def test_refresh_oauth_tokens_on_resource_calls_rotates_tokens() -> None:
    c = fresh()
    cid = create(c)["connection_id"]
    connection = state_of(c).organizations[ACME].connections[cid]
    token = connection.provider_data["access_token"]
    children(c, cid, refresh_oauth_tokens="true")
    assert connection.provider_data["access_token"] != token


def test_page_cost_does_not_grow_with_the_tree() -> None:
    c = fresh()
    large, small = (
        connection_ids(c)[0],
        next(
            cid
            for cid in connection_ids(c)
            if state_of(c).organizations[ACME].connections[cid].tree == "small"
        ),
    )

    def cost(cid: str) -> float:
        start = time.perf_counter()
        for _ in range(20):
            state_of(c).folders = BoundedCache(1024)  # cold cache every time
            children(c, cid, page_size=5)
        return time.perf_counter() - start

    cost(small)
    assert cost(large) < 3 * cost(small) + 0.05


def test_sessions_share_rendered_resources_and_an_imported_state_renders_its_own_members() -> None:
    c = fresh()
    cid = connection_ids(c)[0]
    url = f"/connections/{cid}/resources/children"
    first = ok(c.get(url, headers=headers()))
    shared = state_of(c).resources
    held = len(shared._entries)
    in_session = {**headers(), "X-Mock-Session": "shared-cache"}
    assert ok(c.get(url, headers=in_session)) == first  # the same seed: the same items, nothing rendered anew
    assert len(shared._entries) == held
    snapshot = ok(c.get("/__mock/state"))
    members = snapshot["apis"]["stack-ai"]["organizations"][0]["members"]
    assert members[0]["email"] == "alice@acme.test"
    for member in members[2:]:  # faker's members (the mock users keep their e-mails)
        member["email"] = member["email"].replace("@acme.test", "@acme-imported.test")
    emails = {member["email"] for member in members}
    ok(c.put("/__mock/state", json=snapshot, headers={"X-Mock-Session": "imported"}))
    imported = ok(c.get(url, headers={**headers(), "X-Mock-Session": "imported"}))
    shown = {
        item["dataloader_metadata"][who]
        for item in imported["data"]
        for who in ("created_by", "last_modified_by")
    }
    assert shown <= emails and any(email.endswith("@acme-imported.test") for email in shown)
    assert [item["resource_id"] for item in imported["data"]] == [
        item["resource_id"] for item in first["data"]
    ]
    for session in ("shared-cache", "imported"):
        ok(c.post("/__mock/reset", headers={"X-Mock-Session": session}))
