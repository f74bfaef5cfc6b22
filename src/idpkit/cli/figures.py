"""``idpkit figures …`` — stocks, flows, origin–destination, series and lineage from the warehouse."""

from __future__ import annotations

import sys
from datetime import date
from enum import Enum
from pathlib import Path
from typing import Annotated

import typer
from rich.markup import escape
from rich.table import Table

from idpkit.cli.options import TableOrJson

figures_app = typer.Typer(help="Displacement figures: stocks by area, date, cause and group.",
                          no_args_is_help=True)


class OutFmt(str, Enum):
    table = "table"
    csv = "csv"
    hxl = "hxl"
    json = "json"


DbOpt = Annotated[str | None, typer.Option("--db", help="Warehouse (default $IDPKIT_DB or "
                                           "./idpkit.duckdb)")]
FmtOpt = Annotated[OutFmt, typer.Option("--format", help="table, csv, hxl or json.")]
OutOpt = Annotated[Path | None, typer.Option("--output", "-o", help="Write to this file (CSV and "
                                             "HXL get a .schema.json beside).")]
LevelOpt = Annotated[int, typer.Option("--level", min=0, max=4, help="Admin level 0-4.")]
OperationOpt = Annotated[str | None, typer.Option("--operation", help="Only this operation.")]
PublicOpt = Annotated[bool, typer.Option("--public", help="Publication rules: IDMC rounding and "
                                         "small-cell suppression.")]
FromOpt = Annotated[str, typer.Option("--from", help="Start of the period (exclusive), "
                                      "YYYY-MM-DD.")]
ToOpt = Annotated[str, typer.Option("--to", help="End of the period (inclusive), YYYY-MM-DD.")]


MaxAgeOpt = Annotated[int, typer.Option(
    "--max-age", min=0, help="Staleness window in days: a round older than this before the date "
                             "is stale (in a series: a gap).")]


def _parse_date(text: str | None, hint: str) -> date | None:
    if not text:
        return None
    try:
        return date.fromisoformat(text)
    except ValueError:
        raise typer.BadParameter(f"{text!r} is not a date (YYYY-MM-DD)", param_hint=hint) from None


def known_filter(wh, column: str, value: str | None, option: str) -> None:
    """A filter value that no dataset has is a typo, not "no figures" with exit 0: refuse it and
    list the values the warehouse holds."""
    if value is None:
        return
    d = wh.table("datasets")
    values = sorted(str(v) for v in d.select(column).distinct().execute()[column].dropna())
    if value not in values:
        shown = ", ".join(values[:20]) + (" …" if len(values) > 20 else "")
        raise typer.BadParameter(f"no dataset has {value!r}; the warehouse holds: "
                                 f"{shown or '(none)'}", param_hint=option)


def _latest_date(wh) -> date:
    from idpkit.errors import NoDataFoundError

    o = wh.table("observations")
    d = o.filter(o.metric == "present_stock").reporting_date.max().execute()
    if d is None or d != d:
        where = getattr(wh.backend, "path", None) or wh.backend.name
        raise NoDataFoundError(f"the warehouse {where} holds no stock figures yet; import "
                               "assessments first (idpkit ingest FILE), or name another "
                               "warehouse with --db")
    return d.date() if hasattr(d, "date") else d


