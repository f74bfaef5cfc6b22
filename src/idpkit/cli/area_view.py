"""``idpkit areas …`` — the area view: profiles, needs severity and people in need, priority
ranking, site risk, 4W activities (coverage, reach, continuity) and community voice.

Commands attach to ``areas_app``, which :mod:`idpkit.cli.app` adds as ``idpkit areas``; they parse
options, call :mod:`idpkit.areas`, and print with Rich.
"""

from __future__ import annotations

import json
import sys
from enum import Enum
from pathlib import Path
from typing import Annotated

import typer
from rich.markup import escape
from rich.table import Table

from idpkit.cli.console import console, err, open_warehouse, progress
from idpkit.cli.options import DbOpt, OutOpt, PeriodFromOpt, PeriodToOpt, parse_period

areas_app = typer.Typer(help="Admin areas: P-code gazetteers and boundaries.",
                        no_args_is_help=True)
needs_app = typer.Typer(help="Multi-sector needs: import, severity, people in need, priority.",
                        no_args_is_help=True)
sites_app = typer.Typer(help="Site conditions against Sphere minimums: import, risk tiers.",
                        no_args_is_help=True)
activities_app = typer.Typer(help="Who does what where (4W): import, coverage, reach, "
                             "continuity.", no_args_is_help=True)
voice_app = typer.Typer(help="Community consultations: import, show.", no_args_is_help=True)
areas_app.add_typer(needs_app, name="needs")
areas_app.add_typer(sites_app, name="sites")
areas_app.add_typer(activities_app, name="activities")
areas_app.add_typer(voice_app, name="voice")


class Fmt(str, Enum):
    table = "table"
    csv = "csv"
    json = "json"


FmtOpt = Annotated[Fmt, typer.Option("--format", help="table, csv or json.")]
SourceOpt = Annotated[str | None, typer.Option("--source", help="Needs source id (default: the "
                                               "latest imported).")]
LevelOpt = Annotated[int | None, typer.Option("--level", min=0, max=4, help="Roll up to this "
                                              "admin level.")]
PublicOpt = Annotated[bool, typer.Option("--public", help="Publication rules: rounding and "
                                         "small-cell suppression.")]


def _emit(df, fmt: Fmt, output: Path | None = None, title: str | None = None) -> None:
    if fmt == Fmt.csv or output is not None and fmt != Fmt.json:
        from idpkit.model.formula_cells import neutralise_frame  # no live formulas
        text = neutralise_frame(df).to_csv(index=False, lineterminator="\n")
    elif fmt == Fmt.json:
        text = df.to_json(orient="records", date_format="iso", force_ascii=False) + "\n"
    else:
        t = Table(*[str(c) for c in df.columns], title=title)
        for row in df.itertuples(index=False):
            t.add_row(*[_cell(v) for v in row])
        console.print(t)
        return
    if output is not None:
        output.write_text(text, encoding="utf-8")
        err.print(f"Wrote {escape(str(output))} ({len(df)} rows)")
    else:
        sys.stdout.write(text)


def _cell(v: object) -> str:
    if v is None or (isinstance(v, float) and v != v):  # noqa: PLR0124 (NaN)
        return ""
    if isinstance(v, float):
        return f"{v:,.0f}" if abs(v) >= 100 else f"{v:.3g}"
    return escape(str(v))


def _findings(stored) -> None:
    """One line per import, then one row per finding code with its first example."""
    console.print(f"{stored.rows_read} rows read, [green]{stored.rows_accepted} accepted"
                  f"[/green], [red]{stored.rows_quarantined} quarantined[/red] "
                  f"(dataset {stored.dataset_id})")
    _finding_table(stored.findings)


def _finding_table(findings: list) -> None:
    if not findings:
        return
    t = Table("rule", "severity", "count", "first example", show_edge=False)
    seen: dict[str, list] = {}
    for f in findings:
        seen.setdefault(f.code, []).append(f)
    for code, fs in seen.items():
        ex = fs[0]
        where = ", ".join(p for p in (f"row {ex.row}" if ex.row else "",
                                      f"column {ex.column!r}" if ex.column else "") if p)
        t.add_row(code, ex.severity, str(len(fs)), escape(f"{where}: {ex.message}"[:110]))
    console.print(t)


def _plausibility(res) -> None:
    """The needs results' plausibility warnings: one row per code with its first example."""
    if not res.warnings:
        return
    t = Table("warning", "count", "first example", show_edge=False)
    seen: dict[str, list] = {}
    for f in res.warnings:
        seen.setdefault(f.code, []).append(f)
    for code, fs in seen.items():
        t.add_row(code, str(len(fs)), escape(fs[0].message[:140]))
    err.print(t)


