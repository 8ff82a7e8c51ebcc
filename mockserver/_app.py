"""Building the Starlette app that serves every selected API at its production paths."""

from __future__ import annotations

import asyncio
import contextlib
import importlib
import logging
import pkgutil
from collections.abc import AsyncIterator, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol

from starlette.applications import Starlette
from starlette.middleware import Middleware
from starlette.middleware.cors import CORSMiddleware
from starlette.routing import BaseRoute, Match
from starlette.types import Receive, Scope, Send

from ._api import ApiDefinition
from ._docs import DOCS_MOUNT, DocsApp
from ._heap import HeapTrimmer, glibc_malloc_trim
from ._jsontext import encode_json
from ._outbound import OutboundRunner
from ._resources import spec_file
from ._service import VIOLATIONS_HEADER, ApiService, ServiceOptions
from ._spec import load_spec
from .control._clock import FROZEN, ClockSettings
from .control._faults import FaultBook
from .control._journal import RequestJournal
from .control._plane import build_control, load_snapshot, save_snapshot
from .control._runtime import MockRuntime

ALL_APIS = "all"
logger = logging.getLogger("mockserver")


def discover_apis() -> dict[str, ApiDefinition]:
    """Every subpackage of `mockserver.apis` that exposes an `API` object, by API name."""
    from . import apis

    found: dict[str, ApiDefinition] = {}
    for module_info in sorted(pkgutil.iter_modules(apis.__path__), key=lambda m: m.name):
        module = importlib.import_module(f"{apis.__name__}.{module_info.name}")
        definition = getattr(module, "API", None)
        if isinstance(definition, ApiDefinition):
            found[definition.name] = definition
    return found


@dataclass(frozen=True, slots=True)
class MockConfig:
    api: str = ALL_APIS
    seed: int = 0
    strict: bool = True
    spec_dir: Path | None = None
    """A folder of `<api>.yaml` files to serve instead of the specs shipped with the package."""
    api_options: Mapping[str, Any] = field(default_factory=dict)
    """Options an API declared with `add_arguments` (for example `connections`), by `dest` name."""
    latency_ms: tuple[int, int] | None = None
    journal_size: int = 1000
    max_sessions: int = 32
    cors_origins: tuple[str, ...] = ("*",)
    admin_token: str | None = None
    state_file: Path | None = None
    clock: ClockSettings = FROZEN
    """Every state's clock: `frozen` by default (tests, fixtures, the plugin); `mockserver serve` runs it."""
    outbound_hosts: tuple[tuple[str, int | None], ...] = ()
    """Hosts (and optionally ports) beyond loopback that may receive the mock's own requests (`--deliver-to`)."""


class _Mounted(Protocol):
    mount_path: str

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None: ...


class _DocsOnFirstUse:
    """`/docs`, prepared on its first request: the Swagger UI assets and served documents cost ~30 ms."""

    mount_path = DOCS_MOUNT

    def __init__(self, services: Sequence[ApiService]) -> None:
        self._services = services
        self._docs: DocsApp | None = None

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if self._docs is None:
            self._docs = DocsApp(self._services)
        await self._docs(scope, receive, send)


class _EveryPath(BaseRoute):
    """Hands every HTTP and WebSocket request to the dispatcher (a `Mount("")` would miss paths holding a
    newline)."""

    def __init__(self, app: _Dispatcher) -> None:
        self.app = app

    def matches(self, scope: Scope) -> tuple[Match, Scope]:
        return (Match.FULL, {}) if scope["type"] in ("http", "websocket") else (Match.NONE, {})

    async def handle(self, scope: Scope, receive: Receive, send: Send) -> None:
        await self.app(scope, receive, send)

    def url_path_for(self, name: str, /, **path_params: Any) -> Any:
        raise NotImplementedError("the mock's routes come from its specs")


class _Dispatcher:
    """Sends each request to the app mounted at the longest matching prefix."""

    def __init__(self, services: Sequence[ApiService], extra: Sequence[_Mounted] = ()) -> None:
        self._services = list(services)
        self._mounted: list[_Mounted] = sorted(
            [*services, *extra], key=lambda s: len(s.mount_path), reverse=True
        )

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] not in ("http", "websocket"):
            return
        path = scope["path"]
        for service in self._services:  # an API's own non-spec routes first (they may sit under /__mock)
            if not service.mount_path or path.startswith(service.mount_path + "/"):
                extra = service.extra_route_for(scope)
                if extra is not None:
                    route, route_scope = extra
                    await route.handle(route_scope, receive, send)
                    return
        if scope["type"] == "websocket":  # only an API's own WebSocket routes take an upgrade
            await send({"type": "websocket.close", "code": 1000, "reason": "No WebSocket route here"})
            return
        for mounted in self._mounted:
            mount = mounted.mount_path
            if not mount or path == mount or path.startswith(mount + "/"):
                await mounted(scope, receive, send)
                return
        owner = self._owner(path)
        if owner is not None:
            response = owner.render_not_found()
            body = encode_json(response.body)
            headers = [(k.lower().encode(), v.encode()) for k, v in response.headers.items()]
        else:
            body = encode_json({"detail": "Not Found", "apis": [s.mount_path for s in self._services]})
            headers = []
        headers += [(b"content-type", b"application/json"), (b"content-length", str(len(body)).encode())]
        await send({"type": "http.response.start", "status": 404, "headers": headers})
        await send({"type": "http.response.body", "body": body})

    def _owner(self, path: str) -> ApiService | None:
        if len(self._services) == 1:
            return self._services[0]
        first = "/" + path.strip("/").split("/")[0]
        return next(
            (s for s in self._services if s.mount_path == first or s.mount_path.startswith(first + "/")), None
        )


