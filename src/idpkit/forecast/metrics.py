"""Forecast accuracy measures, on arrays (one value per scored forecast).

Why each: MAE is what an operation plans with (people); RMSE punishes missing a surge; MASE divides
by the series' own one-month naive error so quiet and busy areas weigh alike; coverage says whether an
80% interval holds the truth 80% of the time; pinball loss (averaged over the quantiles we publish,
the point forecast as the median) is a discrete approximation of CRPS and rewards sharp *and*
calibrated intervals.
"""

from __future__ import annotations

import numpy as np

QUANTILES = (0.025, 0.1, 0.5, 0.9, 0.975)


def mae(actual: np.ndarray, pred: np.ndarray) -> float:
    return float(np.mean(np.abs(actual - pred)))


def rmse(actual: np.ndarray, pred: np.ndarray) -> float:
    return float(np.sqrt(np.mean((actual - pred) ** 2)))


def mase_scale(history: np.ndarray) -> np.ndarray:
    """Per row: mean absolute change between consecutive observed months (gaps skipped, not
    bridged). Where the history has no two consecutive values or never changes: 10% of its last
    observed level, at least 1 (keeps MASE finite and intervals proportionate to the series)."""
    d = np.abs(np.diff(history, axis=1))
    ok = ~np.isnan(d)
    with np.errstate(invalid="ignore", divide="ignore"):
        s = np.where(ok.sum(axis=1) > 0, np.nansum(d, axis=1) / np.maximum(ok.sum(axis=1), 1),
                     np.nan)
    from idpkit.forecast.baselines import last_observed

    fallback = np.maximum(0.1 * np.abs(np.nan_to_num(last_observed(history))), 1.0)
    return np.where(np.isnan(s) | (s <= 0), fallback, s)


def mase(actual: np.ndarray, pred: np.ndarray, scale: np.ndarray) -> float:
    return float(np.mean(np.abs(actual - pred) / scale))


def coverage(actual: np.ndarray, lo: np.ndarray, hi: np.ndarray) -> float:
    ok = ~(np.isnan(lo) | np.isnan(hi))
    if not ok.any():
        return float("nan")
    return float(np.mean((actual[ok] >= lo[ok]) & (actual[ok] <= hi[ok])))


def pinball(actual: np.ndarray, q: np.ndarray, tau: float) -> float:
    """Mean quantile (pinball) loss of forecasts ``q`` of quantile ``tau``."""
    d = actual - q
    return float(np.mean(np.maximum(tau * d, (tau - 1) * d)))


def mean_pinball(actual: np.ndarray, quantiles: dict[float, np.ndarray]) -> float:
    """Mean over the given quantiles (rows where any quantile is missing are left out)."""
    ok = np.all([~np.isnan(v) for v in quantiles.values()], axis=0)
    if not ok.any():
        return float("nan")
    return float(np.mean([pinball(actual[ok], v[ok], t) for t, v in quantiles.items()]))


def skill(model_error: float, baseline_error: float) -> float:
    """1 − model/baseline: 0.15 means 15% lower error than the baseline; negative is worse."""
    if not baseline_error:
        return float("nan")
    return 1.0 - model_error / baseline_error
