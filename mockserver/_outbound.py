"""Outbound work: HTTP requests the mock itself sends (webhook deliveries, say), run in the server's event loop.

An API decides *what* to send and what an answer means; the engine's `OutboundRunner` sends it in the
background, so a receiver that hangs, resets or answers slowly never delays the mock's own answers:

- at most `max_in_flight` requests are on the wire at once, and at most `max_pending` are waiting or in
  flight (`submit` returns False beyond that, and the API records the refusal);
- requests go out through one aiohttp `ClientSession` per event loop (keep-alive pool, C parser), created
  lazily and closed by `shutdown()`: no redirects, no cookies kept, no proxies from the environment, no
  decompression (the body is what came over the wire);
- every request has its own timeout (the whole exchange, connect to last byte), and an answer's body is
  read up to `BODY_LIMIT` bytes;
- `allows(url)` says where real requests may go: loopback hosts (`localhost`, `127.0.0.0/8`, `[::1]`) and
  the hosts named by `serve --deliver-to`. A mock that posts wherever an API caller says would be a
  request-forgery hole, so nothing else is ever contacted (and redirects are not followed);
- each finished request is journaled with `direction: outbound`;
- `drain()` waits until nothing is pending (tests under a frozen clock use it), `cancel(owner)` drops a
  state's work (`/__mock/reset`), and `shutdown()` interrupts what is left, telling each owner so (a
  retry it schedules is saved with the state).
"""

from __future__ import annotations

import asyncio
import contextlib
import errno
import ipaddress
import logging
import re
import time
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from urllib.parse import urlsplit

import aiohttp
from yarl import URL

from .control._faults import FaultBook, FaultRule
from .control._journal import JournalEntry, RequestJournal

__all__ = [
    "BODY_LIMIT",
    "MAX_IN_FLIGHT",
    "MAX_PENDING",
    "OutboundRequest",
    "OutboundResult",
    "OutboundRunner",
    "is_loopback",
    "parse_host_rule",
]

logger = logging.getLogger("mockserver")

MAX_IN_FLIGHT = 64
"""Requests on the wire at once (more wait their turn)."""
MAX_PENDING = 10_000
"""Requests waiting or in flight; `submit` refuses more."""
BODY_LIMIT = 64 * 1024
"""Bytes of an answer's body kept at most (the rest is discarded; a connection left with unread bytes is closed)."""


@dataclass(frozen=True, slots=True)
class OutboundRequest:
    method: str
    url: str
    headers: Sequence[tuple[str, str]]
    body: bytes
    timeout_s: float
    delay_s: float = 0.0
    """Wait this long before sending (a fault rule's latency); it counts in the duration, not the timeout."""


@dataclass(frozen=True, slots=True)
class OutboundResult:
    """What came back: a status, headers and (the start of) the body, or the error that stopped it."""

    status: int | None
    headers: dict[str, str] = field(default_factory=dict)
    body: bytes = b""
    duration_ms: int = 0
    error: str | None = None


Done = Callable[[OutboundResult], None]


def is_loopback(host: str) -> bool:
    """`localhost` or a loopback address. Not `*.localhost`: a resolver may send those names to DNS."""
    host = host.strip("[]").lower()
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def parse_host_rule(text: str) -> tuple[str, int | None]:
    """`HOST` or `HOST:PORT` (`[v6]:PORT` for IPv6) → (host, port or None); ValueError names the fault."""
    text = text.strip()
    if not text or "/" in text or "@" in text:
        raise ValueError(f"expected HOST or HOST:PORT, not {text!r}")
    if text.startswith("["):
        host, _, rest = text[1:].partition("]")
        port_text = rest.removeprefix(":") if rest else ""
    elif text.count(":") == 1:
        host, _, port_text = text.partition(":")
    else:
        host, port_text = text, ""
    port = None
    if port_text:
        if not port_text.isdigit() or not 0 < int(port_text) < 65536:
            raise ValueError(f"invalid port in {text!r}")
        port = int(port_text)
    if ":" in host:
        try:
            ipaddress.IPv6Address(host)
        except ValueError:
            raise ValueError(f"not a host name or address: {text!r} (write IPv6 as [addr]:port)") from None
    elif not _HOST_NAME.match(host):
        raise ValueError(f"not a host name or address: {text!r}")
    return host.lower(), port


_HOST_NAME = re.compile(
    r"^[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?(?:\.[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?)*$"
)


def _port_of(scheme: str, port: int | None) -> int:
    return port if port is not None else (443 if scheme == "https" else 80)


_SKIPPED_HEADERS = frozenset({"host", "content-length"})
"""Request headers the client writes itself."""


