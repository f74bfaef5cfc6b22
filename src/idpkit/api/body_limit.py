"""A size limit on request bodies that are not file uploads (JSON, forms, anything else).

Why: only ``POST /api/datasets`` takes a large body, and it streams it to disk under its own limit
(:data:`idpkit.api.upload.MAX_UPLOAD_BYTES`). Any other body is a few kilobytes of JSON at most;
a 20 MB one would be parsed whole in memory before a route could refuse it. The limit is checked
on ``Content-Length`` first (refused before a byte is read) and while the body streams (a chunked
body has no length), and answered as 413 in the API's one error shape.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from idpkit.api.render import error_response

#: Largest body of a request that is not a multipart upload.
MAX_BODY_BYTES = 1 << 20


class BodyTooLarge(Exception):
    pass


class BodyLimit:
    """ASGI middleware: bodies other than ``multipart/form-data`` above ``limit`` bytes get 413."""

    def __init__(self, app: Any, limit: int = MAX_BODY_BYTES) -> None:
        self.app, self.limit = app, limit

    def _refuse(self) -> Any:
        return error_response(413, "too-large", f"request bodies are limited to "
                              f"{self.limit:,} bytes (files go to POST /api/datasets as "
                              "multipart/form-data)", "body")

    async def __call__(self, scope: dict, receive: Callable, send: Callable) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        headers = {k.lower(): v for k, v in scope["headers"]}
        if headers.get(b"content-type", b"").lower().startswith(b"multipart/form-data"):
            await self.app(scope, receive, send)
            return
        length = headers.get(b"content-length")
        if length is not None and length.isdigit() and int(length) > self.limit:
            await self._refuse()(scope, receive, send)
            return
        seen = 0
        started = False

        async def counted_receive() -> dict:
            nonlocal seen
            message = await receive()
            if message["type"] == "http.request":
                seen += len(message.get("body", b""))
                if seen > self.limit:
                    raise BodyTooLarge()
            return message

        async def tracked_send(message: dict) -> None:
            nonlocal started
            started = started or message["type"] == "http.response.start"
            await send(message)

        try:
            await self.app(scope, counted_receive, tracked_send)
        except BodyTooLarge:
            if not started:
                await self._refuse()(scope, receive, send)