def build_services(
    config: MockConfig, *, apis: Mapping[str, ApiDefinition] | None = None, runtime: MockRuntime | None = None
) -> list[ApiService]:
    available = dict(apis) if apis is not None else discover_apis()
    if config.api != ALL_APIS and config.api not in available:
        raise ValueError(f"unknown API {config.api!r}; choose one of: {', '.join([ALL_APIS, *available])}")
    selected = list(available.values()) if config.api == ALL_APIS else [available[config.api]]
    options = ServiceOptions(
        seed=config.seed, strict=config.strict, api_options=config.api_options, clock=config.clock
    )
    runtime = runtime or MockRuntime()
    services = []
    for definition in selected:
        spec = load_spec(spec_file(definition.name, config.spec_dir), name=definition.name)
        prefix = f"/{definition.name}" if config.api == ALL_APIS and len(selected) > 1 else ""
        services.append(
            ApiService(definition, spec, mount_path=prefix + spec.base_path, options=options, runtime=runtime)
        )
    return services


_PUMP_IDLE_S = 0.5
_PUMP_MIN_S = 0.01


async def _run_due_work(services: Sequence[ApiService]) -> None:
    """A running clock moves without requests: run each state's due work when its time comes."""
    while True:
        waits = []
        for service in services:
            try:
                service.run_due_work()
            except Exception:  # an API's handler failed: log it, keep the pump alive
                logger.exception("%s: due work failed", service.api.name)
            wait = service.seconds_until_due()
            if wait is not None:
                waits.append(wait)
        await asyncio.sleep(min(_PUMP_IDLE_S, max(_PUMP_MIN_S, min(waits, default=_PUMP_IDLE_S))))


def create_app(
    config: MockConfig | None = None, *, apis: Mapping[str, ApiDefinition] | None = None
) -> Starlette:
    """The ASGI app.

    `app.state.services` holds each API's service (spec, state, sessions), `app.state.runtime` the journal
    and fault rules. `apis` replaces the discovered API subpackages (each still needs
    `<name>.yaml` in `config.spec_dir`, or among the specs shipped with the package).
    """
    config = config or MockConfig()
    journal = RequestJournal(capacity=config.journal_size)
    faults = FaultBook(seed=config.seed)
    runtime = MockRuntime(
        journal=journal,
        faults=faults,
        latency_ms=config.latency_ms,
        max_sessions=config.max_sessions,
        outbound=OutboundRunner(allowed_hosts=config.outbound_hosts, journal=journal, faults=faults),
    )
    services = build_services(config, apis=apis, runtime=runtime)
    if config.state_file is not None and config.state_file.exists():
        loaded = load_snapshot(services, config.state_file)
        logger.info("state of %s loaded from %s", ", ".join(loaded), config.state_file)
    control = build_control(
        services, runtime, admin_token=config.admin_token, state_file=config.state_file, strict=config.strict
    )

    trimmer = HeapTrimmer(trim=glibc_malloc_trim())

    @contextlib.asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        pump = asyncio.create_task(_run_due_work(services)) if config.clock.mode == "running" else None
        trimming = asyncio.create_task(trimmer.run())
        yield
        for task in (pump, trimming):
            if task is not None:
                task.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await task
        await runtime.outbound.shutdown()  # interrupted deliveries schedule their retries, saved below
        if config.state_file is not None:
            size = save_snapshot(services, config.state_file)
            logger.info("state saved to %s (%d bytes)", config.state_file, size)

    middleware = [
        Middleware(
            CORSMiddleware,
            allow_origins=list(config.cors_origins),
            allow_credentials=True,
            allow_methods=["*"],
            allow_headers=["*"],
            expose_headers=[VIOLATIONS_HEADER, "RateLimit-Limit", "RateLimit-Remaining", "RateLimit-Reset"],
        )
    ]
    app = Starlette(
        routes=[_EveryPath(_Dispatcher(services, [control, _DocsOnFirstUse(services)]))],
        middleware=middleware,
        lifespan=lifespan,
    )
    app.state.config = config
    app.state.runtime = runtime
    app.state.heap_trimmer = trimmer
    app.state.services = {service.api.name: service for service in services}
    app.state.control = control
    return app
