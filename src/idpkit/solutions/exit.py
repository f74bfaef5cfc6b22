"""IRIS' *exit measure* — EXPERIMENTAL: how many IDPs have overcome displacement-related
vulnerabilities?

IRIS (2020) proposes counting IDPs who no longer have displacement-related needs, and leaves the
metric open; the Expert Group's follow-up work compared several options. idpkit implements three,
all labelled experimental in every output:

``full``           *full composite*: a household passes when it passes every sub-criterion
                   indicator (value at or beyond its benchmark, in the indicator's better
                   direction). IRIS' rule: a household missing any sub-criterion is *not assessed*
                   (it is neither counted as passing nor failing; the share not assessed is shown).
``per_criterion``  *composite per criterion*: the same test per criterion (all its indicators
                   pass), reported criterion by criterion, and overall (all criteria passed).
``cells``          *homogeneous cells*: households are grouped into cells (by default the area);
                   a cell passes when its IDPs are not significantly worse off than the comparison
                   group on any indicator (the progress measure's test); IDPs in passing cells are
                   counted. The interval covers sampling of households in passing cells only, not
                   the uncertainty of which cells pass.

Benchmarks: an indicator's ``benchmark`` in the survey spec (e.g. 1 for "has documents", 42 for a
food consumption score); where none is given, the comparison group's estimate in the household's
area. A ratio indicator is tested on the household's own ratio; a household where it does not
apply (no school-age children) passes it.

Counts are weighted totals with design-based CIs from the same engine: households, or people when
``people`` names a household-size column. Intervals are normal (Wald) intervals, cut at 0 (and at 1
for shares): a count cannot be negative.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

import ibis
import ibis.expr.types as ir
import pandas as pd

from idpkit.solutions.design import DesignError
from idpkit.solutions.estimate import Contrast, Indicator, estimate
from idpkit.solutions.indicators import CRITERIA, IndicatorSpec
from idpkit.solutions.store import AREA_COLUMN, GROUP_COLUMN, StoredSurvey
from idpkit.warehouse.warehouse import Warehouse

Method = Literal["full", "per_criterion", "cells"]
EXPERIMENTAL = "experimental (IRIS exit measure)"


@dataclass
class ExitMeasure:
    table: pd.DataFrame
    method: str
    note: str = EXPERIMENTAL


def _benchmarks(wh: Warehouse, survey: StoredSurvey, specs: list[IndicatorSpec],
                comparison: str) -> dict[str, dict[str | None, float]]:
    """Per indicator: area -> benchmark (``None`` key: the same everywhere)."""
    out: dict[str, dict[str | None, float]] = {}
    relative = [s for s in specs if s.benchmark is None]
    for s in specs:
        if s.benchmark is not None:
            out[s.name] = {None: float(s.benchmark)}
    if relative:
        national = comparison == "national"
        keys = ((AREA_COLUMN,) if survey.design.area else ()) + (() if national else
                                                                 (GROUP_COLUMN,))
        est = estimate(wh, survey.table, survey.design, [s.engine() for s in relative],
                       [keys]).estimates
        if not national:
            est = est[est[GROUP_COLUMN] == comparison]
        for s in relative:
            part = est[est.indicator == s.name]
            if survey.design.area:
                out[s.name] = dict(zip(part[AREA_COLUMN], part.estimate.astype(float),
                                       strict=True))
            else:
                out[s.name] = {None: float(part.estimate.iloc[0])}
    return out


def _household_value(t: ir.Table, s: IndicatorSpec) -> ir.FloatingValue:
    col = t[s.variable]
    if s.level is not None:
        return col.isnull().ifelse(ibis.null("float64"),
                                   (col.cast("string") == str(s.level)).ifelse(1.0, 0.0))
    y = col.cast("float64")
    if s.statistic == "ratio":
        x = t[s.denominator].cast("float64")
        return (x == 0).ifelse(ibis.null("float64"), y / x.nullif(0.0))
    return y


def _passes(t: ir.Table, s: IndicatorSpec, bench: dict[str | None, float]) -> ir.FloatingValue:
    """1.0 pass, 0.0 fail, NULL not assessed (missing)."""
    v = _household_value(t, s)
    if None in bench:
        b = ibis.literal(bench[None])
    else:
        area = t[AREA_COLUMN]
        b = area.cases(*[(k, float(v_)) for k, v_ in bench.items()], else_=ibis.null("float64"))
    ok = (v >= b) if s.better == "higher" else (v <= b)
    passed = ok.ifelse(1.0, 0.0)
    if s.statistic == "ratio":  # not applicable (no denominator) passes
        applicable = t[s.denominator].cast("float64") != 0
        missing = t[s.variable].isnull() | t[s.denominator].isnull()
        return missing.ifelse(ibis.null("float64"), applicable.ifelse(passed, 1.0))
    return (v.isnull() | b.isnull()).ifelse(ibis.null("float64"), passed)


def _all(values: list[ir.FloatingValue]) -> ir.FloatingValue:
    """Pass when all pass; NULL (not assessed) when any is missing — IRIS' rule."""
    any_missing = ibis.literal(False)
    for v in values:
        any_missing = any_missing | v.isnull()
    all_pass = ibis.literal(True)
    for v in values:
        all_pass = all_pass & (v.fill_null(0.0) == 1.0)
    return any_missing.ifelse(ibis.null("float64"), all_pass.ifelse(1.0, 0.0))


