"""The area view over HTTP: area profiles, needs severity and people in need, priority ranking,
site risk, 4W coverage, reach and continuity, and community voice.

Built as an :class:`~fastapi.APIRouter` factory so :func:`idpkit.api.app.create_app` includes it
with one line and shares its warehouse lock, role checks and ETag cache. Role rules follow the
rest of the API: a public request gets counts rounded and small cells suppressed (IDMC rules), a
``suppressed`` column naming the cells emptied by suppression (so "a small number" differs from
"no figure"), and no free-text consultation notes; ``analyst`` gets exact numbers and no
``suppressed`` column, as the figure endpoints do.

Responses are ``{"data": [...rows], ...meta}`` (or one object for a profile) with area P-codes on
every row, so a dashboard page joins them to ``/api/areas`` boundaries for maps (severity, 4W
coverage) and lists (flagged sites).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Annotated, Any

import pandas as pd
from fastapi import APIRouter, Depends, Query, Request
from fastapi.responses import Response

from idpkit.api.render import ApiDate, ApiError, Format, render
from idpkit.api.auth import GRANTS
from idpkit.areas.profile import PUBLIC_COUNT_COLUMNS as COUNT_COLUMNS  # one list

Fmt = Annotated[Format, Query(description="json, csv or hxl.")]
LevelQ = Annotated[int | None, Query(ge=0, le=4, description="Admin level 0-4.")]
FromQ = Annotated[ApiDate | None, Query(
    alias="from", description="Reach only from activities running on or after this date "
    "(YYYY-MM-DD).")]
ToQ = Annotated[ApiDate | None, Query(
    alias="to", description="Reach only from activities running on or before this date "
    "(YYYY-MM-DD).")]

HXL: dict[str, str] = {
    "area_pcode": "#loc+code", "area_name": "#loc+name", "population_group": "#population+group",
    "sector": "#sector", "phase": "#severity", "people_in_need": "#inneed",
    "ci_low": "#inneed+ci+low", "ci_high": "#inneed+ci+high", "se": "#inneed+se",
    "population": "#population", "organisation": "#org", "activity": "#activity",
    "reached": "#reached", "targeted": "#targeted", "coverage": "#reached+pct",
    "site_id": "#loc+code", "site_name": "#loc+name", "tier": "#severity+site",
    "reasons": "#severity+reasons", "individuals": "#population+ind", "status": "#status",
    "consultation_date": "#date", "priority": "#indicator+priority", "rank": "#indicator+rank",
    "score": "#indicator+priority+score", "unique_reached": "#reached+unique",
}


def _public(df: pd.DataFrame) -> pd.DataFrame:
    """Public rules on every count column, the per-group people of ``/api/areas/profiles``
    (``idps_individuals``…) included; adds ``suppressed`` (see ``areas.profile._public``)."""
    from idpkit.areas.profile import _public as public_rules

    per_group = tuple(c for c in df.columns if c.endswith(("_individuals", "_households")))
    return public_rules(df, COUNT_COLUMNS + per_group)


def _with_admin_level(wh: Any, df: pd.DataFrame) -> pd.DataFrame:
    """``admin_level`` of each row's area from the gazetteer, next to ``area_pcode``, as the needs
    tables carry it: a map page then knows which boundaries to draw without probing levels."""
    if "area_pcode" not in df or "admin_level" in df:
        return df
    a = wh.table("areas")
    lv = a.group_by(area_pcode=a.pcode).aggregate(admin_level=a.admin_level.max()).execute()
    out = df.merge(lv, on="area_pcode", how="left")
    out["admin_level"] = out["admin_level"].astype("Int64")
    cols = list(df.columns)
    cols.insert(cols.index("area_pcode") + 1, "admin_level")
    return out[cols]


def _level_with_areas(wh: Any, level: int) -> None:
    """Refuse (422) a level the gazetteer holds no areas at: one row per area of nothing is not
    an answer, and the caller learns which levels exist."""
    a = wh.table("areas")
    levels = sorted(int(x) for x in a.select("admin_level").distinct().execute().admin_level
                    .dropna())
    if level not in levels:
        held = ", ".join(map(str, levels)) or "none: load a gazetteer first"
        raise ApiError(422, "invalid-request", f"no admin areas at level {level} in this "
                       f"warehouse (levels: {held})", "query.level")


def area_router(state: Any, role: Callable[..., str], need: Callable[[str, str], None],
                respond: Callable[..., Response]) -> APIRouter:
    """The router; ``state``, ``role``, ``need`` and ``respond`` are those of ``create_app``."""
    r = APIRouter()

    def version() -> str:
        """What the shared ETag does not see: needs results recomputed without a new import."""
        with state.lock:
            if "needs_sources" not in state.wh.con.list_tables():
                return ""
            return state.wh.backend.fetch_df(
                "SELECT CAST(count(*) AS VARCHAR) || '/' || coalesce(CAST(max(analysed_at) AS "
                "VARCHAR), '') FROM needs_sources").iloc[0, 0]

    def table(request: Request, who: str, frame: Callable[[], pd.DataFrame], fmt: Format,
              meta: Callable[[], dict[str, Any]] | None = None) -> Response:
        exact = "analyst" in GRANTS[who]

        def compute() -> tuple[bytes, str]:
            from idpkit.areas.profile import suppressed_as_lists

            df = frame()
            if not exact:
                df = _public(df)
                if fmt == Format.json:  # a list in JSON; CSV and HXL keep "a,b" text
                    df = suppressed_as_lists(df)
            if fmt == Format.geojson:
                raise ApiError(422, "invalid-request", "geojson is served by /api/areas; join "
                               "on area_pcode", "query.format")
            return render(df, fmt, hxl_tags={c: HXL.get(c, "#meta+" + c.replace("_", ""))
                                              for c in df.columns},
                           meta={**(meta() if meta else {}), "public_rules": not exact})
        return respond(request, f"{request.url}|{exact}|{version()}", compute)

    @r.get("/api/areas/profiles", summary="One row per area of a level: people, needs, reach, "
           "sites, data, voice, priority")
    def profiles(request: Request, level: Annotated[int, Query(ge=0, le=4)] = 2,
                 source: str | None = None, start: FromQ = None, end: ToQ = None,
                 format: Fmt = Format.json, who: str = Depends(role)) -> Response:
        from idpkit.areas.profile import profiles_table

        def frame() -> pd.DataFrame:
            _level_with_areas(state.wh, level)
            return profiles_table(state.wh, level, source_id=source, start=start, end=end)
        return table(request, who, frame, format)

    @r.get("/api/areas/{pcode}/profile", summary="Everything known about one area")
    def profile(request: Request, pcode: str, source: str | None = None,
                who: str = Depends(role)) -> Response:
        import json

        from idpkit.areas.profile import area_profile

        exact = "analyst" in GRANTS[who]

        def compute() -> tuple[bytes, str]:
            p = area_profile(state.wh, pcode.upper(), source_id=source, public=not exact)
            p["public_rules"] = not exact
            return json.dumps(p, ensure_ascii=False, default=str).encode(), "application/json"
        return respond(request, f"{request.url}|{exact}|{version()}", compute)

    @r.get("/api/needs/sources", summary="Imported needs data sets")
    def sources(request: Request, who: str = Depends(role)) -> Response:
        from idpkit.areas.needs import list_sources

        return table(request, who, lambda: list_sources(state.wh), Format.json)

    def stored(name: str, source: str | None, area: str | None, group: str | None,
               sector: str | None, level: int | None) -> pd.DataFrame:
        from idpkit.areas.needs import load_source

        src = load_source(state.wh, source)
        t = state.wh.table(name)
        t = t.filter(t.source_id == src.source_id)
        for col, v in (("area_pcode", area), ("population_group", group), ("sector", sector)):
            if v:
                t = t.filter(t[col] == v)
        if level is not None:
            t = t.filter(t.admin_level == level)
        return t.order_by(["area_pcode", "population_group", "sector"]).execute()

    @r.get("/api/needs/severity", summary="Area phase per group and sector (stored results)")
    def severity(request: Request, source: str | None = None, area: str | None = None,
                 group: str | None = None, sector: str | None = None, level: LevelQ = None,
                 format: Fmt = Format.json, who: str = Depends(role)) -> Response:
        return table(request, who, lambda: stored("need_severity", source, area, group, sector,
                                                  level), format)

    @r.get("/api/needs/pin", summary="People in need per area, group and sector, with CIs")
    def pin(request: Request, source: str | None = None, area: str | None = None,
            group: str | None = None, sector: str | None = None, level: LevelQ = None,
            format: Fmt = Format.json, who: str = Depends(role)) -> Response:
        return table(request, who, lambda: stored("need_pin", source, area, group, sector, level),
                     format)

    @r.get("/api/needs/priority", summary="Priority ranking of areas and its stability")
    def priority(request: Request, source: str | None = None,
                 weights: Annotated[str | None, Query(
                     description="e.g. severity=0.4,pin=0.3,pin_share=0.2,unmet=0.1")] = None,
                 level: LevelQ = None, who: str = Depends(role)) -> Response:
        from idpkit.areas.priority import parse_weights, rank_areas

        w = parse_weights(weights)
        holder: dict[str, Any] = {}

        def frame() -> pd.DataFrame:
            rk = rank_areas(state.wh, source, w, level=level)
            holder["stability"] = rk.stability.to_dict(orient="records")
            return rk.table

        return table(request, who, frame, Format.json,
                     meta=lambda: {"weights": w, "stability": holder.get("stability", [])})

    @r.get("/api/sites/risk", summary="Site risk tiers with reasons and trends")
    def sites(request: Request, flagged: bool = False, area: str | None = None,
              all_rounds: bool = False, format: Fmt = Format.json,
              who: str = Depends(role)) -> Response:
        from idpkit.areas.sites import site_risk

        return table(request, who, lambda: site_risk(state.wh, latest=not all_rounds,
                                                     flagged_only=flagged, area=area), format)

    @r.get("/api/activities/coverage", summary="4W reach against people in need")
    def coverage(request: Request, source: str | None = None, level: LevelQ = None,
                 start: FromQ = None, end: ToQ = None, format: Fmt = Format.json,
                 who: str = Depends(role)) -> Response:
        from idpkit.areas.activities import coverage as cov

        return table(request, who, lambda: _with_admin_level(state.wh, cov(
            state.wh, source, level=level, start=start, end=end)), format)

    @r.get("/api/activities/reach", summary="Unique people reached per area and group")
    def reach(request: Request, level: LevelQ = None, format: Fmt = Format.json,
              who: str = Depends(role)) -> Response:
        from idpkit.areas.activities import reach_by_area

        return table(request, who, lambda: reach_by_area(state.wh, level=level), format)

    @r.get("/api/activities/continuity", summary="Humanitarian activities ending with nothing "
           "after them")
    def continuity(request: Request, level: LevelQ = None,
                   months: Annotated[int, Query(ge=1, le=12)] = 3, by_sector: bool = False,
                   format: Fmt = Format.json, who: str = Depends(role)) -> Response:
        from idpkit.areas.activities import continuity as cont

        return table(request, who, lambda: cont(state.wh, level=level, months=months,
                                                by_sector=by_sector), format)

    @r.get("/api/voice", summary="Community consultations and the priorities raised")
    def voice(request: Request, area: str | None = None, format: Fmt = Format.json,
              who: str = Depends(role)) -> Response:
        from idpkit.areas.voice import consultations, priorities

        exact = "analyst" in GRANTS[who]
        return table(request, who, lambda: consultations(state.wh, area, with_notes=exact),
                     format, meta=lambda: {"priorities": priorities(state.wh, area).assign(
                         last_date=lambda d: d.last_date.astype(str)).to_dict(orient="records")})

    return r
