"""Area profiles: everything known about one area on one page, and one row per area of a level.

A profile puts side by side, for an area: people by group (IDPs and returnees from the figures,
the host community from the needs survey), the stock trend and flows, solutions gaps where a survey
covers the area, needs severity and people in need, site conditions, data coverage and freshness,
activities and reach, and what communities said. Each section reads the warehouse's tables through
the part that owns them (figures, solutions results, needs results, site risk, 4W, voice), so a
profile never holds a number that the part itself would not give.

Sections are plain records (lists of dicts) so the CLI, the API and a dashboard page render the
same object; a section with no data is an empty list with a ``notes`` entry saying why.
"""

from __future__ import annotations

import json
from datetime import date
from typing import Any

import numpy as np
import pandas as pd

from idpkit.areas.levels import descendants
from idpkit.areas.tables import AREA_TABLES
from idpkit.errors import IdpkitError
from idpkit.warehouse.warehouse import Warehouse

SECTIONS = ("people", "trend", "flows", "solutions", "needs", "people_in_need", "sites",
            "data", "activities", "reach", "continuity", "voice", "priorities")


def records(df: pd.DataFrame | None) -> list[dict[str, Any]]:
    if df is None or df.empty:
        return []
    return json.loads(df.to_json(orient="records", date_format="iso", force_ascii=False))


def reference_date(wh: Warehouse) -> date | None:
    o = wh.table("observations")
    d = o.filter(o.metric == "present_stock").reporting_date.max().execute()
    if d is None or pd.isna(d):
        return None
    return d.date() if hasattr(d, "date") else d


def _area(wh: Warehouse, pcode: str) -> dict[str, Any]:
    a = wh.table("areas")
    rows = a.filter(a.pcode == pcode).select("pcode", "name", "admin_level", "parent_pcode",
                                             "iso3").execute()
    if rows.empty:
        raise IdpkitError(f"no area {pcode!r} in the gazetteer")
    return {k: (None if v is None or pd.isna(v) else (int(v) if k == "admin_level" else v))
            for k, v in rows.iloc[0].items()}


def _stock(wh: Warehouse, level: int, ref: date | None) -> pd.DataFrame:
    from idpkit.figures.stock import StockQuery, stock_frame

    if ref is None:
        return pd.DataFrame()
    with wh.scratch():
        df = stock_frame(wh, StockQuery(ref, level=level, by=()))
    return df.rename(columns={f"adm{level}_pcode": "area_pcode", f"adm{level}_name": "area_name"})


def _latest_source(wh: Warehouse, source_id: str | None) -> str | None:
    wh.ensure_tables(AREA_TABLES)
    s = wh.table("needs_sources")
    if source_id:
        return source_id
    r = s.order_by(s.imported_at.desc()).limit(1).source_id.execute()
    return None if r.empty else str(r.iloc[0])


