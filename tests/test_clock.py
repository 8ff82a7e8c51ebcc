"""The engine's mock clock and schedule, and `GET|POST /__mock/clock`."""

from __future__ import annotations

import json
from typing import Any

import pytest
import yaml
from conftest import hookstream_headers, make_client, stack_ai_headers
from hypothesis import given
from hypothesis import strategies as st
from starlette.testclient import TestClient

from mockserver import (
    NO_BODY,
    ApiDefinition,
    ClockSettings,
    MockConfig,
    MockResponse,
    OperationContext,
    create_app,
)
from mockserver._cli import _parser
from mockserver.control._clock import (
    FROZEN,
    MAX_DUE,
    ScheduleFull,
    Timeline,
    TimeWentBackwards,
    format_instant,
    parse_instant,
)
from mockserver.control._plane import export_snapshot, import_snapshot

START = parse_instant("2025-12-01T09:00:00Z")
SECOND = 1_000_000


class FakeWall:
    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


def test_a_frozen_clock_moves_only_by_ticks_and_moves() -> None:
    wall = FakeWall()
    timeline = Timeline(start=START, wall=wall)
    wall.now += 3600
    assert timeline.now() == START
    assert timeline.tick(5) == START + 5
    assert timeline.advance(2) == START + 5 + 2 * SECOND
    assert timeline.set(START + 10 * SECOND) == START + 10 * SECOND


def test_a_running_clock_adds_the_wall_time_since_its_start() -> None:
    wall = FakeWall()
    timeline = Timeline(start=START, settings=ClockSettings(mode="running"), wall=wall)
    wall.now += 1.5
    assert timeline.now() == START + 1_500_000
    timeline.advance(60)
    assert timeline.now() == START + 61_500_000


def test_the_start_time_setting_replaces_the_seeded_start() -> None:
    other = parse_instant("2030-01-01T00:00:00+00:00")
    assert Timeline(start=START, settings=ClockSettings(start=other)).now() == other


def test_time_never_goes_backwards() -> None:
    timeline = Timeline(start=START)
    with pytest.raises(TimeWentBackwards):
        timeline.set(START - 1)
    with pytest.raises(TimeWentBackwards):
        timeline.advance(-1)
    assert timeline.now() == START


def test_due_work_runs_in_order_of_due_time_and_only_when_due() -> None:
    timeline = Timeline(start=START)
    ran: list[tuple[str, int]] = []
    timeline.handle("job", lambda key, due: ran.append((key, due)))
    timeline.schedule(START + 3 * SECOND, "job", "c")
    timeline.schedule(START + 1 * SECOND, "job", "a")
    timeline.schedule(START + 1 * SECOND, "job", "b")
    assert timeline.run_due() == 0
    timeline.advance(1)
    assert timeline.run_due() == 2
    assert ran == [("a", START + SECOND), ("b", START + SECOND)]
    timeline.set(START + 5 * SECOND)
    timeline.run_due()
    assert [key for key, _ in ran] == ["a", "b", "c"] and timeline.pending == 0


def test_work_scheduled_by_a_handler_for_now_runs_in_the_same_pass() -> None:
    timeline = Timeline(start=START)
    ran: list[str] = []

    def first(key: str, due: int) -> None:
        ran.append(key)
        timeline.schedule(due, "second", key + "!")

    timeline.handle("first", first)
    timeline.handle("second", lambda key, due: ran.append(key))
    timeline.schedule(START, "first", "x")
    timeline.run_due()
    assert ran == ["x", "x!"]


def test_the_schedule_is_bounded() -> None:
    timeline = Timeline(start=START)
    for index in range(MAX_DUE):
        timeline.schedule(START + index, "job", "k")
    with pytest.raises(ScheduleFull):
        timeline.schedule(START, "job", "k")