def emit(df, fmt: OutFmt, output: Path | None, title: str) -> None:
    """Print or write a figure table in the chosen format (CSV/HXL files get a Table Schema)."""
    from idpkit.cli.console import console, err
    from idpkit.figures.output import to_csv, to_json, write_with_schema

    if output is not None:
        if fmt == OutFmt.json:
            output.write_text(to_json(df), encoding="utf-8")
        else:
            schema = write_with_schema(df, output, hxl=fmt == OutFmt.hxl)
            err.print(f"Wrote {escape(str(output))} and its Table Schema {escape(str(schema))}")
        return
    if fmt in (OutFmt.csv, OutFmt.hxl):
        sys.stdout.write(to_csv(df, hxl=fmt == OutFmt.hxl))
        return
    if fmt == OutFmt.json:
        print(to_json(df))
        return
    from idpkit.figures.output import to_text_frame

    t = Table(title=title)
    for c in df.columns:
        t.add_column(c, overflow="fold")
    text = to_text_frame(df)
    for c in df.columns:
        if str(df[c].dtype).startswith(("float", "int")):
            text[c] = [f"{float(v):,.0f}" if v and float(v).is_integer() else v for v in text[c]]
    for row in text.itertuples(index=False):
        t.add_row(*[escape(str(v)) for v in row])
    console.print(t)
    if df.empty:
        console.print("No figures for this date and level.")


@figures_app.command("stock")
def stock(
    on: Annotated[str | None, typer.Option("--date", help="Reference date YYYY-MM-DD (default: the "
                                           "newest reporting date in the warehouse).")] = None,
    level: LevelOpt = 1,
    by: Annotated[str, typer.Option("--by", help="Breakdowns, comma-separated: group, cause, "
                                    "site_type (group is always shown).")] = "group,cause",
    max_age: MaxAgeOpt = 180,
    priority: Annotated[str | None, typer.Option(
        "--priority", help="Source priority, comma-separated assessment types or organisations, most "
                           "trusted first (default: baseline_area, site, registration, "
                           "survey, flow_monitoring, other).")] = None,
    operation: OperationOpt = None,
    dataset: Annotated[str | None, typer.Option(help="Only this dataset id.")] = None,
    country: Annotated[str | None, typer.Option("--country", help="Only this ISO3 country.")] = None,
    sources: Annotated[bool, typer.Option("--sources", help="Also list triangulation sources, "
                                          "with source, role and the spread of sources.")] = False,
    convert: Annotated[bool, typer.Option(
        "--households-to-individuals", help="Add derived individuals where a source gives households "
        "only (households x the source's own household size, else --household-size); adds a "
        "'derived' column.")] = False,
    hh_size: Annotated[float | None, typer.Option(
        "--household-size", help="Household size where a source gives none of its own and no "
        "--household-sizes rule matches.")] = None,
    hh_sizes: Annotated[Path | None, typer.Option(
        "--household-sizes", help="CSV of household sizes per area, source and year (columns "
        "pcode, source, year, size; empty = any): used where a source gives none of its "
        "own; the most specific matching row wins.")] = None,
    public: PublicOpt = False,
    suppress_below: Annotated[int, typer.Option("--suppress-below", help="With --public: cells "
                                                "below this are suppressed.")] = 5,
    fmt: FmtOpt = OutFmt.table,
    output: OutOpt = None,
    db: DbOpt = None,
) -> None:
    """IDP, returnee … stocks per area at a reference date (latest round of each source)."""
    from idpkit.cli.console import open_warehouse
    from idpkit.figures.publication import apply_publication_rules
    from idpkit.figures.stock import DEFAULT_PRIORITY, StockQuery, stock_frame
    from idpkit.figures.units import read_household_sizes

    if hh_sizes and not convert:
        raise typer.BadParameter("give --households-to-individuals too",
                                 param_hint="--household-sizes")
    ref = _parse_date(on, "--date")
    by_list = [b.strip() for b in by.split(",") if b.strip() and b.strip() != "group"]
    prio = tuple(p.strip() for p in priority.split(",")) if priority else DEFAULT_PRIORITY
    with open_warehouse(db) as wh:
        ref = ref or _latest_date(wh)
        known_filter(wh, "operation", operation, "--operation")
        known_filter(wh, "iso3", country.upper() if country else None, "--country")
        try:
            q = StockQuery(ref, level=level, by=by_list, max_age_days=max_age, priority=prio,
                           operation=operation, dataset=dataset, iso3=country,
                           convert_households=convert, household_size=hh_size,
                           household_sizes=read_household_sizes(hh_sizes) if hh_sizes else ())
        except ValueError as exc:
            raise typer.BadParameter(str(exc)) from None
        df = stock_frame(wh, q, all_sources=sources)
    if public:
        df = apply_publication_rules(df, ("value", "range_min", "range_max") if sources else
                                     ("value",), suppress_below)
    emit(df, fmt, output, f"Stock at {ref.isoformat()}, admin level {level}")