def area_profile(wh: Warehouse, pcode: str, *, source_id: str | None = None,
                 on: date | None = None, months: int = 12, public: bool = False
                 ) -> dict[str, Any]:
    """The profile of one area (see module docstring). ``public`` applies the publication rules
    (rounding, small-cell suppression) to every count and leaves out consultation notes."""
    from idpkit.areas import activities as act
    from idpkit.areas.sites import site_risk
    from idpkit.areas.voice import consultations

    wh.ensure_tables(AREA_TABLES)
    area = _area(wh, pcode)
    level = area["admin_level"]
    below = descendants(wh, pcode)
    ref = on or reference_date(wh)
    notes: list[str] = []
    out: dict[str, Any] = {"area": area, "reference_date": ref.isoformat() if ref else None}

    stock = _stock(wh, level, ref) if level is not None else pd.DataFrame()
    people = stock[stock.area_pcode == pcode] if not stock.empty else stock
    keep = [c for c in ("population_group", "unit", "value", "source", "source_date", "stale",
                        "coverage") if c in people]
    people = people[keep] if len(people) else pd.DataFrame(columns=keep)
    src = _latest_source(wh, source_id)
    if src:
        pin = wh.table("need_pin")
        host = pin.filter((pin.source_id == src) & (pin.area_pcode == pcode) &
                          (pin.sector == "intersectoral")).select(
            "population_group", "unit", value="population").execute()
        host = host[~host.population_group.isin(people.get("population_group", []))]
        host["source"] = f"needs survey {src} (estimate)"
        people = pd.concat([people, host], ignore_index=True)
    out["people"] = _public_records(people, ("value",)) if public else records(people)
    if not out["people"]:
        notes.append("people: no figures or needs estimates for this area")

    if ref is not None and level is not None:
        from idpkit.figures.flows import flows_frame
        from idpkit.figures.series import monthly_series

        start = (pd.Timestamp(ref) - pd.DateOffset(months=months)).date()
        with wh.scratch():
            series = monthly_series(wh, start, ref, level)
        series = series[series[f"adm{level}_pcode"] == pcode].drop(
            columns=[f"adm{level}_pcode", f"adm{level}_name"])
        out["trend"] = _public_records(series, ("value",)) if public else records(series)
        try:
            flows = flows_frame(wh, start, ref, level)
            flows = flows[flows[f"adm{level}_pcode"] == pcode].drop(
                columns=[f"adm{level}_pcode", f"adm{level}_name"])
        except IdpkitError as exc:
            flows = pd.DataFrame()
            notes.append(f"flows: {exc.message}")
        out["flows"] = _public_records(flows, ("value",)) if public else records(flows)
    else:
        out["trend"], out["flows"] = [], []

    out["solutions"] = []
    if "solution_gaps" in wh.con.list_tables():
        g = wh.table("solution_gaps")
        out["solutions"] = records(g.filter(g.area_pcode.isin(below)).select(
            "survey_id", "area_pcode", "indicator", "criterion", "focal", "comparison",
            "focal_estimate", "comparison_estimate", "gap", "gap_ci_low", "gap_ci_high",
            "status").execute())
    if not out["solutions"]:
        notes.append("solutions: no durable-solutions survey covers this area")

    out["needs"], out["people_in_need"] = [], []
    if src:
        sev = wh.table("need_severity")
        needs = sev.filter((sev.source_id == src) & (sev.area_pcode == pcode)).order_by(
            ["population_group", "sector"]).execute()
        out["needs"] = _public_records(needs, PUBLIC_COUNT_COLUMNS) if public else records(needs)
        pin = wh.table("need_pin")
        p = pin.filter((pin.source_id == src) & (pin.area_pcode == pcode)).order_by(
            ["population_group", "sector"]).execute()
        out["people_in_need"] = _public_records(p, PUBLIC_COUNT_COLUMNS) if public \
            else records(p)
    if not out["needs"]:
        notes.append("needs: no needs results for this area (run `idpkit areas needs severity`)")

    sites = site_risk(wh) if _rows(wh, "site_conditions") else pd.DataFrame()
    if len(sites):
        sites = sites[sites.area_pcode.isin(below)]
    out["sites"] = _public_records(sites, ("individuals",)) if public else records(sites)

    out["data"] = records(data_freshness(wh, below, ref))

    out["activities"], out["reach"], out["continuity"] = [], [], []
    if act.has_activities(wh):
        if src:
            cov = act.coverage(wh, src)
            cov = cov[cov.area_pcode == pcode]
        else:
            cov = act.sector_reach_expr(wh, level=level).execute()
            cov = cov[cov.area_pcode == pcode]
        reach = act.reach_by_area(wh, level=level)
        reach = reach[reach.area_pcode == pcode]
        cont = act.continuity(wh, level=level)
        cont = cont[cont.area_pcode == pcode] if len(cont) else cont
        if public:
            out["activities"] = _public_records(cov, PUBLIC_COUNT_COLUMNS)
            out["reach"] = _public_records(reach, PUBLIC_COUNT_COLUMNS)
        else:
            out["activities"], out["reach"] = records(cov), records(reach)
        out["continuity"] = records(cont)
    else:
        notes.append("activities: no 4W reports imported")

    out["voice"], out["priorities"] = [], []
    if _rows(wh, "consultations"):
        out["voice"] = records(consultations(wh, None, with_notes=not public).pipe(
            lambda d: d[d.area_pcode.isin(below)]))
        pr = wh.table("consultation_priorities")
        pr = pr.filter(pr.area_pcode.isin(below))
        agg = pr.group_by(["population_group", "priority"]).aggregate(
            times_raised=pr.count(), times_first=(pr["rank"] == 1).sum().cast("int64"))
        out["priorities"] = records(agg.order_by(["population_group",
                                                  agg.times_raised.desc(), "priority"]).execute())
    if not out["voice"]:
        notes.append("voice: no community consultation recorded for this area")
    out["notes"] = notes
    return out


