"""Matching a request path and method to a spec operation."""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass

from ._api import Problem, Reason
from ._spec import Operation


@dataclass(frozen=True, slots=True)
class RouteMatch:
    operation: Operation
    path_params: dict[str, str]


@dataclass(frozen=True, slots=True)
class RouteMiss:
    """No operation: 404 when no path matched, else 405 with the methods that exist."""

    allowed: tuple[str, ...]

    @property
    def status(self) -> int:
        return 405 if self.allowed else 404

    def problem(self) -> Problem:
        if self.allowed:
            allow = ", ".join(self.allowed)
            return Problem(405, "Method Not Allowed", Reason.METHOD_NOT_ALLOWED, headers={"Allow": allow})
        return Problem(404, "Not Found", Reason.NOT_FOUND)


class _PathTemplate:
    __slots__ = ("operations", "regex", "specificity", "template")

    def __init__(self, template: str) -> None:
        self.template = template
        pattern = ""
        for segment in template.strip("/").split("/"):
            if segment.startswith("{") and segment.endswith("}"):
                pattern += f"/(?P<{segment[1:-1]}>[^/]+)"
            else:
                pattern += "/" + re.escape(segment)
        self.regex = re.compile(f"^{pattern or '/'}\\Z")  # \Z: a trailing newline is not the end
        segments = template.strip("/").split("/")
        # Literal segments win over templated ones, left to right: /sources/templates before /sources/{id}.
        self.specificity = tuple(0 if s.startswith("{") else 1 for s in segments)
        self.operations: dict[str, Operation] = {}


class Router:
    """The most specific path that matches owns the URL: literal segments win, left to right.

    So `PUT /connections/available` is a 405 on that path, never a `PUT /connections/{connection_id}`.
    """

    def __init__(self, operations: Iterable[Operation]) -> None:
        templates: dict[str, _PathTemplate] = {}
        for operation in operations:
            template = templates.setdefault(operation.path, _PathTemplate(operation.path))
            template.operations[operation.method] = operation
        self._templates = sorted(templates.values(), key=lambda t: t.specificity, reverse=True)
        self._literal = {t.template: t for t in self._templates if "{" not in t.template}

    def match(self, method: str, path: str) -> RouteMatch | RouteMiss:
        literal = self._literal.get(path)
        if literal is not None:
            operation = literal.operations.get(method)
            return RouteMatch(operation, {}) if operation else RouteMiss(tuple(sorted(literal.operations)))
        for template in self._templates:
            found = template.regex.match(path)
            if found is None:
                continue
            operation = template.operations.get(method)
            if operation is None:
                return RouteMiss(tuple(sorted(template.operations)))
            return RouteMatch(operation, found.groupdict())
        return RouteMiss(())