def _period(start: str, end: str) -> tuple[date, date]:
    d0, d1 = _parse_date(start, "--from"), _parse_date(end, "--to")
    assert d0 is not None and d1 is not None
    if d1 <= d0:
        raise typer.BadParameter("--to must be after --from", param_hint="--to")
    return d0, d1


@figures_app.command("flows")
def flows(
    start: FromOpt,
    end: ToOpt,
    level: LevelOpt = 1,
    identity: Annotated[bool, typer.Option("--identity", help="Show the accounting identity per "
                                           "area instead: stocks, inflows, outflows, residual.")]
    = False,
    max_age: MaxAgeOpt = 180,
    operation: OperationOpt = None,
    public: PublicOpt = False,
    fmt: FmtOpt = OutFmt.table,
    output: OutOpt = None,
    db: DbOpt = None,
) -> None:
    """Flows of a period: reported (flow monitoring, events) and derived (from stock changes)."""
    from idpkit.cli.console import open_warehouse
    from idpkit.figures.flows import flows_frame, identity_frame
    from idpkit.figures.publication import apply_publication_rules

    d0, d1 = _period(start, end)
    with open_warehouse(db) as wh:
        if identity:
            df = identity_frame(wh, d0, d1, level, max_age_days=max_age, operation=operation)
        else:
            df = flows_frame(wh, d0, d1, level, max_age_days=max_age, operation=operation)
    if public:
        cols = ("stock_to", "stock_from", "inflows", "outflows", "residual") if identity \
            else ("value",)
        df = apply_publication_rules(df, cols)
    emit(df, fmt, output, f"{'Identity' if identity else 'Flows'} {d0} – {d1}, admin level {level}")


@figures_app.command("series")
def series(
    start: Annotated[str, typer.Option("--from", help="First month, YYYY-MM-DD (any day).")],
    end: Annotated[str, typer.Option("--to", help="Last month, YYYY-MM-DD (any day).")],
    level: LevelOpt = 1,
    max_age: MaxAgeOpt = 45,
    operation: OperationOpt = None,
    fmt: FmtOpt = OutFmt.table,
    output: OutOpt = None,
    db: DbOpt = None,
) -> None:
    """Monthly stock per area and group (month ends); months without fresh data are gaps, not 0."""
    from idpkit.cli.console import open_warehouse
    from idpkit.figures.series import monthly_series

    d0, d1 = _parse_date(start, "--from"), _parse_date(end, "--to")
    assert d0 is not None and d1 is not None
    if d1 < d0:
        raise typer.BadParameter("--to must not be before --from", param_hint="--to")
    with open_warehouse(db) as wh:
        df = monthly_series(wh, d0, d1, level, max_age_days=max_age, operation=operation)
    emit(df, fmt, output, f"Monthly stock, admin level {level}")


