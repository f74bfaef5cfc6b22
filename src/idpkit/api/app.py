"""``idpkit serve``: the warehouse as an HTTP API (FastAPI), Datasette-style: every table a
figure, every response JSON, CSV, HXL-tagged CSV or GeoJSON.

Design choices, and why:

* *One connection, one lock.* DuckDB and Ibis connections are not thread-safe; FastAPI runs sync
  endpoints in a thread pool, so warehouse access is serialised. Responses are cached by ETag.
* *ETags from the warehouse's state* (datasets, surveys and register imports): an expensive
  figure is recomputed only after an import changed the data; clients get ``304`` otherwise.
* *Roles decide what is computed*, not only what is shown: a public request gets figures with
  IDMC rounding and small-cell suppression applied; survey results need ``analyst``.
* *Errors are data*: ``{"error": {"code", "message", "location"}}`` with a 4xx status; a
  malformed request never reaches the engine. A bug is a 500 in the same shape, code
  ``internal-error``, naming a crash report (:mod:`idpkit.crashreport`) by its file name.
"""

from __future__ import annotations

import gzip
import hashlib
import json
import os
import threading
import time
import weakref
from collections.abc import Callable
from datetime import date
from typing import Annotated, Any

import pandas as pd
from fastapi import Depends, FastAPI, Query, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, Response
from starlette.exceptions import HTTPException as StarletteHTTPException

from idpkit.api.auth import GRANTS, role_of
from idpkit.api.body_limit import BodyLimit
from idpkit.api.render import ApiDate, ApiError, Format, error_response, render
from idpkit.dashboard import mount_dashboard
from idpkit.errors import IdpkitError
from idpkit.warehouse.warehouse import Warehouse, connect

MAX_LIMIT = 10_000
VERSION_TTL_SECONDS = 1.0
IDLE_RELEASE_SECONDS = 1.0
"""A DuckDB warehouse is closed after this long without a request (``IDPKIT_SERVE_IDLE``)."""
GZIP_MIN_BYTES = 1400


Limit = Annotated[int, Query(ge=1, le=MAX_LIMIT, description="Rows per page.")]
Offset = Annotated[int, Query(ge=0, description="First row (0-based).")]
Fmt = Annotated[Format, Query(description="json, csv, hxl or geojson (areas).")]
Level = Annotated[int, Query(ge=0, le=4, description="Admin level 0-4.")]


class ResponseCache(dict):
    """Serialised responses by ETag. Clearing it (as an in-process import does) also starts a new
    warehouse version, so no client keeps a stale ETag until the next re-check."""

    def __init__(self, state: "State") -> None:
        super().__init__()
        self._state = state

    def clear(self) -> None:
        super().clear()
        self._state.front.clear()
        self._state.changed()


class Cached:
    """One serialised response; its gzip form is made once, on the first request that accepts it
    (GeoJSON boundaries shrink five- to tenfold)."""

    __slots__ = ("body", "media_type", "_gzipped")

    def __init__(self, body: bytes, media_type: str) -> None:
        self.body, self.media_type, self._gzipped = body, media_type, None

    def gzipped(self) -> bytes | None:
        """The gzip body when it is worth sending (bigger than a TCP packet), else None."""
        if len(self.body) < GZIP_MIN_BYTES:
            return None
        if self._gzipped is None:
            self._gzipped = gzip.compress(self.body, compresslevel=6, mtime=0)
        return self._gzipped


