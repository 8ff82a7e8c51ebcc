"""Seeded event history: three days of realistic webhooks per source, sent through ingest itself.

Each request is what the provider really posts (Stripe's `t=…,v1=…`, GitHub's `sha256=` hex, Shopify's
base64, Standard Webhooks' three headers), signed with the source's secret. A few carry a wrong or no
signature (stored as failed verifications) and a few are provider retries of an earlier request
(duplicates where the source deduplicates). Because the history goes through `receive`, the sources' and
connections' `event_count` and `last_event_at` agree with the stored events.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import random
from collections.abc import Callable, Iterable
from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from typing import Any
from urllib.parse import urlencode

from ..._api import NO_BODY
from ..._generate import stable_seed
from ..._jsontext import encode_json
from ._receive import Received, receive
from ._store import CLOCK_START, Source, Store
from ._verify import standard_webhooks_secret

__all__ = ["seed_history"]

HISTORY = timedelta(days=3)
_JSON = "application/json"
_STRIPE_TYPES = (
    "invoice.paid",
    "invoice.paid",
    "invoice.payment_succeeded",
    "invoice.created",
    "charge.succeeded",
    "charge.succeeded",
    "customer.created",
    "customer.subscription.updated",
    "payment_intent.succeeded",
)
_GITHUB_EVENTS = ("push", "push", "push", "pull_request", "issues", "workflow_run")
_CUSTOMERS = (
    "Ada Lovelace",
    "Grace Hopper",
    "Alan Turing",
    "Katherine Johnson",
    "Linus Pauling",
    "Edsger Dijkstra",
)
_REPOS = ("orders", "billing", "web", "infra", "mobile-app")
_USERS = ("octocat", "hubot", "monalisa", "defunkt", "mojombo")
_IPS = {
    "stripe": ("54.187.174.169", "54.187.205.235", "54.241.31.99", "3.18.12.63"),
    "github": ("140.82.115.12", "140.82.115.48", "192.30.252.41"),
    "shopify": ("23.227.38.65", "23.227.38.32"),
    "slack": ("34.224.80.19", "52.86.152.3"),
    "twilio": ("54.172.60.0", "54.244.51.10"),
    "standard-webhooks": ("52.215.16.239", "18.200.2.71"),
    "generic": ("198.51.100.14", "198.51.100.77", "192.0.2.41"),
}


_ALPHABET = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789"


@dataclass(frozen=True, slots=True)
class _Request:
    method: str
    body: bytes
    headers: dict[str, str]
    query: tuple[tuple[str, str], ...] = ()
    parsed: Any = NO_BODY
    """The JSON the body encodes (spares parsing it again), or `NO_BODY`."""


def _alnum(rng: random.Random, length: int) -> str:
    return "".join(rng.choices(_ALPHABET, k=length))


def _uuid(rng: random.Random) -> str:
    text = f"{rng.getrandbits(128):032x}"
    return f"{text[:8]}-{text[8:12]}-{text[12:16]}-{text[16:20]}-{text[20:]}"


def _json_request(payload: Any, headers: dict[str, str]) -> _Request:
    return _Request("POST", encode_json(payload), {"content-type": _JSON, **headers}, parsed=payload)


def _hex_hmac(secret: str, message: bytes, algorithm: Callable[..., Any] = hashlib.sha256) -> str:
    return hmac.new(secret.encode(), message, algorithm).hexdigest()


def _stripe(rng: random.Random, at: datetime, source: Source, live: bool) -> _Request:
    kind = rng.choice(_STRIPE_TYPES)
    amount = rng.choice((900, 1900, 4900, 9900, 12000, 25000))
    prefix = {"invoice": "in", "charge": "ch", "customer": "cus", "payment_intent": "pi"}[kind.split(".")[0]]
    obj: dict[str, Any] = {"id": f"{prefix}_{_alnum(rng, 14)}", "object": kind.split(".")[0]}
    if kind.startswith(("invoice", "charge", "payment_intent")):
        obj |= {
            "amount": amount,
            "currency": rng.choice(("usd", "usd", "eur")),
            "customer": f"cus_{_alnum(rng, 14)}",
        }
    else:
        obj |= {"email": f"{rng.choice(_CUSTOMERS).split()[0].lower()}@example.com"}
    payload = {
        "id": f"evt_{_alnum(rng, 24)}",
        "object": "event",
        "api_version": "2024-06-20",
        "created": int(at.timestamp()),
        "livemode": live,
        "type": kind,
        "data": {"object": obj},
    }
    request = _json_request(payload, {"user-agent": "Stripe/1.0 (+https://stripe.com/docs/webhooks)"})
    stamp = str(int(at.timestamp()))
    signature = _hex_hmac(source.verification_secret or "", stamp.encode() + b"." + request.body)
    request.headers["stripe-signature"] = f"t={stamp},v1={signature}"
    return request


def _github(rng: random.Random, at: datetime, source: Source, live: bool) -> _Request:
    event = rng.choice(_GITHUB_EVENTS)
    repo = {"full_name": f"acme/{rng.choice(_REPOS)}", "private": True}
    user = rng.choice(_USERS)
    payload: dict[str, Any]
    if event == "push":
        payload = {
            "ref": rng.choice(("refs/heads/main", "refs/heads/main", "refs/heads/release")),
            "after": f"{rng.getrandbits(160):040x}",
            "repository": repo,
            "pusher": {"name": user},
            "commits": [{"id": f"{rng.getrandbits(160):040x}", "message": "Update dependencies"}],
        }
    elif event == "pull_request":
        payload = {"action": rng.choice(("opened", "closed", "synchronize")), "number": rng.randint(10, 900)}
        payload |= {"repository": repo, "sender": {"login": user}}
    elif event == "issues":
        payload = {"action": "opened", "issue": {"number": rng.randint(10, 900)}, "repository": repo}
    else:
        payload = {"action": "completed", "workflow_run": {"conclusion": rng.choice(("success", "failure"))}}
        payload |= {"repository": repo}
    request = _json_request(
        payload,
        {
            "user-agent": f"GitHub-Hookshot/{rng.getrandbits(28):07x}",
            "x-github-event": event,
            "x-github-delivery": _uuid(rng),
        },
    )
    request.headers["x-hub-signature-256"] = "sha256=" + _hex_hmac(
        source.verification_secret or "", request.body
    )
    return request


def _shopify(rng: random.Random, at: datetime, source: Source, live: bool) -> _Request:
    topic = rng.choice(("orders/create", "orders/paid", "products/update"))
    payload = {
        "id": rng.randint(10**12, 10**13),
        "total_price": f"{rng.randint(5, 400)}.00",
        "currency": "USD",
    }
    request = _json_request(
        payload,
        {
            "x-shopify-topic": topic,
            "x-shopify-shop-domain": "acme-store.myshopify.com",
            "x-shopify-webhook-id": _uuid(rng),
        },
    )
    digest = hmac.new((source.verification_secret or "").encode(), request.body, hashlib.sha256).digest()
    request.headers["x-shopify-hmac-sha256"] = base64.b64encode(digest).decode()
    return request


def _slack(rng: random.Random, at: datetime, source: Source, live: bool) -> _Request:
    payload = {
        "type": "event_callback",
        "event_id": f"Ev{_alnum(rng, 10).upper()}",
        "event_time": int(at.timestamp()),
        "event": {
            "type": rng.choice(("message", "app_mention", "reaction_added")),
            "channel": f"C{_alnum(rng, 8).upper()}",
        },
    }
    request = _json_request(payload, {"user-agent": "Slackbot 1.0 (+https://api.slack.com/robots)"})
    request.headers["x-slack-signature"] = _hex_hmac(source.verification_secret or "", request.body)
    return request


def _twilio(rng: random.Random, at: datetime, source: Source, live: bool) -> _Request:
    fields = {
        "MessageSid": f"SM{rng.getrandbits(128):032x}",
        "MessageStatus": rng.choice(("queued", "sent", "delivered", "delivered", "failed")),
        "To": f"+1555{rng.randint(1000000, 9999999)}",
        "From": "+15550100000",
        "AccountSid": f"AC{rng.getrandbits(128):032x}",
    }
    body = urlencode(fields).encode()
    digest = hmac.new((source.verification_secret or "").encode(), body, hashlib.sha1).digest()
    headers = {
        "content-type": "application/x-www-form-urlencoded",
        "user-agent": "TwilioProxy/1.1",
        "x-twilio-signature": base64.b64encode(digest).decode(),
    }
    return _Request("POST", body, headers)


def _standard(rng: random.Random, at: datetime, source: Source, live: bool) -> _Request:
    kind = rng.choice(("user.created", "user.updated", "subscription.renewed", "invoice.finalized"))
    payload = {
        "type": kind,
        "timestamp": at.strftime("%Y-%m-%dT%H:%M:%SZ"),
        "data": {"id": f"usr_{_alnum(rng, 12)}"},
    }
    request = _json_request(
        payload, {"webhook-id": f"msg_{_alnum(rng, 27)}", "webhook-timestamp": str(int(at.timestamp()))}
    )
    signed = (
        f"{request.headers['webhook-id']}.{request.headers['webhook-timestamp']}.".encode() + request.body
    )
    key = standard_webhooks_secret(source.verification_secret or "")
    signature = base64.b64encode(hmac.new(key, signed, hashlib.sha256).digest()).decode()
    request.headers["webhook-signature"] = f"v1,{signature}"
    return request


def _generic(rng: random.Random, at: datetime, source: Source, live: bool) -> _Request:
    if rng.random() < 0.2:  # an uptime ping or a callback that carries its data in the query
        query = (("event", "ping"), ("check_id", str(rng.randint(100, 999))))
        return _Request("GET", b"", {"user-agent": "UptimeRobot/2.0"}, query)
    payload = {
        "event": rng.choice(("order.created", "order.shipped", "invoice.sent")),
        "order_id": rng.randint(1000, 9999),
        "amount": round(rng.uniform(5, 500), 2),
        "customer": rng.choice(_CUSTOMERS),
    }
    return _json_request(payload, {"user-agent": "acme-backend/3.2"})


_BUILDERS: dict[str, Callable[[random.Random, datetime, Source, bool], _Request]] = {
    "stripe": _stripe,
    "github": _github,
    "shopify": _shopify,
    "slack": _slack,
    "twilio": _twilio,
    "standard-webhooks": _standard,
    "generic": _generic,
}


def _forged(rng: random.Random, request: _Request, source: Source) -> _Request:
    """The same request with its signature header removed or replaced by one made with another secret."""
    header = (source.verification_header or "").lower()
    if source.verification_type == "standard_webhooks":
        header = "webhook-signature"
    headers = dict(request.headers)
    if header not in headers:
        return request
    if rng.random() < 0.3:
        del headers[header]
    else:
        headers[header] = headers[header][:-8] + _alnum(rng, 8)
    return replace(request, headers=headers)


@dataclass(frozen=True, slots=True)
class _Planned:
    at: datetime
    order: int
    source: Source
    request: _Request
    source_ip: str


def _plan(
    store: Store, sources: Iterable[Source], environment_name: str, rng: random.Random
) -> list[_Planned]:
    planned: list[_Planned] = []
    start = CLOCK_START - HISTORY
    for source in sources:
        builder = _BUILDERS.get(source.template or "generic", _generic)
        ips = _IPS.get(source.template or "generic", _IPS["generic"])
        live = environment_name == "production"
        for _ in range(rng.randint(12, 30)):
            at = start + timedelta(seconds=rng.randint(0, int(HISTORY.total_seconds()) - 120))
            request = builder(rng, at, source, live)
            if source.verification_enabled and rng.random() < 0.08:
                request = _forged(rng, request, source)
            ip = rng.choice(ips)
            planned.append(_Planned(at, rng.getrandbits(32), source, request, ip))
            if rng.random() < 0.07:  # the provider retries the same request a few minutes later
                retry_at = at + timedelta(seconds=rng.randint(30, 900))
                planned.append(_Planned(retry_at, rng.getrandbits(32), source, request, ip))
    return planned


def _wire_headers(request: _Request) -> dict[str, str]:
    headers = {"host": "hookstream.io", **request.headers}
    if request.body:
        headers["content-length"] = str(len(request.body))
    return headers


def seed_history(store: Store, sources_by_environment: Iterable[tuple[str, list[Source]]]) -> None:
    """Send each environment's seeded requests through ingest, oldest first across all organizations."""
    planned: list[_Planned] = []
    for environment_name, sources in sources_by_environment:
        if not sources:
            continue
        rng = random.Random(stable_seed("hookstream:events", store.seed, sources[0].env_id))
        planned += _plan(store, sources, environment_name, rng)
    planned.sort(key=lambda item: (item.at, item.order))
    for item in planned:
        request = item.request
        received = Received(
            method=request.method,
            raw=request.body,
            headers=_wire_headers(request),
            query=request.query,
            client_host=item.source_ip,
            parsed=request.parsed,
        )
        receive(store, item.source.id, received, at=item.at)
