"""Seeded data: per environment, sources from templates, destinations of several types, and connections.

Everything comes from `random.Random` and `Faker` seeded from `--seed` and the environment id, so the
same seed gives the same data; every timestamp is before the clock's start. The last three days hold each source's event history
(`_seed_events`), which also sets the sources' and connections' counters.
"""

from __future__ import annotations

import random
import re
from datetime import datetime, timedelta
from types import MappingProxyType
from typing import Any

from faker import Faker

from ..._generate import stable_seed
from ._keys import ENVIRONMENTS, Environment
from ._seed_events import seed_history
from ._store import CLOCK_START, Connection, Destination, Source, Store, format_time
from ._templates import BY_ID

_HTTP_NAMES = (
    "Billing service",
    "Fulfillment API",
    "CRM sync",
    "Analytics ingest",
    "Notifications worker",
    "Audit log",
    "Search indexer",
    "Ledger API",
)
_EXTRA_TEMPLATES = ("shopify", "slack", "twilio", "standard-webhooks", "generic")
_PROVIDERS = ("aws_sqs", "gcp_pubsub", "kafka", "rabbitmq", "aws_eventbridge", "aws_s3")
_PROVIDER_LABELS = MappingProxyType(
    {
        "aws_sqs": ("Deploy events", "SQS"),
        "gcp_pubsub": ("Event stream", "Pub/Sub"),
        "kafka": ("Order events", "Kafka"),
        "rabbitmq": ("Job queue", "RabbitMQ"),
        "aws_eventbridge": ("Event bus", "EventBridge"),
        "aws_s3": ("Event archive", "S3"),
    }
)


def slugify(text: str) -> str:
    return re.sub(r"[^a-z0-9]+", "-", text.lower()).strip("-") or "item"


class _Timeline:
    """Increasing instants between a seeded start and one hour before the clock's start."""

    def __init__(self, rng: random.Random) -> None:
        self._rng = rng
        self._at = CLOCK_START - timedelta(days=rng.randint(45, 58))

    def next(self, *, max_minutes: int = 600) -> datetime:
        self._at += timedelta(minutes=self._rng.randint(5, max_minutes), seconds=self._rng.randint(0, 59))
        return self._at

    def later(self, after: datetime) -> datetime:
        """A time between `after` and an hour before the clock's start."""
        latest = CLOCK_START - timedelta(hours=1)
        span = max(1, int((latest - after).total_seconds()))
        return after + timedelta(seconds=self._rng.randint(1, span))


def _hex(rng: random.Random, length: int) -> str:
    return f"{rng.getrandbits(length * 4):0{length}x}"


def _sources(
    store: Store, env: Environment, rng: random.Random, fake: Faker, times: _Timeline
) -> list[Source]:
    found = []
    plan = [("stripe", None), ("github", None), (rng.choice(_EXTRA_TEMPLATES), f"{fake.company()} events")]
    for template_id, custom_name in plan:
        template = BY_ID[template_id]
        name = custom_name or f"{template.name} webhooks ({env.name})"
        created = times.next()
        verified = template.verification_type is not None
        dedup = template.dedup_strategy is not None and rng.random() < 0.7
        secret_prefix = {"stripe": "whsec_", "standard-webhooks": "whsec_"}.get(template_id, "")
        source = Source(
            id=store.new_id("source"),
            org_id=env.org_id,
            env_id=env.env_id,
            name=name,
            slug=slugify(name),
            description=f"{template.name} events from the {fake.company()} {env.name} account"
            if rng.random() < 0.6
            else None,
            template=template_id,
            type="http",
            status="active",
            source_config=None,
            verification_enabled=verified,
            verification_type=template.verification_type,
            verification_secret=secret_prefix + _hex(rng, 32) if verified else None,
            verification_header=template.verification_header,
            dedup_enabled=dedup,
            dedup_strategy=template.dedup_strategy if dedup else None,
            dedup_field=template.dedup_field if dedup else None,
            dedup_window_seconds=rng.choice((3600, 86400)) if dedup else None,
            ip_allowlist=None,
            ip_denylist=["203.0.113.7"] if template_id == "generic" else None,
            event_count=0,
            created_at=format_time(created),
            updated_at=format_time(times.later(created) if rng.random() < 0.5 else created),
        )
        found.append(source)
    return found


def _provider_config(provider: str, rng: random.Random, fake: Faker) -> dict[str, Any]:
    region = rng.choice(("us-east-1", "eu-west-1", "ap-southeast-2"))
    aws = {
        "region": region,
        "access_key_id": "AKIA" + _hex(rng, 16).upper(),
        "secret_access_key": _hex(rng, 40),
    }
    word = fake.word()
    if provider == "aws_sqs":
        return {
            "queue_url": f"https://sqs.{region}.amazonaws.com/{rng.randint(10**11, 10**12 - 1)}/{word}"
        } | aws
    if provider == "aws_s3":
        return {"bucket": f"{word}-events-{_hex(rng, 6)}", "prefix": "hookstream/"} | aws
    if provider == "aws_eventbridge":
        return {"event_bus_name": f"{word}-bus"} | aws
    if provider == "gcp_pubsub":
        return {
            "project_id": f"{word}-{_hex(rng, 6)}",
            "topic": f"{word}-events",
            "credentials_json": _hex(rng, 48),
        }
    if provider == "kafka":
        return {
            "brokers": [f"broker-{n}.{fake.domain_name()}:9092" for n in (1, 2)],
            "topic": f"{word}.events",
            "sasl_username": fake.user_name(),
            "sasl_password": _hex(rng, 24),
        }
    return {
        "host": f"mq.{fake.domain_name()}",
        "exchange": f"{word}.events",
        "routing_key": word,
        "password": _hex(rng, 20),
    }


