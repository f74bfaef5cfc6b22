"""The published stock: one rounded-and-suppressed table that every public number comes from.

Why one table: a rounded total is not the sum of rounded parts. A situation report that adds its
rounded cause cells ("IDPs 168,530") disagrees with a trend, a dashboard and an API that round the
exact total (170,000), and readers then trust none of them. So every total a public output shows is
*computed exactly and rounded once*, and all outputs read the same rows:

* ``by_cause[level]`` — cells per area × population group × unit × cause (the release's
  ``stock_admN.csv``);
* ``totals[level]`` — per area × population group × unit over all causes (``cause = "all"``),
  rounded from the exact area total (``stock_admN_totals.csv``; the API's stock without a cause
  breakdown gives the same numbers);
* level 0 of both — per country;
* ``headline`` — per population group × unit over every country in the warehouse, rounded from
  the exact sum (the situation report's key figures); ``cause_totals`` the same by cause.

The exact figures never leave this module's callers' trusted side: what is returned is already
under the publication rules (:func:`idpkit.figures.publication.apply_publication_rules`).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date

import pandas as pd

from idpkit.figures.publication import (DEFAULT_SUPPRESS_BELOW, apply_publication_rules,
                                        idmc_round)
from idpkit.figures.stock import StockQuery, chosen_rows, stock_frames
from idpkit.warehouse.warehouse import Warehouse


@dataclass
class PublishedStock:
    """The public stock at one reference date (see the module docstring)."""

    reference_date: date
    suppress_below: int
    by_cause: dict[int, pd.DataFrame] = field(default_factory=dict)
    totals: dict[int, pd.DataFrame] = field(default_factory=dict)
    headline: pd.DataFrame = field(default_factory=pd.DataFrame)
    cause_totals: pd.DataFrame = field(default_factory=pd.DataFrame)

    def total(self, group: str, unit: str = "individuals") -> float:
        """The headline number of a group (NaN when nothing is published for it)."""
        h = self.headline
        v = h[(h.population_group == group) & (h.unit == unit)].value
        return float(v.iloc[0]) if len(v) else float("nan")

    def causes(self, group: str = "idps", unit: str = "individuals") -> pd.Series:
        """A group's published values by cause over every country (cause -> value)."""
        c = self.cause_totals
        part = c[(c.population_group == group) & (c.unit == unit)]
        return part.set_index("cause").value


def published_stock(wh: Warehouse, reference_date: date, levels: list[int], *,
                    suppress_below: int = DEFAULT_SUPPRESS_BELOW) -> PublishedStock:
    """Stock cells and totals at ``levels`` (level 0 is always added), all under the publication
    rules, each number rounded from its exact value."""
    all_levels = sorted({0, *levels})
    q = StockQuery(reference_date, by=("cause",))
    with wh.scratch():
        rows = chosen_rows(wh, q)
        cells = stock_frames(wh, q, all_levels, rows=rows)
        totals = stock_frames(wh, StockQuery(reference_date, by=()), all_levels, rows=rows)
    out = PublishedStock(reference_date, suppress_below)
    for lv in all_levels:
        out.by_cause[lv] = apply_publication_rules(cells[lv], ("value",), suppress_below)
        out.totals[lv] = apply_publication_rules(totals[lv], ("value",), suppress_below)
    out.headline = _rounded_sums(totals[0], ["population_group", "unit"], suppress_below)
    out.cause_totals = _rounded_sums(cells[0], ["population_group", "unit", "cause"],
                                     suppress_below)
    return out


def _rounded_sums(exact: pd.DataFrame, keys: list[str], suppress_below: int) -> pd.DataFrame:
    """Exact sums over countries by ``keys``, then the publication rules (suppression and
    rounding) on each sum."""
    if exact.empty:
        return pd.DataFrame(columns=[*keys, "value", "suppressed"])
    sums = exact.groupby(keys, dropna=False).value.sum(min_count=1).reset_index()
    small = (sums.value.abs() > 0) & (sums.value.abs() < suppress_below)
    sums["value"] = idmc_round(sums.value.mask(small))
    sums["suppressed"] = small.to_numpy()
    return sums