@figures_app.command("explain")
def explain_cmd(
    area: Annotated[str, typer.Argument(help="P-code (or ISO3 country code for admin 0).")],
    on: Annotated[str, typer.Argument(help="Reference date YYYY-MM-DD.")],
    group: Annotated[str, typer.Argument(help="Population group, e.g. idps.")] = "idps",
    unit: Annotated[str, typer.Option(help="individuals or households.")] = "individuals",
    max_age: MaxAgeOpt = 180,
    fmt: Annotated[TableOrJson, typer.Option("--format", help="table or json.")] =
    TableOrJson.table,
    output: Annotated[Path | None, typer.Option("--output", "-o", help="Write the JSON to this "
                                                "file.")] = None,
    as_json: Annotated[bool, typer.Option("--json", hidden=True,
                                          help="Same as --format json (older name).")] = False,
    db: DbOpt = None,
) -> None:
    """Where a stock figure comes from: sources, datasets, rows used and rows left out (and why)."""
    import json

    from idpkit.cli.console import err

    from idpkit.cli.console import console, open_warehouse
    from idpkit.figures.explain import explain
    from idpkit.model.vocabulary import POPULATION_GROUPS

    ref = _parse_date(on, "DATE")
    assert ref is not None
    if group not in POPULATION_GROUPS:
        raise typer.BadParameter(f"{group!r}: choose from {', '.join(POPULATION_GROUPS)}",
                                 param_hint="GROUP")
    with open_warehouse(db) as wh:
        e = explain(wh, area.strip().upper(), ref, group, unit=unit, max_age_days=max_age)
    if as_json or fmt == TableOrJson.json or output is not None:
        text = json.dumps(e, ensure_ascii=False, indent=2) + "\n"
        if output is None:
            sys.stdout.write(text)
        else:
            output.write_text(text, encoding="utf-8")
            err.print(f"Wrote {escape(str(output))}")
        return
    v = "no figure" if e["value"] is None else f"{e['value']:,.0f}"
    console.print(f"[bold]{escape(e['area'])}[/bold] (admin {e['admin_level']}), {e['reference_date']}, "
                  f"{group}, {unit}: [bold]{v}[/bold]")
    t = Table("source", "role", "value", "round date", "stale", "coverage", title="Sources")
    for s in e["sources"]:
        t.add_row(escape(s["source"]), s["role"], f"{s['value']:,.0f}", s["source_date"],
                  "yes" if s["stale"] else "no", "" if s["coverage"] is None else f"{s['coverage']:.0%}")
    console.print(t)
    t = Table("file", "round", "sheet", "level", "rows", "source rows", "value", title="Rows used")
    for r in e["rows_used"]:
        t.add_row(escape(r["file"]), escape(str(r["round"])), escape(str(r["sheet"] or "")),
                  str(r["reported_level"]), str(r["rows"]), f"{r['first_row']}–{r['last_row']}",
                  f"{r['value']:,.0f}")
    console.print(t)
    if e["rows_not_used"]:
        t = Table("file", "round", "level", "rows", "value", "why not used", title="Rows not used")
        for r in e["rows_not_used"]:
            t.add_row(escape(r["file"]), escape(str(r["round"])), str(r["reported_level"]),
                      str(r["rows"]), f"{r['value']:,.0f}", escape(r["rule"]))
        console.print(t)
    console.print("Rules: " + "; ".join(e["rules"]) + ".")


@figures_app.command("od")
def od(
    start: FromOpt,
    end: ToOpt,
    level: LevelOpt = 2,
    public: PublicOpt = False,
    fmt: FmtOpt = OutFmt.table,
    output: OutOpt = None,
    db: DbOpt = None,
) -> None:
    """Origin-destination matrix of the period's movements (from flow monitoring and origins)."""
    from idpkit.cli.console import err, open_warehouse
    from idpkit.figures.od import od_frame
    from idpkit.figures.publication import apply_publication_rules

    d0, d1 = _period(start, end)
    with open_warehouse(db) as wh:
        df = od_frame(wh, d0, d1, level)
    unmatched = int(df["unmatched_origin_names"].sum()) if len(df) else 0
    if unmatched:
        err.print(f"{unmatched} movement rows name an origin that could not be matched to a P-code; "
                  "they are shown with an empty origin (see the import report).")
    if public:
        df = apply_publication_rules(df)
    emit(df, fmt, output, f"Origin–destination {d0} – {d1}, admin level {level}")