# ---------------------------------------------------------------------------- profiles
@areas_app.command("profile")
def profile(pcode: Annotated[str, typer.Argument(help="P-code of the area.")],
            source: SourceOpt = None, public: PublicOpt = False,
            fmt: Annotated[Fmt, typer.Option("--format", help="table or json (csv is refused: a "
                                             "profile is several tables).")] = Fmt.table,
            db: DbOpt = None) -> None:
    """Everything known about one area: people, trend, needs, sites, data, activities, voice."""
    import pandas as pd

    if fmt == Fmt.csv:
        raise typer.BadParameter("a profile is several tables: use --format json, or "
                                 "`areas profiles --format csv` for one table of all areas",
                                 param_hint="--format")

    from idpkit.areas.profile import area_profile

    with open_warehouse(db) as wh, err.status("building the profile"):
        p = area_profile(wh, pcode.upper(), source_id=source, public=public)
    if fmt == Fmt.json:
        print(json.dumps(p, ensure_ascii=False, indent=2, default=str))
        return
    a = p["area"]
    console.print(f"[bold]{escape(a['name'] or a['pcode'])}[/bold] ({a['pcode']}, admin "
                  f"{a['admin_level']}) — reference date {p['reference_date'] or 'none'}")
    shown = {
        "people": ["population_group", "unit", "value", "source_date", "source"],
        "needs": ["population_group", "sector", "phase", "share_phase_3", "population"],
        "people_in_need": ["population_group", "sector", "people_in_need", "ci_low", "ci_high"],
        "sites": ["site_id", "site_name", "tier", "trend", "reasons", "individuals"],
        "data": ["kind", "datasets", "latest_date", "days_old"],
        "activities": ["sector", "population_group", "people_in_need", "reached", "coverage",
                       "status", "organisations"],
        "reach": ["population_group", "unique_reached", "reported_reach", "registered_people"],
        "continuity": ["period", "next_period", "ending_activities", "status"],
        "solutions": ["indicator", "focal_estimate", "comparison_estimate", "gap", "status"],
        "voice": ["consultation_date", "population_group", "method", "priorities"],
        "priorities": ["population_group", "priority", "times_raised", "times_first"],
    }
    for section, cols in shown.items():
        rows = p.get(section) or []
        if not rows:
            continue
        df = pd.DataFrame(rows)
        df = df[[c for c in cols if c in df]]
        if section == "needs":
            df = df.pivot_table(index="population_group", columns="sector", values="phase",
                                aggfunc="max").reset_index()
        _emit(df, Fmt.table, title=section.replace("_", " "))
    for n in p["notes"]:
        console.print(f"[dim]{escape(n)}[/dim]")


@areas_app.command("profiles")
def profiles(level: Annotated[int, typer.Option("--level", min=0, max=4, help="Admin level.")] = 2,
             source: SourceOpt = None, public: PublicOpt = False,
             start: PeriodFromOpt = None, end: PeriodToOpt = None, fmt: FmtOpt = Fmt.table,
             output: OutOpt = None, db: DbOpt = None) -> None:
    """One row per area of a level: people by group, needs, reach, sites, data, voice, rank."""
    from idpkit.areas.profile import profiles_table

    d0, d1 = parse_period(start, end)
    with open_warehouse(db) as wh, err.status("building area profiles"):
        df = profiles_table(wh, level, source_id=source, public=public, start=d0, end=d1)
    _emit(df, fmt, output, f"Areas at admin {level}")


# ---------------------------------------------------------------------------- needs
@needs_app.command("import")
def needs_import(file: Annotated[Path, typer.Argument(help="Household survey or key-informant "
                                                      "file (CSV, XLSX, Stata, SPSS).")],
                 spec: Annotated[Path, typer.Option("--spec", help="Needs spec (YAML).")],
                 rules: Annotated[Path | None, typer.Option(
                     "--rules", help="Severity rules (YAML; default: the shipped rules).")] = None,
                 sheet: Annotated[str | None, typer.Option(help="Sheet to read.")] = None,
                 replace: Annotated[bool, typer.Option(help="Replace a source with the same "
                                                       "id.")] = False,
                 analyse: Annotated[bool, typer.Option(help="Compute and store severity and "
                                                       "people in need.")] = True,
                 db: DbOpt = None) -> None:
    """Import needs data (all groups, host community included), then score it."""
    from idpkit.areas import needs
    from idpkit.areas.rules import SeverityRules
    from idpkit.solutions.store import SurveyImportError

    r = SeverityRules.load(rules)
    with open_warehouse(db) as wh, progress() as prog:
        prog.add_task(f"importing {escape(file.name)}", total=None)
        try:
            res = needs.import_needs(wh, file, needs.NeedsSpec.from_yaml(spec), rules=r,
                                     sheet=sheet, replace=replace)
        except (needs.NeedsImportError, SurveyImportError) as exc:
            prog.stop()
            _finding_table(getattr(exc, "findings", None) or getattr(exc, "issues", []))
            raise
        out = needs.analyse(wh, res.source_id) if analyse else None
    console.print(f"Imported needs source [bold]{res.source_id}[/bold] ({res.kind}): "
                  f"{res.records:,} records.")
    if out is not None:
        _summary(out)