def _rows(wh: Warehouse, table: str) -> int:
    return int(wh.table(table).count().execute()) if table in wh.con.list_tables() else 0


SUPPRESSED_RATIOS: dict[str, tuple[str, ...]] = {
    "coverage": ("reached", "people_in_need"),
    "reach_share": ("unique_reached", "people_in_need"),
    "ci_low": ("people_in_need",),
    "ci_high": ("people_in_need",),
    "se": ("people_in_need",),
}
"""Columns withheld with their parts: an exact share of a rounded total gives a suppressed count
back (3 reached of 10,000 in need is a coverage of 0.0003), and a confidence interval around a
suppressed estimate shows where it lies."""


#: The count columns of the area view's tables: rounded and suppressed for the public wherever
#: they are served (the area profile, ``/api/needs/…``, ``/api/areas/profiles``), so one cell
#: reads the same everywhere.
PUBLIC_COUNT_COLUMNS = ("people_in_need", "ci_low", "ci_high", "population", "reached",
                        "targeted", "unique_reached", "reported_reach", "registered_people",
                        "individuals", "pin", "unmet")


def _public(df: pd.DataFrame, columns: tuple[str, ...]) -> pd.DataFrame:
    """The public copy of a table: each count column rounded and its small cells suppressed on
    its own values, plus ``suppressed``, the comma-separated names of the columns suppressed in
    that row ("" when none). Why a column: an emptied cell alone looks like a cell with no data,
    and the dashboard must tell "a small number" from "no figure". Text rather than a list so CSV,
    HXL and the CLI's tables show it as is; :func:`suppressed_as_lists` turns it into JSON lists.
    A cell is suppressed when its exact value was non-zero and below the threshold (not null,
    not 0); a ratio in :data:`SUPPRESSED_RATIOS` is emptied and listed when one of its parts is.
    """
    from idpkit.figures.publication import apply_publication_rules

    cols = tuple(c for c in columns if c in df)
    out = df.copy()
    names = pd.Series("", index=out.index, dtype="object")
    for c in cols:  # each column rounded and suppressed on its own values
        ruled = apply_publication_rules(out.assign(value=out[c]), ("value",))
        out[c] = ruled["value"]
        names = names + np.where(ruled["suppressed"].to_numpy(dtype=bool), c + ",", "")
    for ratio, parts in SUPPRESSED_RATIOS.items():
        if ratio not in out:
            continue
        hit = np.zeros(len(out), dtype=bool)
        for part in parts:
            hit |= ("," + names).str.contains("," + part + ",", regex=False).to_numpy(dtype=bool)
        hit &= out[ratio].notna().to_numpy(dtype=bool)  # a ratio that had no value hides nothing
        out[ratio] = out[ratio].mask(hit)
        names = names + np.where(hit, ratio + ",", "")
    out["suppressed"] = names.str.rstrip(",")
    return out