@given(
    moves=st.lists(st.integers(min_value=0, max_value=10**9), max_size=8),
    due=st.lists(st.integers(min_value=0, max_value=10**10), max_size=8),
)
def test_export_and_restore_keep_the_instant_and_the_schedule(moves: list[int], due: list[int]) -> None:
    timeline = Timeline(start=START)
    for move in moves:
        timeline.tick(move)
    for offset in due:
        timeline.schedule(START + offset, "job", str(offset))
    restored = Timeline.restore(json.loads(json.dumps(timeline.export())))
    assert restored == timeline


@pytest.mark.parametrize(
    "data",
    [
        {"now": "yesterday", "due": []},
        {"now": "2025-12-01T09:00:00", "due": []},
        {"now": "2025-12-01T09:00:00Z"},
        {"now": "2025-12-01T09:00:00Z", "due": [{"due": "2025-12-01T09:00:00Z", "kind": "x"}]},
        {"now": "2025-12-01T09:00:00Z", "due": "no"},
    ],
)
def test_restore_refuses_a_malformed_clock(data: dict[str, object]) -> None:
    with pytest.raises(ValueError):
        Timeline.restore(data)


def test_format_and_parse_are_inverse() -> None:
    assert format_instant(START) == "2025-12-01T09:00:00.000000Z"
    assert parse_instant(format_instant(START + 123)) == START + 123
    assert parse_instant("2025-12-01T10:00:00+01:00") == START


# ---------------------------------------------------------------- the control API


def test_get_clock_shows_every_api_frozen_by_default() -> None:
    client = make_client()
    body = client.get("/__mock/clock").json()
    assert body["mode"] == "frozen" and body["session"] == ""
    assert body["apis"]["stack-ai"]["now"] == "2025-12-01T09:00:00.000000Z"
    assert body["apis"]["hookstream"]["now"] == "2026-02-28T12:00:00.000000Z"


def test_advance_and_set_move_the_clock_and_the_data_follows() -> None:
    client = make_client()
    moved = client.post("/__mock/clock", json={"advance_seconds": 3600})
    assert moved.status_code == 200
    assert moved.json()["apis"]["hookstream"]["now"] == "2026-02-28T13:00:00.000000Z"
    source = {"name": "After an hour", "slug": "after-an-hour"}
    created = client.post("/hookstream/v1/sources", json=source, headers=hookstream_headers())
    assert created.json()["source"]["created_at"] == "2026-02-28T13:00:00Z"
    moved = client.post("/__mock/clock", json={"set": "2026-03-01T00:00:00Z", "api": "hookstream"})
    assert moved.json()["apis"] == {
        "hookstream": {"now": "2026-03-01T00:00:00.000000Z", "pending": 0, "next_due": None}
    }


def test_a_set_into_the_past_is_409_and_moves_nothing() -> None:
    client = make_client()
    before = client.get("/__mock/clock").json()
    refused = client.post("/__mock/clock", json={"set": "2026-01-01T00:00:00Z"})
    assert refused.status_code == 409 and "never goes backwards" in refused.json()["detail"]
    assert client.get("/__mock/clock").json() == before


@pytest.mark.parametrize(
    "body",
    [
        {},
        {"advance_seconds": -1},
        {"advance_seconds": "10"},
        {"set": "tomorrow"},
        {"advance_seconds": 1, "set": "2030-01-01T00:00:00Z"},
        {"advance_seconds": 1, "extra": True},
    ],
)
def test_bad_moves_are_422(body: dict[str, object]) -> None:
    client = make_client()
    before = client.get("/__mock/clock").json()
    assert client.post("/__mock/clock", json=body).status_code == 422
    assert client.get("/__mock/clock").json() == before


def test_each_session_has_its_own_clock() -> None:
    client = make_client()
    client.post("/__mock/clock", json={"advance_seconds": 60}, headers={"X-Mock-Session": "a"})
    session_a = client.get("/__mock/clock", headers={"X-Mock-Session": "a"}).json()
    default = client.get("/__mock/clock").json()
    assert session_a["apis"]["stack-ai"]["now"] == "2025-12-01T09:01:00.000000Z"
    assert default["apis"]["stack-ai"]["now"] == "2025-12-01T09:00:00.000000Z"


