"""Source templates (`GET /sources/templates`): provider presets that fill verification defaults."""

from __future__ import annotations

from dataclasses import dataclass
from types import MappingProxyType
from typing import Any


@dataclass(frozen=True, slots=True)
class Template:
    id: str
    name: str
    description: str
    verification_type: str | None
    verification_header: str | None
    dedup_strategy: str | None
    dedup_field: str | None

    def body(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "name": self.name,
            "description": self.description,
            "verification_type": self.verification_type,
        }


TEMPLATES = (
    Template(
        "stripe",
        "Stripe",
        "Stripe webhook events signed with the Stripe-Signature header",
        "hmac_sha256",
        "Stripe-Signature",
        "body_field",
        "id",
    ),
    Template(
        "github",
        "GitHub",
        "GitHub webhook deliveries signed with X-Hub-Signature-256",
        "hmac_sha256",
        "X-Hub-Signature-256",
        "header_field",
        "X-GitHub-Delivery",
    ),
    Template(
        "shopify",
        "Shopify",
        "Shopify webhooks signed with X-Shopify-Hmac-Sha256",
        "hmac_sha256",
        "X-Shopify-Hmac-Sha256",
        "header_field",
        "X-Shopify-Webhook-Id",
    ),
    Template(
        "slack",
        "Slack",
        "Slack Events API requests signed with X-Slack-Signature",
        "hmac_sha256",
        "X-Slack-Signature",
        "body_field",
        "event_id",
    ),
    Template(
        "twilio",
        "Twilio",
        "Twilio status callbacks signed with X-Twilio-Signature",
        "hmac_sha1",
        "X-Twilio-Signature",
        None,
        None,
    ),
    Template(
        "standard-webhooks",
        "Standard Webhooks",
        "Any sender following the Standard Webhooks specification",
        "standard_webhooks",
        "webhook-signature",
        "header_field",
        "webhook-id",
    ),
    Template("generic", "Generic HTTP", "Any HTTP sender, no signature verification", None, None, None, None),
)

BY_ID = MappingProxyType({template.id: template for template in TEMPLATES})
