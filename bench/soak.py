"""A soak of the mock left running: mixed traffic across both APIs for a given time, RSS sampled from outside.

    make soak                                    # 10 minutes, 8 clients
    .venv/bin/python bench/soak.py --duration 120 --clients 8

It starts `mockserver serve` (loopback only, a `--state-file` in a temporary folder, `--max-sessions 64`) and
runs CLIENTS threads, each with its own keep-alive connection, that pick weighted actions: Stack AI CRUD, OAuth
starts (most never finished, as a user who closes the consent tab) and whole OAuth flows, resource pages, RBAC
reads; hookstream CRUD and ingests; the same under `X-Mock-Session` names; malformed JSON and unauthenticated
requests; and the newer areas when the served specs have them (knowledge-base syncs, the events list). A
separate thread asks `GET /__mock/health` every 0.5 s: its latency stands for the event loop's lag.

Reported in `bench/SOAK.md` (and printed): requests, status counts per action, every 5xx (there must be none),
RSS every 5 s, its growth after the warm-up (the first 10% of the run, at least 30 s; target < 5%), and the
health probe's latency. Exit status 1 when a 5xx was seen or the growth target was missed.
"""

from __future__ import annotations

import argparse
import datetime as dt
import hashlib
import hmac
import json
import os
import random
import re
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

import httpx
from websockets.exceptions import WebSocketException
from websockets.sync.client import connect as ws_connect

REPO = Path(__file__).resolve().parent.parent
REPORT = REPO / "bench" / "SOAK.md"
BIN = Path(sys.executable).parent
HOST = "127.0.0.1"
GROWTH_TARGET = 0.05
SIGNING_SECRET = "soak-signing-secret"
SIGNATURE_HEADER = "X-Soak-Signature"


class LoopbackReceiver:
    """A tiny HTTP server on 127.0.0.1 that destinations point at: it answers 200 and counts what it got."""

    def __init__(self) -> None:
        receiver = self
        self.lock = threading.Lock()
        self.received = 0

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:  # noqa: N802 (http.server's naming)
                self.rfile.read(int(self.headers.get("Content-Length") or 0))
                with receiver.lock:
                    receiver.received += 1
                self.send_response(200)
                self.send_header("Content-Length", "0")
                self.end_headers()

            def log_message(self, format: str, *args: object) -> None:  # noqa: A002
                pass

        self.server = ThreadingHTTPServer((HOST, 0), Handler)
        self.url = f"http://{HOST}:{self.server.server_address[1]}/hook"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    def __enter__(self) -> LoopbackReceiver:
        self.thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.server.shutdown()
        self.server.server_close()


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind((HOST, 0))
        return int(probe.getsockname()[1])


