"""``idpkit figures …`` — displacement figures from the warehouse (stocks; flows and lineage follow)."""

from __future__ import annotations

import sys
from datetime import date
from enum import Enum
from pathlib import Path
from typing import Annotated

import typer
from rich.markup import escape
from rich.table import Table

figures_app = typer.Typer(help="Displacement figures: stocks by area, date, cause and group.",
                          no_args_is_help=True)


class OutFmt(str, Enum):
    table = "table"
    csv = "csv"
    hxl = "hxl"
    json = "json"


def _parse_date(text: str | None, hint: str) -> date | None:
    if not text:
        return None
    try:
        return date.fromisoformat(text)
    except ValueError:
        raise typer.BadParameter(f"{text!r} is not a date (YYYY-MM-DD)", param_hint=hint) from None


def _latest_date(wh) -> date:
    from idpkit.errors import NoDataFoundError

    o = wh.table("observations")
    d = o.filter(o.metric == "present_stock").reporting_date.max().execute()
    if d is None or d != d:
        raise NoDataFoundError("the warehouse holds no stock figures yet; import assessments first "
                               "(idpkit ingest FILE)")
    return d.date() if hasattr(d, "date") else d


def emit(df, fmt: OutFmt, output: Path | None, title: str) -> None:
    """Print or write a figure table in the chosen format (CSV/HXL files get a Table Schema)."""
    from idpkit.cli.app import console, err
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

    t = Table(*df.columns, title=title)
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
    level: Annotated[int, typer.Option("--level", help="Admin level 0-4 of the rows.")] = 1,
    by: Annotated[str, typer.Option("--by", help="Breakdowns, comma-separated: group, cause, "
                                    "site_type (group is always shown).")] = "group,cause",
    max_age: Annotated[int, typer.Option("--max-age", help="Staleness window in days: older "
                                         "rounds are marked stale.")] = 180,
    priority: Annotated[str | None, typer.Option(
        "--priority", help="Source priority, comma-separated assessment types or organisations, most "
                           "trusted first (default: baseline_area,site,registration,survey,"
                           "flow_monitoring,other).")] = None,
    operation: Annotated[str | None, typer.Option(help="Only this operation.")] = None,
    dataset: Annotated[str | None, typer.Option(help="Only this dataset id.")] = None,
    country: Annotated[str | None, typer.Option("--country", help="Only this ISO3 country.")] = None,
    sources: Annotated[bool, typer.Option("--sources", help="Also list triangulation sources, "
                                          "with source, role and the spread of sources.")] = False,
    public: Annotated[bool, typer.Option("--public", help="Apply publication rules: IDMC rounding "
                                         "and small-cell suppression.")] = False,
    suppress_below: Annotated[int, typer.Option("--suppress-below", help="With --public: cells "
                                                "below this are suppressed.")] = 5,
    fmt: Annotated[OutFmt, typer.Option("--format", help="table, csv, hxl or json.")] = OutFmt.table,
    output: Annotated[Path | None, typer.Option("--output", "-o", help="Write to this file (CSV "
                                                "and HXL get a .schema.json beside).")] = None,
    db: Annotated[str | None, typer.Option("--db", help="Warehouse (default $IDPKIT_DB or "
                                           "./idpkit.duckdb)")] = None,
) -> None:
    """IDP, returnee … stocks per area at a reference date (latest round of each source)."""
    from idpkit.cli.app import _open
    from idpkit.figures.publication import apply_publication_rules
    from idpkit.figures.stock import DEFAULT_PRIORITY, StockQuery, stock_frame

    ref = _parse_date(on, "--date")
    by_list = [b.strip() for b in by.split(",") if b.strip() and b.strip() != "group"]
    prio = tuple(p.strip() for p in priority.split(",")) if priority else DEFAULT_PRIORITY
    with _open(db) as wh:
        ref = ref or _latest_date(wh)
        try:
            q = StockQuery(ref, level=level, by=by_list, max_age_days=max_age, priority=prio,
                           operation=operation, dataset=dataset, iso3=country)
        except ValueError as exc:
            raise typer.BadParameter(str(exc)) from None
        df = stock_frame(wh, q, all_sources=sources)
    if public:
        df = apply_publication_rules(df, ("value", "range_min", "range_max") if sources else
                                     ("value",), suppress_below)
    emit(df, fmt, output, f"Stock at {ref.isoformat()}, admin level {level}")
