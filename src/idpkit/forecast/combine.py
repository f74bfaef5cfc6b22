"""Combinations of forecasts and the honest choice of model, both built from the backtest's long
table of member predictions (cheap: no model is refitted).

* ``combo_median`` / ``combo_mean`` — median / mean of the members' points. Why: no single model
  wins on every displacement series; the median of a few diverse forecasts is robust to the one
  that explodes or lags (outside measurements: +0.15–0.27 MAE skill vs the expanding mean).
* ``blend_em`` — ``expm1(w·log1p(partner) + (1−w)·log1p(expanding mean))``, partner the first of
  :data:`BLEND_PARTNERS` that ran. ``w`` is chosen per horizon on a grid from the errors of
  forecasts whose *target month* is at or before the origin (known then); no such error → 0.5.
  Why log scale: it shrinks a model's surge forecast towards the long-run level geometrically.
* ``selected`` — at origin ``o``, each series takes the forecast of the model (members and
  combinations) with the lowest MAE over that series' forecasts whose target month ≤ ``o``; a
  series with fewer than :data:`MIN_SERIES_ERRORS` such errors takes the model with the lowest
  MAE pooled over all series. Ties go to the first in the order baselines, candidates,
  combinations. Why: choosing each series' model on the very forecasts it is then scored on
  (the old ``choose``) overstated what a user gets; this row is scored out of sample like any
  model, and ``forecast run`` applies the same rule at the last month.

No look-ahead: every quantity used at origin ``o`` comes from rows with ``origin + horizon ≤ o``
and from member forecasts made at ``o`` (themselves built from a cut panel).
"""

from __future__ import annotations

import warnings
from collections.abc import Sequence

import numpy as np
import pandas as pd

from idpkit.forecast.baselines import BASELINES

COMBO_MEMBERS = ("naive", "expanding_mean", "ets", "arima", "lgbm")
BLEND_PARTNERS = ("ets", "arima", "lgbm")
BLEND_GRID = np.round(np.linspace(0.0, 1.0, 11), 2)
MIN_SERIES_ERRORS = 24  # fewer: a series' own MAE is noise (see docs/forecast.md)
SELECTED = "selected"
COMBINATIONS = ("combo_median", "combo_mean", "blend_em")
DERIVED = (*COMBINATIONS, SELECTED)
KEY = ["series", "origin", "horizon"]


def members(ran: Sequence[str]) -> list[str]:
    """The members of ``combo_*``: those of :data:`COMBO_MEMBERS` that ran; if fewer than three
    of them ran, every base model that ran (a median of two is their mean)."""
    m = [x for x in COMBO_MEMBERS if x in ran]
    return m if len(m) >= 3 else [x for x in ran if x not in DERIVED]


def blend_partner(ran: Sequence[str]) -> str | None:
    return next((m for m in BLEND_PARTNERS if m in ran), None)


def blend(partner: np.ndarray, mean: np.ndarray, w: np.ndarray | float) -> np.ndarray:
    return np.expm1(w * np.log1p(np.maximum(partner, 0.0))
                    + (1 - w) * np.log1p(np.maximum(mean, 0.0)))


def blend_weights(partner: np.ndarray, mean: np.ndarray, actual: np.ndarray, target: np.ndarray,
                  horizon: np.ndarray, q_origin: np.ndarray, q_horizon: np.ndarray) -> np.ndarray:
    """Weight of the partner for each query (origin, horizon): the grid value with the lowest
    MAE over rows of that horizon whose target month ≤ the query origin (0.5 when none)."""
    size = int(max(target.max(initial=0), q_origin.max(initial=0))) + 2
    out = np.full(len(q_origin), 0.5)
    for k in np.unique(q_horizon):
        r = (horizon == k) & ~np.isnan(actual)
        err = np.abs(actual[r, None] - blend(partner[r, None], mean[r, None], BLEND_GRID[None]))
        ok = ~np.isnan(err)
        s, c = np.zeros((size, len(BLEND_GRID))), np.zeros((size, len(BLEND_GRID)))
        np.add.at(s, target[r], np.where(ok, err, 0.0))
        np.add.at(c, target[r], ok)
        s, c = s.cumsum(axis=0), c.cumsum(axis=0)
        q = q_horizon == k
        o = q_origin[q]
        with np.errstate(invalid="ignore", divide="ignore"):
            mae = np.where(c[o] > 0, s[o] / np.maximum(c[o], 1), np.inf)
        has = np.isfinite(mae).any(axis=1)
        out[q] = np.where(has, BLEND_GRID[np.argmin(mae, axis=1)], 0.5)
    return out


def _ordered(names: Sequence[str]) -> list[str]:
    """Baselines first, then single candidates, then combinations: ties go to the simpler."""
    base = [m for m in BASELINES if m in names]
    comb = [m for m in COMBINATIONS if m in names]
    return base + sorted(m for m in names if m not in base and m not in comb
                         and m != SELECTED) + comb


def past_errors(points: np.ndarray, actual: np.ndarray, series: np.ndarray, target: np.ndarray,
                n_series: int, size: int) -> tuple[np.ndarray, np.ndarray]:
    """Cumulative absolute errors and counts per series, target month and model:
    ``(n_series, size, M)`` each; ``[s, t]`` sums rows of series ``s`` whose target ≤ ``t``."""
    err = np.abs(actual[:, None] - points)
    ok = ~np.isnan(err)
    s = np.zeros((n_series, size, points.shape[1]))
    c = np.zeros_like(s)
    np.add.at(s, (series, target), np.where(ok, err, 0.0))
    np.add.at(c, (series, target), ok)
    return s.cumsum(axis=1), c.cumsum(axis=1)


