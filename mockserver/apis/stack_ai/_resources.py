"""The files and folders of a connection: a lazy, deterministic tree, browsed and searched by cursor.

Nothing is stored: a folder's children are derived from a hash of (seed, connection id, folder path)
when asked for, so a page costs the same whatever the size of the tree. Each connection has a size
class (`small` ≈ 40 items, `medium` ≈ 350, `large` ≈ 2,000 with one folder of about 1,200 scans) and
at least three levels of folders. Resource ids look like Google Drive ids (33 characters starting
with `1`); they encode the item's position under an HMAC, so an id is checked without a lookup
table and an id of another connection is unknown. Folders list directories first, then by name
(case-insensitive). Search walks the tree depth-first in that order and matches names
case-insensitively; its cursor stores where the walk stopped.
"""

from __future__ import annotations

import hashlib
import hmac
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any
from urllib.parse import quote

from ..._api import MockResponse, OperationContext
from ._access import load, not_found
from ._connections import refresh_tokens
from ._cursor import decode_cursor, encode_cursor
from ._rand import Rand, Weighted, b64url, b64url_decode, stable_int
from ._state import BoundedCache, Connection, Organization, StackAiState, iso_millis, to_micros

NIL_UUID = "00000000-0000-0000-0000-000000000000"
MAX_DEPTH = 6
_PATH_BYTES = 1 + 2 * MAX_DEPTH
_MAC_BYTES = 11

# (fewest, most) folders, then (fewest, most) files, of a folder at each depth (the root is depth 0).
Shape = tuple[tuple[int, int, int, int], ...]
SHAPES: Mapping[str, Shape] = {
    "small": ((3, 4, 3, 6), (1, 2, 2, 5), (1, 1, 1, 4), (0, 0, 1, 3)),
    "medium": ((4, 6, 5, 10), (2, 4, 4, 12), (1, 3, 3, 10), (0, 1, 2, 8), (0, 0, 1, 5)),
    "large": ((5, 7, 8, 14), (3, 4, 6, 14), (2, 3, 4, 12), (1, 2, 3, 10), (0, 0, 2, 6)),
}
BULK_FOLDER = "Scanned documents"

_FOLDERS = (
    "Reports", "Invoices", "Contracts", "Meeting notes", "Research", "Design", "Marketing", "Sales",
    "Finance", "Legal", "HR", "Onboarding", "Roadmap", "Specs", "Archive", "Templates", "Presentations",
    "Customers", "Partners", "Proposals", "Budgets", "Analytics", "Press", "Brand assets", "Policies",
    "Training", "Hiring", "Board", "Quarterly reviews", "Projects", "Experiments", "Datasets", "Papers",
    "Interviews", "Support", "Releases", "Security", "Compliance", "Vendors", "Shared",
)  # fmt: skip
_ADJECTIVES = (
    "annual", "draft", "final", "quarterly", "internal", "public", "weekly", "revised", "signed",
    "summary", "detailed", "preliminary", "approved", "confidential", "updated", "monthly",
)  # fmt: skip
_NOUNS = (
    "report", "plan", "budget", "proposal", "contract", "notes", "roadmap", "analysis", "survey",
    "forecast", "invoice", "agenda", "review", "strategy", "checklist", "guidelines", "brief",
    "minutes", "overview", "benchmark", "study", "timeline", "handbook", "playbook", "results",
)  # fmt: skip
# extension, mime type, smallest and largest size in bytes, weight
_FILE_TYPES = (
    ("pdf", "application/pdf", 40_000, 8_000_000, 30),
    (
        "docx",
        "application/vnd.openxmlformats-officedocument.wordprocessingml.document",
        12_000,
        2_000_000,
        18,
    ),
    ("xlsx", "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet", 8_000, 3_000_000, 12),
    (
        "pptx",
        "application/vnd.openxmlformats-officedocument.presentationml.presentation",
        200_000,
        25_000_000,
        7,
    ),
    ("txt", "text/plain", 200, 200_000, 6),
    ("md", "text/markdown", 300, 120_000, 6),
    ("csv", "text/csv", 1_000, 9_000_000, 8),
    ("png", "image/png", 20_000, 4_000_000, 6),
    ("jpg", "image/jpeg", 30_000, 6_000_000, 4),
    ("json", "application/json", 500, 500_000, 3),
)
_TYPE_WEIGHTS = Weighted([(index, entry[4]) for index, entry in enumerate(_FILE_TYPES)])
_OLDEST = to_micros(datetime(2023, 1, 2, tzinfo=UTC))
_NEWEST = to_micros(datetime(2025, 11, 29, tzinfo=UTC))


