"""The catalogue of `GET /connections/available`: one entry per provider and connection type.

Only `gdrive` is confirmed by the vendor; the other providers, their params, plans, colours and OAuth
scopes are inferred (documented in the README).
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from ..._validation import Violation
from ._rand import Rand

OAUTH2 = "oauth2"
CREDENTIALS = "credentials"


@dataclass(frozen=True, slots=True)
class Param:
    name: str
    label: str
    required: bool
    placeholder: str | None = None
    help: str | None = None
    url: str | None = None
    default: Any = None
    type: str = "string"
    secret: bool = False
    is_url: bool = False

    def to_json(self) -> dict[str, Any]:
        return {
            "label": self.label,
            "type": self.type,
            "placeholder": self.placeholder,
            "default": self.default,
            "help": self.help,
            "url": self.url,
            "required": self.required,
            "name": self.name,
        }


@dataclass(frozen=True, slots=True)
class OAuthProfile:
    """How the mock imitates a provider's OAuth tokens (all inferred)."""

    scope: str
    access_prefix: str
    access_length: int
    refresh_prefix: str
    refresh_length: int
    can_be_knowledge_base: bool = True


@dataclass(frozen=True, slots=True)
class CatalogueEntry:
    connection_type_id: str
    provider_id: str
    name: str
    description: str
    labels: tuple[str, ...]
    params: tuple[Param, ...]
    minimum_plan: str
    color: str
    connection_type: str
    oauth: OAuthProfile | None = None
    is_marketing_stunt: bool = False

    def to_json(self) -> dict[str, Any]:
        return {
            "connection_type_id": self.connection_type_id,
            "provider_id": self.provider_id,
            "name": self.name,
            "description": self.description,
            "labels": list(self.labels),
            "params": [param.to_json() for param in self.params],
            "minimum_plan": self.minimum_plan,
            "color": self.color,
            "is_marketing_stunt": self.is_marketing_stunt,
            "connection_type": self.connection_type,
        }


def _google() -> OAuthProfile:
    return OAuthProfile("https://www.googleapis.com/auth/drive.readonly", "ya29.", 150, "1//0g", 98)


def _microsoft(scope: str) -> OAuthProfile:
    return OAuthProfile(scope, "EwB4A8l6BAAU", 120, "M.C5", 96)


CATALOGUE: tuple[CatalogueEntry, ...] = (
    CatalogueEntry(
        "gdrive",
        "gdrive",
        "Google Drive",
        "Connect your Google Drive to use its files and folders in knowledge bases.",
        ("Knowledge Base", "Files"),
        (),
        "free",
        "#4285F4",
        OAUTH2,
        _google(),
    ),
    CatalogueEntry(
        "onedrive",
        "onedrive",
        "OneDrive",
        "Use the files of a personal or business OneDrive.",
        ("Knowledge Base", "Files"),
        (),
        "starter",
        "#0078D4",
        OAUTH2,
        _microsoft("Files.Read.All offline_access"),
    ),
    CatalogueEntry(
        "sharepoint",
        "sharepoint",
        "SharePoint",
        "Index document libraries of your SharePoint sites, signing in with Microsoft.",
        ("Knowledge Base", "Files", "Intranet"),
        (
            Param(
                "site_url",
                "Site URL",
                False,
                "https://your-company.sharepoint.com/sites/team",
                "Limit the connection to one site; leave empty for every site you can access.",
                is_url=True,
            ),
        ),
        "team",
        "#038387",
        OAUTH2,
        _microsoft("Sites.Read.All Files.Read.All offline_access"),
    ),
    CatalogueEntry(
        "sharepoint_app",
        "sharepoint",
        "SharePoint (app registration)",
        "Connect SharePoint with an Azure AD app registration instead of a user sign-in.",
        ("Knowledge Base", "Files", "Intranet"),
        (
            Param(
                "tenant_id",
                "Tenant ID",
                True,
                "00000000-0000-0000-0000-000000000000",
                "Directory (tenant) ID.",
            ),
            Param("client_id", "Client ID", True, "00000000-0000-0000-0000-000000000000", "Application ID."),
            Param(
                "client_secret",
                "Client secret",
                True,
                None,
                "Create a secret under Certificates & secrets.",
                "https://portal.azure.com/#view/Microsoft_AAD_RegisteredApps",
                secret=True,
            ),
            Param(
                "site_url",
                "Site URL",
                True,
                "https://your-company.sharepoint.com/sites/team",
                None,
                is_url=True,
            ),
        ),
        "enterprise",
        "#038387",
        CREDENTIALS,
    ),
    CatalogueEntry(
        "dropbox",
        "dropbox",
        "Dropbox",
        "Use the files and folders of a Dropbox account.",
        ("Knowledge Base", "Files"),
        (),
        "starter",
        "#0061FF",
        OAUTH2,
        OAuthProfile("files.metadata.read files.content.read", "sl.", 130, "", 64),
    ),
    CatalogueEntry(
        "notion",
        "notion",
        "Notion",
        "Index the Notion pages and databases you share with Stack AI.",
        ("Knowledge Base", "Wiki"),
        (),
        "free",
        "#191919",
        OAUTH2,
        OAuthProfile("read_content", "ntn_", 46, "nrt_", 46),
    ),
    CatalogueEntry(
        "confluence",
        "confluence",
        "Confluence",
        "Index Confluence spaces and pages with an Atlassian API token.",
        ("Knowledge Base", "Wiki"),
        (
            Param(
                "url",
                "Site URL",
                True,
                "https://your-company.atlassian.net",
                "Base URL of your Atlassian site.",
                is_url=True,
            ),
            Param("username", "Account e-mail", True, "you@your-company.com"),
            Param(
                "api_token",
                "API token",
                True,
                None,
                "Create a token in your Atlassian account security settings.",
                "https://id.atlassian.com/manage-profile/security/api-tokens",
                secret=True,
            ),
        ),
        "starter",
        "#1868DB",
        CREDENTIALS,
    ),
    CatalogueEntry(
        "slack",
        "slack",
        "Slack",
        "Use messages and files of the public channels of a Slack workspace.",
        ("Knowledge Base", "Chat"),
        (),
        "team",
        "#4A154B",
        OAUTH2,
        OAuthProfile("channels:history,channels:read,files:read", "xoxe.xoxp-1-", 96, "xoxe-1-", 96, False),
    ),
)

