"""`GET /ws`: the live stream. A WebSocket client subscribes to `events` or `events:<source_id>` and gets an
`{"type": "event", "channel", "data"}` frame for each event stored afterwards; on `deliveries` or
`deliveries:<destination_id>` it gets a `{"type": "delivery", "channel", "data"}` frame (the delivery
attempt as `GET /delivery-attempts/{id}` shows it) each time an attempt is made, held or finishes.

Bounds: at most `MAX_SUBSCRIBERS` open streams per state (more are closed with 1013, try again later),
and `QUEUE_FRAMES` frames waiting per client (a client that falls behind loses its oldest frames).
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any

from starlette.routing import WebSocketRoute
from starlette.websockets import WebSocket, WebSocketDisconnect

from ..._jsontext import decode_json
from ...control._runtime import SESSION_HEADER
from ._attempt_log import DeliveryAttempt
from ._attempt_view import attempt_body
from ._event_log import StoredEvent
from ._event_view import event_item
from ._keys import API_KEY_FORMAT, BY_KEY, BY_SESSION, ApiKey
from ._store import Store

__all__ = ["MAX_SUBSCRIBERS", "QUEUE_FRAMES", "EventStream", "stream_routes"]

MAX_SUBSCRIBERS = 64
QUEUE_FRAMES = 256
RESET_CHECK_SECONDS = 1.0
"""How soon an idle open stream follows a reset of the mock's state (at once when the client sends a message;
events stored in between are not sent)."""
SESSION_COOKIE = "better-auth.session_token"
_CHANNELS = ("events", "deliveries")
_CHANNEL_HELP = "events, events:<source_id>, deliveries or deliveries:<destination_id>"


@dataclass(eq=False, slots=True)
class Subscriber:
    org_id: str
    channels: set[str] = field(default_factory=set)
    queue: asyncio.Queue[dict[str, Any]] = field(default_factory=lambda: asyncio.Queue(QUEUE_FRAMES))
    dropped: int = 0

    def wants(self, event: StoredEvent) -> Iterator[str]:
        for channel in ("events", f"events:{event.source_id}"):
            if channel in self.channels:
                yield channel

    def wants_delivery(self, attempt: DeliveryAttempt) -> Iterator[str]:
        for channel in ("deliveries", f"deliveries:{attempt.destination_id}"):
            if channel in self.channels:
                yield channel

    def offer(self, frame: dict[str, Any]) -> None:
        if self.queue.full():
            self.queue.get_nowait()
            self.dropped += 1
        self.queue.put_nowait(frame)


class EventStream:
    """The open live streams of one state; ingest publishes every stored event here."""

    def __init__(self) -> None:
        self._subscribers: set[Subscriber] = set()

    def __len__(self) -> int:
        return len(self._subscribers)

    def join(self, org_id: str) -> Subscriber | None:
        if len(self._subscribers) >= MAX_SUBSCRIBERS:
            return None
        subscriber = Subscriber(org_id)
        self._subscribers.add(subscriber)
        return subscriber

    def adopt(self, subscriber: Subscriber) -> None:
        """Take over a subscriber of the stream this one replaced (it may exceed the bound by the ones moved)."""
        self._subscribers.add(subscriber)

    def leave(self, subscriber: Subscriber) -> None:
        self._subscribers.discard(subscriber)

    def publish(self, event: StoredEvent, store: Store) -> None:
        if not self._subscribers:
            return
        data: dict[str, Any] | None = None
        for subscriber in self._subscribers:
            if subscriber.org_id != event.org_id:
                continue
            for channel in subscriber.wants(event):
                data = data if data is not None else event_item(event, store)
                subscriber.offer({"type": "event", "channel": channel, "data": data})

    def publish_delivery(self, attempt: DeliveryAttempt) -> None:
        if not self._subscribers:
            return
        data: dict[str, Any] | None = None
        for subscriber in self._subscribers:
            if subscriber.org_id != attempt.org_id:
                continue
            for channel in subscriber.wants_delivery(attempt):
                data = data if data is not None else attempt_body(attempt)
                subscriber.offer({"type": "delivery", "channel": channel, "data": data})


def _api_key(websocket: WebSocket) -> ApiKey | None:
    token = websocket.query_params.get("token", "")
    if token:
        return BY_KEY.get(token) if API_KEY_FORMAT.match(token) else None
    cookie = websocket.cookies.get(SESSION_COOKIE, "")
    return BY_SESSION.get(cookie) if cookie else None


def _channel_error(channel: Any) -> str | None:
    if not isinstance(channel, str):
        return f"channel must be a string: {_CHANNEL_HELP}"
    name, _, source_id = channel.partition(":")
    if name not in _CHANNELS or (":" in channel and not source_id):
        return f"unknown channel {channel[:80]!r}: subscribe to {_CHANNEL_HELP}"
    return None


async def _serve(websocket: WebSocket, get_stream: Callable[[], EventStream]) -> None:
    api_key = _api_key(websocket)
    if api_key is None:
        await websocket.close(code=1008, reason="Invalid API key")
        return
    org_id = api_key.environment.org_id
    stream = get_stream()
    subscriber = stream.join(org_id)
    if subscriber is None:
        await websocket.close(code=1013, reason=f"At most {MAX_SUBSCRIBERS} live streams at once")
        return
    await websocket.accept()
    home = _Home(stream)
    try:
        welcome = {
            "type": "welcome",
            "org_id": org_id,
            "channels": ["events", "events:<source_id>", "deliveries", "deliveries:<destination_id>"],
        }
        await websocket.send_json(welcome)
        sender = asyncio.create_task(_forward(websocket, subscriber, home, get_stream))
        try:
            await _listen(websocket, subscriber, lambda: _follow(home, subscriber, get_stream))
        finally:
            sender.cancel()
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await sender
    except WebSocketDisconnect:
        pass
    finally:
        home.stream.leave(subscriber)


@dataclass(slots=True)
class _Home:
    """The stream a subscriber is registered with; a reset of the mock's state replaces it."""

    stream: EventStream