def suppressed_as_lists(df: pd.DataFrame) -> pd.DataFrame:
    """``suppressed`` as a list of column names per row (JSON answers); no-op without it."""
    if "suppressed" not in df:
        return df
    return df.assign(suppressed=df["suppressed"].fillna("").astype(str).str.findall(r"[^,]+"))


def _public_records(df: pd.DataFrame, columns: tuple[str, ...]) -> list[dict[str, Any]]:
    return records(suppressed_as_lists(_public(df, columns)))


def data_freshness(wh: Warehouse, pcodes: list[str], ref: date | None) -> pd.DataFrame:
    """Per kind of data covering the areas: datasets, latest date and its age in days."""
    o = wh.table("observations")
    d = wh.table("datasets")
    area_cols = [o.area_pcode, o.adm1_pcode, o.adm2_pcode, o.adm3_pcode]
    cond = area_cols[0].isin(pcodes)
    for c in area_cols[1:]:
        cond = cond | c.isin(pcodes)
    obs = o.filter(cond).select("dataset_id").distinct()
    j = obs.inner_join(d, "dataset_id")
    g = j.group_by(kind=j.assessment_type).aggregate(datasets=j.count(),
                                                    latest_date=j.reporting_date.max())
    frames = [g.execute()]
    wh.ensure_tables(AREA_TABLES)
    for kind, table, col in (("site_conditions", "site_conditions", "assessment_date"),
                             ("activities_4w", "activities", "end_date"),
                             ("consultations", "consultations", "consultation_date")):
        t = wh.table(table)
        t = t.filter(t.area_pcode.isin(pcodes))
        frames.append(t.aggregate(datasets=t.dataset_id.nunique(),
                                  latest_date=t[col].max()).execute().assign(kind=kind))
    ns = wh.table("needs_sources")
    sev = wh.table("need_severity")
    covered = sev.filter(sev.area_pcode.isin(pcodes)).select("source_id").distinct()
    ns = ns.inner_join(covered, "source_id")
    frames.append(ns.aggregate(datasets=ns.count(), latest_date=ns.reference_date.max()
                               ).execute().assign(kind="needs"))
    df = pd.concat(frames, ignore_index=True)
    df = df[df.datasets > 0].copy()
    df["latest_date"] = pd.to_datetime(df.latest_date).dt.date
    if ref is not None:
        df["days_old"] = df.latest_date.map(lambda x: (ref - x).days if pd.notna(x) else np.nan)
    df["latest_date"] = df.latest_date.map(lambda x: x.isoformat() if pd.notna(x) else None)
    return df[["kind", "datasets", "latest_date", *(["days_old"] if ref else [])]]


