"""Prism's `Prefer` conventions: `code=404`, `example=NAME`, `dynamic=true`, `seed=N`."""

from __future__ import annotations

from dataclasses import dataclass

from .._validation import Violation

_KNOWN = ("code", "example", "dynamic", "seed")


@dataclass(frozen=True, slots=True)
class Preference:
    code: int | None = None
    example: str | None = None
    dynamic: bool = False
    seed: int | None = None

    @property
    def is_empty(self) -> bool:
        return self.code is None and self.example is None and not self.dynamic


_NO_PREFERENCE = Preference()
"""What a request without `Prefer` asks for (most requests: no parsing for them)."""


def parse_prefer(header: str) -> tuple[Preference, list[Violation]]:
    """Read `Prefer: code=404, example=missing` (commas or semicolons between preferences)."""
    if not header:
        return _NO_PREFERENCE, []
    values: dict[str, str] = {}
    violations: list[Violation] = []
    location = ("header", "Prefer")
    for part in header.replace(";", ",").split(","):
        part = part.strip()
        if not part:
            continue
        key, separator, value = part.partition("=")
        key, value = key.strip().lower(), value.strip().strip('"')
        if key not in _KNOWN:
            continue  # other preferences (return=minimal, ...) are not ours to judge
        if not separator or not value:
            violations.append(Violation(location, f"Preference '{key}' needs a value", "value_error", part))
            continue
        values[key] = value
    code = seed = None
    if "code" in values:
        if values["code"].isdigit() and 100 <= int(values["code"]) <= 599:
            code = int(values["code"])
        else:
            violations.append(
                Violation(
                    location, "code must be an HTTP status between 100 and 599", "value_error", values["code"]
                )
            )
    if "seed" in values:
        try:
            seed = int(values["seed"])
        except ValueError:
            violations.append(Violation(location, "seed must be an integer", "value_error", values["seed"]))
    dynamic = False
    if "dynamic" in values:
        if values["dynamic"].lower() not in ("true", "false"):
            violations.append(
                Violation(location, "dynamic must be true or false", "value_error", values["dynamic"])
            )
        dynamic = values["dynamic"].lower() == "true"
    preference = Preference(code=code, example=values.get("example"), dynamic=dynamic, seed=seed)
    return preference, violations