def _summary(res) -> None:
    _plausibility(res)
    sev = res.severity[res.severity.sector == "intersectoral"]
    counts = sev.groupby(["population_group", "phase"]).size().unstack(fill_value=0)
    console.print("Areas per inter-sectoral phase and group:")
    _emit(counts.reset_index(), Fmt.table)
    pin = res.pin[res.pin.sector == "intersectoral"].groupby("population_group").people_in_need.sum()
    console.print("People in need (inter-sectoral): " + ", ".join(
        f"{g} {v:,.0f}" for g, v in pin.items()))


@needs_app.command("severity")
def needs_severity(source: Annotated[str | None, typer.Argument(help="Needs source id.")] = None,
                   rules: Annotated[Path | None, typer.Option("--rules", help="Other severity "
                                                              "rules (YAML).")] = None,
                   level: LevelOpt = None, sector: Annotated[str | None, typer.Option(
                       help="Only this sector.")] = None,
                   fmt: FmtOpt = Fmt.table, output: OutOpt = None, db: DbOpt = None) -> None:
    """Score every household or location, aggregate to areas and store the results."""
    from idpkit.areas import needs
    from idpkit.areas.rules import SeverityRules

    r = SeverityRules.load(rules) if rules else None
    with open_warehouse(db) as wh, err.status("scoring needs"):
        res = needs.analyse(wh, source, rules=r, level=level)
    _plausibility(res)
    df = res.severity
    if sector:
        df = df[df.sector == sector]
    _emit(df.drop(columns=["source_id", "rule"]), fmt, output, f"Area phases ({res.source_id})")


@needs_app.command("pin")
def needs_pin(source: Annotated[str | None, typer.Argument(help="Needs source id.")] = None,
              sector: Annotated[str | None, typer.Option(help="Only this sector.")] = None,
              group: Annotated[str | None, typer.Option(help="Only this group.")] = None,
              public: PublicOpt = False, fmt: FmtOpt = Fmt.table, output: OutOpt = None,
              db: DbOpt = None) -> None:
    """People in need per area, sector and group (stored results), with design-based CIs."""
    from idpkit.areas.needs import load_source

    with open_warehouse(db) as wh:
        src = load_source(wh, source)
        t = wh.table("need_pin")
        t = t.filter(t.source_id == src.source_id)
        if sector:
            t = t.filter(t.sector == sector)
        if group:
            t = t.filter(t.population_group == group)
        df = t.order_by(["area_pcode", "population_group", "sector"]).execute()
    if df.empty:
        err.print("no stored results: run `idpkit areas needs severity` first")
    if public:
        from idpkit.areas.profile import _public

        df = _public(df, ("people_in_need", "ci_low", "ci_high", "population"))
    _emit(df.drop(columns=["source_id"]), fmt, output, f"People in need ({src.source_id})")


@needs_app.command("rank")
def needs_rank(source: Annotated[str | None, typer.Argument(help="Needs source id.")] = None,
               weights: Annotated[str | None, typer.Option(
                   help="e.g. severity=0.4,pin=0.3 (also pin_share, unmet)")] = None,
               level: LevelOpt = None, top: Annotated[int, typer.Option(min=1)] = 10,
               fmt: FmtOpt = Fmt.table, output: OutOpt = None, db: DbOpt = None) -> None:
    """Rank areas for priority and show how stable the ranking is under other weights
    (-o writes the whole ranking as CSV, or JSON with --format json)."""
    from idpkit.areas.priority import parse_weights, rank_areas

    w = parse_weights(weights)
    with open_warehouse(db) as wh:
        rk = rank_areas(wh, source, w, level=level, top=top)
    if fmt != Fmt.table or output is not None:
        _emit(rk.table, fmt, output)
        return
    _emit(rk.table.head(top), fmt, title="Priority ranking (weights " + ", ".join(
        f"{k}={v:g}" for k, v in w.items()) + ")")
    _emit(rk.stability, fmt, title=f"Stability under other weights (top {top})")


