"""Plausibility checks on needs results: findings (warnings), never silent, never refusals.

Why warnings and not errors: both checks compare two defensible figures that disagree for known
reasons (a method's design; a survey and a stock from different dates or sources). The analyst
decides; idpkit makes sure the disagreement is seen, with the area, the group and both numbers.

Both work on the small per-area result tables (areas x groups x sectors), in pandas, vectorised.
"""

from __future__ import annotations

from datetime import date

import numpy as np
import pandas as pd

from idpkit.areas.findings import NeedsFinding
from idpkit.areas.rules import INTERSECTORAL, SeverityRules

MAX_FINDINGS = 200
"""Per check: the worst cases are listed, the rest counted in one more finding."""


def _more(n: int, code: str, what: str) -> list[NeedsFinding]:
    """The one finding that counts the cases beyond :data:`MAX_FINDINGS` (none when none)."""
    rest = n - MAX_FINDINGS
    return [NeedsFinding(code, f"{rest} more {what}")] if rest > 0 else []


def sector_exceeds_intersectoral(pin: pd.DataFrame, rules: SeverityRules) -> list[NeedsFinding]:
    """Under ``mean_top``, each area, group and sector whose people in need exceed the
    inter-sectoral people in need (``max`` cannot: a household in need in a sector is in need
    inter-sectorally). Largest excess first."""
    if rules.intersectoral.method != "mean_top" or pin.empty:
        return []
    keys = ["area_pcode", "population_group"]
    inter = pin[pin.sector == INTERSECTORAL][[*keys, "people_in_need"]].rename(
        columns={"people_in_need": "intersectoral"})
    sec = pin[pin.sector != INTERSECTORAL].merge(inter, on=keys, how="inner")
    over = sec[sec.people_in_need.notna() & (sec.people_in_need >
                                            sec.intersectoral.fillna(0) + 1e-9)]
    over = over.assign(_excess=over.people_in_need - over.intersectoral.fillna(0)).sort_values(
        ["_excess", *keys, "sector"], ascending=[False, True, True, True])
    code = "sector-pin-exceeds-intersectoral"
    found = [NeedsFinding(
        code, f"{r.area_pcode}, {r.population_group}: {r.people_in_need:,.0f} in need in "
        f"{r.sector} but {0 if pd.isna(r.intersectoral) else r.intersectoral:,.0f} "
        f"inter-sectorally (mean of the top {rules.intersectoral.top} sectors); "
        "intersectoral method max counts every household in need in any sector",
        area_pcode=r.area_pcode, population_group=r.population_group, sector=r.sector,
        people=float(r.people_in_need),
        compared_with=float(0 if pd.isna(r.intersectoral) else r.intersectoral))
        for r in over.head(MAX_FINDINGS).itertuples()]
    return found + _more(len(over), code, "area, group and sector rows")


def exceeds_stock(pin: pd.DataFrame, stock: pd.DataFrame, unit: str) -> list[NeedsFinding]:
    """Each area and group whose inter-sectoral people in need, or needs population, exceed the
    group's stock in the same area (``stock``: ``area_pcode``, ``population_group``, ``unit``,
    ``value``; only the same unit is compared). Largest ratio first."""
    if pin.empty or stock is None or stock.empty:
        return []
    keys = ["area_pcode", "population_group"]
    s = stock[(stock.unit == unit) & stock.value.notna()].groupby(keys, as_index=False).value.sum()
    inter = pin[pin.sector == INTERSECTORAL][[*keys, "people_in_need", "population"]]
    j = inter.merge(s, on=keys, how="inner")
    found = []
    for col, what in (("people_in_need", "people in need"), ("population", "needs population")):
        x = j[col].to_numpy(dtype=float)
        stock_v = j.value.to_numpy(dtype=float)
        with np.errstate(invalid="ignore"):
            hit = j[np.nan_to_num(x, nan=-1.0) > stock_v]
        hit = hit.assign(ratio=hit[col] / hit.value.where(hit.value > 0))
        found.append(hit.assign(compared=col, what=what, people=hit[col]))
    over = pd.concat(found, ignore_index=True)
    if over.empty:
        return []
    over = over.sort_values(["ratio", *keys], ascending=[False, True, True], na_position="first")
    code = "pin-exceeds-stock"
    out = [NeedsFinding(
        code, f"{r.area_pcode}, {r.population_group}: {r.what} {r.people:,.0f} exceed the "
        f"group's stock there ({r.value:,.0f} {unit})",
        area_pcode=r.area_pcode, population_group=r.population_group, sector=INTERSECTORAL,
        column=r.compared, people=float(r.people), compared_with=float(r.value))
        for r in over.head(MAX_FINDINGS).itertuples()]
    return out + _more(len(over), code, "area and group rows")


def stock_of_areas(wh, pin: pd.DataFrame, on: date | None) -> pd.DataFrame:
    """The displacement stock per area and group at each admin level ``pin`` holds, on ``on``
    (default: the latest stock date), as ``area_pcode``, ``population_group``, ``unit``,
    ``value``; only areas whose stock is complete (``coverage`` 1: every sub-area reported) —
    a partial stock is no ceiling. Empty when the warehouse holds no stock."""
    from idpkit.areas.profile import reference_date
    from idpkit.figures.stock import StockQuery, stock_frames

    empty = pd.DataFrame(columns=["area_pcode", "population_group", "unit", "value"])
    levels = sorted(set(pin.admin_level.dropna().astype(int))) if len(pin) else []
    if not levels or "observations" not in wh.con.list_tables():
        return empty
    on = on or reference_date(wh)
    if on is None:
        return empty
    frames = []
    for level, df in stock_frames(wh, StockQuery(on, by=()), levels).items():
        df = df.rename(columns={f"adm{level}_pcode": "area_pcode"})
        complete = df.coverage.isna() | (df.coverage >= 1 - 1e-9)
        frames.append(df[complete & df.area_pcode.isin(pin.area_pcode)][
            ["area_pcode", "population_group", "unit", "value"]])
    return pd.concat(frames, ignore_index=True) if frames else empty