class State:
    """The warehouse, its lock, and the response cache keyed by ETag.

    Why the version is remembered: it used to be recomputed with five catalogue and aggregate
    queries on every request, under the warehouse lock, which made a cache hit cost about as much
    as a small query and serialised all requests behind it. Now it is one query, re-run at most
    every ``version_ttl`` seconds (imports by another process, e.g. the CLI, are seen within that
    time) and at once after :meth:`changed` (imports through this process)."""

    def __init__(self, target: str, *, version_ttl: float = VERSION_TTL_SECONDS,
                 idle_release: float | None = None) -> None:
        self.target = target
        self.lock = threading.RLock()  # re-entrant: version() may run under it
        self._wh: Warehouse | None = connect(target)  # opened now: a bad target fails at start
        # A DuckDB file admits one writing process: the server lets go of it when idle, so the
        # CLI (imports, tokens create / revoke) works while it runs (see ``wh``).
        if idle_release is None:
            idle_release = float(os.environ.get("IDPKIT_SERVE_IDLE", IDLE_RELEASE_SECONDS))
        self.idle_release = idle_release if "://" not in target else None
        self._last_use = time.monotonic()
        if self.idle_release is not None:
            threading.Thread(target=_release_when_idle, args=(weakref.ref(self),), daemon=True,
                             name="idpkit-warehouse-release").start()
        self.version_ttl = version_ttl
        self._generation = 0
        self._version: tuple[str, float] | None = None  # (version, monotonic time checked)
        self.cache: dict[str, Cached] = ResponseCache(self)
        # anonymous GETs already answered: (path, query) -> (version, ETag, response)
        self.front: dict[tuple[str, bytes], tuple[str, str, Cached]] = {}

    @property
    def wh(self) -> Warehouse:
        """The warehouse, opened again if it was released while idle. Use it under ``lock``:
        the release thread closes it only when it can take that lock."""
        self._last_use = time.monotonic()
        if self._wh is None:
            self._wh = connect(self.target)  # waits for a CLI import's lock, then says so
            self._version = None  # another process may have changed the data meanwhile
        return self._wh

    def release_if_idle(self) -> None:
        """Close the DuckDB connection if unused for ``idle_release`` seconds and no request
        holds the lock, so other processes can open the file; the next request reopens it."""
        if self._wh is None or self.idle_release is None or \
                time.monotonic() - self._last_use < self.idle_release:
            return
        if not self.lock.acquire(blocking=False):
            return
        try:
            if self._wh is not None and time.monotonic() - self._last_use >= self.idle_release:
                self._wh.close()
                self._wh = None
        finally:
            self.lock.release()

    def changed(self) -> None:
        """The data changed through this process: the next request re-reads the version."""
        self._generation += 1
        self._version = None

    def known_version(self) -> str | None:
        """The version if it was checked within ``version_ttl``, else None (never queries)."""
        known = self._version
        if known is not None and time.monotonic() - known[1] < self.version_ttl:
            return known[0]
        return None

    def version(self) -> str:
        """Changes whenever an import changes the data (for ETags); cheap when re-checked within
        ``version_ttl``. While another thread holds the warehouse (a re-check or a long
        computation), the last known version is used rather than queueing every request."""
        fresh = self.known_version()
        if fresh is not None:
            return fresh
        known = self._version
        if known is not None and not self.lock.acquire(blocking=False):
            return known[0]
        if known is None:
            self.lock.acquire()
        try:
            fresh = self.known_version()
            if fresh is not None:
                return fresh
            generation = self._generation
            v = self._read_version()
            if generation == self._generation:  # no change() while we read
                self._version = (v, time.monotonic())
            return v
        finally:
            self.lock.release()

    def _read_version(self) -> str:
        """Row counts and newest import times of the tables imports write to (and of stored
        analyses recomputed without an import: forecast runs, needs results), in one query."""
        tables = set(self.wh.con.list_tables())
        parts = [f"(SELECT CAST(count(*) AS VARCHAR) || '/' || "
                 f"coalesce(CAST(max({col}) AS VARCHAR), '') FROM {table})"
                 for table, col in (("datasets", "imported_at"), ("surveys", "imported_at"),
                                    ("forecasts", "created_at"), ("needs_sources", "analysed_at"))
                 if table in tables]
        if "register_units" in tables:
            parts.append("(SELECT CAST(count(*) AS VARCHAR) FROM register_units)")
        row = self.wh.backend.fetch_df("SELECT " + ", ".join(parts)).iloc[0].tolist() \
            if parts else []
        text = "|".join(str(x) for x in row) + f"|{self._generation}"
        return hashlib.sha256(text.encode()).hexdigest()[:16]


