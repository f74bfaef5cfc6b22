"""``idpkit publish``: a public, HDX-ready release of the warehouse's figures.

What goes out, and why it is safe to publish:

* ``stock_adm{N}.csv`` — IDP and returnee stocks per admin area (``adm0``: per country) and cause
  at the reference date, HXL-tagged (second row), with IDMC rounding and small-cell suppression
  applied: never the raw numbers; ``stock_total_adm{N}.csv`` — the same per area over all causes
  (``cause = all``), each total rounded from the exact total, never summed from rounded cells
  (:mod:`idpkit.figures.published`: every public number comes from that one rounded table);
* ``areas_adm{N}.geojson`` — boundaries (where loaded) with the published stock as properties, for
  maps;
* ``solution_gaps.csv`` — the stored progress measure of each survey (estimates, gaps, CIs):
  survey estimates, no microdata;
* ``register_counts.csv`` — unique registered people and households per area, rounded and
  suppressed like the stocks: no record, no pseudonym;
* ``idpkit-release.xlsx`` — the same tables as sheets, for people who open spreadsheets;
* ``sitrep.html`` and ``sitrep.pdf`` — the situation report (key figures, an SVG map, the
  monthly trend, breakdowns by cause and group, the top areas, the solutions summary), built
  from the tables above and the national monthly series under the same rules; the PDF is the
  same page printed by headless Chromium (when it is installed, or required with ``pdf=True``).
  Neither is a data resource of the package;
* ``datapackage.json`` — a Frictionless Data Package describing every tabular resource (schema
  with HXL tags, the HXL row declared as a comment row), which ``frictionless validate`` accepts.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from datetime import date, datetime, timezone
from pathlib import Path

import pandas as pd

from idpkit import __version__
from idpkit.figures.output import to_csv
from idpkit.model.formula_cells import neutralise_frame
from idpkit.figures.publication import DEFAULT_SUPPRESS_BELOW, apply_publication_rules
from idpkit.figures.published import published_stock
from idpkit.figures.schema import hxl_tag, table_schema
from idpkit.warehouse.warehouse import Warehouse

HXL_DIALECT = {"headerRows": [1], "commentRows": [2]}


@dataclass
class Release:
    folder: Path
    reference_date: date | None
    resources: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    sitrep_pdf: Path | None = None


def _latest_stock_date(wh: Warehouse) -> date | None:
    o = wh.table("observations")
    d = o.filter(o.metric == "present_stock").reporting_date.max().execute()
    if d is None or d != d:
        return None
    return d.date() if hasattr(d, "date") else d


def _levels(wh: Warehouse) -> list[int]:
    a = wh.table("areas")
    levels = sorted(int(x) for x in a.admin_level.execute().dropna().unique())
    return [lv for lv in levels if lv <= 3] or [0]


def _tabular(name: str, path: str, title: str, df: pd.DataFrame, *, hxl: bool = True,
             schema: dict | None = None) -> dict:
    sch = schema or table_schema(list(df.columns))
    res = {"name": name, "path": path, "title": title, "profile": "tabular-data-resource",
           "format": "csv", "mediatype": "text/csv", "encoding": "utf-8", "schema": sch}
    if hxl:
        res["dialect"] = HXL_DIALECT
    return res


def _plain_schema(df: pd.DataFrame, tags: dict[str, str]) -> dict:
    fields = []
    for c in df.columns:
        t = "number" if pd.api.types.is_float_dtype(df[c]) else \
            "integer" if pd.api.types.is_integer_dtype(df[c]) else \
            "boolean" if pd.api.types.is_bool_dtype(df[c]) else "string"
        f = {"name": c, "type": t, "hxl": tags.get(c) or hxl_tag(c)}
        if t == "boolean":
            f["trueValues"], f["falseValues"] = ["true"], ["false"]
        fields.append(f)
    return {"fields": fields, "missingValues": [""]}


def _write_plain(df: pd.DataFrame, path: Path, tags: dict[str, str]) -> None:
    path.write_text(to_csv(df, hxl=True, tags=tags), encoding="utf-8")


def publish(wh: Warehouse, out: Path, *, on: date | None = None,
            suppress_below: int = DEFAULT_SUPPRESS_BELOW, pdf: bool | None = None) -> Release:
    """Write the public release to ``out`` (created if needed). ``pdf``: None prints the
    situation report to PDF when Chromium is installed, True requires it (PdfError otherwise),
    False skips it."""
    from idpkit.publish.pdf import PdfError, find_chromium

    if pdf and find_chromium() is None:  # before writing anything
        raise PdfError("--pdf needs Chromium: install Debian's chromium package "
                       "(scripts/ensure-chromium.sh) or set IDPKIT_CHROMIUM")
    out.mkdir(parents=True, exist_ok=True)
    (out / "sitrep.pdf").unlink(missing_ok=True)  # never an old report beside a new one
    ref = on or _latest_stock_date(wh)
    rel = Release(out, ref)
    resources: list[dict] = []
    sheets: dict[str, pd.DataFrame] = {}
    pub = None
    if ref is None:
        rel.notes.append("no stock figures in the warehouse: stocks not published")
    else:
        # one rounded table for every public number (cells, area totals, key figures)
        pub = published_stock(wh, ref, _levels(wh), suppress_below=suppress_below)
        for level in sorted(pub.by_cause):
            if pub.by_cause[level].empty:
                continue
            for name, df, what in (
                    (f"stock_adm{level}", pub.by_cause[level], "by cause"),
                    (f"stock_total_adm{level}", pub.totals[level], "all causes")):
                (out / f"{name}.csv").write_text(to_csv(df, hxl=True), encoding="utf-8")
                area = "country" if level == 0 else f"admin {level} area"
                resources.append(_tabular(name.replace("_", "-"), f"{name}.csv",
                                          f"IDP and returnee stock by {area}, {what}, "
                                          f"{ref.isoformat()}", df))
                sheets[name] = df
            if level > 0:
                _geojson(wh, pub.totals[level], level, out / f"areas_adm{level}.geojson", rel)
    _solutions(wh, out, resources, sheets)
    _register(wh, out, resources, sheets, suppress_below)
    with pd.ExcelWriter(out / "idpkit-release.xlsx") as xw:
        if not sheets:
            pd.DataFrame({"note": ["no public tables in this warehouse yet"]}).to_excel(
                xw, sheet_name="README", index=False)
        for name, df in sheets.items():
            # openpyxl writes any text starting with "=" as a live formula
            neutralise_frame(df).to_excel(xw, sheet_name=name[:31], index=False)
    package = {
        "name": "idpkit-release", "title": "Internal displacement figures (idpkit release)",
        "profile": "tabular-data-package",
        "created": datetime.now(timezone.utc).replace(microsecond=0).isoformat(),
        "version": __version__,
        "description": "Public release: figures rounded (IDMC rules) with cells below "
                       f"{suppress_below} suppressed; no personal data.",
        "licenses": [{"name": "CC-BY-4.0", "title": "Creative Commons Attribution 4.0",
                      "path": "https://creativecommons.org/licenses/by/4.0/"}],
        "resources": resources,
    }
    (out / "datapackage.json").write_text(json.dumps(package, indent=2, ensure_ascii=False)
                                          + "\n", encoding="utf-8")
    rel.resources = [r["path"] for r in resources]
    from idpkit.publish.sitrep import write_sitrep

    criteria = None
    if "solution_criteria" in wh.con.list_tables():
        criteria = wh.table("solution_criteria").execute()
    trend = _trend(wh, ref, suppress_below) if ref is not None else None
    page = write_sitrep(out, pub, criteria, suppress_below, __version__, trend)
    if page is None:
        rel.notes.append("no stock figures: no situation report")
        if pdf:
            raise PdfError("no situation report to print: the warehouse has no stock figures")
    elif pdf is not False:
        from idpkit.publish.pdf import html_to_pdf

        if find_chromium() is None:
            rel.notes.append("Chromium not installed: sitrep.pdf not written (HTML only)")
        else:
            try:
                rel.sitrep_pdf = html_to_pdf(page, out / "sitrep.pdf")
            except PdfError as exc:
                if pdf:
                    raise
                rel.notes.append(f"sitrep.pdf not written: {exc.message}")
    return rel


TREND_MONTHS = 24


def _trend(wh: Warehouse, ref: date, suppress_below: int) -> pd.DataFrame:
    """The monthly series of the last two years to ``ref`` over every country, under the public
    rules."""
    from idpkit.figures.series import monthly_series

    months_back = TREND_MONTHS - 1
    y, m = divmod(ref.year * 12 + ref.month - 1 - months_back, 12)
    df = monthly_series(wh, date(y, m + 1, 1), ref, level=0)
    if df.empty:
        return df
    # exact sums over countries first, rounded once (as the key figures are)
    df = df.groupby(["population_group", "unit", "month"]).value.sum(min_count=1).reset_index()
    return apply_publication_rules(df, ("value",), suppress_below)


def _geojson(wh: Warehouse, df: pd.DataFrame, level: int, path: Path, rel: Release) -> None:
    """Boundaries of the level with the published IDP stock (individuals) as properties."""
    a = wh.table("areas")
    geo = a.filter((a.admin_level == level) & a.geometry.notnull()).select(
        "pcode", "name", "geometry").execute()
    if geo.empty:
        rel.notes.append(f"no boundaries loaded for admin {level}: no GeoJSON")
        return
    code = f"adm{level}_pcode"
    idps = df[(df.population_group == "idps") & (df.unit == "individuals") & df[code].notna()]
    totals = dict(zip(idps[code], idps.value, strict=True))  # area totals, rounded once
    feats = [{"type": "Feature", "id": g.pcode, "geometry": json.loads(g.geometry),
              "properties": {"pcode": g.pcode, "name": g.name,
                             "idps": None if totals.get(g.pcode) != totals.get(g.pcode)
                             else totals.get(g.pcode)}}
             for g in geo.itertuples()]
    path.write_text(json.dumps({"type": "FeatureCollection", "features": feats},
                               ensure_ascii=False), encoding="utf-8")


def _solutions(wh: Warehouse, out: Path, resources: list[dict],
               sheets: dict[str, pd.DataFrame]) -> None:
    if "solution_gaps" not in wh.con.list_tables():
        return
    df = wh.table("solution_gaps").order_by(["survey_id", "area_pcode", "indicator"]).execute()
    if df.empty:
        return
    tags = {"survey_id": "#meta+survey+id", "area_pcode": "#loc+code", "area_name": "#loc+name",
            "indicator": "#indicator+code", "gap": "#indicator+gap", "status": "#status"}
    _write_plain(df, out / "solution_gaps.csv", tags)
    resources.append(_tabular("solution-gaps", "solution_gaps.csv",
                              "Durable solutions: IDPs compared with a comparison group (IRIS "
                              "progress measure)", df, schema=_plain_schema(df, tags)))
    sheets["solution_gaps"] = df


def _register(wh: Warehouse, out: Path, resources: list[dict], sheets: dict[str, pd.DataFrame],
              suppress_below: int) -> None:
    """Unique registered people and households per area: counts only, rounded and suppressed."""
    if "register_units" not in wh.con.list_tables():
        return
    t = wh.table("register_units")
    df = t.group_by("area_pcode").aggregate(
        people=t.person_cluster.nunique(), households=t.household_cluster.nunique()).order_by(
        "area_pcode").execute()
    if df.empty:
        return
    df = apply_publication_rules(df, ("people", "households"), suppress_below)
    tags = {"area_pcode": "#loc+code", "people": "#affected+registered+ind",
            "households": "#affected+registered+hh", "suppressed": "#status+suppressed"}
    _write_plain(df, out / "register_counts.csv", tags)
    resources.append(_tabular("register-counts", "register_counts.csv",
                              "Unique registered people and households per area (rounded, "
                              "small cells suppressed)", df, schema=_plain_schema(df, tags)))
    sheets["register_counts"] = df
