"""The baselines every backtest computes, and that every candidate must beat to be chosen.

Why these four: the expanding mean is what published displacement forecasts struggle to beat
(UNHCR's Project Jetson beat it by about 2% at one month); naive and seasonal naive are the scales of
MASE and the honest "nothing changes" answer; a short moving average is the analyst's rule of thumb.
All are vectorised over series: ``(n, T)`` history with ``NaN`` gaps in, ``(n, H)`` forecasts out.
"""

from __future__ import annotations

import warnings

import numpy as np

from idpkit.forecast.series import Panel


def last_observed(y: np.ndarray) -> np.ndarray:
    """Last non-missing value of each row (``NaN`` if the row has none)."""
    ok = ~np.isnan(y)
    idx = np.where(ok.any(axis=1), y.shape[1] - 1 - np.argmax(ok[:, ::-1], axis=1), 0)
    out = y[np.arange(len(y)), idx]
    return np.where(ok.any(axis=1), out, np.nan)


def _nanmean(a: np.ndarray, axis: int = 1) -> np.ndarray:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        return np.nanmean(a, axis=axis)


def naive(p: Panel, h: int) -> np.ndarray:
    return np.repeat(last_observed(p.y)[:, None], h, axis=1)


def expanding_mean(p: Panel, h: int) -> np.ndarray:
    return np.repeat(_nanmean(p.y)[:, None], h, axis=1)


def moving_average(p: Panel, h: int, window: int = 3) -> np.ndarray:
    m = _nanmean(p.y[:, -window:])
    m = np.where(np.isnan(m), last_observed(p.y), m)
    return np.repeat(m[:, None], h, axis=1)


def seasonal_naive(p: Panel, h: int) -> np.ndarray:
    """Value twelve months before the target month; the naive forecast where that is missing (or
    when steps are assessment rounds, which have no season)."""
    out = naive(p, h)
    s, t = p.season_length, p.n_months
    if not s:
        return out
    for k in range(1, h + 1):
        src = t - 1 + k - s
        if 0 <= src < t:
            v = p.y[:, src]
            out[:, k - 1] = np.where(np.isnan(v), out[:, k - 1], v)
    return out


BASELINES = {"naive": naive, "seasonal_naive": seasonal_naive, "expanding_mean": expanding_mean,
             "moving_average": moving_average}