def _release_when_idle(ref: weakref.ref) -> None:
    """The release thread of a :class:`State` (ends with it): checks a few times a second."""
    while True:
        state = ref()
        if state is None:
            return
        pause = max((state.idle_release or 1.0) / 4, 0.05)
        state.release_if_idle()
        del state
        time.sleep(pause)


def _cached_response(hit: Cached, etag: str, accept_encoding: str) -> Response:
    """The one shape of a cached answer, from the endpoint or from :class:`FrontCache`."""
    headers = {"ETag": etag, "Cache-Control": "private, max-age=60",
               "Vary": "Accept-Encoding, Authorization"}
    body = hit.body
    if "gzip" in accept_encoding:
        packed = hit.gzipped()
        if packed is not None:
            body, headers["Content-Encoding"] = packed, "gzip"
    return Response(content=body, media_type=hit.media_type, headers=headers)


class FrontCache:
    """ASGI middleware: an anonymous GET that an endpoint already answered for the current
    warehouse version is answered again here, before routing, parameter validation, the role
    dependency and two thread-pool hops, which were most of a cache hit's CPU time (see
    benchmarks/RESULTS.md). Anything else (a token, another URL, a stale or unchecked version)
    goes through.

    It relies on what :func:`create_app`'s ``respond`` guarantees: an anonymous answer depends
    only on the path and query string (and the warehouse version)."""

    def __init__(self, app: Any, state: State) -> None:
        self.app, self.state = app, state

    async def __call__(self, scope: dict, receive: Callable, send: Callable) -> None:
        if scope["type"] == "http" and scope["method"] == "GET":
            entry = self.state.front.get((scope["path"], scope["query_string"]))
            if entry is not None and entry[0] == self.state.known_version():
                headers = {k.lower(): v for k, v in scope["headers"]}
                if b"authorization" not in headers:
                    etag = entry[1]
                    if headers.get(b"if-none-match", b"").decode("latin-1") == etag:
                        response = Response(status_code=304, headers={"ETag": etag})
                    else:
                        response = _cached_response(
                            entry[2], etag, headers.get(b"accept-encoding", b"").decode("latin-1"))
                    await response(scope, receive, send)
                    return
        await self.app(scope, receive, send)


def no_control_characters(request: Request) -> None:
    """No query or path parameter may hold control characters (NUL, escape, …): no P-code, date,
    dataset id or name has them, and SQL engines refuse some of them inside literals. A clear
    422, never a 500."""
    values = [(f"query.{k}", v) for k, v in request.query_params.multi_items()]
    values += [(f"path.{k}", v) for k, v in request.path_params.items() if isinstance(v, str)]
    for where, value in values:
        if any(ord(c) < 32 or ord(c) == 127 for c in value):
            raise ApiError(422, "invalid-request", "control characters are not allowed", where)


#: Error codes of the HTTP errors the framework raises itself (unknown path, bad multipart body).
_HTTP_CODES = {404: "not-found", 405: "method-not-allowed", 413: "too-large"}


def _crash_report_note(request: Request, exc: Exception) -> str:
    """Write a crash report of a bug met answering ``request`` (named by its route template, not
    its URL, which can hold values) and return ``; crash report NAME`` (never its folder)."""
    from idpkit.crashreport import write_crash_report

    route = getattr(request.scope.get("route"), "path", None) or "?"
    try:
        name = write_crash_report(exc, command=f"api {request.method} {route}").name
    except Exception as failure:
        return f"; no crash report could be written ({type(failure).__name__})"
    return f"; crash report {name}"