def test_an_unknown_api_is_404() -> None:
    client = make_client()
    assert client.get("/__mock/clock", params={"api": "nope"}).status_code == 404


def test_the_clock_and_its_schedule_are_in_snapshots() -> None:
    app = create_app(MockConfig())
    services = list(app.state.services.values())
    stack = app.state.services["stack-ai"]
    stack.state.clock.timeline.advance(90)
    stack.state.clock.timeline.schedule(stack.state.clock.now + SECOND, "oauth-code-expiry", "missing")
    snapshot = json.loads(json.dumps(export_snapshot(services)))
    assert snapshot["apis"]["stack-ai"]["clock"]["due"] == [
        {"due": "2025-12-01T09:01:31.000000Z", "kind": "oauth-code-expiry", "key": "missing"}
    ]
    assert snapshot["apis"]["hookstream"]["store"]["clock"]["now"] == "2026-02-28T12:00:00.000000Z"
    fresh = create_app(MockConfig())
    fresh_services = list(fresh.state.services.values())
    import_snapshot(fresh_services, snapshot)
    restored = fresh.state.services["stack-ai"].state.clock.timeline
    assert restored == stack.state.clock.timeline


def test_serve_options_set_the_mode_and_the_start() -> None:
    settings = ClockSettings(mode="running", start=parse_instant("2030-01-01T00:00:00Z"))
    client = TestClient(create_app(MockConfig(clock=settings)))
    body = client.get("/__mock/clock").json()
    assert body["mode"] == "running"
    assert body["apis"]["stack-ai"]["now"] >= "2030-01-01T00:00:00"
    with pytest.raises(ValueError):
        ClockSettings(mode="sometimes")


def test_serve_takes_clock_and_start_time() -> None:
    parser = _parser()
    args = parser.parse_args(["serve", "--clock", "frozen", "--start-time", "2030-01-01T00:00:00Z"])
    assert (args.clock, args.start_time) == ("frozen", parse_instant("2030-01-01T00:00:00Z"))
    assert parser.parse_args(["serve"]).clock == "running"
    with pytest.raises(SystemExit):
        parser.parse_args(["serve", "--start-time", "noon"])


def test_reads_do_not_move_a_frozen_clock() -> None:
    client = make_client()
    for _ in range(3):
        client.get("/stack-ai/connections", headers=stack_ai_headers())
    assert client.get("/__mock/clock").json()["apis"]["stack-ai"]["now"] == "2025-12-01T09:00:00.000000Z"


# ---------------------------------------------------------------- the engine runs an API's due work


REMINDERS_SPEC = {
    "openapi": "3.1.0",
    "info": {"title": "Reminders", "version": "1"},
    "servers": [{"url": "/api"}],
    "paths": {
        "/reminders": {
            "post": {
                "operationId": "addReminder",
                "requestBody": {
                    "required": True,
                    "content": {
                        "application/json": {
                            "schema": {
                                "type": "object",
                                "required": ["in_seconds"],
                                "properties": {"in_seconds": {"type": "integer", "minimum": 0}},
                            }
                        }
                    },
                },
                "responses": {"201": {"description": "added"}},
            },
            "get": {
                "operationId": "listReminders",
                "responses": {
                    "200": {
                        "description": "fired so far",
                        "content": {
                            "application/json": {"schema": {"type": "array", "items": {"type": "string"}}}
                        },
                    }
                },
            },
        }
    },
}


class Reminders:
    def __init__(self, settings: ClockSettings) -> None:
        self.timeline = Timeline(start=START, settings=settings)
        self.fired: list[str] = []
        self.timeline.handle("reminder", lambda key, due: self.fired.append(f"{key}@{format_instant(due)}"))