@dataclass(frozen=True, slots=True)
class Node:
    path: tuple[int, ...]
    """Index of the item among its parent's generated children, at each level from the root."""
    is_dir: bool
    name: str


class Tree:
    """The resource tree of one connection."""

    __slots__ = ("_cache", "_id_key", "key", "size")

    def __init__(self, key: int, size: str, secret: bytes, cache: BoundedCache) -> None:
        self.key = key
        self.size = size if size in SHAPES else "small"
        self._id_key = secret + key.to_bytes(8, "big")
        self._cache = cache

    # ------------------------------------------------------------ structure

    def _is_bulk(self, path: tuple[int, ...]) -> bool:
        return self.size == "large" and path == (0,)

    def counts(self, path: tuple[int, ...]) -> tuple[int, int]:
        """How many folders and files the folder at `path` holds; cached (derived data only)."""
        counted: tuple[int, int] = self._cache.get(
            (self.key, self.size, "counts", path), lambda: self._count(path)
        )
        return counted

    def _count(self, path: tuple[int, ...]) -> tuple[int, int]:
        if self._is_bulk(path):
            return 0, 1150 + Rand.of(self.key, "bulk").below(100)
        shape = SHAPES[self.size]
        if len(path) >= len(shape):
            return 0, 0
        low_dirs, high_dirs, low_files, high_files = shape[len(path)]
        rand = Rand.of(self.key, "counts", path)
        return rand.between(low_dirs, high_dirs), rand.between(low_files, high_files)

    def node(self, path: tuple[int, ...]) -> Node:
        parent = path[:-1]
        is_dir = path[-1] < self.counts(parent)[0]
        return Node(path, is_dir, self._name(path, is_dir))

    def _name(self, path: tuple[int, ...], is_dir: bool) -> str:
        rand = Rand.of(self.key, "name", path)
        if is_dir:
            if self._is_bulk(path):
                return BULK_FOLDER
            name = rand.choice(_FOLDERS)
            return f"{name} {2019 + rand.below(7)}" if rand.chance(0.25) else name
        extension = _FILE_TYPES[rand.weighted(_TYPE_WEIGHTS)][0]
        if self._is_bulk(path[:-1]):
            day = datetime.fromtimestamp(_OLDEST / 1e6 + rand.below(1000) * 86400, UTC)
            return f"scan-{day:%Y-%m-%d}-{path[-1]:04d}.pdf"
        style = rand.below(3)
        if style == 0:
            stem = f"{rand.choice(_ADJECTIVES)}-{rand.choice(_NOUNS)}"
        elif style == 1:
            stem = f"{rand.choice(_NOUNS).capitalize()} Q{1 + rand.below(4)} {2021 + rand.below(5)}"
        else:
            stem = f"{rand.choice(_NOUNS)}_{2022 + rand.below(4)}-{1 + rand.below(12):02d}-{1 + rand.below(28):02d}"
        return f"{stem}.{extension}"

    def children(self, path: tuple[int, ...]) -> tuple[Node, ...]:
        """The folder's items, folders first, then by name; cached (derived data only)."""

        def build() -> tuple[Node, ...]:
            dirs, files = self.counts(path)
            nodes = [
                Node((*path, i), i < dirs, self._name((*path, i), i < dirs)) for i in range(dirs + files)
            ]
            nodes.sort(key=lambda n: (not n.is_dir, n.name.casefold(), n.path[-1]))
            return tuple(nodes)

        result: tuple[Node, ...] = self._cache.get((self.key, self.size, path), build)
        return result

    # ------------------------------------------------------------ ids

    def resource_id(self, path: tuple[int, ...]) -> str:
        raw = bytes([len(path)]) + b"".join(i.to_bytes(2, "big") for i in path)
        raw = raw.ljust(_PATH_BYTES, b"\0")
        mac = hmac.new(self._id_key, raw, hashlib.sha256).digest()[:_MAC_BYTES]
        stream = hashlib.sha256(self._id_key + mac).digest()[:_PATH_BYTES]
        return "1" + b64url(mac + bytes(a ^ b for a, b in zip(raw, stream, strict=True)))

    def find(self, resource_id: str) -> Node | None:
        """The item with this id, or None for an id this connection never issued; cached (derived data)."""
        found: Node | None = self._cache.get(
            (self.key, self.size, "id", resource_id), lambda: self._find(resource_id)
        )
        return found

    def _find(self, resource_id: str) -> Node | None:
        if len(resource_id) != 33 or not resource_id.startswith("1"):
            return None
        try:
            data = b64url_decode(resource_id[1:])
        except ValueError:
            return None
        mac, cipher = data[:_MAC_BYTES], data[_MAC_BYTES:]
        stream = hashlib.sha256(self._id_key + mac).digest()[:_PATH_BYTES]
        raw = bytes(a ^ b for a, b in zip(cipher, stream, strict=True))
        expected = hmac.new(self._id_key, raw, hashlib.sha256).digest()[:_MAC_BYTES]
        if not hmac.compare_digest(mac, expected) or not 1 <= raw[0] <= MAX_DEPTH:
            return None
        path = tuple(int.from_bytes(raw[1 + 2 * i : 3 + 2 * i], "big") for i in range(raw[0]))
        for depth, index in enumerate(path):
            dirs, files = self.counts(path[:depth])
            if index >= dirs + files or (depth < len(path) - 1 and index >= dirs):
                return None
        return self.node(path)

    def path_text(self, node: Node) -> str:
        names = [self.node(node.path[:depth]).name for depth in range(1, len(node.path))]
        return "/".join([*names, node.name])