def pick(s: np.ndarray, c: np.ndarray, series: np.ndarray, at: np.ndarray) -> np.ndarray:
    """Index of the model chosen for each query (series, month ``at``): lowest past MAE of that
    series, or pooled over series when it has fewer than :data:`MIN_SERIES_ERRORS` errors."""
    with np.errstate(invalid="ignore", divide="ignore"):
        own = np.where(c[series, at] > 0, s[series, at] / np.maximum(c[series, at], 1), np.inf)
        gs, gc = s.sum(axis=0)[at], c.sum(axis=0)[at]
        pooled = np.where(gc > 0, gs / np.maximum(gc, 1), np.inf)
    enough = c[series, at].max(axis=1) >= MIN_SERIES_ERRORS
    mae = np.where(enough[:, None], own, pooled)
    return np.argmin(mae, axis=1)  # first of equal minima (all inf: the first, a baseline)


def add_derived(pred: pd.DataFrame) -> pd.DataFrame:
    """``pred`` with rows of the combinations and of ``selected`` appended (points only; intervals
    are added later like for any model)."""
    ran = list(dict.fromkeys(pred["model"]))
    wide = pred.pivot_table(index=KEY, columns="model", values="point", dropna=False,
                            aggfunc="first")
    info = pred[pred.model == ran[0]].set_index(KEY).reindex(wide.index)
    info = info.drop(columns=["model", "point"]).reset_index()
    mem = members(ran)
    with warnings.catch_warnings():  # a row where every member is missing stays missing
        warnings.simplefilter("ignore", RuntimeWarning)
        wide["combo_median"] = np.nanmedian(wide[mem].to_numpy(), axis=1)
        wide["combo_mean"] = np.nanmean(wide[mem].to_numpy(), axis=1)
    partner = blend_partner(ran)
    actual = info["actual"].to_numpy(dtype=float)
    origin, horizon = info["origin"].to_numpy(), info["horizon"].to_numpy()
    target = origin + horizon
    if partner is not None and "expanding_mean" in wide:
        a, b = wide[partner].to_numpy(), wide["expanding_mean"].to_numpy()
        w = blend_weights(a, b, actual, target, horizon, origin, horizon)
        wide["blend_em"] = blend(a, b, w)
    names = _ordered(list(wide.columns))
    pts = wide[names].to_numpy()
    series = info["series"].to_numpy()
    size = int(target.max()) + 2
    s, c = past_errors(pts, actual, series, target, int(series.max()) + 1, size)
    idx = pick(s, c, series, origin)
    wide[SELECTED] = pts[np.arange(len(pts)), idx]
    new = [m for m in (*COMBINATIONS, SELECTED) if m in wide]
    rows = [info.assign(model=m, point=wide[m].to_numpy()) for m in new]
    return pd.concat([pred, *rows], ignore_index=True)[pred.columns]


def current_choice(pred: pd.DataFrame, n_series: int, at: int) -> pd.DataFrame:
    """What ``forecast run`` uses from month index ``at``: per series, the model ``selected``
    would take at that origin (every backtest error is known then). Columns: ``series``,
    ``model``, ``mae`` (its backtest MAE on that series), ``mae_expanding_mean``, ``pooled``
    (True when the series had too few errors and the pooled choice was taken)."""
    p = pred[pred.model != SELECTED]
    names = _ordered(list(dict.fromkeys(p["model"])))
    wide = p.pivot_table(index=KEY, columns="model", values="point", dropna=False,
                         aggfunc="first")[names]
    info = p[p.model == names[0]].set_index(KEY).reindex(wide.index).reset_index()
    target = (info["origin"] + info["horizon"]).to_numpy()
    size = max(int(target.max()) + 2, at + 1)
    s, c = past_errors(wide.to_numpy(), info["actual"].to_numpy(dtype=float),
                       info["series"].to_numpy(), target, n_series, size)
    series = np.arange(n_series)
    idx = pick(s, c, series, np.full(n_series, at))
    with np.errstate(invalid="ignore", divide="ignore"):
        mae = s[series, at] / c[series, at]
    em = names.index("expanding_mean") if "expanding_mean" in names else 0
    return pd.DataFrame({"series": series, "model": [names[i] for i in idx],
                         "mae": mae[series, idx], "mae_expanding_mean": mae[:, em],
                         "pooled": c[series, at].max(axis=1) < MIN_SERIES_ERRORS})


def current_blend_weight(pred: pd.DataFrame, partner: str, at: int, horizons: int) -> np.ndarray:
    """``blend_em``'s weight per horizon for a forecast from month index ``at`` (same rule)."""
    a = pred[pred.model == partner].sort_values(KEY)
    b = pred[pred.model == "expanding_mean"].sort_values(KEY)
    k = a["horizon"].to_numpy()
    q = np.arange(1, horizons + 1)
    return blend_weights(a["point"].to_numpy(), b["point"].to_numpy(),
                         a["actual"].to_numpy(dtype=float), (a["origin"] + a["horizon"]).to_numpy(),
                         k, np.full(horizons, at), q)