class RemindersApi(ApiDefinition):
    """An API with no vendor in it: it says what happens when a reminder falls due, never when."""

    name = "reminders"

    def create_state(self, *, seed: int, options: Any, clock: ClockSettings = FROZEN) -> Reminders:
        return Reminders(clock)

    def timeline(self, state: Any) -> Timeline:
        return state.timeline  # type: ignore[no-any-return]

    def behaviours(self) -> dict[str, Any]:
        def add(ctx: OperationContext) -> MockResponse:
            state: Reminders = ctx.state
            due = state.timeline.now() + ctx.body["in_seconds"] * SECOND
            state.timeline.schedule(due, "reminder", f"r{state.timeline.pending + len(state.fired)}")
            return MockResponse(201, NO_BODY)

        def listed(ctx: OperationContext) -> MockResponse:
            return MockResponse(200, list(ctx.state.fired))

        return {"addReminder": add, "listReminders": listed}


def test_the_engine_runs_due_work_before_the_next_request(tmp_path: Any) -> None:
    (tmp_path / "reminders.yaml").write_text(yaml.safe_dump(REMINDERS_SPEC))
    app = create_app(MockConfig(spec_dir=tmp_path), apis={"reminders": RemindersApi()})
    client = TestClient(app)
    assert client.post("/api/reminders", json={"in_seconds": 60}).status_code == 201
    assert client.post("/api/reminders", json={"in_seconds": 30}).status_code == 201
    assert client.get("/api/reminders").json() == []
    assert (
        client.post("/__mock/clock", json={"advance_seconds": 45}).json()["apis"]["reminders"]["pending"] == 1
    )
    assert client.get("/api/reminders").json() == ["r1@2025-12-01T09:00:30.000000Z"]
    client.post("/__mock/clock", json={"set": "2025-12-01T10:00:00Z"})
    assert client.get("/api/reminders").json() == [
        "r1@2025-12-01T09:00:30.000000Z",
        "r0@2025-12-01T09:01:00.000000Z",
    ]
    session = {"X-Mock-Session": "other"}
    assert client.get("/api/reminders", headers=session).json() == []
    assert client.get("/__mock/clock", headers=session).json()["apis"]["reminders"]["now"] == format_instant(
        START
    )


@given(
    st.lists(
        st.tuples(
            st.sampled_from(["schedule", "cancel", "run"]),
            st.sampled_from(["a", "b"]),
            st.sampled_from(["k1", "k2", "k3"]),
            st.integers(0, 50),
        ),
        max_size=60,
    )
)
def test_cancelled_work_never_runs_and_the_rest_runs_in_order(steps: list[tuple[str, str, str, int]]) -> None:
    """Cancellation is lazy (O(1), skipped when popped): checked against a schedule kept as a plain list."""
    timeline = Timeline(start=0)
    ran: list[tuple[str, str, int]] = []
    for kind in ("a", "b"):
        timeline.handle(kind, lambda key, due, kind=kind: ran.append((kind, key, due)))
    model: list[tuple[int, int, str, str]] = []
    expected: list[tuple[str, str, int]] = []
    order = 0
    for action, kind, key, amount in steps:
        if action == "schedule":
            order += 1
            timeline.schedule(timeline.now() + amount, kind, key)
            model.append((timeline.now() + amount, order, kind, key))
        elif action == "cancel":
            gone = [entry for entry in model if (entry[2], entry[3]) == (kind, key)]
            assert timeline.cancel(kind, key) == len(gone)
            model = [entry for entry in model if entry not in gone]
        else:
            timeline.advance(amount / 1_000_000)
            due = sorted(entry for entry in model if entry[0] <= timeline.now())
            model = [entry for entry in model if entry not in due]
            expected += [(k, key_, at) for at, _, k, key_ in due]
            timeline.run_due()
        assert timeline.pending == len(model)
        assert timeline.next_due() == (min(model)[0] if model else None)
    assert ran == expected
    assert timeline.export()["due"] == [
        {"due": format_instant(at), "kind": k, "key": key_} for at, _, k, key_ in sorted(model)
    ]
