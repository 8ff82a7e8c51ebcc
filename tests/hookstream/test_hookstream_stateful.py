"""A hypothesis state machine over sources, destinations, connections and ingest, checked against a model.

Every step compares the API's answer with the model's prediction; every refused step also checks
that the server state is byte-for-byte what it was before.
"""

from __future__ import annotations

import itertools
import json
from dataclasses import dataclass
from typing import Any

from hs_support import (
    ACME,
    ACME_STAGING,
    GLOBEX,
    error,
    headers,
    ok,
    org_env,
    reset,
    shared_client,
    snapshot,
)
from hypothesis import event, settings
from hypothesis import strategies as st
from hypothesis.stateful import Bundle, RuleBasedStateMachine, initialize, invariant, multiple, rule

OWNERS = (ACME, ACME_STAGING, GLOBEX)
SOURCE_OWNER = "whoever created the source"
TYPES = ("order.created", "order.paid", "refund")


@dataclass
class Item:
    id: str
    org: str
    env: str
    name: str
    owner: str = ""
    deleted: bool = False


@dataclass
class Conn(Item):
    source_id: str = ""
    destination_id: str = ""
    enabled: bool = True
    status: str = "active"
    rule: dict[str, Any] | None = None
    event_count: int = 0


rules_strategy = st.one_of(
    st.none(),
    st.builds(lambda t: {"field": "payload.type", "op": "eq", "value": t}, st.sampled_from(TYPES)),
    st.builds(
        lambda ts: {"field": "payload.type", "op": "in", "value": ts},
        st.lists(st.sampled_from(TYPES), max_size=2),
    ),
    st.builds(lambda b: {"field": "headers.X-Kind", "op": "exists", "value": b}, st.booleans()),
    st.builds(lambda n: {"field": "payload.n", "op": "gte", "value": n}, st.integers(0, 3)),
    st.builds(lambda t: {"field": "payload.type", "op": "neq", "value": t}, st.sampled_from(TYPES)),
)


def model_matches(rule: dict[str, Any] | None, payload: dict[str, Any], kind: str | None) -> bool:
    if rule is None:
        return True
    field, op, value = rule["field"], rule["op"], rule["value"]
    if field == "headers.X-Kind":
        return (kind is not None) == value
    actual = payload.get(field.removeprefix("payload."))
    if op == "eq":
        return bool(actual == value)
    if op == "neq":
        return bool(actual != value)
    if op == "in":
        return actual in value
    return isinstance(actual, int) and actual >= value