async def _forward(
    websocket: WebSocket, subscriber: Subscriber, home: _Home, get_stream: Callable[[], EventStream]
) -> None:
    while True:
        try:
            frame = await asyncio.wait_for(subscriber.queue.get(), timeout=RESET_CHECK_SECONDS)
        except TimeoutError:
            _follow(home, subscriber, get_stream)
            continue
        await websocket.send_json(frame)


def _follow(home: _Home, subscriber: Subscriber, get_stream: Callable[[], EventStream]) -> None:
    """Move to the current state's stream after `/__mock/reset` or an imported state."""
    current = get_stream()
    if current is not home.stream:
        home.stream.leave(subscriber)
        current.adopt(subscriber)
        home.stream = current


async def _listen(websocket: WebSocket, subscriber: Subscriber, follow: Callable[[], None]) -> None:
    while True:
        text = await websocket.receive_text()
        follow()
        try:
            message = decode_json(text)
        except ValueError:
            await websocket.send_json({"type": "error", "error": "Messages must be JSON objects"})
            continue
        kind = message.get("type") if isinstance(message, dict) else None
        if kind not in ("subscribe", "unsubscribe", "ping"):
            await websocket.send_json(
                {"type": "error", "error": "type must be one of subscribe, unsubscribe, ping"}
            )
            continue
        if kind == "ping":
            await websocket.send_json({"type": "pong"})
            continue
        channel = message.get("channel")
        problem = _channel_error(channel)
        if problem is not None:
            await websocket.send_json({"type": "error", "error": problem})
            continue
        if kind == "subscribe":
            subscriber.channels.add(channel)
        else:
            subscriber.channels.discard(channel)
        await websocket.send_json({"type": f"{kind}d", "channel": channel})


def stream_routes(get_stream: Callable[[str], EventStream]) -> list[WebSocketRoute]:
    """`get_stream(session)`: the stream of the default state (`""`) or of a named `X-Mock-Session`, which a
    client names with `?session=` (browsers cannot set headers on a WebSocket) or the header."""

    async def endpoint(websocket: WebSocket) -> None:
        session = websocket.query_params.get("session") or websocket.headers.get(SESSION_HEADER, "")
        await _serve(websocket, lambda: get_stream(session))

    return [WebSocketRoute("/ws", endpoint)]