def create_app(target: str) -> FastAPI:
    """The API over the warehouse at ``target`` (a DuckDB path or a PostgreSQL URL)."""
    state = State(target)
    app = FastAPI(title="idpkit API", version="0.1",
                  dependencies=[Depends(no_control_characters)],
                  description="Internal-displacement figures, areas, datasets and solutions "
                              "evidence from an idpkit warehouse. Public requests get rounded, "
                              "suppressed figures; send `Authorization: Bearer <token>` for more.")

    @app.exception_handler(ApiError)
    async def _api_error(_: Request, exc: ApiError) -> JSONResponse:
        return error_response(exc.status, exc.code, exc.message, exc.location)

    @app.exception_handler(RequestValidationError)
    async def _invalid(_: Request, exc: RequestValidationError) -> JSONResponse:
        first = exc.errors()[0]
        where = ".".join(str(p) for p in first.get("loc", ()))
        return error_response(422, "invalid-request", first.get("msg", "invalid request"), where)

    @app.exception_handler(StarletteHTTPException)
    async def _http_error(_: Request, exc: StarletteHTTPException) -> JSONResponse:
        # the framework's own errors (no such path, "Missing boundary in multipart.") in the one
        # shape too; their texts name no server path
        code = _HTTP_CODES.get(exc.status_code, "invalid-request")
        response = error_response(exc.status_code, code, str(exc.detail),
                                  "body" if exc.status_code == 400 else None)
        response.headers.update(exc.headers or {})
        return response

    @app.exception_handler(Exception)
    async def _unexpected(request: Request, exc: Exception) -> JSONResponse:  # never a traceback
        return error_response(500, "internal-error", f"the server failed: {type(exc).__name__}"
                      f"{_crash_report_note(request, exc)}")

    @app.exception_handler(IdpkitError)
    async def _idpkit_error(_: Request, exc: IdpkitError) -> JSONResponse:
        return error_response(400, exc.code, exc.message, exc.location)

    def role(request: Request) -> str:
        header = request.headers.get("authorization", "")
        token = header[7:].strip() if header.lower().startswith("bearer ") else None
        with state.lock:
            r = role_of(state.wh, token)
        if r is None:
            raise ApiError(401, "invalid-token", "unknown or revoked token")
        return r

    def need(r: str, grant: str) -> None:
        if grant not in GRANTS[r]:
            raise ApiError(403, "forbidden", f"this needs the {grant} role (you are {r})")

    def respond(request: Request, key: str, compute: Callable[[], tuple[bytes, str]]) -> Response:
        """Cached by ETag: the warehouse version plus the request's path and query. A hit takes
        no lock and runs no query; a miss computes under the warehouse lock. What ``compute``
        returns must depend only on the URL and the role (anonymous answers are replayed by
        :class:`FrontCache` from the URL alone)."""
        version = state.version()
        etag = '"' + hashlib.sha256(f"{version}|{key}".encode()).hexdigest()[:24] + '"'
        if request.headers.get("if-none-match") == etag:
            return Response(status_code=304, headers={"ETag": etag})
        hit = state.cache.get(etag)
        if hit is None:
            with state.lock:
                hit = state.cache.get(etag)
                if hit is None:
                    hit = Cached(*compute())
                    if len(state.cache) > 512:
                        dict.clear(state.cache)  # a full cache is not a data change
                    state.cache[etag] = hit
        if "authorization" not in request.headers:
            if len(state.front) > 512:
                state.front.clear()
            url = (request.scope["path"], request.scope["query_string"])
            state.front[url] = (version, etag, hit)
        return _cached_response(hit, etag, request.headers.get("accept-encoding", ""))

    app.add_middleware(FrontCache, state=state)
    app.add_middleware(BodyLimit)  # outermost: a huge JSON body is refused before parsing
    app.state.idpkit = state  # for tests and embedding: the cache and version

    def page(df: pd.DataFrame, limit: int, offset: int) -> tuple[pd.DataFrame, dict[str, Any]]:
        total = len(df)
        meta = {"total": total, "limit": limit, "offset": offset,
                "next_offset": offset + limit if offset + limit < total else None}
        return df.iloc[offset:offset + limit], meta

    from idpkit.api.upload import upload_router

    app.include_router(upload_router(lambda: state, role, need, ApiError))

    @app.get("/api", summary="What this API serves")
    def index() -> dict[str, Any]:
        # from the OpenAPI paths: included routers' routes have no ``.path`` of their own
        return {"endpoints": sorted(p for p in app.openapi()["paths"] if p.startswith("/api/")),
                "roles": list(GRANTS)}

    @app.get("/api/areas", summary="Admin areas (GeoJSON boundaries where loaded)")
    def areas(request: Request, level: Annotated[int | None, Query(ge=0, le=4)] = None,
              parent: str | None = None, format: Fmt = Format.geojson,
              r: str = Depends(role)) -> Response:
        def compute() -> tuple[bytes, str]:
            t = state.wh.table("areas")
            if level is not None:
                t = t.filter(t.admin_level == level)
            if parent:
                t = t.filter(t.parent_pcode == parent)
            df = t.select("pcode", "name", "admin_level", "parent_pcode", "iso3",
                          "geometry").order_by("pcode").execute()
            if format == Format.geojson:
                feats = [{"type": "Feature", "id": row.pcode,
                          "geometry": json.loads(row.geometry) if row.geometry else None,
                          "properties": {"pcode": row.pcode, "name": row.name,
                                         "admin_level": int(row.admin_level),
                                         "parent_pcode": row.parent_pcode}}
                         for row in df.itertuples()]
                body = {"type": "FeatureCollection", "features": feats}
                return json.dumps(body, ensure_ascii=False).encode(), "application/geo+json"
            return render(df.drop(columns="geometry"), format,
                           hxl_tags={"pcode": "#loc+code", "name": "#loc+name",
                                     "admin_level": "#indicator+adminlevel",
                                     "parent_pcode": "#loc+code+parent",
                                     "iso3": "#country+code"})
        return respond(request, str(request.url.path) + str(request.url.query), compute)

    @app.get("/api/datasets", summary="Imported datasets with row counts")
    def datasets(request: Request, limit: Limit = 100, offset: Offset = 0, format: Fmt = Format.json,
                 r: str = Depends(role)) -> Response:
        def compute() -> tuple[bytes, str]:
            t = state.wh.table("datasets")
            df = t.drop("column_mapping", "file_hash").order_by("imported_at").execute()
            part, meta = page(df, limit, offset)
            return render(part, format, meta=meta)
        return respond(request, str(request.url), compute)

    @app.get("/api/datasets/{dataset_id}/issues", summary="Validation findings of one dataset")
    def dataset_issues(request: Request, dataset_id: str, limit: Limit = 100, offset: Offset = 0,
                       format: Fmt = Format.json, r: str = Depends(role)) -> Response:
        need(r, "analyst")

        def compute() -> tuple[bytes, str]:
            ds = state.wh.table("datasets")
            if not int(ds.filter(ds.dataset_id == dataset_id).count().execute()):
                raise ApiError(404, "unknown-dataset", f"no dataset {dataset_id!r}")
            t = state.wh.table("issues")
            df = t.filter(t.dataset_id == dataset_id).order_by(["row", "code"]).execute()
            part, meta = page(df, limit, offset)
            return render(part, format, meta=meta)
        return respond(request, str(request.url), compute)

    @app.get("/api/figures/stock", summary="Stock per area at a reference date")
    def stock(request: Request, level: Level = 1,
              on: Annotated[ApiDate | None, Query(alias="date")] = None,
              by: Annotated[str, Query(pattern=r"^[a-z_,]*$")] = "group,cause",
              group: str | None = None, area: str | None = None,
              limit: Limit = 1000, offset: Offset = 0, format: Fmt = Format.json,
              r: str = Depends(role)) -> Response:
        from idpkit.figures.publication import apply_publication_rules
        from idpkit.figures.schema import hxl_tag
        from idpkit.figures.stock import BY_CHOICES, StockQuery, stock_frame

        parts = [b for b in by.split(",") if b and b != "group"]
        bad = [b for b in parts if b not in BY_CHOICES]
        if bad:
            raise ApiError(422, "invalid-request", f"unknown breakdown {bad[0]!r}; use "
                           f"{', '.join(BY_CHOICES)}", "query.by")

        def compute() -> tuple[bytes, str]:
            ref = on or _latest(state.wh)
            df = stock_frame(state.wh, StockQuery(ref, level=level, by=parts))
            if group:
                df = df[df.population_group == group]
            if area:
                df = df[df[f"adm{level}_pcode"] == area]
            if "analyst" not in GRANTS[r]:
                df = apply_publication_rules(df, ("value",))
            part, meta = page(df.reset_index(drop=True), limit, offset)
            tags = {c: hxl_tag(c) for c in df.columns}
            return render(part, format, hxl_tags=tags,
                           meta={**meta, "reference_date": ref.isoformat(),
                                 "public_rules": "analyst" not in GRANTS[r]})
        return respond(request, f"{request.url}|{r in ('analyst', 'admin')}", compute)

    def period_figure(request: Request, r: str, start: date, end: date,
                      frame: Callable[[], pd.DataFrame], fmt: Format) -> Response:
        """Series, flows and OD share this: a valid period, public rules unless analyst."""
        from idpkit.figures.publication import apply_publication_rules

        if end <= start:
            raise ApiError(422, "invalid-request", "'to' must be after 'from'", "query.to")

        def compute() -> tuple[bytes, str]:
            df = frame()
            if "analyst" not in GRANTS[r] and "value" in df:
                df = apply_publication_rules(df, ("value",))
            return render(df, fmt)
        return respond(request, f"{request.url}|{r in ('analyst', 'admin')}", compute)

    @app.get("/api/figures/series", summary="Monthly stock per area (gaps explicit)")
    def series(request: Request, start: Annotated[ApiDate, Query(alias="from")],
               end: Annotated[ApiDate, Query(alias="to")], level: Level = 1,
               format: Fmt = Format.json, r: str = Depends(role)) -> Response:
        from idpkit.figures.series import monthly_series

        return period_figure(request, r, start, end,
                             lambda: monthly_series(state.wh, start, end, level), format)

    @app.get("/api/figures/flows", summary="Flows over a period (reported and derived)")
    def flows(request: Request, start: Annotated[ApiDate, Query(alias="from")],
              end: Annotated[ApiDate, Query(alias="to")], level: Level = 1,
              format: Fmt = Format.json, r: str = Depends(role)) -> Response:
        from idpkit.figures.flows import flows_frame

        return period_figure(request, r, start, end,
                             lambda: flows_frame(state.wh, start, end, level), format)

    @app.get("/api/figures/od", summary="Origin-destination matrix over a period")
    def od(request: Request, start: Annotated[ApiDate, Query(alias="from")],
           end: Annotated[ApiDate, Query(alias="to")], level: Annotated[int, Query(ge=1, le=4)] = 2,
           format: Fmt = Format.json, r: str = Depends(role)) -> Response:
        from idpkit.figures.od import od_frame

        return period_figure(request, r, start, end,
                             lambda: od_frame(state.wh, start, end, level), format)

    @app.get("/api/figures/dates", summary="Reference dates that have stock figures")
    def figure_dates(request: Request, r: str = Depends(role)) -> Response:
        from idpkit.dashboard.queries import reference_dates

        return respond(request, str(request.url),
                       lambda: render(reference_dates(state.wh), Format.json))

    @app.get("/api/areas/levels", summary="Admin levels, their areas and boundaries")
    def area_levels(request: Request, r: str = Depends(role)) -> Response:
        from idpkit.dashboard.queries import admin_levels

        return respond(request, str(request.url),
                       lambda: render(admin_levels(state.wh), Format.json))

    @app.get("/api/role", summary="The role of the presented token (public without one)")
    def current_role(r: str = Depends(role)) -> JSONResponse:
        # the dashboard's footer and access line say which view the figures are (rounded for the
        # public, exact for analysts); an unknown token is refused by `role` with 401
        return JSONResponse({"role": r, "public_rules": "analyst" not in GRANTS[r]})

    @app.get("/api/quality", summary="Validation findings per dataset, code and severity (counts)")
    def quality(request: Request, area: str | None = None, format: Fmt = Format.json,
                r: str = Depends(role)) -> Response:
        from idpkit.dashboard.queries import quality as quality_frame

        return respond(request, str(request.url),
                       lambda: render(quality_frame(state.wh, area), format))

    @app.get("/api/solutions", summary="Surveys and their stored results")
    def surveys(request: Request, r: str = Depends(role)) -> Response:
        need(r, "analyst")
        from idpkit.solutions.store import list_surveys

        return respond(request, str(request.url),
                       lambda: render(list_surveys(state.wh), Format.json))

    def _solution_table(table: str):
        def endpoint(request: Request, survey_id: str, area: str | None = None,
                     indicator: str | None = None, limit: Limit = 1000, offset: Offset = 0,
                     format: Fmt = Format.json, r: str = Depends(role)) -> Response:
            need(r, "analyst")

            def compute() -> tuple[bytes, str]:
                if table not in state.wh.con.list_tables():
                    raise ApiError(404, "no-results", "no stored survey results: run "
                                   "`idpkit solutions analyse SURVEY`")
                t = state.wh.table(table)
                t = t.filter(t.survey_id == survey_id)
                if area:
                    t = t.filter(t.area_pcode == area)
                if indicator and "indicator" in t.columns:
                    t = t.filter(t.indicator == indicator)
                df = t.execute()
                if df.empty and not int(state.wh.table(table).filter(
                        state.wh.table(table).survey_id == survey_id).count().execute()):
                    raise ApiError(404, "unknown-survey", f"no results for survey {survey_id!r}")
                part, meta = page(df, limit, offset)
                return render(part, format, meta=meta)
            return respond(request, str(request.url), compute)
        return endpoint

    for name, table in (("estimates", "solution_estimates"), ("gaps", "solution_gaps"),
                        ("criteria", "solution_criteria"), ("exit", "solution_exit")):
        app.get(f"/api/solutions/{{survey_id}}/{name}",
                summary=f"Survey {name} (analyst)")(_solution_table(table))

    @app.get("/api/register/units", summary="Unique registered people per area (protection)")
    def register_units(request: Request, r: str = Depends(role)) -> Response:
        need(r, "protection")

        def compute() -> tuple[bytes, str]:
            if "register_units" not in state.wh.con.list_tables():
                raise ApiError(404, "no-register", "no registrations imported")
            t = state.wh.table("register_units")
            df = t.group_by(["area_pcode", "site_id"]).aggregate(
                records=t.count(), people=t.person_cluster.nunique(),
                households=t.household_cluster.nunique()).order_by(
                ["area_pcode", "site_id"]).execute()
            return render(df, Format.json)
        return respond(request, str(request.url), compute)

    from idpkit.api.forecasts import forecast_router  # issue 8: forecasts and early warnings
    app.include_router(forecast_router(state, role, respond))
    from idpkit.api.area_view import area_router  # issue 7: the area view
    app.include_router(area_router(state, role, need, respond))
    mount_dashboard(app)
    return app


def _latest(wh: Warehouse) -> date:
    o = wh.table("observations")
    d = o.filter(o.metric == "present_stock").reporting_date.max().execute()
    if d is None or d != d:
        raise ApiError(404, "no-figures", "the warehouse holds no stock figures yet")
    return d.date() if hasattr(d, "date") else d