@dataclass(slots=True)
class _LoopTools:
    """The HTTP session and the in-flight gate of one event loop (tests start several loops in turn)."""

    loop: asyncio.AbstractEventLoop
    gate: asyncio.Semaphore
    session: aiohttp.ClientSession


def _new_session(max_in_flight: int) -> aiohttp.ClientSession:
    return aiohttp.ClientSession(
        connector=aiohttp.TCPConnector(limit=max_in_flight),
        cookie_jar=aiohttp.DummyCookieJar(),
        trust_env=False,
        auto_decompress=False,
        # Only the API's own headers (and Host, Content-Length) go on the wire: no User-Agent, Accept or
        # Accept-Encoding of aiohttp's, nor a guessed Content-Type.
        skip_auto_headers=("User-Agent", "Accept", "Accept-Encoding", "Content-Type"),
    )


async def _read_up_to(response: aiohttp.ClientResponse, limit: int) -> tuple[bytes, bool]:
    """The body's first `limit` bytes, and whether that was all of it."""
    body = bytearray()
    while len(body) < limit:
        chunk = await response.content.read(limit - len(body))
        if not chunk:
            return bytes(body), True
        body += chunk
    return bytes(body), response.content.at_eof()


class OutboundRunner:
    def __init__(
        self,
        *,
        allowed_hosts: Iterable[tuple[str, int | None]] = (),
        journal: RequestJournal | None = None,
        faults: FaultBook | None = None,
        max_in_flight: int = MAX_IN_FLIGHT,
        max_pending: int = MAX_PENDING,
    ) -> None:
        self.allowed_hosts = tuple(allowed_hosts)
        self.journal = journal
        self.faults = faults
        self.max_in_flight = max_in_flight
        self.max_pending = max_pending
        self._tasks: dict[asyncio.Task[None], tuple[int, Done]] = {}
        self._tools: _LoopTools | None = None
        self._closing = False
        self.sent = 0

    # ------------------------------------------------------------------ policy

    def allows(self, url: str) -> bool:
        """Whether a real request may go to `url` (http or https, loopback or allowed by `--deliver-to`)."""
        try:
            parts = urlsplit(url)
            port = parts.port
        except ValueError:
            return False
        host = (parts.hostname or "").lower()
        if parts.scheme not in ("http", "https") or not host:
            return False
        if is_loopback(host):
            return True
        actual = _port_of(parts.scheme, port)
        return any(
            host == allowed and (want is None or want == actual) for allowed, want in self.allowed_hosts
        )

    def fault_for(self, api: str, target: str) -> FaultRule | None:
        """The fault rule aimed at this outbound target that fires now, if any (`POST /__mock/faults`)."""
        return self.faults.fire_outbound(api=api, target=target) if self.faults is not None else None

    def fault_delay(self, rule: FaultRule) -> float:
        """Seconds of a rule's latency, drawn from its range (the fault book's seeded generator)."""
        return self.faults.latency_seconds(rule) if self.faults is not None else 0.0

    @property
    def pending(self) -> int:
        return len(self._tasks)

    # ------------------------------------------------------------------ work

    def submit(self, request: OutboundRequest, *, owner: object, api: str, session: str, done: Done) -> bool:
        """Send `request` in the background and call `done` with the result; False when it cannot be queued
        (no running event loop, `max_pending` reached, or shutting down)."""
        if self._closing or len(self._tasks) >= self.max_pending:
            return False
        try:
            loop = asyncio.get_running_loop()
        except RuntimeError:
            return False
        tools = self._tools_for(loop)
        task = loop.create_task(self._run(tools, request, api=api, session=session, done=done))
        self._tasks[task] = (id(owner), done)
        task.add_done_callback(self._forget)
        return True

    def _forget(self, task: asyncio.Task[None]) -> None:
        self._tasks.pop(task, None)

    def _tools_for(self, loop: asyncio.AbstractEventLoop) -> _LoopTools:
        if self._tools is None or self._tools.loop is not loop:
            if self._tools is not None:  # a former loop's session: its connections cannot be used here
                self._tools.session.detach()
            self._tools = _LoopTools(
                loop=loop,
                gate=asyncio.Semaphore(self.max_in_flight),
                session=_new_session(self.max_in_flight),
            )
        return self._tools

    async def _run(
        self, tools: _LoopTools, request: OutboundRequest, *, api: str, session: str, done: Done
    ) -> None:
        try:
            async with tools.gate:
                result = await self._send(tools, request)
        except asyncio.CancelledError:
            if self._closing:
                _call(done, OutboundResult(None, error="Interrupted: the mock server shut down"))
            raise
        self.sent += 1
        self._journal(request, result, api=api, session=session)
        _call(done, result)

    async def _send(self, tools: _LoopTools, request: OutboundRequest) -> OutboundResult:
        started = time.perf_counter()

        def elapsed() -> int:
            return round((time.perf_counter() - started) * 1000)

        if request.delay_s > 0:
            await asyncio.sleep(request.delay_s)
        headers = [(name, value) for name, value in request.headers if name.lower() not in _SKIPPED_HEADERS]
        try:
            async with (
                asyncio.timeout(request.timeout_s),
                tools.session.request(
                    request.method,
                    URL(request.url, encoded=True),
                    headers=headers,
                    data=request.body,
                    allow_redirects=False,
                    timeout=aiohttp.ClientTimeout(total=request.timeout_s),
                ) as response,
            ):
                body, complete = await _read_up_to(response, BODY_LIMIT)
                if not complete:
                    response.close()  # the rest is not read: the connection is not reused
        except TimeoutError:
            error = f"Timed out after {request.timeout_s * 1000:.0f} ms"
            return OutboundResult(None, duration_ms=elapsed(), error=error)
        except aiohttp.ClientError as exc:
            return OutboundResult(None, duration_ms=elapsed(), error=_describe(exc))
        except (OSError, ValueError) as exc:
            return OutboundResult(None, duration_ms=elapsed(), error=f"{type(exc).__name__}: {exc}")
        headers_out = {name.lower(): value for name, value in response.headers.items()}
        return OutboundResult(response.status, headers_out, body, elapsed())

    def record_simulated(
        self, request: OutboundRequest, result: OutboundResult, *, api: str, session: str
    ) -> None:
        """Journal a request an API answered itself instead of sending it (a simulated receiver)."""
        self._journal(request, result, api=api, session=session, simulated=True)

    def _journal(
        self,
        request: OutboundRequest,
        result: OutboundResult,
        *,
        api: str,
        session: str,
        simulated: bool = False,
    ) -> None:
        if self.journal is None:
            return
        parts = urlsplit(request.url)
        self.journal.record(
            JournalEntry(
                sequence=self.journal.next_sequence(),
                time=time.time(),
                api=api,
                operation_id=None,
                method=request.method,
                path=request.url,
                query=(),
                status=result.status if result.status is not None else 0,
                duration_ms=float(result.duration_ms),
                session=session,
                request_violations=(),
                response_violations=(() if result.error is None else (result.error,)),
                direction="outbound",
                target=parts.netloc or request.url,
                simulated=simulated,
            )
        )

    # ------------------------------------------------------------------ control

    async def drain(self, *, timeout_s: float = 60.0) -> int:
        """Wait until nothing is pending (work finishing may queue more); how many requests finished."""
        before = self.sent
        deadline = time.monotonic() + timeout_s
        while self._tasks:
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                break
            await asyncio.wait(list(self._tasks), timeout=remaining)
        return self.sent - before

    def cancel(self, owner: object) -> int:
        """Drop the work `owner` submitted, without telling it (its state is being thrown away)."""
        dropped = [task for task, (owner_id, _) in self._tasks.items() if owner_id == id(owner)]
        for task in dropped:
            task.cancel()
        return len(dropped)

    async def shutdown(self) -> None:
        """Interrupt every pending request; each owner hears `Interrupted` (and may schedule a retry)."""
        self._closing = True
        tasks = list(self._tasks)
        for task in tasks:
            task.cancel()
        for task in tasks:
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await task
        if self._tools is not None:
            with contextlib.suppress(Exception):
                await self._tools.session.close()
        self._tools = None
        self._closing = False


