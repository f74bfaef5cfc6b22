"""The offline web dashboard: static pages that call the same HTTP API as every other client.

Why it is static files and not server-rendered pages: every number the dashboard shows then comes
from a public API response (rounded and suppressed for the public role), so the dashboard can never
show more than a partner with the same token could fetch, and the browser tests can compare what is
shown with the API's own answer. Its JavaScript libraries are vendored under ``static/vendor``
(built from npm by ``make dashboard-assets``), so it needs no CDN, tile server or network.
"""

from __future__ import annotations

from pathlib import Path

from fastapi import FastAPI
from fastapi.responses import FileResponse, RedirectResponse
from fastapi.staticfiles import StaticFiles

STATIC = Path(__file__).parent / "static"

# Only our own origin: a page that tried to reach a CDN or a tile server would fail loudly in the
# browser tests instead of silently depending on the network.
CSP = ("default-src 'self'; img-src 'self' data:; style-src 'self'; script-src 'self'; "
       "connect-src 'self'; frame-ancestors 'none'; base-uri 'self'; form-action 'self'")


def mount_dashboard(app: FastAPI) -> None:
    """Serve the dashboard at ``/`` and its assets under ``/dashboard/``."""

    @app.get("/", include_in_schema=False)
    def dashboard_index() -> FileResponse:
        return FileResponse(STATIC / "index.html", media_type="text/html",
                            headers={"Content-Security-Policy": CSP, "Cache-Control": "no-cache",
                                     "X-Content-Type-Options": "nosniff"})

    @app.get("/dashboard", include_in_schema=False)
    def dashboard_redirect() -> RedirectResponse:
        return RedirectResponse("/")

    app.mount("/dashboard", StaticFiles(directory=STATIC), name="dashboard")