def rss_mb(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    raise RuntimeError(f"no VmRSS for {pid}")


@dataclass
class Tally:
    lock: threading.Lock = field(default_factory=threading.Lock)
    statuses: Counter[tuple[str, int]] = field(default_factory=Counter)
    server_errors: list[str] = field(default_factory=list)
    failures: Counter[str] = field(default_factory=Counter)
    samples: dict[tuple[str, int], str] = field(default_factory=dict)

    def add(self, action: str, response: httpx.Response) -> None:
        with self.lock:
            self.statuses[(action, response.status_code)] += 1
            if response.status_code >= 400 and (action, response.status_code) not in self.samples:
                request = response.request
                self.samples[(action, response.status_code)] = (
                    f"{request.method} {request.url.path} → {response.text[:160]}"
                )
            if response.status_code >= 500 and len(self.server_errors) < 50:
                request = response.request
                self.server_errors.append(f"{action}: {request.method} {request.url} → {response.text[:300]}")

    def fail(self, action: str, error: Exception) -> None:
        with self.lock:
            self.failures[f"{action}: {type(error).__name__}"] += 1


class Traffic:
    """The actions a client picks from; each sends one to a few requests and tallies every answer."""

    def __init__(
        self,
        base: str,
        credentials: dict[str, dict[str, str]],
        paths: set[str],
        tally: Tally,
        receiver_url: str = "",
    ) -> None:
        self.base = base
        self.receiver_url = receiver_url
        self.signed_sources: dict[str, str] = {}
        """Per session name ("" the default): a source with HMAC verification and dedup, and a destination at
        the loopback receiver connected to it."""
        self.lock = threading.Lock()
        self.stack = credentials["stack-ai"]
        self.hook = credentials["hookstream"]
        self.paths = paths
        self.tally = tally
        self.actions: list[tuple[str, int, Callable[[httpx.Client, random.Random, dict[str, str]], None]]] = [
            ("stack list", 12, self.stack_list),
            ("stack get", 10, self.stack_get),
            ("stack create/delete", 6, self.stack_create_delete),
            ("stack oauth start", 8, self.oauth_start),
            ("stack oauth flow", 2, self.oauth_flow),
            ("stack children", 8, self.children),
            ("stack rbac", 3, self.rbac),
            ("hook list", 10, self.hook_list),
            ("hook source crud", 6, self.hook_crud),
            ("hook ingest", 10, self.ingest),
            ("malformed", 4, self.malformed),
            ("unauthenticated", 4, self.unauthenticated),
        ]
        if "/knowledge_bases" in paths:
            self.actions.append(("stack kb sync", 3, self.knowledge_base))
        if "/events" in paths:
            self.actions.append(("hook events", 6, self.events))
        if "/auth/v1/token" in paths:
            self.actions.append(("stack sign-in", 3, self.sign_in))
        if "/ingest/{source_id}" in paths:
            self.actions.append(("hook signed ingest", 6, self.signed_ingest))
        self.actions.append(("hook live stream", 2, self.live_stream))
        self.weights = [weight for _, weight, _ in self.actions]

    def send(
        self, client: httpx.Client, action: str, method: str, url: str, **kwargs: object
    ) -> httpx.Response:
        response = client.request(method, self.base + url, **kwargs)  # type: ignore[arg-type]
        self.tally.add(action, response)
        return response

    def pick(
        self, rng: random.Random
    ) -> tuple[str, Callable[[httpx.Client, random.Random, dict[str, str]], None]]:
        name, _, action = rng.choices(self.actions, weights=self.weights)[0]
        return name, action

    # ------------------------------------------------------------ Stack AI

    def _connection_ids(self, client: httpx.Client, session: dict[str, str]) -> list[str]:
        response = self.send(
            client, "stack list", "GET", "/stack-ai/connections", headers={**self.stack, **session}
        )
        return [item["connection_id"] for item in response.json()] if response.status_code == 200 else []

    def stack_list(self, client: httpx.Client, rng: random.Random, session: dict[str, str]) -> None:
        params = {"limit": rng.choice([5, 10, 25])}
        self.send(
            client,
            "stack list",
            "GET",
            "/stack-ai/connections",
            params=params,
            headers={**self.stack, **session},
        )

    def stack_get(self, client: httpx.Client, rng: random.Random, session: dict[str, str]) -> None:
        ids = self._connection_ids(client, session)
        if ids:
            url = f"/stack-ai/connections/{rng.choice(ids)}"
            self.send(client, "stack get", "GET", url, headers={**self.stack, **session})

    def stack_create_delete(self, client: httpx.Client, rng: random.Random, session: dict[str, str]) -> None:
        body = {
            "name": f"Soak {rng.randrange(10**6)}",
            "provider_id": "gdrive",
            "connection_type_id": "gdrive",
            "connection_provider_data": {},
        }
        headers = {**self.stack, **session}
        created = self.send(
            client, "stack create/delete", "POST", "/stack-ai/connections", json=body, headers=headers
        )
        if created.status_code == 201:
            url = f"/stack-ai/connections/{created.json()['connection_id']}"
            self.send(client, "stack create/delete", "DELETE", url, headers=headers)

    def oauth_start(self, client: httpx.Client, rng: random.Random, session: dict[str, str]) -> None:
        body = {
            "name": "Soak Drive",
            "provider_id": "gdrive",
            "connection_type_id": "gdrive",
            "connection_provider_data": {},
        }
        self.send(
            client,
            "stack oauth start",
            "POST",
            "/stack-ai/connections/oauth/start",
            json=body,
            headers={**self.stack, **session},
        )

    def oauth_flow(self, client: httpx.Client, rng: random.Random, session: dict[str, str]) -> None:
        body = {
            "name": "Soak Drive",
            "provider_id": "gdrive",
            "connection_type_id": "gdrive",
            "connection_provider_data": {},
        }
        headers = {**self.stack, **session}
        started = self.send(
            client,
            "stack oauth flow",
            "POST",
            "/stack-ai/connections/oauth/start",
            json=body,
            headers=headers,
        )
        if started.status_code != 200:
            return
        url = str(started.json())
        if not url.startswith(self.base):
            return
        # As a browser: no X-Mock-Session header; the consent URL and its form carry the session.
        page = self.send(client, "stack oauth flow", "GET", url.removeprefix(self.base))
        if page.status_code != 200:
            return
        hidden = dict(re.findall(r'<input type="hidden" name="([^"]+)" value="([^"]*)">', page.text))
        if "request_id" not in hidden:
            return
        landed = self.send(
            client,
            "stack oauth flow",
            "POST",
            urlsplit(str(page.url)).path,
            data={**hidden, "decision": "allow"},
        )
        location = landed.headers.get("location", "")
        code = parse_qs(urlsplit(location).query).get("code", [""])[0]
        if code:
            created = self.send(
                client,
                "stack oauth flow",
                "POST",
                "/stack-ai/connections/oauth/callback",
                params={"code": code},
                json=body,
                headers=headers,
            )
            if created.status_code == 201:
                url = f"/stack-ai/connections/{created.json()['connection_id']}"
                self.send(client, "stack oauth flow", "DELETE", url, headers=headers)

    def children(self, client: httpx.Client, rng: random.Random, session: dict[str, str]) -> None:
        ids = self._connection_ids(client, session)
        if not ids:
            return
        url = f"/stack-ai/connections/{rng.choice(ids)}/resources/children"
        page = self.send(client, "stack children", "GET", url, headers={**self.stack, **session})
        cursor = page.json().get("next_cursor") if page.status_code == 200 else None
        if cursor:
            self.send(
                client,
                "stack children",
                "GET",
                url,
                params={"cursor": cursor},
                headers={**self.stack, **session},
            )

    def rbac(self, client: httpx.Client, rng: random.Random, session: dict[str, str]) -> None:
        ids = self._connection_ids(client, session)
        if ids:
            url = f"/stack-ai/api/v1/connections/{rng.choice(ids)}/rbac"
            self.send(client, "stack rbac", "GET", url, headers={**self.stack, **session})

    def knowledge_base(self, client: httpx.Client, rng: random.Random, session: dict[str, str]) -> None:
        headers = {**self.stack, **session}
        ids = self._connection_ids(client, session)
        if not ids:
            return
        connection_id = rng.choice(ids)
        top = self.send(
            client,
            "stack kb sync",
            "GET",
            f"/stack-ai/connections/{connection_id}/resources/children",
            headers=headers,
        )
        if top.status_code != 200:
            return
        chosen = [item["resource_id"] for item in top.json().get("data", [])[:3]]
        body = {
            "connection_id": connection_id,
            "connection_source_ids": chosen,
            "name": "Soak KB",
            "description": "",
            "indexing_params": {},
            "org_level_role": None,
            "cron_job_id": None,
        }
        created = self.send(
            client, "stack kb sync", "POST", "/stack-ai/knowledge_bases", json=body, headers=headers
        )
        if created.status_code not in (200, 201):
            return
        kb = created.json()
        kb_id, org_id = kb.get("knowledge_base_id"), kb.get("org_id")
        if kb_id and org_id:
            self.send(
                client,
                "stack kb sync",
                "GET",
                f"/stack-ai/knowledge_bases/sync/trigger/{kb_id}/{org_id}",
                headers=headers,
            )
            self.send(
                client,
                "stack kb sync",
                "GET",
                f"/stack-ai/knowledge_bases/{kb_id}/resources/children",
                params={"resource_path": "/"},
                headers=headers,
            )
            self.send(
                client, "stack kb sync", "DELETE", f"/stack-ai/knowledge_bases/{kb_id}", headers=headers
            )

    def sign_in_only(self, client: httpx.Client, rng: random.Random, session: dict[str, str]) -> None:
        self.send(
            client,
            "stack sign-in",
            "POST",
            "/stack-ai/auth/v1/token",
            params={"grant_type": "password"},
            json={"email": "alice@acme.test", "password": "mock-password-alice"},
            headers=session,
        )

    def sign_in(self, client: httpx.Client, rng: random.Random, session: dict[str, str]) -> None:
        """Sign in with a password, refresh the pair, read the user with the new token; sometimes sign out."""
        user = rng.choice(["alice@acme.test", "bob@acme.test", "carol@globex.test"])
        password = "mock-password-" + user.partition("@")[0]
        url = "/stack-ai/auth/v1/token"
        signed = self.send(
            client,
            "stack sign-in",
            "POST",
            url,
            params={"grant_type": "password"},
            json={"email": user, "password": password},
            headers=session,
        )
        if signed.status_code != 200:
            return
        pair = signed.json()
        if rng.random() < 0.7:
            refreshed = self.send(
                client,
                "stack sign-in",
                "POST",
                url,
                params={"grant_type": "refresh_token"},
                json={"refresh_token": pair["refresh_token"]},
                headers=session,
            )
            if refreshed.status_code == 200:
                pair = refreshed.json()
        bearer = {**session, "Authorization": f"Bearer {pair['access_token']}"}
        self.send(client, "stack sign-in", "GET", "/stack-ai/auth/v1/user", headers=bearer)
        if rng.random() < 0.3:
            scope = rng.choice(["local", "global", "others"])
            self.send(
                client,
                "stack sign-in",
                "POST",
                "/stack-ai/auth/v1/logout",
                params={"scope": scope},
                headers=bearer,
            )

    # ------------------------------------------------------------ hookstream

    def hook_list(self, client: httpx.Client, rng: random.Random, session: dict[str, str]) -> None:
        what = rng.choice(["connections", "sources", "destinations"])
        self.send(client, "hook list", "GET", f"/hookstream/v1/{what}", headers={**self.hook, **session})

    def hook_crud(self, client: httpx.Client, rng: random.Random, session: dict[str, str]) -> None:
        headers = {**self.hook, **session}
        slug = f"soak-{rng.randrange(10**9)}"
        created = self.send(
            client,
            "hook source crud",
            "POST",
            "/hookstream/v1/sources",
            json={"name": "Soak", "slug": slug},
            headers=headers,
        )
        if created.status_code == 201:
            source_id = created.json()["source"]["id"]
            self.send(
                client,
                "hook source crud",
                "PATCH",
                f"/hookstream/v1/sources/{source_id}",
                json={"name": "Soak renamed"},
                headers=headers,
            )
            self.send(
                client, "hook source crud", "DELETE", f"/hookstream/v1/sources/{source_id}", headers=headers
            )

    def ingest(self, client: httpx.Client, rng: random.Random, session: dict[str, str]) -> None:
        sources = self.send(
            client, "hook ingest", "GET", "/hookstream/v1/sources", headers={**self.hook, **session}
        )
        if sources.status_code != 200 or not sources.json()["sources"]:
            return
        source = rng.choice(sources.json()["sources"])
        payload = {
            "type": rng.choice(["order.created", "order.paid", "user.signup"]),
            "id": rng.randrange(10**9),
            "data": {"amount": rng.randrange(100000), "note": "x" * rng.randrange(2000)},
        }
        self.send(
            client,
            "hook ingest",
            "POST",
            f"/hookstream/v1/ingest/{source['id']}",
            json=payload,
            headers=session,
        )

    def _signed_source(self, client: httpx.Client, session: dict[str, str]) -> str | None:
        name = session.get("X-Mock-Session", "")
        with self.lock:
            known = self.signed_sources.get(name)
        if known is not None:
            return known
        headers = {**self.hook, **session}
        action = "hook signed ingest"
        slug = f"soak-signed-{name or 'default'}-{random.randrange(10**6)}"
        created = self.send(
            client,
            action,
            "POST",
            "/hookstream/v1/sources",
            json={
                "name": "Soak signed",
                "slug": slug,
                "verification_enabled": True,
                "verification_type": "hmac_sha256",
                "verification_secret": SIGNING_SECRET,
                "verification_header": SIGNATURE_HEADER,
                "dedup_enabled": True,
                "dedup_strategy": "body_field",
                "dedup_field": "id",
                "dedup_window_seconds": 3600,
            },
            headers=headers,
        )
        if created.status_code != 201:
            return None
        source_id = str(created.json()["source"]["id"])
        if self.receiver_url:
            destination = self.send(
                client,
                action,
                "POST",
                "/hookstream/v1/destinations",
                json={"name": "Soak receiver", "slug": slug, "url": self.receiver_url},
                headers=headers,
            )
            if destination.status_code == 201:
                self.send(
                    client,
                    action,
                    "POST",
                    "/hookstream/v1/connections",
                    json={
                        "source_id": source_id,
                        "destination_id": destination.json()["destination"]["id"],
                        "name": "Soak to receiver",
                    },
                    headers=headers,
                )
        with self.lock:
            self.signed_sources[name] = source_id
        return source_id

    def signed_ingest(self, client: httpx.Client, rng: random.Random, session: dict[str, str]) -> None:
        """An HMAC-signed ingest (sometimes a wrong signature, sometimes a repeated id for dedup)."""
        source_id = self._signed_source(client, session)
        if source_id is None:
            return
        body = json.dumps(
            {"type": "order.paid", "id": rng.randrange(2000), "data": {"note": "y" * rng.randrange(500)}}
        ).encode()
        signature = hmac.new(SIGNING_SECRET.encode(), body, hashlib.sha256).hexdigest()
        if rng.random() < 0.1:
            signature = "0" * 64
        response = self.send(
            client,
            "hook signed ingest",
            "POST",
            f"/hookstream/v1/ingest/{source_id}",
            content=body,
            headers={**session, "Content-Type": "application/json", SIGNATURE_HEADER: signature},
        )
        if response.status_code == 404:  # the session was reset or evicted: make the source again
            with self.lock:
                self.signed_sources.pop(session.get("X-Mock-Session", ""), None)

    def live_stream(self, client: httpx.Client, rng: random.Random, session: dict[str, str]) -> None:
        """A WebSocket subscriber that connects, subscribes, reads for a moment and goes."""
        token = next(iter(self.hook.values())).removeprefix("Bearer ")
        query = f"?token={token}"
        if "X-Mock-Session" in session:
            query += f"&session={session['X-Mock-Session']}"
        url = self.base.replace("http://", "ws://") + "/hookstream/v1/ws" + query
        try:
            with ws_connect(url, open_timeout=30, close_timeout=5) as socket_:
                socket_.send(json.dumps({"type": "subscribe", "channel": "events"}))
                kinds = [json.loads(socket_.recv(timeout=30)).get("type") for _ in range(2)]
                with self.tally.lock:
                    self.tally.statuses[("hook live stream", 101)] += 1
                    if "subscribed" not in kinds:
                        self.tally.failures[f"hook live stream: {kinds}"] += 1
                deadline = time.monotonic() + rng.uniform(0.05, 0.5)
                while time.monotonic() < deadline:
                    try:
                        socket_.recv(timeout=max(0.0, deadline - time.monotonic()))
                    except TimeoutError:
                        break
        except (WebSocketException, OSError, TimeoutError) as error:
            self.tally.fail("hook live stream", error)

    def events(self, client: httpx.Client, rng: random.Random, session: dict[str, str]) -> None:
        params = {"limit": rng.choice([10, 50, 100])}
        self.send(
            client,
            "hook events",
            "GET",
            "/hookstream/v1/events",
            params=params,
            headers={**self.hook, **session},
        )

    # ------------------------------------------------------------ refusals

    def malformed(self, client: httpx.Client, rng: random.Random, session: dict[str, str]) -> None:
        target, headers = rng.choice(
            [("/stack-ai/connections", self.stack), ("/hookstream/v1/sources", self.hook)]
        )
        body = rng.choice(
            [
                b"{",
                b'{"name": NaN}',
                b"[" * 5000,
                b'{"name": 1}',
                '{"a": "\udc80"}'.encode("utf-8", "surrogatepass"),
            ]
        )
        self.send(
            client,
            "malformed",
            "POST",
            target,
            content=body,
            headers={**headers, **session, "Content-Type": "application/json"},
        )

    def unauthenticated(self, client: httpx.Client, rng: random.Random, session: dict[str, str]) -> None:
        target = rng.choice(["/stack-ai/connections", "/hookstream/v1/connections"])
        self.send(
            client, "unauthenticated", "GET", target, headers={**session, "Authorization": "Bearer nope"}
        )


def prefill(traffic: Traffic, *, sessions: int, clients: int) -> None:
    """Bring each state's request-fed bounds to their caps before measuring (a mock left running for days
    has them full): the event retention (with the events' delivery attempts), pending OAuth requests, OAuth
    codes and refresh tokens, in the default state and in every session the soak uses. Growth measured
    afterwards is then growth past the bounds."""
    from mockserver.apis.hookstream._event_log import DEFAULT_RETENTION
    from mockserver.apis.stack_ai._state import (
        MAX_AUTHORIZATION_CODES,
        MAX_PENDING_AUTHORIZATIONS,
        MAX_REFRESH_TOKENS,
    )

    names = ["", *(f"soak-{index}" for index in range(sessions))]
    work = [
        (action, name, count)
        for name in names
        for action, count in (
            (traffic.signed_ingest, DEFAULT_RETENTION + 50),
            (traffic.oauth_start, MAX_PENDING_AUTHORIZATIONS + 50),
            (traffic.oauth_flow, MAX_AUTHORIZATION_CODES + 50),
            (traffic.sign_in_only, MAX_REFRESH_TOKENS + 50),
        )
    ]
    lock = threading.Lock()

    def worker(seed: int) -> None:
        rng = random.Random(seed)
        with httpx.Client(timeout=60) as client:
            while True:
                with lock:
                    if not work:
                        return
                    action, name, count = work.pop()
                session = {"X-Mock-Session": name} if name else {}
                for _ in range(count):
                    try:
                        action(client, rng, session)
                    except (httpx.HTTPError, ValueError, KeyError) as error:
                        traffic.tally.fail("prefill", error)

    threads = [threading.Thread(target=worker, args=(1000 + index,)) for index in range(clients)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()


TRACED_SERVER = """
import signal, sys, tracemalloc
from pathlib import Path
tracemalloc.start(8)
dumps = iter(range(1000))
def dump(signum, frame):
    tracemalloc.take_snapshot().dump(str(Path.cwd() / f"snapshot-{next(dumps)}.tracemalloc"))
signal.signal(signal.SIGUSR1, dump)
from mockserver._cli import main
sys.exit(main(sys.argv[1:]))
"""
"""`--tracemalloc`: the mock under tracemalloc; SIGUSR1 dumps a snapshot into its working folder."""


COUNTED_SERVER = """
import collections, ctypes, gc, json, os, signal, sys, tempfile
from pathlib import Path
dumps = iter(range(1000))
def rss_kb():
    return int(next(l for l in open("/proc/self/status") if l.startswith("VmRSS:")).split()[1])
class MallInfo2(ctypes.Structure):
    _fields_ = [(n, ctypes.c_size_t) for n in (
        "arena", "ordblks", "smblks", "hblks", "hblkhd", "usmblks", "fsmblks", "uordblks", "fordblks",
        "keepcost")]
def malloc_stats():
    try:
        libc = ctypes.CDLL("libc.so.6")
    except OSError:
        return {}
    libc.mallinfo2.restype = MallInfo2
    info = libc.mallinfo2()
    stats = {f"(malloc {n})": getattr(info, n) for n in ("arena", "hblkhd", "uordblks", "fordblks")}
    with tempfile.TemporaryFile("w+") as out:  # pymalloc's own arenas, from sys._debugmallocstats
        saved = os.dup(2)
        os.dup2(out.fileno(), 2)
        try:
            sys._debugmallocstats()
        finally:
            os.dup2(saved, 2)
            os.close(saved)
        out.seek(0)
        for line in out:
            wanted = ("# arenas allocated current", "# bytes in allocated blocks", "# bytes in available blocks")
            if line.startswith(wanted):
                name, _, value = line.rpartition("=")
                stats[f"(pymalloc {name.strip('# ').strip()})"] = int(value.replace(",", "").split()[0])
    before = rss_kb()
    libc.malloc_trim(0)
    stats["(RSS kB before malloc_trim)"], stats["(RSS kB after malloc_trim)"] = before, rss_kb()
    return stats
def dump(signum, frame):
    gc.collect()
    counts = collections.Counter(
        f"{type(o).__module__}.{type(o).__qualname__}" for o in gc.get_objects()
    )
    counts["(allocated blocks)"] = sys.getallocatedblocks()
    counts.update(malloc_stats())
    Path.cwd().joinpath(f"snapshot-{next(dumps)}.counts").write_text(json.dumps(counts))
signal.signal(signal.SIGUSR1, dump)
from mockserver._cli import main
sys.exit(main(sys.argv[1:]))
"""
"""`--object-counts`: SIGUSR1 writes the live objects counted by type (cheap between dumps, unlike
tracemalloc, so the mock runs at full speed)."""


def growth_by_type(first: Path, last: Path, top: int = 20) -> list[str]:
    before = json.loads(first.read_text())
    after = json.loads(last.read_text())
    memory = [
        f"{name}: {before.get(name, 0):,} → {after[name]:,}" for name in sorted(after) if name[0] == "("
    ]
    grown = sorted(((after[k] - before.get(k, 0), k) for k in after if k[0] != "("), reverse=True)[:top]
    return memory + [f"{count:+,} {name} ({after[name]:,} live)" for count, name in grown if count > 0]


def snapshot(server: subprocess.Popen[bytes], work: Path, index: int, suffix: str = "tracemalloc") -> Path:
    target = work / f"snapshot-{index}.{suffix}"
    server.send_signal(signal.SIGUSR1)
    deadline = time.monotonic() + 120
    while not target.exists() and time.monotonic() < deadline:
        time.sleep(0.5)
    time.sleep(2)  # the dump is written in one go; let it finish
    return target


def growth_by_line(first: Path, last: Path, top: int = 15) -> list[str]:
    import tracemalloc

    before, after = tracemalloc.Snapshot.load(str(first)), tracemalloc.Snapshot.load(str(last))
    lines = []
    for stat in after.compare_to(before, "traceback")[:top]:
        frames = [
            f"{frame.filename.removeprefix(str(REPO) + '/')}:{frame.lineno}" for frame in stat.traceback
        ]
        innermost = " ← ".join(reversed(frames[-4:]))
        lines.append(f"{stat.size_diff / 1024:+,.0f} KiB ({stat.count_diff:+,} blocks): {innermost}")
    return lines


def credentials(base: str) -> dict[str, dict[str, str]]:
    users = httpx.get(f"{base}/__mock/users", timeout=30).json()
    found = {}
    for api in ("stack-ai", "hookstream"):
        name, _, value = users[api][0]["header"].partition(": ")
        found[api] = {name: value}
    return found


def served_paths(base: str) -> set[str]:
    paths: set[str] = set()
    for api in ("stack-ai", "hookstream"):
        document = httpx.get(f"{base}/docs/{api}/openapi.json", timeout=30)
        if document.status_code == 200:
            paths.update(document.json().get("paths", {}))
    return paths


def client_loop(traffic: Traffic, seed: int, stop: threading.Event, sessions: int) -> None:
    rng = random.Random(seed)
    with httpx.Client(timeout=60, follow_redirects=False) as client:
        while not stop.is_set():
            name, action = traffic.pick(rng)
            roll = rng.random()
            session = {} if roll < 0.5 else {"X-Mock-Session": f"soak-{rng.randrange(sessions)}"}
            try:
                action(client, rng, session)
            except (httpx.HTTPError, ValueError, KeyError) as error:
                traffic.tally.fail(name, error)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--duration", type=float, default=600, help="seconds of traffic (default 600)")
    parser.add_argument("--clients", type=int, default=8, help="client threads (default 8)")
    parser.add_argument("--sessions", type=int, default=64, help="X-Mock-Session names used (default 64)")
    parser.add_argument("--out", type=Path, default=REPORT, help="the report (default bench/SOAK.md)")
    parser.add_argument(
        "--tracemalloc",
        action="store_true",
        help="debug: run the mock under tracemalloc and report what grew between the warm-up and the end",
    )
    parser.add_argument(
        "--object-counts",
        action="store_true",
        help="debug: count live objects by type after the warm-up and at the end, and report what grew",
    )
    parser.add_argument(
        "--no-prefill",
        dest="prefill",
        action="store_false",
        help="measure from a fresh mock (default: first fill each state's request-fed bounds, see prefill())",
    )
    options = parser.parse_args(argv)

    port = free_port()
    work = Path(tempfile.mkdtemp(prefix="mockserver-soak-"))
    state_file = work / "state.json"
    launcher = [str(BIN / "mockserver")]
    if options.tracemalloc or options.object_counts:
        launcher = [str(BIN / "python"), "-c", TRACED_SERVER if options.tracemalloc else COUNTED_SERVER]
    suffix = "tracemalloc" if options.tracemalloc else "counts"
    argv_serve = [
        *launcher,
        "serve",
        "--host",
        HOST,
        "--port",
        str(port),
        "--state-file",
        str(state_file),
        "--max-sessions",
        str(options.sessions),
        "--log-level",
        "warning",
    ]
    log = (work / "serve.log").open("wb")
    server = subprocess.Popen(
        argv_serve, cwd=work, stdout=log, stderr=subprocess.STDOUT, start_new_session=True
    )
    base = f"http://{HOST}:{port}"
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                if httpx.get(f"{base}/__mock/health", timeout=5).status_code == 200:
                    break
            except httpx.HTTPError:
                pass
            if time.monotonic() > deadline or server.poll() is not None:
                raise SystemExit(f"soak: the mock did not start; see {work / 'serve.log'}")
            time.sleep(0.2)
        tally = Tally()
        receiver = LoopbackReceiver().__enter__()
        traffic = Traffic(base, credentials(base), served_paths(base), tally, receiver.url)
        prefill_rss = [rss_mb(server.pid)]
        prefill_began = time.monotonic()
        if options.prefill:
            print(f"soak: prefill of {options.sessions + 1} states (RSS {prefill_rss[0]:.1f} MB)", flush=True)
            prefill(traffic, sessions=options.sessions, clients=options.clients)
        prefill_rss.append(rss_mb(server.pid))
        prefill_seconds = time.monotonic() - prefill_began
        prefilled = sum(tally.statuses.values())
        options.prefilled = prefilled
        stop = threading.Event()
        rss: list[tuple[float, float]] = []
        lag: list[float] = []

        def sample() -> None:
            started = time.monotonic()
            next_rss = 0.0
            with httpx.Client(timeout=60) as probe:
                while not stop.is_set():
                    elapsed = time.monotonic() - started
                    if elapsed >= next_rss:
                        rss.append((elapsed, rss_mb(server.pid)))
                        next_rss += 5
                    asked = time.perf_counter()
                    probe.get(f"{base}/__mock/health")
                    lag.append((time.perf_counter() - asked) * 1000)
                    stop.wait(0.5)

        print(
            f"soak: {options.clients} clients for {options.duration:.0f} s against {base} "
            f"({', '.join(name for name, _, _ in traffic.actions)})",
            flush=True,
        )
        threads = [threading.Thread(target=sample, daemon=True)]
        threads += [
            threading.Thread(target=client_loop, args=(traffic, index, stop, options.sessions), daemon=True)
            for index in range(options.clients)
        ]
        began = time.monotonic()
        for thread in threads:
            thread.start()
        warmup = max(30.0, options.duration * 0.1)
        first_snapshot: Path | None = None
        while time.monotonic() - began < options.duration:
            time.sleep(min(10.0, options.duration))
            dumping = options.tracemalloc or options.object_counts
            if dumping and first_snapshot is None and time.monotonic() - began >= warmup:
                first_snapshot = snapshot(server, work, 0, suffix)
            done = sum(tally.statuses.values())
            print(
                f"soak: {time.monotonic() - began:5.0f} s, {done} requests, RSS {rss[-1][1]:.1f} MB",
                flush=True,
            )
        if first_snapshot is not None:
            last = snapshot(server, work, 1, suffix)
            grown = growth_by_line if options.tracemalloc else growth_by_type
            options.grown = grown(first_snapshot, last)
        stop.set()
        for thread in threads:
            thread.join(timeout=90)
        saved = httpx.post(f"{base}/__mock/state/save", timeout=60)
        elapsed = time.monotonic() - began
        received = receiver.received
        options.prefill_line = (
            f"prefill: {prefilled:,} requests in {prefill_seconds:.0f} s, RSS {prefill_rss[0]:.1f} → "
            f"{prefill_rss[1]:.1f} MB"
            if options.prefill
            else "prefill: none (--no-prefill)"
        )
        receiver.__exit__()
    finally:
        os.killpg(server.pid, signal.SIGINT)
        try:
            server.wait(timeout=30)
        except subprocess.TimeoutExpired:
            os.killpg(server.pid, signal.SIGKILL)
        log.close()
    state_loads = _loads(state_file)
    report, ok = render(options, tally, rss, lag, elapsed, saved.status_code, state_loads, received)
    options.out.write_text(report, encoding="utf-8")
    print(report)
    return 0 if ok else 1


def _loads(path: Path) -> bool:
    try:
        return json.loads(path.read_text(encoding="utf-8")).get("format") == "mockserver-state/1"
    except (OSError, ValueError):
        return False


def render(
    options: argparse.Namespace,
    tally: Tally,
    rss: list[tuple[float, float]],
    lag: list[float],
    elapsed: float,
    saved: int,
    state_loads: bool,
    received: int = 0,
) -> tuple[str, bool]:
    total = sum(tally.statuses.values())
    server_errors = sum(count for (_, status), count in tally.statuses.items() if status >= 500)
    warmup = max(30.0, options.duration * 0.1)
    after = [mb for at, mb in rss if at >= warmup] or [mb for _, mb in rss]
    growth = (after[-1] - after[0]) / after[0] if after else 0.0
    lag_sorted = sorted(lag) or [0.0]
    ok = server_errors == 0 and growth < GROWTH_TARGET and state_loads
    actions = sorted({action for action, _ in tally.statuses})
    lines = [
        "# Soak",
        "",
        f"{dt.datetime.now(dt.UTC):%Y-%m-%d %H:%M} UTC, commit `{_commit()}`, `bench/soak.py --duration "
        f"{options.duration:.0f} --clients {options.clients} --sessions {options.sessions}`, "
        f"{os.cpu_count()} cores, load average {os.getloadavg()[0]:.2f}.",
        "",
        f"- {getattr(options, 'prefill_line', 'prefill: none')} (each state's event retention, pending OAuth "
        "requests, OAuth codes and refresh tokens brought to their caps first; counted in the table below)",
        f"- requests: {total - getattr(options, 'prefilled', 0):,} in {elapsed:.0f} s after the prefill "
        f"({(total - getattr(options, 'prefilled', 0)) / elapsed:,.0f}/s)",
        f"- 5xx: {server_errors} (target 0)",
        f"- RSS: {rss[0][1]:.1f} MB at start, {after[0]:.1f} MB after the {warmup:.0f} s warm-up, {rss[-1][1]:.1f} MB "
        f"at the end: growth after warm-up {growth * 100:+.1f}% (target < {GROWTH_TARGET * 100:.0f}%)",
        f"- event-loop lag (`GET /__mock/health` latency, {len(lag)} probes): p50 "
        f"{statistics.median(lag_sorted):.1f} ms, p99 {lag_sorted[int(len(lag_sorted) * 0.99) - 1]:.1f} ms, "
        f"max {lag_sorted[-1]:.1f} ms",
        f"- `POST /__mock/state/save` at the end: {saved}; the state file loads: {state_loads}",
        f"- loopback receiver (destinations of the signed sources point at it): {received} requests received",
        f"- client-side errors (timeouts, resets): {dict(tally.failures) or 'none'}",
        f"- verdict: {'met' if ok else 'MISSED'}",
        "",
        "| action | " + " | ".join(str(s) for s in sorted({s for _, s in tally.statuses})) + " |",
        "|---|" + "---|" * len({s for _, s in tally.statuses}),
    ]
    statuses = sorted({s for _, s in tally.statuses})
    for action in actions:
        lines.append(
            f"| {action} | " + " | ".join(f"{tally.statuses.get((action, s), 0):,}" for s in statuses) + " |"
        )
    lines += ["", "RSS (MB) every 5 s:", "", "```", " ".join(f"{mb:.0f}" for _, mb in rss), "```"]
    lines += ["", "The first answer of each refusal, per action:", ""]
    lines += [f"- {action} {status}: `{text}`" for (action, status), text in sorted(tally.samples.items())]
    if getattr(options, "grown", None):
        how = (
            "(`--tracemalloc`), by allocation site" if options.tracemalloc else "(`--object-counts`), by type"
        )
        lines += ["", f"Grown between the warm-up and the end {how}:", ""]
        lines += [f"- {line}" for line in options.grown]
    if tally.server_errors:
        lines += ["", "5xx seen:", "", *[f"- {line}" for line in tally.server_errors]]
    return "\n".join(lines) + "\n", ok


def _commit() -> str:
    try:
        return (
            subprocess.run(
                ["git", "rev-parse", "--short", "HEAD"], cwd=REPO, capture_output=True, text=True, check=False
            ).stdout.strip()
            or "?"
        )
    except OSError:
        return "?"


if __name__ == "__main__":
    sys.exit(main())
