"""Prediction intervals by split conformal prediction on backtest residuals.

Why conformal and on the original scale: model-based intervals on a log scale explode when
back-transformed (``expm1`` of an upper log quantile three months out is routinely 10–100× the
forecast). Here an interval is ``point + q × scale``, where ``q`` are empirical quantiles of past
*scaled* errors ``(actual − point) / scale`` of the same model and horizon, and ``scale`` is the
series' own mean monthly change (:func:`~.metrics.mase_scale`) — so the upper bound grows with how
much the series moves, never exponentially, is bounded by the worst errors actually seen, and
is capped at three times the largest value the series has shown.

Only residuals whose target month is at or before the origin are used (no look-ahead: at origin
``o``, horizon ``k``, a residual from origin ``o'`` is usable when ``o' + k ≤ o``). Residuals are
pooled across series and stratified by how busy the series is (three bands of ``scale``), because
quiet districts err differently from busy ones.
"""

from __future__ import annotations

import numpy as np

LEVELS = {80: (0.10, 0.90), 95: (0.025, 0.975)}
# fewest residuals for a finite split-conformal bound, ceil((n + 1) * 0.975) <= n: 39 for a 95%
# interval, 9 for an 80% one; below that the interval is left empty rather than invented
MIN_RESIDUALS = {80: 9, 95: 39}


def scaled_quantiles(residuals: np.ndarray) -> dict[int, tuple[float, float]]:
    """Conformal quantiles of scaled residuals for each interval level (finite-sample corrected)."""
    r = residuals[~np.isnan(residuals)]
    n = len(r)
    out = {}
    for level, (lo, hi) in LEVELS.items():
        if n < MIN_RESIDUALS[level]:
            out[level] = (np.nan, np.nan)
            continue
        qlo = np.quantile(r, max(0.0, np.floor(lo * (n + 1)) / n), method="lower")
        qhi = np.quantile(r, min(1.0, np.ceil(hi * (n + 1)) / n), method="higher")
        out[level] = (float(qlo), float(qhi))
    return out


def band_of(scale: np.ndarray, edges: np.ndarray) -> np.ndarray:
    return np.searchsorted(edges, scale, side="right")


def band_edges(scale: np.ndarray) -> np.ndarray:
    """Two cut points splitting series into quiet / middle / busy thirds by their scale."""
    s = scale[~np.isnan(scale)]
    if len(s) < 3:
        return np.array([np.inf, np.inf])
    return np.quantile(s, [1 / 3, 2 / 3])


CAP = 3.0  # points and upper bounds never above 3× the largest value the series has shown


def cap_points(point: np.ndarray, history_max: np.ndarray) -> np.ndarray:
    """``point`` capped at :data:`CAP` × the series' largest value up to the origin (at least
    ``CAP``; ``history_max`` broadcast against ``point``). Why every model: a back-transformed
    log-scale forecast with a trend explodes (seen: 3.8e8, above a country's population), and a
    displacement figure three times anything the area has shown is not a forecast anyone can
    plan with. Missing stays missing."""
    cap = CAP * np.maximum(np.nan_to_num(np.asarray(history_max, dtype=float)), 1.0)
    return np.where(np.isnan(point), np.nan, np.minimum(point, cap))


def apply(point: np.ndarray, scale: np.ndarray, q: dict[int, tuple[float, float]],
          cap: np.ndarray | None = None) -> dict[str, np.ndarray]:
    """``lo80``, ``hi80``, ``lo95``, ``hi95`` for forecasts ``point`` (never below zero; upper
    bounds capped at ``cap`` when given, but never below the point)."""
    out = {}
    for level, (qlo, qhi) in q.items():
        lo = np.maximum(point + qlo * scale, 0.0)
        hi = point + qhi * scale
        if cap is not None:
            hi = np.minimum(hi, np.maximum(cap, point))
            lo = np.minimum(lo, hi)
        out[f"lo{level}"] = lo
        out[f"hi{level}"] = np.maximum(hi, lo)
    return out


def conformal(point: np.ndarray, scale: np.ndarray, residuals: np.ndarray,
              residual_scale: np.ndarray, history_max: np.ndarray | None = None
              ) -> dict[str, np.ndarray]:
    """Intervals for ``point`` (1-D) from past scaled ``residuals`` and the scales of the series
    they came from, stratified by band of scale (falling back to all residuals when a band has
    too few). ``history_max``: largest value of each series so far; upper bounds are capped at
    :data:`CAP` × it — why: pooled residuals of volatile series would otherwise give a steady
    series an upper bound it has never come near."""
    cap = None if history_max is None else CAP * np.maximum(np.nan_to_num(history_max), 1.0)
    edges = band_edges(residual_scale)
    b_now, b_res = band_of(scale, edges), band_of(residual_scale, edges)
    pooled = scaled_quantiles(residuals)
    res = {k: np.full(len(point), np.nan) for k in ("lo80", "hi80", "lo95", "hi95")}
    for b in np.unique(b_now):
        rows = b_now == b
        q = scaled_quantiles(residuals[b_res == b])
        q = {lv: (v if not np.isnan(v[0]) else pooled[lv]) for lv, v in q.items()}
        if not np.isnan(q[95][0]):  # a 95% interval never inside the 80% one (bands may differ)
            q[95] = (min(q[95][0], q[80][0]), max(q[95][1], q[80][1]))
        for k, v in apply(point[rows], scale[rows], q,
                          None if cap is None else cap[rows]).items():
            res[k][rows] = v
    return res