def _web_url(
    connection: Connection, organization: Organization, node: Node, resource_id: str, path: str
) -> str:
    tenant = organization.domain.split(".")[0]
    provider = connection.provider_id
    if provider == "gdrive":
        if node.is_dir:
            return f"https://drive.google.com/drive/folders/{resource_id}"
        return f"https://drive.google.com/file/d/{resource_id}/view?usp=drivesdk"
    if provider == "onedrive":
        return f"https://onedrive.live.com/?id={resource_id}"
    if provider == "sharepoint":
        return f"https://{tenant}.sharepoint.com/sites/shared/Shared%20Documents/{quote(path)}"
    if provider == "dropbox":
        return f"https://www.dropbox.com/home/{quote(path)}"
    if provider == "notion":
        return f"https://www.notion.so/{quote(node.name.replace(' ', '-'))}-{resource_id[1:33].lower()}"
    if provider == "confluence":
        return f"https://{tenant}.atlassian.net/wiki/spaces/{tenant.upper()[:4]}/pages/{stable_int(resource_id) % 10**9}"
    return f"https://app.slack.com/files/{resource_id}"


def resource_json(
    state: StackAiState, tree: Tree, node: Node, connection: Connection, organization: Organization
) -> dict[str, Any]:
    """An item as the API shows it, rendered once and then served from `state.resources`: it is derived
    from the tree, the item, the connection's provider and the organization's identity, all in the key, so
    states can share the cache (a session's tree keys are the default state's; an imported state with other
    members has another identity). Nothing changes a response body once built, so the dict is shared."""
    key = (tree.key, tree.size, node.path, connection.provider_id, organization.identity())
    rendered: dict[str, Any] = state.resources.get(
        key, lambda: _render_resource(tree, node, connection, organization)
    )
    return rendered


def _render_resource(
    tree: Tree, node: Node, connection: Connection, organization: Organization
) -> dict[str, Any]:
    rand = Rand.of(tree.key, "meta", node.path)
    created = _OLDEST + rand.below(_NEWEST - _OLDEST - 86_400_000_000)
    modified = created + rand.below(_NEWEST - created)
    emails = [member.email for member in organization.members.values()]
    creator, modifier = rand.choice(emails), rand.choice(emails)
    resource_id = tree.resource_id(node.path)
    path = tree.path_text(node)
    mime = size = content_hash = status = None
    if not node.is_dir:
        extension = node.name.rsplit(".", 1)[-1]
        _, mime, smallest, largest, _ = next(t for t in _FILE_TYPES if t[0] == extension)
        size = rand.between(smallest, largest)
        content_hash = rand.hex(64)
        status = "resource"
    return {
        "knowledge_base_id": NIL_UUID,
        "created_at": iso_millis(created),
        "modified_at": iso_millis(modified),
        "indexed_at": None,
        "inode_type": "directory" if node.is_dir else "file",
        "resource_id": resource_id,
        "inode_path": {"path": path},
        "dataloader_metadata": {
            "path": path,
            "web_url": _web_url(connection, organization, node, resource_id, path),
            "last_modified_at": iso_millis(modified),
            "last_modified_by": modifier,
            "created_at": iso_millis(created),
            "created_by": creator,
        },
        "user_metadata": {},
        "inode_id": None,
        "content_hash": content_hash,
        "content_mime": mime,
        "size": size,
        "status": status,
        "supabase_signed_url": None,
    }


