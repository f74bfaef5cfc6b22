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
  malformed request never reaches the engine.
"""

from __future__ import annotations

import hashlib
import io
import json
import threading
from collections.abc import Callable
from datetime import date
from enum import Enum
from typing import Annotated, Any

import pandas as pd
from fastapi import Depends, FastAPI, Query, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, Response

from idpkit.api.auth import GRANTS, role_of
from idpkit.errors import IdpkitError
from idpkit.warehouse.warehouse import Warehouse, connect

MAX_LIMIT = 10_000


class Format(str, Enum):
    json = "json"
    csv = "csv"
    hxl = "hxl"
    geojson = "geojson"


Limit = Annotated[int, Query(ge=1, le=MAX_LIMIT, description="Rows per page.")]
Offset = Annotated[int, Query(ge=0, description="First row (0-based).")]
Fmt = Annotated[Format, Query(description="json, csv, hxl or geojson (areas).")]
Level = Annotated[int, Query(ge=0, le=4, description="Admin level 0-4.")]


class ApiError(Exception):
    def __init__(self, status: int, code: str, message: str, location: str | None = None):
        super().__init__(message)
        self.status, self.code, self.message, self.location = status, code, message, location


def _error(status: int, code: str, message: str, location: str | None = None) -> JSONResponse:
    return JSONResponse({"error": {"code": code, "message": message, "location": location}},
                        status_code=status)


class State:
    """The warehouse, its lock, and the response cache keyed by ETag."""

    def __init__(self, target: str) -> None:
        self.wh: Warehouse = connect(target)
        self.lock = threading.Lock()
        self.cache: dict[str, tuple[bytes, str]] = {}

    def version(self) -> str:
        """Changes whenever an import changes the data (for ETags)."""
        parts = []
        for table, col in (("datasets", "imported_at"), ("surveys", "imported_at")):
            if table in self.wh.con.list_tables():
                t = self.wh.table(table)
                parts.append(str(t.aggregate(n=t.count(), m=t[col].max()).execute().iloc[0].tolist()))
        if "register_units" in self.wh.con.list_tables():
            parts.append(str(self.wh.table("register_units").count().execute()))
        return hashlib.sha256("|".join(parts).encode()).hexdigest()[:16]


def _records(df: pd.DataFrame) -> list[dict[str, Any]]:
    return json.loads(df.to_json(orient="records", date_format="iso", force_ascii=False))


def _render(df: pd.DataFrame, fmt: Format, *, hxl_tags: dict[str, str] | None = None,
            meta: dict[str, Any] | None = None) -> tuple[bytes, str]:
    if fmt == Format.csv or fmt == Format.hxl:
        buf = io.StringIO()
        if fmt == Format.hxl:
            tags = hxl_tags or {}
            pd.DataFrame([[tags.get(c, "") for c in df.columns]], columns=df.columns).pipe(
                lambda h: pd.concat([h, df.astype("object")])).to_csv(buf, index=False,
                                                                      lineterminator="\n")
        else:
            df.to_csv(buf, index=False, lineterminator="\n")
        return buf.getvalue().encode("utf-8"), "text/csv; charset=utf-8"
    body = {"data": _records(df), **(meta or {})}
    return json.dumps(body, ensure_ascii=False).encode("utf-8"), "application/json"


def create_app(target: str) -> FastAPI:
    """The API over the warehouse at ``target`` (a DuckDB path or a PostgreSQL URL)."""
    state = State(target)
    app = FastAPI(title="idpkit API", version="0.1",
                  description="Internal-displacement figures, areas, datasets and solutions "
                              "evidence from an idpkit warehouse. Public requests get rounded, "
                              "suppressed figures; send `Authorization: Bearer <token>` for more.")

    @app.exception_handler(ApiError)
    async def _api_error(_: Request, exc: ApiError) -> JSONResponse:
        return _error(exc.status, exc.code, exc.message, exc.location)

    @app.exception_handler(RequestValidationError)
    async def _invalid(_: Request, exc: RequestValidationError) -> JSONResponse:
        first = exc.errors()[0]
        where = ".".join(str(p) for p in first.get("loc", ()))
        return _error(422, "invalid-request", first.get("msg", "invalid request"), where)

    @app.exception_handler(Exception)
    async def _unexpected(_: Request, exc: Exception) -> JSONResponse:  # never a traceback
        return _error(500, "internal-error", f"the server failed: {type(exc).__name__}")

    @app.exception_handler(IdpkitError)
    async def _idpkit_error(_: Request, exc: IdpkitError) -> JSONResponse:
        return _error(400, exc.code, exc.message, exc.location)

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
        """Cached by ETag: the warehouse version plus the request's path and query."""
        with state.lock:
            etag = '"' + hashlib.sha256(f"{state.version()}|{key}".encode()).hexdigest()[:24] + '"'
            if request.headers.get("if-none-match") == etag:
                return Response(status_code=304, headers={"ETag": etag})
            hit = state.cache.get(etag)
            if hit is None:
                hit = compute()
                if len(state.cache) > 512:
                    state.cache.clear()
                state.cache[etag] = hit
        return Response(content=hit[0], media_type=hit[1],
                        headers={"ETag": etag, "Cache-Control": "private, max-age=60"})

    def page(df: pd.DataFrame, limit: int, offset: int) -> tuple[pd.DataFrame, dict[str, Any]]:
        total = len(df)
        meta = {"total": total, "limit": limit, "offset": offset,
                "next_offset": offset + limit if offset + limit < total else None}
        return df.iloc[offset:offset + limit], meta

    from idpkit.api.upload import upload_router

    app.include_router(upload_router(lambda: state, role, need, ApiError))

    @app.get("/api", summary="What this API serves")
    def index() -> dict[str, Any]:
        return {"endpoints": sorted({r.path for r in app.routes if r.path.startswith("/api/")}),
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
            return _render(df.drop(columns="geometry"), format,
                           hxl_tags={"pcode": "#adm+code", "name": "#adm+name",
                                     "admin_level": "#adm+level", "parent_pcode": "#adm+code+parent",
                                     "iso3": "#country+code"})
        return respond(request, str(request.url.path) + str(request.url.query), compute)

    @app.get("/api/datasets", summary="Imported datasets with row counts")
    def datasets(request: Request, limit: Limit = 100, offset: Offset = 0, format: Fmt = Format.json,
                 r: str = Depends(role)) -> Response:
        def compute() -> tuple[bytes, str]:
            t = state.wh.table("datasets")
            df = t.drop("column_mapping", "file_hash").order_by("imported_at").execute()
            part, meta = page(df, limit, offset)
            return _render(part, format, meta=meta)
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
            return _render(part, format, meta=meta)
        return respond(request, str(request.url), compute)

    @app.get("/api/figures/stock", summary="Stock per area at a reference date")
    def stock(request: Request, level: Level = 1,
              on: Annotated[date | None, Query(alias="date")] = None,
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
            return _render(part, format, hxl_tags=tags,
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
            return _render(df, fmt)
        return respond(request, f"{request.url}|{r in ('analyst', 'admin')}", compute)

    @app.get("/api/figures/series", summary="Monthly stock per area (gaps explicit)")
    def series(request: Request, start: Annotated[date, Query(alias="from")],
               end: Annotated[date, Query(alias="to")], level: Level = 1,
               format: Fmt = Format.json, r: str = Depends(role)) -> Response:
        from idpkit.figures.series import monthly_series

        return period_figure(request, r, start, end,
                             lambda: monthly_series(state.wh, start, end, level), format)

    @app.get("/api/figures/flows", summary="Flows over a period (reported and derived)")
    def flows(request: Request, start: Annotated[date, Query(alias="from")],
              end: Annotated[date, Query(alias="to")], level: Level = 1,
              format: Fmt = Format.json, r: str = Depends(role)) -> Response:
        from idpkit.figures.flows import flows_frame

        return period_figure(request, r, start, end,
                             lambda: flows_frame(state.wh, start, end, level), format)

    @app.get("/api/figures/od", summary="Origin-destination matrix over a period")
    def od(request: Request, start: Annotated[date, Query(alias="from")],
           end: Annotated[date, Query(alias="to")], level: Annotated[int, Query(ge=1, le=4)] = 2,
           format: Fmt = Format.json, r: str = Depends(role)) -> Response:
        from idpkit.figures.od import od_frame

        return period_figure(request, r, start, end,
                             lambda: od_frame(state.wh, start, end, level), format)

    @app.get("/api/solutions", summary="Surveys and their stored results")
    def surveys(request: Request, r: str = Depends(role)) -> Response:
        need(r, "analyst")
        from idpkit.solutions.store import list_surveys

        return respond(request, str(request.url),
                       lambda: _render(list_surveys(state.wh), Format.json))

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
                return _render(part, format, meta=meta)
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
            return _render(df, Format.json)
        return respond(request, str(request.url), compute)

    return app


def _latest(wh: Warehouse) -> date:
    o = wh.table("observations")
    d = o.filter(o.metric == "present_stock").reporting_date.max().execute()
    if d is None or d != d:
        raise ApiError(404, "no-figures", "the warehouse holds no stock figures yet")
    return d.date() if hasattr(d, "date") else d