# ---------------------------------------------------------------------------- sites
@sites_app.command("import")
def sites_import(files: Annotated[list[Path], typer.Argument(help="Site measurement files.")],
                 db: DbOpt = None) -> None:
    """Import site measurements (people, covered and site area, water, latrines, …)."""
    from idpkit.areas.sites import import_sites

    with open_warehouse(db) as wh:
        for f in files:
            console.print(f"[bold]{escape(f.name)}[/bold]: ", end="")
            _findings(import_sites(wh, f))


@sites_app.command("risk")
def sites_risk(thresholds: Annotated[Path | None, typer.Option(
                   "--thresholds", help="Site-risk thresholds (YAML).")] = None,
               flagged: Annotated[bool, typer.Option(help="Only flagged sites.")] = False,
               all_rounds: Annotated[bool, typer.Option(help="Every round, not only the "
                                                        "latest.")] = False,
               area: Annotated[str | None, typer.Option(help="Only sites in this area.")] = None,
               fmt: FmtOpt = Fmt.table, output: OutOpt = None, db: DbOpt = None) -> None:
    """Risk tier per site with its reasons and trend, worst first: by tier (high, medium, low,
    unknown), then points, most first. --flagged keeps only the flagged sites."""
    from idpkit.areas.sites import RiskConfig, reason_text, site_risk

    cfg = RiskConfig.load(thresholds)
    with open_warehouse(db) as wh:
        df = site_risk(wh, cfg, latest=not all_rounds, flagged_only=flagged, area=area)
    if fmt == Fmt.table:
        df = df.assign(reasons=df.reasons.map(lambda c: reason_text(c, cfg)))[
            ["site_id", "site_name", "area_pcode", "round", "individuals", "tier", "points",
             "trend", "flagged", "reasons"]]
    _emit(df, fmt, output, "Site risk")


# ---------------------------------------------------------------------------- activities
@activities_app.command("import")
def activities_import(files: Annotated[list[Path], typer.Argument(
                          help="3W/4W/5W files (CSV, XLSX, XLS, ODS).")],
                      mapping: Annotated[Path | None, typer.Option(
                          "--mapping", help="YAML: sheet, header_row, columns by role "
                          "(organisation, sector, adm1_code…), values (a one-sector file's "
                          "sector). See docs/areas.md.")] = None,
                      db: DbOpt = None) -> None:
    """Import who-does-what-where files: operational presence (organisation × area × sector),
    people targeted/reached by group where given; rows with errors are quarantined, the rest
    kept. A file that cannot be read with certainty is refused with the mapping that fixes it."""
    from idpkit.areas.activities import import_activities

    with open_warehouse(db) as wh:
        for f in files:
            console.print(f"[bold]{escape(f.name)}[/bold]: ", end="")
            _findings(import_activities(wh, f, mapping=mapping))


@activities_app.command("coverage")
def activities_coverage(source: SourceOpt = None, level: LevelOpt = None,
                        status: Annotated[str | None, typer.Option(
                            help="Only gap, low, covered, no_need or no_need_data.")] = None,
                        start: PeriodFromOpt = None, end: PeriodToOpt = None,
                        fmt: FmtOpt = Fmt.table, output: OutOpt = None, db: DbOpt = None) -> None:
    """Reached ÷ people in need per area, sector and group; gaps and overlaps. With --from/--to,
    only activities running in that period count (an activity overlapping it counts whole)."""
    from idpkit.areas.activities import coverage

    d0, d1 = parse_period(start, end)
    with open_warehouse(db) as wh:
        df = coverage(wh, source, level=level, start=d0, end=d1)
    if status:
        df = df[df.status == status]
    _emit(df, fmt, output, "4W coverage against need")


@activities_app.command("reach")
def activities_reach(level: LevelOpt = None, fmt: FmtOpt = Fmt.table, output: OutOpt = None,
                     db: DbOpt = None) -> None:
    """Unique people reached per area and group (max across sectors; registry where known)."""
    from idpkit.areas.activities import reach_by_area

    with open_warehouse(db) as wh:
        _emit(reach_by_area(wh, level=level), fmt, output, "People reached")