def exit_measure(wh: Warehouse, survey: StoredSurvey, *, method: Method = "full",
                 focal: str = "idps", comparison: str = "non_displaced",
                 people: str | None = None, cells: tuple[str, ...] | None = None,
                 confidence: float = 0.95) -> ExitMeasure:
    """Estimated number (and share) of ``focal`` households or people who overcame
    displacement-related vulnerabilities, per area and overall, with CIs. Experimental."""
    specs = [s for s in survey.indicators if s.sub_criterion or s.criterion]
    if not specs:
        raise DesignError("no indicator of the survey names an IRIS (sub-)criterion")
    if people and people not in survey.table.columns:
        raise DesignError(f"no column {people!r} for household size in the survey")
    t = survey.table
    keys = [(GROUP_COLUMN,)] + ([(AREA_COLUMN, GROUP_COLUMN)] if survey.design.area else [])
    if method == "cells":
        flags = _cell_flags(wh, survey, cells or ((AREA_COLUMN,) if survey.design.area else ()),
                            focal, comparison, confidence)
        outcomes = {"all criteria": flags}
    else:
        bench = _benchmarks(wh, survey, specs, comparison)
        passes = {s.name: _passes(t, s, bench[s.name]) for s in specs}
        outcomes = {}
        if method == "per_criterion":
            for crit in CRITERIA:
                mine = [passes[s.name] for s in specs if s.criterion == crit]
                if mine:
                    outcomes[crit] = _all(mine)
        outcomes["all criteria"] = _all(list(passes.values()))
    cols = {f"_x{i}": e for i, e in enumerate(outcomes.values())}
    size = t[people].cast("float64") if people else ibis.literal(1.0)
    derived = {}
    for i, name in enumerate(outcomes):
        derived[f"_n{i}"] = cols[f"_x{i}"].isnull().ifelse(ibis.null("float64"),
                                                          cols[f"_x{i}"] * size)
        derived[f"_a{i}"] = cols[f"_x{i}"].isnull().ifelse(0.0, 1.0)
    tt = t.mutate(**cols).mutate(**derived, _size=size)
    inds = []
    for i, _name in enumerate(outcomes):
        inds += [Indicator(f"n{i}", "total", f"_n{i}"),
                 Indicator(f"share{i}", "ratio", f"_n{i}", denominator="_size"),
                 Indicator(f"assessed{i}", "mean", f"_a{i}")]
    inds.append(Indicator("population", "total", "_size"))
    res = estimate(wh, tt, survey.design, inds, keys, confidence=confidence).estimates
    res = res[res[GROUP_COLUMN] == focal]
    rows = []
    unit = "people" if people else "households"
    for dom, part in res.groupby("by", sort=False):
        for _, d in part.groupby(AREA_COLUMN if dom != GROUP_COLUMN else GROUP_COLUMN,
                                 dropna=False):
            get = d.set_index("indicator")
            area = d[AREA_COLUMN].iloc[0] if AREA_COLUMN in d and dom != GROUP_COLUMN else "all"
            for i, name in enumerate(outcomes):
                n = get.loc[f"n{i}"]
                sh = get.loc[f"share{i}"]
                rows.append({
                    AREA_COLUMN: area, "outcome": name, "method": method, "unit": unit,
                    f"{focal}_{unit}": get.loc["population"].estimate,
                    "overcame": n.estimate, "overcame_ci_low": max(0.0, n.ci_low),
                    "overcame_ci_high": n.ci_high, "share": sh.estimate,
                    "share_ci_low": max(0.0, sh.ci_low), "share_ci_high": min(1.0, sh.ci_high),
                    "assessed_share": get.loc[f"assessed{i}"].estimate,
                    "households_assessed": int(n.n), "status": EXPERIMENTAL})
    table = pd.DataFrame(rows)
    if not table.empty:
        table["_o"] = table.area_pcode.eq("all")
        table = table.sort_values(["_o", AREA_COLUMN], kind="stable").drop(columns="_o")
    return ExitMeasure(table.reset_index(drop=True), method)


def _cell_flags(wh: Warehouse, survey: StoredSurvey, cells: tuple[str, ...], focal: str,
                comparison: str, confidence: float) -> ir.FloatingValue:
    """1.0 for households in cells where IDPs are not significantly worse off on any indicator."""
    t = survey.table
    if not cells:
        raise DesignError("homogeneous cells need cell columns (e.g. the area)")
    res = estimate(wh, t, survey.design, [s.engine() for s in survey.indicators],
                   [(*cells, GROUP_COLUMN)],
                   [Contrast(GROUP_COLUMN, focal, "*" if comparison == "national" else comparison)],
                   confidence=confidence).contrasts
    better = {s.name: s.better for s in survey.indicators}
    sign = res.indicator.map({n: (-1.0 if b == "higher" else 1.0) for n, b in better.items()})
    res["worse"] = res.significant & (res.difference * sign > 0)
    failing = res.groupby(list(cells)).worse.any()
    passing = [k if isinstance(k, tuple) else (k,) for k, bad in failing.items() if not bad]
    cond = ibis.literal(False)
    for key in passing:
        c = ibis.literal(True)
        for col, val in zip(cells, key, strict=True):
            c = c & (t[col] == val)
        cond = cond | c
    return cond.ifelse(1.0, 0.0)
