"""Hierarchical reconciliation: district forecasts that add up to their region's.

Method: MinT with a diagonal covariance (also called WLS-var; Wickramasuriya, Athanasopoulos &
Hyndman 2019) for a two-level hierarchy (regions → districts). Each series gets a weight ``w``, its
backtest mean squared error (the variance of its base forecast errors); the reconciled district
forecasts ``b`` minimise ``Σ (b_i − ŷ_i)² / w_i + (Σ b_i − ŷ_p)² / w_p`` and the region is their
sum. The closed form, per region ``p`` with districts ``i``::

    b_i = ŷ_i − w_i · (Σ ŷ_i − ŷ_p) / (w_p + Σ w_i)

Why this and not bottom-up: region totals are usually forecast better than noisy districts, and the
weights move the disagreement onto the series whose forecasts are least reliable. Negative values
are clipped to zero and the region recomputed as the sum, so coherence is exact. With no weights
(``None``) the structural choice ``w_i = 1``, ``w_p = number of districts`` is used.
"""

from __future__ import annotations

import numpy as np
import pandas as pd


def reconcile(bottom: np.ndarray, parent_of: np.ndarray, top: np.ndarray,
              w_bottom: np.ndarray | None = None, w_top: np.ndarray | None = None
              ) -> tuple[np.ndarray, np.ndarray]:
    """Reconcile ``bottom`` (n, H) with ``top`` (m, H); ``parent_of[i]`` is the row of ``top`` of
    district ``i``. Returns coherent (bottom, top)."""
    bottom = np.nan_to_num(np.asarray(bottom, dtype=float))
    top = np.asarray(top, dtype=float)
    m = len(top)
    counts = np.bincount(parent_of, minlength=m).astype(float)
    wb = np.ones(len(bottom)) if w_bottom is None else np.asarray(w_bottom, dtype=float)
    wt = counts.copy() if w_top is None else np.asarray(w_top, dtype=float)
    wb = np.where(np.isfinite(wb) & (wb > 0), wb, np.nanmedian(wb[wb > 0]) if (wb > 0).any()
                  else 1.0)
    wt = np.where(np.isfinite(wt) & (wt > 0), wt, counts)
    sums = np.zeros_like(top)
    np.add.at(sums, parent_of, bottom)
    wsum = np.bincount(parent_of, weights=wb, minlength=m)
    gap = np.where(np.isnan(top), 0.0, sums - top)  # a region without its own forecast: bottom-up
    adj = gap / (wt + wsum)[:, None]
    out = np.maximum(bottom - wb[:, None] * adj[parent_of], 0.0)
    tot = np.zeros_like(top)
    np.add.at(tot, parent_of, out)
    return out, tot


def parent_index(keys: pd.DataFrame, parents: pd.Series) -> np.ndarray:
    """Row in ``parents`` (area P-codes of the upper level) of each series' ``parent_pcode``."""
    idx = pd.Index(parents).get_indexer(keys["parent_pcode"])
    if (idx < 0).any():
        missing = keys.loc[idx < 0, "parent_pcode"].unique()[:3]
        raise ValueError(f"districts without a region among the forecasts: {list(missing)}")
    return idx


def aggregate_panel(panel):  # -> Panel
    """The upper-level panel: per parent and month, the sum of its districts (a gap when every
    district is a gap that month)."""
    from idpkit.forecast.series import Panel

    par = panel.keys["parent_pcode"].fillna("").to_numpy()
    codes, inv = np.unique(par, return_inverse=True)
    y = np.zeros((len(codes), panel.n_months))
    np.add.at(y, inv, np.nan_to_num(panel.y))
    seen = np.zeros_like(y)
    np.add.at(seen, inv, ~np.isnan(panel.y))
    y[seen == 0] = np.nan
    drivers = {}
    for k, d in panel.drivers.items():
        a = np.zeros_like(y)
        np.add.at(a, inv, np.nan_to_num(d))
        drivers[k] = a
    lvl = panel.keys["admin_level"].iloc[0]
    keys = pd.DataFrame({"area_pcode": codes, "area_name": None,
                         "admin_level": (lvl - 1) if lvl is not None else None,
                         "parent_pcode": None, "target": panel.keys["target"].iloc[0],
                         "population_group": panel.keys["population_group"].iloc[0],
                         "unit": panel.keys["unit"].iloc[0]})
    return Panel(keys, panel.months, y, drivers, panel.steps)