@activities_app.command("continuity")
def activities_continuity(level: LevelOpt = None,
                          months: Annotated[int, typer.Option(min=1, max=12, help="Months per "
                                                              "period.")] = 3,
                          by_sector: Annotated[bool, typer.Option(help="Per sector.")] = False,
                          gaps: Annotated[bool, typer.Option(help="Only gaps.")] = False,
                          fmt: FmtOpt = Fmt.table, output: OutOpt = None, db: DbOpt = None
                          ) -> None:
    """Areas where humanitarian activities end with no transition or development after them."""
    from idpkit.areas.activities import continuity

    with open_warehouse(db) as wh:
        df = continuity(wh, level=level, months=months, by_sector=by_sector)
    if gaps and len(df):
        df = df[df.status == "gap"]
    _emit(df, fmt, output, "Continuity across the humanitarian-development-peace continuum")


# ---------------------------------------------------------------------------- voice
@voice_app.command("import")
def voice_import(files: Annotated[list[Path], typer.Argument(help="Consultation records.")],
                 db: DbOpt = None) -> None:
    """Import community consultations (area, date, method, group, priorities)."""
    from idpkit.areas.voice import import_consultations

    with open_warehouse(db) as wh:
        for f in files:
            console.print(f"[bold]{escape(f.name)}[/bold]: ", end="")
            _findings(import_consultations(wh, f))


@voice_app.command("show")
def voice_show(area: Annotated[str | None, typer.Option(help="Only this area.")] = None,
               fmt: FmtOpt = Fmt.table, output: OutOpt = None, db: DbOpt = None) -> None:
    """Priorities raised per group, then the consultations (-o writes the priorities)."""
    from idpkit.areas.voice import consultations, priorities

    with open_warehouse(db) as wh:
        _emit(priorities(wh, area), fmt, output, title="Priorities raised")
        if fmt == Fmt.table and output is None:
            _emit(consultations(wh, area), fmt, title="Consultations")


# ---------------------------------------------------------------------------- demo
def demo_areas(out: Path, op, db: str, seed: int) -> None:
    """The demo's area view: needs (household survey and key informants), site measurements,
    4W activities and consultations, imported and analysed."""
    from idpkit.areas import needs
    from idpkit.areas.activities import continuity, import_activities
    from idpkit.areas.priority import rank_areas
    from idpkit.areas.sites import import_sites, site_risk
    from idpkit.areas.voice import import_consultations
    from idpkit.cli.console import self_command
    from idpkit.testing.demo_areas import generate_areas
    from idpkit.warehouse.areas import read_gazetteer_csv

    g = read_gazetteer_csv(op.gazetteer_csv)
    adm2 = sorted(g[g.admin_level == 2].pcode)
    adm3 = sorted(g[g.admin_level == 3].pcode)
    with err.status("generating and analysing the demo's needs, sites, 4W and voices"), \
            open_warehouse(db) as wh:
        sites = wh.table("sites").select("site_id", "area_pcode").order_by("site_id").execute()
        files = generate_areas(out / "files" / "areas", adm2, adm3, sites, seed=seed)
        hh = needs.import_needs(wh, files.households_csv,
                                needs.NeedsSpec.from_yaml(files.households_spec), replace=True)
        ki = needs.import_needs(wh, files.locations_csv,
                                needs.NeedsSpec.from_yaml(files.locations_spec), replace=True)
        needs.analyse(wh, ki.source_id)
        res = needs.analyse(wh, hh.source_id)
        import_sites(wh, files.sites_csv)
        import_activities(wh, files.activities_csv)
        import_consultations(wh, files.consultations_csv)
        risk = site_risk(wh)
        cont = continuity(wh)
        rank = rank_areas(wh, hh.source_id)
    pin = res.pin[res.pin.sector == "intersectoral"].groupby("population_group").people_in_need.sum()
    top = rank.table.head(3).area_pcode.tolist()
    kept = rank.stability.top_kept.min() if len(rank.stability) else 0
    console.print(f"Area view: needs of {hh.records:,} households and {ki.records:,} key-informant "
                  "locations; people in need (inter-sectoral) " + ", ".join(
                      f"{g} {v:,.0f}" for g, v in pin.items()) +
                  f"; priority areas {', '.join(top)} (at least {kept} of the top 10 stay under "
                  f"other weights); {int((risk.tier == 'high').sum())} of {len(risk)} sites at "
                  f"high risk; {int((cont.status == 'gap').sum()) if len(cont) else 0} continuity "
                  "gaps. Try: " + self_command() + " areas profile " + (top[0] if top else "PCODE"))