def profiles_table(wh: Warehouse, level: int, *, source_id: str | None = None,
                   on: date | None = None, public: bool = False, start: date | None = None,
                   end: date | None = None) -> pd.DataFrame:
    """One row per area of ``level``: people by group, needs, reach, sites, data, voice, rank.

    ``start``/``end``: reach (and the rank's ``unmet``) counts only activities running in that
    period, so it is compared with needs of the same time rather than summed over all time."""
    from idpkit.areas import activities as act
    from idpkit.areas.sites import site_risk

    act.check_period(start, end)  # also where no 4W data would read it
    wh.ensure_tables(AREA_TABLES)
    a = wh.table("areas")
    df = a.filter(a.admin_level == level).select(area_pcode="pcode", area_name="name",
                                                 parent_pcode="parent_pcode").order_by(
        "area_pcode").execute()
    ref = on or reference_date(wh)
    stock = _stock(wh, level, ref)
    if len(stock):
        s = stock[stock.unit == "individuals"].pivot_table(
            index="area_pcode", columns="population_group", values="value", aggfunc="sum")
        s = s.rename(columns=lambda g: f"{g}_individuals").reset_index()
        df = df.merge(s, on="area_pcode", how="left")
        st = stock.groupby("area_pcode").source_date.max().rename("figures_date").reset_index()
        df = df.merge(st, on="area_pcode", how="left")
    src = _latest_source(wh, source_id)
    if src:
        pin = wh.table("need_pin")
        pin = pin.filter((pin.source_id == src) & (pin.sector == "intersectoral"))
        p = pin.execute()
        sev = wh.table("need_severity")
        sv = sev.filter((sev.source_id == src) & (sev.sector == "intersectoral")).execute()
        if level not in set(p.admin_level.dropna().astype(int)) and len(p):
            from idpkit.areas.levels import ancestor_frame

            m = ancestor_frame(wh, level).set_index("pcode").ancestor_pcode
            # object even when no code maps (a level with no areas): merged with text codes below
            p["area_pcode"] = p.area_pcode.map(m).astype(object)
            sv["area_pcode"] = sv.area_pcode.map(m).astype(object)
        host = p[p.population_group == "host_community"].groupby("area_pcode").population.sum()
        df = df.merge(host.rename("host_community_individuals").reset_index(), on="area_pcode",
                      how="left", suffixes=("_figures", ""))
        df = df.merge(p.groupby("area_pcode").people_in_need.sum().reset_index(),
                      on="area_pcode", how="left")
        worst = sv.pivot_table(index="area_pcode", columns="population_group", values="phase",
                               aggfunc="max")
        worst = worst.rename(columns=lambda g: f"severity_{g}")
        worst["severity"] = worst.max(axis=1)
        df = df.merge(worst.reset_index(), on="area_pcode", how="left")
    if act.has_activities(wh):
        r = act.reach_by_area(wh, level=level, start=start, end=end).groupby(
            "area_pcode").unique_reached.sum()
        df = df.merge(r.reset_index(), on="area_pcode", how="left")
        if "people_in_need" in df:
            df["reach_share"] = df.unique_reached / df.people_in_need.where(df.people_in_need > 0)
        c = act.continuity(wh, level=level)
        if len(c):
            gaps = c[c.status == "gap"].groupby("area_pcode").size().rename("continuity_gaps")
            df = df.merge(gaps.reset_index(), on="area_pcode", how="left")
            df["continuity_gaps"] = df.continuity_gaps.fillna(0).astype(int)
    if _rows(wh, "site_conditions"):
        from idpkit.areas.levels import ancestor_frame

        sr = site_risk(wh)
        m = ancestor_frame(wh, level).set_index("pcode").ancestor_pcode
        sr["area_pcode"] = sr.area_pcode.map(m)
        agg = sr.groupby("area_pcode").agg(sites=("site_id", "count"),
                                           sites_high_risk=("tier", lambda t: int((t == "high").sum())))
        df = df.merge(agg.reset_index(), on="area_pcode", how="left")
    if _rows(wh, "consultations"):
        from idpkit.areas.levels import ancestor_frame

        cons = wh.table("consultations").select("area_pcode", "consultation_date").execute()
        m = ancestor_frame(wh, level).set_index("pcode").ancestor_pcode
        cons["area_pcode"] = cons.area_pcode.map(m)
        df = df.merge(cons.groupby("area_pcode").agg(
            consultations=("consultation_date", "count"),
            last_consultation=("consultation_date", "max")).reset_index(), on="area_pcode",
            how="left")
    if src:
        try:
            from idpkit.areas.priority import rank_areas

            rk = rank_areas(wh, src, level=level, start=start, end=end).table[
                ["area_pcode", "score", "rank"]]
            df = df.merge(rk.rename(columns={"rank": "priority_rank", "score": "priority_score"}),
                          on="area_pcode", how="left")
        except IdpkitError:
            pass
    if public:
        counts = tuple(c for c in df.columns if c.endswith("_individuals") or c in (
            "people_in_need", "unique_reached"))
        df = _public(df, counts)
    return df