BY_TYPE: Mapping[str, CatalogueEntry] = {entry.connection_type_id: entry for entry in CATALOGUE}
PROVIDERS: tuple[str, ...] = tuple(dict.fromkeys(entry.provider_id for entry in CATALOGUE))


def choices_text(values: list[str]) -> str:
    """How pydantic words an enum's values: `'a', 'b' or 'c'`."""
    quoted = [f"'{value}'" for value in values]
    return quoted[0] if len(quoted) == 1 else f"{', '.join(quoted[:-1])} or {quoted[-1]}"


def _enum_violation(location: tuple[str, ...], values: list[str], given: Any) -> Violation:
    expected = choices_text(values)
    return Violation(location, f"Input should be {expected}", "enum", given, {"expected": expected})


def resolve(
    provider_id: Any, connection_type_id: Any, *, at: tuple[str, ...] = ("body",)
) -> tuple[CatalogueEntry | None, list[Violation]]:
    """The catalogue entry named by a request, or FastAPI-style violations with their exact `loc`."""
    violations: list[Violation] = []
    if provider_id not in PROVIDERS:
        violations.append(_enum_violation((*at, "provider_id"), list(PROVIDERS), provider_id))
        if connection_type_id not in BY_TYPE:
            violations.append(_enum_violation((*at, "connection_type_id"), list(BY_TYPE), connection_type_id))
        return None, violations
    types = [entry.connection_type_id for entry in CATALOGUE if entry.provider_id == provider_id]
    if connection_type_id not in types:
        return None, [_enum_violation((*at, "connection_type_id"), types, connection_type_id)]
    return BY_TYPE[connection_type_id], []


# The same rules as the spec's `HttpUrl` and `VisibleText` schemas (a test compares them).
HTTP_URL = re.compile(r"[Hh][Tt][Tt][Pp][Ss]?://[^/?#\x00-\x20\x7f]+([/?#][^\x00-\x20\x7f]*)?")
VISIBLE_CHARACTER = re.compile(r"[^\x00-\x20\x7f]")


def is_http_url(value: str) -> bool:
    return HTTP_URL.fullmatch(value) is not None


def check_params(
    entry: CatalogueEntry,
    data: Mapping[str, Any],
    *,
    at: tuple[str, ...] = ("body", "connection_provider_data"),
) -> list[Violation]:
    """The connection type's params in `connection_provider_data`: required ones present, all well typed."""
    violations: list[Violation] = []
    for param in entry.params:
        location = (*at, param.name)
        if param.name not in data or data[param.name] is None:
            if param.required:
                violations.append(Violation(location, "Field required", "missing", dict(data)))
            continue
        value = data[param.name]
        if not isinstance(value, str):
            violations.append(Violation(location, "Input should be a valid string", "string_type", value))
        elif param.required and not VISIBLE_CHARACTER.search(value):
            violations.append(
                Violation(
                    location,
                    "String should have at least one visible character",
                    "string_pattern_mismatch",
                    value,
                    {"pattern": VISIBLE_CHARACTER.pattern},
                )
            )
        elif param.is_url and value and not is_http_url(value):
            violations.append(
                Violation(
                    location, "Input should be a valid URL, relative URL without a base", "url_parsing", value
                )
            )
    return violations


def oauth_tokens(entry: CatalogueEntry, rand: Rand) -> dict[str, Any]:
    """Fresh provider tokens, as stored after a successful OAuth exchange or refresh."""
    profile = entry.oauth
    if profile is None:
        return {}
    return {
        "access_token": profile.access_prefix + rand.text(profile.access_length),
        "refresh_token": profile.refresh_prefix + rand.text(profile.refresh_length),
        "scope": profile.scope,
        "token_type": "Bearer",
        "can_be_knowledge_base": profile.can_be_knowledge_base,
    }
