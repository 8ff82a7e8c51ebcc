"""`/docs`: Swagger UI for each served API, entirely offline, with "Try it out" aimed at the mock.

The assets come from the `swagger-ui-py` package (Swagger UI 5, which reads OpenAPI 3.1); nothing is
fetched from a CDN.
"""

from __future__ import annotations

import copy
import html
import json
from collections.abc import Sequence
from importlib.resources import files
from typing import Any

from starlette.types import Receive, Scope, Send

from ._jsontext import encode_json
from ._service import ApiService

DOCS_MOUNT = "/docs"
_ASSETS = {
    "swagger-ui.css": "text/css; charset=utf-8",
    "index.css": "text/css; charset=utf-8",
    "swagger-ui-bundle.js": "text/javascript; charset=utf-8",
    "swagger-ui-standalone-preset.js": "text/javascript; charset=utf-8",
    "favicon-32x32.png": "image/png",
    "favicon-16x16.png": "image/png",
    "oauth2-redirect.html": "text/html; charset=utf-8",
}

_PAGE = """<!doctype html>
<html lang="en">
<head>
  <meta charset="utf-8">
  <title>{title} — mockserver</title>
  <link rel="stylesheet" href="{mount}/static/swagger-ui.css">
  <link rel="icon" type="image/png" href="{mount}/static/favicon-32x32.png">
</head>
<body>
  <div id="swagger-ui"></div>
  <script src="{mount}/static/swagger-ui-bundle.js"></script>
  <script src="{mount}/static/swagger-ui-standalone-preset.js"></script>
  <script>
    window.ui = SwaggerUIBundle({{
      url: {spec_url},
      dom_id: "#swagger-ui",
      deepLinking: true,
      presets: [SwaggerUIBundle.presets.apis, SwaggerUIStandalonePreset],
      layout: "StandaloneLayout",
      oauth2RedirectUrl: window.location.origin + "{mount}/static/oauth2-redirect.html"
    }});
  </script>
</body>
</html>
"""

_INDEX = """<!doctype html>
<html lang="en">
<head><meta charset="utf-8"><title>mockserver docs</title>
<style>body {{ font-family: sans-serif; margin: 3rem; }} li {{ margin: .5rem 0; }}</style></head>
<body>
  <h1>mockserver</h1>
  <ul>{items}</ul>
  <p>Control API: <a href="/__mock/openapi.json">/__mock/openapi.json</a></p>
</body>
</html>
"""


class DocsApp:
    """Serves `/docs`, `/docs/<api>`, `/docs/<api>/openapi.json` and the Swagger UI assets."""

    mount_path = DOCS_MOUNT

    def __init__(self, services: Sequence[ApiService]) -> None:
        self._services = {service.api.name: service for service in services}
        self._assets = files("swagger_ui") / "static"
        self._documents = {name: encode_json(self._served_document(s)) for name, s in self._services.items()}

    @staticmethod
    def _served_document(service: ApiService) -> dict[str, Any]:
        """The spec with its server pointed at the mock, so "Try it out" calls the mock."""
        document = copy.deepcopy(service.spec.document)
        document.pop("jsonSchemaDialect", None)  # Swagger UI only renders the default OAS 3.1 dialect
        production = document.get("servers", [{}])[0].get("url", "")
        document["servers"] = [
            {"url": service.mount_path or "/", "description": f"mockserver (production: {production})"}
        ]
        return document

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        path = scope["path"][len(DOCS_MOUNT) :].strip("/")
        if scope["method"] not in ("GET", "HEAD"):
            await _send(send, 405, b'{"detail":"Method Not Allowed"}', "application/json", allow="GET")
            return
        if not path:
            items = "".join(
                f'<li><a href="{DOCS_MOUNT}/{html.escape(name)}">{html.escape(service.api.title)}</a> '
                f"served at <code>{html.escape(service.mount_path or '/')}</code></li>"
                for name, service in self._services.items()
            )
            await _send(send, 200, _INDEX.format(items=items).encode(), "text/html; charset=utf-8")
            return
        head, _, rest = path.partition("/")
        if head == "static" and rest in _ASSETS:
            await _send(send, 200, (self._assets / rest).read_bytes(), _ASSETS[rest])
            return
        service = self._services.get(head)
        if service is not None and rest == "":
            page = _PAGE.format(
                title=html.escape(service.api.title),
                mount=DOCS_MOUNT,
                spec_url=json.dumps(f"{DOCS_MOUNT}/{head}/openapi.json"),
            )
            await _send(send, 200, page.encode(), "text/html; charset=utf-8")
            return
        if service is not None and rest == "openapi.json":
            await _send(send, 200, self._documents[head], "application/json")
            return
        await _send(send, 404, b'{"detail":"Not Found"}', "application/json")


async def _send(
    send: Send, status: int, payload: bytes, content_type: str, *, allow: str | None = None
) -> None:
    headers = [(b"content-type", content_type.encode()), (b"content-length", str(len(payload)).encode())]
    if allow:
        headers.append((b"allow", allow.encode()))
    await send({"type": "http.response.start", "status": status, "headers": headers})
    await send({"type": "http.response.body", "body": payload})
