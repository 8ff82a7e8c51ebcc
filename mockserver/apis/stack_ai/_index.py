"""Sorted views of an organization's connections, so that `GET /api/v1/connections` stays fast at scale.

Derived data, never part of a snapshot (like the folder cache): `StackAiState.indexes` holds one
`ConnectionIndex` per organization, created on first use (so a new, reset or imported state starts empty).

- For each sort field but `created_at` (creation order, the organization's own order), a `SortedView`:
  the connections in `sort_key` order, built on first use, then moved one at a time by the writes of
  `_connections.py` and `_oauth.py` (`ConnectionIndex.writing`).
- A query's matches (`Matches`): first all of them, in creation order, for the total. The first query
  after a write tests every connection; the next ones build, per field, the positions of the connections
  holding each value (`_groups`: a filter then tests each distinct value once; timestamps, nearly all
  distinct, are scanned as one column), so that reads following writes one for one never pay for a build.
  Then a few matches are sorted, while many are found by walking the view only as far as the pages asked
  for need. An organization admin's queries are cached until the next write, so paging through one query
  costs one pass in all.
- A write that does not go through `writing` (a state edited by hand, say) is caught anyway: every write of
  a listed field ticks the clock and every delete shrinks the organization, so a `(clock, count)` that
  moved unexpectedly makes the next listing re-file the connections whose `updated_at` passed the clock.
"""

from __future__ import annotations

import contextlib
from bisect import bisect_left, insort
from collections import OrderedDict
from collections.abc import Callable, Collection, Hashable, Iterable, Iterator, Mapping, Reversible, Sequence
from itertools import chain, compress, count, islice
from operator import attrgetter, not_
from typing import Any

from ._filters import STRING_FIELDS, Filter, sort_key
from ._state import Connection, Organization, StackAiState

CACHED_QUERIES = 8
"""Queries whose matches are kept per organization (each at most one reference per connection)."""
SORT_BELOW = 32
"""Matches fewer than 1/SORT_BELOW of the organization are sorted; more are found by walking a view."""

Version = tuple[int, int]
"""The clock and the organization's connection count: any write of a listed field changes one of them."""


class SortedView:
    """An organization's connections in ascending `key` order.

    Every connection sits where its current key puts it, except in the middle of a write: `writing` takes a
    connection out before the write and files it again after; `refile` repairs after unannounced writes.
    """

    __slots__ = ("_key", "connections")

    def __init__(self, key: Callable[[Connection], Any], connections: Iterable[Connection]) -> None:
        self._key = key
        self.connections: list[Connection] = sorted(connections, key=key)

    def __len__(self) -> int:
        return len(self.connections)

    def add(self, connection: Connection) -> None:
        insort(self.connections, connection, key=self._key)

    def remove(self, connection: Connection) -> None:
        """Takes out a connection filed under its current key (a no-op for one that is not filed)."""
        at = bisect_left(self.connections, self._key(connection), key=self._key)
        if at < len(self.connections) and self.connections[at] is connection:
            del self.connections[at]

    def refile(self, changed: Collection[Connection], present: Mapping[str, Connection]) -> None:
        """Files `changed` again (wherever they were, if anywhere), and drops connections no longer `present`."""
        stale = set(map(id, changed))  # by identity: comparing ids reads no connection
        connections = self.connections
        self.connections = list(
            compress(connections, map(not_, map(stale.__contains__, map(id, connections))))
        )
        if len(self.connections) + len(changed) != len(present):  # deleted behind the index's back
            self.connections = [c for c in self.connections if present.get(c.connection_id) is c]
        for connection in changed:
            self.add(connection)


class Matches:
    """The matches of one query: their `total`, and the first ones in order, found as pages ask for them."""

    __slots__ = ("_found", "_rest", "total")

    def __init__(self, total: int, ordered: Iterator[Connection]) -> None:
        self.total = total
        self._found: list[Connection] = []
        self._rest = ordered
        """The matches after `_found`, in order: valid until the next write, which drops the cache."""

    def page(self, offset: int, limit: int) -> list[Connection]:
        stop = min(offset + limit, self.total)
        if len(self._found) < stop:
            self._found += islice(self._rest, stop - len(self._found))
        return self._found[offset:stop]


