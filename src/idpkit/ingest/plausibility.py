"""Between *check* and *commit*: is the result of this import plausible as a whole?

Row checks judge each row; they cannot see that an import as a whole went wrong — a rule that
quarantines most rows (a misread column), no area placed (the wrong gazetteer, names of another
level), every row on one date taken from a title while a column holds dates, no date or country
at all, or counts recognised only from weak evidence. Each of those ended, on real files, in
numbers that looked fine and were wrong. Such an import stops before writing, says what it saw
and which mapping line or option fixes it; ``--accept-as-is`` stores it anyway.

Where the evidence is weak, the rule is: refuse with a way forward, never silently wrong.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

import ibis.expr.types as ir
import pycountry

from idpkit.ingest.clean import Cleaned
from idpkit.ingest.columns import ColumnAssignment, count_evidence, weak_counts
from idpkit.ingest.context import ImportContext
from idpkit.ingest.plan import ImportPlan, sample_rows

MOST = 0.5  # share of rows above which one rule, or unplaced rows, make an import implausible
MIN_ROWS = 3  # fewer rows than this are judged row by row only


@dataclass
class Implausible:
    """One reason an import stopped: what was seen, and the fix."""

    code: str
    seen: str
    fix: str

    @property
    def message(self) -> str:
        return f"{self.seen}. {self.fix}"


def weak_count(c: ColumnAssignment, sheet: str) -> bool:
    """A count whose meaning is a guess: read from header words that name no population group
    (a unit word only, "Total", a bare Male/Female), in a sheet not named after a group either.
    Tags and mappings are never weak, nor are headers naming displacement ("new displacements",
    "total_displacement"). One rule for the whole of idpkit:
    :func:`idpkit.ingest.columns.count_evidence`."""
    return count_evidence(c, [sheet]) == "weak"


def _file_name_country(name: str) -> str | None:
    """An ISO3 code opening a file name (the HDX habit: ``mli_population_movements.csv``)."""
    m = re.match(r"([A-Za-z]{3})(?:[_\-\s.]|$)", name)
    if not m:
        return None
    c = pycountry.countries.get(alpha_3=m.group(1).upper())
    return c.alpha_3 if c else None


def _mapping_line(c: ColumnAssignment) -> str:
    v = c.value
    return (f'columns: {{"{c.header}": {{population_group: {v.population_group}, '
            f'unit: {v.unit}, metric: {v.metric}}}}}')


def assess(ctx: ImportContext, plan: ImportPlan, cleaned: Cleaned, findings: ir.Table,
           rows_read: int, rows_quarantined: int) -> list[Implausible]:
    """Every reason this import is implausible (empty when it is not)."""
    out: list[Implausible] = []
    name = ctx.file_name
    if rows_read == 0:
        return [Implausible("no-rows", "no data rows under the header",
                            f"Check the sheet and header rows with `idpkit inspect {name}`")]
    w = cleaned.wide
    has_area_cols = any(c.role.startswith("adm") for c in plan.columns.columns)
    sub = (w._area_given.fill_null(False) & ~w._area_total.fill_null(False)
           & (w.reported_level.fill_null(0) >= 1))  # rows naming an area below the country
    stats = w.aggregate(
        n=w.count(),
        given=sub.sum(),
        placed=(sub & w._area_placed.fill_null(False)).sum(),
        nodate=w.reporting_date.isnull().sum(),
        nocountry=w.iso3.isnull().sum(),
    ).execute().iloc[0]
    n = int(stats.n)
    # one rule quarantining most rows
    if rows_read >= MIN_ROWS and rows_quarantined > MOST * rows_read:
        err = findings.filter(findings.severity == "error")
        per = err.group_by("code").aggregate(rows=err.row.nunique(), first=err.row.min())
        for r in per.execute().itertuples():
            if r.rows > MOST * rows_read:
                ex = findings.filter((findings.code == r.code) & (findings.row == r.first)) \
                    .limit(1).execute()
                what = f" (e.g. {ex.message.iloc[0]})" if len(ex) else ""
                out.append(Implausible(
                    "one-rule-most-rows",
                    f"rule {r.code} would quarantine {r.rows} of {rows_read} rows{what}",
                    f"A column is probably misread: see `idpkit inspect {name}` and give its "
                    "role in a mapping (`--mapping MAP.yml`, see docs/mapping.md)"))
    # no area placed
    given, placed = int(stats.given), int(stats.placed)
    if has_area_cols and given >= MIN_ROWS and placed < MOST * given:
        out.append(Implausible(
            "areas-unplaced",
            f"only {placed} of {given} rows' areas were found in the gazetteer (the others "
            "would count in the national total only)",
            "Load the country's P-codes (`idpkit areas load COD.csv`), or map the area columns "
            "to their admin level (`columns: {\"<header>\": adm2_name}`)"))
    # dates
    date_col = plan.columns.first("reporting_date") or plan.columns.first("reporting_year")
    if int(stats.nodate) == n and date_col is None:
        out.append(Implausible(
            "no-date", "no reporting date: no date column, none in the file's titles or name",
            "Give the date of the data with --date YYYY-MM-DD (or `date:` in a mapping)"))
    elif date_col is None and not ctx.options.reporting_date:
        unused = _date_like_columns(ctx, plan)
        if unused:
            d = next((x.decision for x in ctx.decisions if x.subject == "reporting date"), "")
            out.append(Implausible(
                "one-date-many-date-columns",
                f"every row would be dated {d} from the file's titles, but column "
                f"{unused[0]!r} holds dates",
                f"Map it: `columns: {{\"{unused[0]}\": reporting_date}}`, or give --date"))
    # country
    if int(stats.nocountry) == n:
        hint = _file_name_country(name)
        out.append(Implausible(
            "no-country", "no country: the file names no country and no area idpkit knows",
            "Give it with --country ISO3 (or `country:` in a mapping)"
            + (f"; the file name suggests --country {hint}" if hint else "")))
    # weak evidence
    values = plan.columns.values()
    if values and len(weak_counts(plan)) == len(values):
        shown = ", ".join(f"{c.header!r} ({c.value.unit}, group assumed {c.value.population_group})"
                          for c in values[:3])
        out.append(Implausible(
            "weak-counts",
            f"the counts were recognised from header words that name no population group: "
            f"{shown}",
            f"Confirm what they count in a mapping, e.g. `{_mapping_line(values[0])}`"))
    return out


def _date_like_columns(ctx: ImportContext, plan: ImportPlan) -> list[str]:
    """Headers of unassigned columns whose sampled values are mostly dates."""
    from idpkit.ingest.normalise import parse_dates

    sample = sample_rows(ctx, plan.parts[0].layout)[:500]
    out = []
    for c in plan.columns.columns:
        if c.role not in ("ignore",) or c.index >= plan.parts[0].layout.ncols:
            continue
        vals = list(dict.fromkeys(r[c.index] for r in sample
                                  if c.index < len(r) and r[c.index]))[:200]
        if len(vals) < 2 or all(re.fullmatch(r"[\d.]+", v) for v in vals):
            continue
        parsed, _ = parse_dates(vals)
        if sum(1 for v in vals if parsed.get(v)) >= 0.9 * len(vals):
            out.append(c.header)
    return out