def tree_of(state: StackAiState, connection: Connection) -> Tree:
    return Tree(state.tree_key(connection.connection_id), connection.tree, state.secret, state.folders)


def _page(
    state: StackAiState,
    tree: Tree,
    nodes: list[Node],
    connection: Connection,
    organization: Organization,
    next_cursor: str | None,
    cursor: str | None,
) -> dict[str, Any]:
    return {
        "data": [resource_json(state, tree, node, connection, organization) for node in nodes],
        "next_cursor": next_cursor,
        "current_cursor": cursor,
    }


def get_connection_resources(ctx: OperationContext) -> MockResponse:
    """A map from each requested id to its resource, or null for an id the connection does not have."""
    state, organization, connection, _ = load(ctx)
    tree = tree_of(state, connection)
    result: dict[str, Any] = {}
    for resource_id in ctx.query.get("resource_ids") or ():
        if resource_id not in result:
            node = tree.find(str(resource_id))
            result[resource_id] = (
                None if node is None else resource_json(state, tree, node, connection, organization)
            )
    if ctx.query.get("refresh_oauth_tokens"):
        refresh_tokens(state, connection)
    return MockResponse(200, result)


def get_children_resources(ctx: OperationContext) -> MockResponse:
    state, organization, connection, _ = load(ctx)
    tree = tree_of(state, connection)
    resource_id = ctx.query.get("resource_id") or None
    cursor = ctx.query.get("cursor") or None
    page_size = int(ctx.query["page_size"])
    items: tuple[Node, ...] = ()
    if resource_id is None:
        items = tree.children(())
    else:
        parent = tree.find(str(resource_id))
        if parent is None:
            raise not_found("Resource not found")
        if parent.is_dir:
            items = tree.children(parent.path)
    scope = [connection.connection_id, resource_id or ""]
    offset = int(decode_cursor(state.secret, cursor, kind="children", scope=scope)) if cursor else 0
    end = offset + page_size
    next_cursor = (
        encode_cursor(state.secret, {"k": "children", "s": scope, "p": end}) if end < len(items) else None
    )
    if ctx.query.get("refresh_oauth_tokens"):
        refresh_tokens(state, connection)
    return MockResponse(
        200, _page(state, tree, list(items[offset:end]), connection, organization, next_cursor, cursor)
    )


def _search(tree: Tree, needle: str, start: list[int], page_size: int) -> tuple[list[Node], list[int] | None]:
    """Depth-first, folders before files: up to `page_size` matches, and where the next match is."""
    stack: list[list[Any]] = [[tree.children(()), start[0]]]
    for position in start[1:]:
        children, index = stack[-1]
        parent: Node = children[index - 1]
        stack.append([tree.children(parent.path), position])
    found: list[Node] = []
    while stack:
        frame = stack[-1]
        children, index = frame
        if index >= len(children):
            stack.pop()
            continue
        node: Node = children[index]
        if needle in node.name.casefold():
            if len(found) == page_size:
                return found, [entry[1] for entry in stack]
            found.append(node)
        frame[1] = index + 1
        if node.is_dir:
            stack.append([tree.children(node.path), 0])
    return found, None


def search_resources(ctx: OperationContext) -> MockResponse:
    state, organization, connection, _ = load(ctx)
    tree = tree_of(state, connection)
    query = str(ctx.query["query"])
    cursor = ctx.query.get("cursor") or None
    scope = [connection.connection_id, query]
    start = decode_cursor(state.secret, cursor, kind="search", scope=scope) if cursor else [0]
    found, resume = _search(tree, query.casefold(), list(start), int(ctx.query["page_size"]))
    next_cursor = encode_cursor(state.secret, {"k": "search", "s": scope, "p": resume}) if resume else None
    if ctx.query.get("refresh_oauth_tokens"):
        refresh_tokens(state, connection)
    return MockResponse(200, _page(state, tree, found, connection, organization, next_cursor, cursor))