def _describe(exc: aiohttp.ClientError) -> str:
    """An aiohttp failure as the text an attempt records."""
    if isinstance(exc, aiohttp.ClientConnectorError):
        if isinstance(exc.os_error, ConnectionRefusedError):
            return f"Connection refused: {exc.os_error.strerror or exc.os_error}"
        return f"Connection error: {exc.os_error.strerror or exc.os_error}"
    if isinstance(exc, aiohttp.ServerDisconnectedError | aiohttp.ClientPayloadError):
        return "Connection error: the receiver closed the connection before a full answer"
    if isinstance(exc, aiohttp.ClientOSError):
        if exc.errno == errno.ECONNRESET:
            return "Connection error: the receiver reset the connection"
        return f"Connection error: {exc.strerror or exc}"
    if isinstance(exc, aiohttp.ClientResponseError):
        return f"Invalid answer: {_one_line(exc.message)}"
    return f"{type(exc).__name__}: {exc}"


def _one_line(text: str) -> str:
    """aiohttp's parser errors span lines (the bad line, then a caret under the fault): one line of it."""
    lines = (line.strip() for line in text.splitlines())
    return " ".join(line for line in lines if line and line.strip("^"))


def _call(done: Done, result: OutboundResult) -> None:
    try:
        done(result)
    except Exception:  # the API's bookkeeping failed: log it, keep the runner alive
        logger.exception("outbound: handling a result failed")