def _auth(rng: random.Random, fake: Faker) -> tuple[str, dict[str, Any] | None]:
    auth_type = rng.choice(("none", "api_key", "bearer_token", "basic"))
    if auth_type == "api_key":
        return auth_type, {"header": "X-API-Key", "key": _hex(rng, 32)}
    if auth_type == "bearer_token":
        return auth_type, {"token": "sk_live_" + _hex(rng, 32)}
    if auth_type == "basic":
        return auth_type, {"username": fake.user_name(), "password": _hex(rng, 16)}
    return auth_type, None


def _destinations(
    store: Store, env: Environment, rng: random.Random, fake: Faker, times: _Timeline
) -> list[Destination]:
    found = []
    http_names = rng.sample(_HTTP_NAMES, 2)
    provider = rng.choice(_PROVIDERS)
    label, product = _PROVIDER_LABELS[provider]
    plan: list[tuple[str, str]] = [
        ("http", http_names[0]),
        (provider, f"{label} ({product})"),
        ("http", http_names[1]),
    ]
    for index, (kind, name) in enumerate(plan):
        created = times.next()
        slug = slugify(name)
        auth_type, auth_config = _auth(rng, fake) if kind == "http" else ("none", None)
        intervals = [30, 300, 1800, 7200, 86400] if rng.random() < 0.7 else [60, 120, 180]
        found.append(
            Destination(
                id=store.new_id("destination"),
                org_id=env.org_id,
                env_id=env.env_id,
                name=name,
                slug=slug,
                description=f"{name} run by the {fake.last_name()} team" if rng.random() < 0.5 else None,
                type=kind,
                url=f"https://{fake.domain_name()}/webhooks/{slug}" if kind == "http" else None,
                method="POST",
                headers={"X-Source": "hookstream"} if kind == "http" and rng.random() < 0.5 else None,
                timeout_ms=rng.choice((10000, 15000, 30000)),
                auth_type=auth_type,
                auth_config=auth_config,
                provider_config=_provider_config(kind, rng, fake) if kind != "http" else None,
                retry_enabled=rng.random() < 0.85,
                retry_max_attempts=len(intervals),
                retry_backoff_type="exponential" if len(intervals) == 5 else rng.choice(("linear", "fixed")),
                retry_intervals=intervals,
                circuit_breaker_enabled=rng.random() < 0.6,
                circuit_breaker_threshold=rng.choice((3, 5, 10)),
                circuit_breaker_reset_ms=rng.choice((30000, 60000, 300000)),
                status="paused" if index == 2 and rng.random() < 0.5 else "active",
                created_at=format_time(created),
                updated_at=format_time(times.later(created) if rng.random() < 0.5 else created),
            )
        )
    return found


def _connections(
    store: Store,
    env: Environment,
    rng: random.Random,
    fake: Faker,
    times: _Timeline,
    sources: list[Source],
    destinations: list[Destination],
) -> list[Connection]:
    stripe, github, extra = sources
    primary, provider, secondary = destinations
    paused_or_disabled = rng.choice(("paused", "disabled"))
    plan: list[tuple[Source, Destination, list[dict[str, Any]] | None, str, bool, str | None]] = [
        (
            stripe,
            primary,
            [{"field": "payload.type", "op": "in", "value": ["invoice.paid", "invoice.payment_succeeded"]}],
            "active",
            True,
            None,
        ),
        (
            github,
            provider,
            [{"field": "headers.x-github-event", "op": "eq", "value": "push"}],
            "active",
            True,
            '{"repo": repository.full_name, "ref": ref, "pusher": pusher.name}',
        ),
        (
            stripe,
            provider,
            [
                {"field": "payload.type", "op": "eq", "value": "charge.succeeded"},
                {
                    "field": "payload.data.object.amount",
                    "op": "gte",
                    "value": rng.choice((1000, 5000, 10000)),
                },
            ],
            paused_or_disabled,
            paused_or_disabled == "paused",
            None,
        ),
        (extra, secondary, None, "active", rng.random() < 0.5, None),
    ]
    found = []
    for source, destination, rules, status, enabled, transform in plan:
        created = times.next(max_minutes=120)
        updated = times.later(created) if rng.random() < 0.5 else created
        found.append(
            Connection(
                id=store.new_id("connection"),
                org_id=env.org_id,
                env_id=env.env_id,
                source_id=source.id,
                destination_id=destination.id,
                name=f"{source.name} → {destination.name}",
                description=f"Forward {source.name} events to {destination.name}"
                if rng.random() < 0.5
                else None,
                enabled=enabled,
                filter_rules=rules,
                status=status,
                event_count=0,  # the seeded history (`_seed_events`) counts the events it routes
                last_event_at=None,
                created_at=format_time(created),
                updated_at=format_time(updated),
                transform_enabled=transform is not None,
                transform_expression=transform,
            )
        )
    return found


def populate(store: Store) -> None:
    """Fill an empty store with the seeded organizations' data."""
    fake = Faker("en_US")  # reseeded for each environment: the same values as a new one, without its cost
    history: list[tuple[str, list[Source]]] = []
    for env in ENVIRONMENTS:
        env_seed = stable_seed("hookstream:seed", store.seed, env.env_id)
        rng = random.Random(env_seed)
        fake.seed_instance(env_seed)
        times = _Timeline(rng)
        sources = _sources(store, env, rng, fake, times)
        destinations = _destinations(store, env, rng, fake, times)
        connections = _connections(store, env, rng, fake, times, sources, destinations)
        store.sources.update((s.id, s) for s in sources)
        store.destinations.update((d.id, d) for d in destinations)
        store.connections.update((c.id, c) for c in connections)
        history.append((env.name, sources))
    seed_history(store, history)