class HookstreamMachine(RuleBasedStateMachine):
    sources = Bundle("sources")
    destinations = Bundle("destinations")
    connections = Bundle("connections")

    def __init__(self) -> None:
        super().__init__()
        self.client = shared_client()
        reset(self.client)
        self.slugs = itertools.count()
        self.model_sources: dict[str, Item] = {}
        self.model_destinations: dict[str, Item] = {}
        self.model_connections: dict[str, Conn] = {}
        self.seeded = {owner: self._listed_ids(owner) for owner in (ACME, GLOBEX)}

    # ---------------------------------------------------------------- helpers

    def _listed(self, owner: str) -> list[dict[str, Any]]:
        return ok(self.client.get("/v1/connections", headers=headers(owner)))["connections"]  # type: ignore[no-any-return]

    def _listed_ids(self, owner: str) -> set[str]:
        return {c["id"] for c in self._listed(owner)}

    def _refused(self, response: Any, status: int, before: Any, message: str | None = None) -> None:
        error(response, status, message)
        assert snapshot(self.client) == before

    def _event_total(self, source: Item) -> int:
        if source.deleted:
            return 0
        query = {"source_id": source.id, "limit": 1}
        listed = ok(self.client.get("/v1/events", params=query, headers=headers(source.owner)))
        return int(listed["pagination"]["total"])

    @staticmethod
    def _visible(item: Item, owner: str) -> bool:
        return not item.deleted and item.org == org_env(owner)[0]

    # ---------------------------------------------------------------- rules

    @initialize(target=sources)
    def first_sources(self) -> Any:
        return multiple(self.create_source(ACME, "alpha"), self.create_source(GLOBEX, "beta"))

    @initialize(target=destinations)
    def first_destinations(self) -> Any:
        return multiple(self.create_destination(ACME, "one"), self.create_destination(GLOBEX, "two"))

    @rule(target=sources, owner=st.sampled_from(OWNERS), name=st.sampled_from(["alpha", "beta"]))
    def create_source(self, owner: str, name: str) -> str:
        body = {"name": name, "slug": f"s-{next(self.slugs)}"}
        source = ok(self.client.post("/v1/sources", json=body, headers=headers(owner)), 201)["source"]
        org, env = org_env(owner)
        assert (source["org_id"], source["env_id"], source["event_count"]) == (org, env, 0)
        self.model_sources[source["id"]] = Item(source["id"], org, env, name, owner)
        return source["id"]  # type: ignore[no-any-return]

    @rule(target=destinations, owner=st.sampled_from(OWNERS), name=st.sampled_from(["one", "two"]))
    def create_destination(self, owner: str, name: str) -> str:
        body = {"name": name, "slug": f"d-{next(self.slugs)}", "url": "https://example.com/x"}
        destination = ok(self.client.post("/v1/destinations", json=body, headers=headers(owner)), 201)[
            "destination"
        ]
        org, env = org_env(owner)
        self.model_destinations[destination["id"]] = Item(destination["id"], org, env, name, owner)
        return destination["id"]  # type: ignore[no-any-return]

    @rule(
        target=connections,
        owner=st.sampled_from([SOURCE_OWNER, SOURCE_OWNER, *OWNERS]),
        source_id=sources,
        destination_id=destinations,
        filter_rule=rules_strategy,
        enabled=st.booleans(),
        pair=st.booleans(),
    )
    def create_connection(
        self,
        owner: str,
        source_id: str,
        destination_id: str,
        filter_rule: dict[str, Any] | None,
        enabled: bool,
        pair: bool,
    ) -> Any:
        source = self.model_sources[source_id]
        if pair:  # a destination of the source's environment, when there is one: mostly valid requests
            owner = source.owner
            same_env = [
                d.id for d in self.model_destinations.values() if d.env == source.env and not d.deleted
            ]
            destination_id = same_env[-1] if same_env else destination_id
        destination = self.model_destinations[destination_id]
        owner = source.owner if owner == SOURCE_OWNER else owner
        org, env = org_env(owner)
        body = {
            "source_id": source_id,
            "destination_id": destination_id,
            "name": f"{source.name}->{destination.name}",
            "enabled": enabled,
            "filter_rules": [filter_rule] if filter_rule else [],
        }
        before = snapshot(self.client)
        response = self.client.post("/v1/connections", json=body, headers=headers(owner))
        usable = all(self._visible(i, owner) and i.env == env for i in (source, destination))
        event(f"create connection: {'201' if usable else '404'}")
        if not usable:
            self._refused(response, 404, before, "Source or destination not found")
            return multiple()
        connection = ok(response, 201)["connection"]
        self.model_connections[connection["id"]] = Conn(
            connection["id"],
            org,
            env,
            body["name"],
            source_id=source_id,
            destination_id=destination_id,
            enabled=enabled,
            rule=filter_rule,
        )
        return connection["id"]

    @rule(owner=st.sampled_from(OWNERS), source_id=sources, name=st.sampled_from(["gamma", "delta"]))
    def rename_source(self, owner: str, source_id: str, name: str) -> None:
        source = self.model_sources[source_id]
        before = snapshot(self.client)
        response = self.client.patch(f"/v1/sources/{source_id}", json={"name": name}, headers=headers(owner))
        if not self._visible(source, owner):
            self._refused(response, 404, before, "Source not found")
            return
        assert ok(response)["source"]["name"] == name
        source.name = name

    @rule(
        owner=st.sampled_from(OWNERS),
        connection_id=connections,
        change=st.one_of(
            st.builds(lambda b: {"enabled": b}, st.booleans()),
            st.builds(lambda s: {"status": s}, st.sampled_from(["active", "paused", "disabled"])),
            st.builds(lambda r: {"filter_rules": [r] if r else None}, rules_strategy),
        ),
    )
    def patch_connection(self, owner: str, connection_id: str, change: dict[str, Any]) -> None:
        connection = self.model_connections[connection_id]
        before = snapshot(self.client)
        response = self.client.patch(f"/v1/connections/{connection_id}", json=change, headers=headers(owner))
        if not self._visible(connection, owner):
            self._refused(response, 404, before, "Connection not found")
            return
        body = ok(response)["connection"]
        assert body["updated_at"] > before.connections[connection_id].updated_at
        if "enabled" in change:
            connection.enabled = change["enabled"]
        if "status" in change:
            connection.status = change["status"]
        if "filter_rules" in change:
            connection.rule = (change["filter_rules"] or [None])[0]

    @rule(owner=st.sampled_from(OWNERS), connection_id=connections)
    def delete_connection(self, owner: str, connection_id: str) -> None:
        connection = self.model_connections[connection_id]
        before = snapshot(self.client)
        response = self.client.delete(f"/v1/connections/{connection_id}", headers=headers(owner))
        if not self._visible(connection, owner):
            self._refused(response, 404, before, "Connection not found")
            return
        assert ok(response) == {"success": True}
        connection.deleted = True

    def _delete(self, kind: str, item: Item, owner: str, users: list[Conn]) -> None:
        before = snapshot(self.client)
        response = self.client.delete(f"/v1/{kind}s/{item.id}", headers=headers(owner))
        if not self._visible(item, owner):
            self._refused(response, 404, before, f"{kind.capitalize()} not found")
        elif users:
            self._refused(response, 409, before)
            assert all(c.id in response.json()["error"] for c in users)
        else:
            assert ok(response) == {"success": True}
            item.deleted = True

    @rule(owner=st.sampled_from(OWNERS), source_id=sources)
    def delete_source(self, owner: str, source_id: str) -> None:
        users = [c for c in self.model_connections.values() if not c.deleted and c.source_id == source_id]
        self._delete("source", self.model_sources[source_id], owner, users)

    @rule(owner=st.sampled_from(OWNERS), destination_id=destinations)
    def delete_destination(self, owner: str, destination_id: str) -> None:
        users = [
            c for c in self.model_connections.values() if not c.deleted and c.destination_id == destination_id
        ]
        self._delete("destination", self.model_destinations[destination_id], owner, users)

    @rule(
        source_id=sources,
        event_type=st.sampled_from(TYPES),
        n=st.integers(0, 3),
        kind=st.none() | st.just("a"),
        routed=st.booleans(),
    )
    def ingest(self, source_id: str, event_type: str, n: int, kind: str | None, routed: bool) -> None:
        if routed:  # the source of a live connection, when there is one
            used = [c.source_id for c in self.model_connections.values() if not c.deleted]
            source_id = used[-1] if used else source_id
        source = self.model_sources[source_id]
        payload = {"type": event_type, "n": n}
        before = snapshot(self.client)
        sent_headers = {"X-Kind": kind} if kind else {}
        events_before = self._event_total(source)
        response = self.client.post(f"/v1/ingest/{source_id}", json=payload, headers=sent_headers)
        if source.deleted:
            self._refused(response, 404, before, "Source not found")
            return
        result = ok(response)
        assert self._event_total(source) == events_before + 1
        detail = self.client.get(f"/v1/events/{result['event_id']}", headers=headers(source.owner))
        stored = ok(detail)["event"]
        assert stored["payload"] == payload and stored["source_id"] == source_id
        assert (stored["status"] != "received") == bool(result["matched_connections"])
        assert stored["verification_status"] == "skipped" and stored["dedup_status"] == "skipped"
        for stranger in (ACME, GLOBEX):
            if org_env(stranger)[0] != source.org:
                error(self.client.get(f"/v1/events/{result['event_id']}", headers=headers(stranger)), 404)
        event(f"ingest: {min(len(result['matched_connections']), 2)}+ matched")
        event(f"ingest: {min(len(result['filtered_connections']), 2)}+ filtered")
        live = [
            c
            for c in self.model_connections.values()
            if not c.deleted and c.source_id == source_id and c.enabled and c.status == "active"
        ]
        matched = [c for c in live if model_matches(c.rule, payload, kind)]
        assert result["matched_connections"] == [c.id for c in matched]
        assert result["filtered_connections"] == [c.id for c in live if c not in matched]
        for connection in matched:
            connection.event_count += 1

    # ---------------------------------------------------------------- invariants

    @invariant()
    def lists_agree_with_the_model(self) -> None:
        for owner in (ACME, GLOBEX):
            org = org_env(owner)[0]
            listed = {c["id"]: c for c in self._listed(owner)}
            expected = {c.id: c for c in self.model_connections.values() if c.org == org and not c.deleted}
            assert set(listed) == self.seeded[owner] | set(expected)
            for connection_id, connection in expected.items():
                got = listed[connection_id]
                assert got["source_name"] == self.model_sources[connection.source_id].name
                assert got["destination_name"] == self.model_destinations[connection.destination_id].name
                assert got["enabled"] == int(connection.enabled) and got["status"] == connection.status
                rules = json.loads(got["filter_rules"]) if got["filter_rules"] else None
                assert rules == ([connection.rule] if connection.rule else None)
                assert got["event_count"] == connection.event_count
                assert (got["last_event_at"] is None) == (connection.event_count == 0)


HookstreamMachine.TestCase.settings = settings(settings(), stateful_step_count=20)
TestHookstreamStateMachine = HookstreamMachine.TestCase