class ConnectionIndex:
    """The sorted views and cached matches of one organization."""

    __slots__ = ("_columns", "_groups", "_matches", "_queries", "_version", "_views")

    def __init__(self) -> None:
        self._views: dict[str, SortedView] = {}
        self._version: Version | None = None
        """When the views and the cache were last known to match the organization."""
        self._matches: OrderedDict[Hashable, Matches] = OrderedDict()
        self._columns: dict[str, list[Any]] = {}
        """Field values in creation order (`""`: the connections themselves), built on first use after
        each write, like `_groups`."""
        self._groups: dict[str, dict[Any, list[int]]] = {}
        """For each string field, the positions (in creation order) of the connections holding each
        value: a filter tests each distinct value once (seeded names repeat: 400 names for 100k)."""
        self._queries = 0
        """Queries answered since the last write: columns are built for the second (reads that follow
        writes one for one scan the connections instead: building costs a few scans)."""

    @contextlib.contextmanager
    def writing(self, state: StackAiState, organization: Organization, connection_id: str) -> Iterator[None]:
        """Wraps one write of a connection (create, edit, delete): the views follow it at once."""
        current = self._version == _version(state, organization)
        before = organization.connections.get(connection_id)
        if before is not None:
            for view in self._views.values():
                view.remove(before)
        try:
            yield
        finally:
            after = organization.connections.get(connection_id)
            if after is not None:
                for view in self._views.values():
                    view.add(after)
            self._forget_columns()
            if current:
                self._version = _version(state, organization)

    def matches(
        self,
        state: StackAiState,
        organization: Organization,
        sort_by: str,
        descending: bool,
        filters: Sequence[Filter],
        checks: Sequence[Callable[[Connection], bool]],
        cache_key: Hashable | None,
    ) -> Matches:
        """The connections passing every filter and check, ordered by `sort_by`; cached under `cache_key`,
        if any (it must name the filters; leave it None when checks can change without a write, like RBAC)."""
        self._refresh(state, organization)
        key = (sort_by, descending, cache_key)
        if cache_key is not None:
            cached = self._matches.get(key)
            if cached is not None:
                self._matches.move_to_end(key)
                return cached
        found = self._find(organization, sort_by, descending, filters, checks)
        if cache_key is not None:
            self._matches[key] = found
            if len(self._matches) > CACHED_QUERIES:
                self._matches.popitem(last=False)
        return found

    def _find(
        self,
        organization: Organization,
        sort_by: str,
        descending: bool,
        filters: Sequence[Filter],
        checks: Sequence[Callable[[Connection], bool]],
    ) -> Matches:
        connections = organization.connections
        ordered: Reversible[Connection] = (
            connections.values() if sort_by == "created_at" else self._view(organization, sort_by).connections
        )
        walk = reversed(ordered) if descending else iter(ordered)
        if not filters and not checks:
            return Matches(len(connections), walk)
        passed: Iterable[Connection] = connections.values()
        tests = list(checks)
        self._queries += 1
        if filters and self._queries > 1:
            every = self._column(organization, "")
            passed = map(every.__getitem__, self._positions(organization, filters))
        else:
            tests += [item.predicate for item in filters]
        for test in tests:
            passed = filter(test, passed)
        found = list(passed)
        if sort_by == "created_at":
            return Matches(len(found), reversed(found) if descending else iter(found))
        if len(found) * SORT_BELOW < len(connections):
            return Matches(len(found), iter(sorted(found, key=sort_key(sort_by), reverse=descending)))
        for predicate in [*(item.predicate for item in filters), *checks]:
            walk = filter(predicate, walk)
        return Matches(len(found), walk)

    def _positions(self, organization: Organization, filters: Sequence[Filter]) -> list[int]:
        """The creation-order positions of the connections passing every filter, in order."""
        chosen: list[list[int]] = []
        for item in filters:
            if item.field in STRING_FIELDS:
                groups = self._groups_of(organization, item.field)
                found = [group for value, group in groups.items() if item.accepts(value)]
                chosen.append(found[0] if len(found) == 1 else sorted(chain.from_iterable(found)))
            else:  # timestamps: nearly every value is distinct
                column = self._column(organization, item.field)
                chosen.append(list(compress(count(), map(item.accepts, column))))
        chosen.sort(key=len)
        positions = chosen[0]
        for other in chosen[1:]:
            if not positions:
                break
            positions = list(filter(set(other).__contains__, positions))
        return positions

    def _column(self, organization: Organization, field: str) -> list[Any]:
        column = self._columns.get(field)
        if column is None:
            if not field:
                column = list(organization.connections.values())
            else:
                column = list(map(attrgetter(field), self._column(organization, "")))
            self._columns[field] = column
        return column

    def _groups_of(self, organization: Organization, field: str) -> dict[Any, list[int]]:
        groups = self._groups.get(field)
        if groups is None:
            groups = self._groups[field] = {}
            for position, value in enumerate(self._column(organization, field)):
                group = groups.get(value)
                if group is None:
                    groups[value] = [position]
                else:
                    group.append(position)
        return groups

    def _forget_columns(self) -> None:
        self._queries = 0
        self._matches.clear()
        self._columns.clear()
        self._groups.clear()

    def _view(self, organization: Organization, sort_by: str) -> SortedView:
        view = self._views.get(sort_by)
        if view is None:
            view = self._views[sort_by] = SortedView(sort_key(sort_by), organization.connections.values())
        return view

    def _refresh(self, state: StackAiState, organization: Organization) -> None:
        version = _version(state, organization)
        if version == self._version:
            return
        if self._version is not None and self._views:
            since = self._version[0]
            changed = [c for c in organization.connections.values() if c.updated_at > since]
            for view in self._views.values():
                if changed or len(view) != len(organization.connections):
                    view.refile(changed, organization.connections)
        self._forget_columns()
        self._version = version


def _version(state: StackAiState, organization: Organization) -> Version:
    return state.clock.last_write, len(organization.connections)


def writing(
    state: StackAiState, organization: Organization, connection_id: str
) -> contextlib.AbstractContextManager[None]:
    """Wraps one write of a connection so that the organization's index follows it (see `ConnectionIndex`)."""
    return index_of(state, organization).writing(state, organization, connection_id)


def index_of(state: StackAiState, organization: Organization) -> ConnectionIndex:
    index = state.indexes.get(organization.org_id)
    if index is None:
        index = state.indexes[organization.org_id] = ConnectionIndex()
    return index
