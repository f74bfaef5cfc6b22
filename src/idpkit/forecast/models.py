"""Candidate models: statistical per series (statsforecast) and one global gradient-boosted model.

Every model is a function ``(panel, horizon, seed) -> (n, horizon)`` that receives a panel already
cut at its origin (:meth:`Panel.cut`): what is not in the arrays does not exist for the model.

* ``ets`` / ``arima`` — AutoETS / AutoARIMA on ``log1p`` of the series. Why log: displacement is
  multiplicative (a surge doubles, it does not add 100). Why the back-transformation is *clipped*:
  ``expm1`` of a log-scale forecast with a trend explodes within three months (published work shows
  exactly that); the forecast median is therefore bounded by 3× the largest value seen, and the
  intervals are not exponentiated at all (they come from :mod:`intervals`, on the original scale).
* ``croston_sba`` / ``tsb`` — intermittent-demand models for sparse districts (most months zero).
* ``lgbm`` — one LightGBM model across all series per horizon (direct strategy), Tweedie objective,
  target divided by each series' recent level so large and small areas share one model. Features at
  the origin only: lags 0–5 and 11, rolling means over 3/6/12 months, expanding mean, growth, share
  of zero months, the month of the target and its value one and two years before, the parent's
  total, and each driver (value at the origin and one month before, relative to its own mean, its
  change, and its sum over the parent: conflict regimes are regional). Why not mlforecast
  (declared): its recursive and direct modes both ask for *future* values of dynamic drivers at
  predict time; forecasting conflict to forecast displacement is not on offer, so the features are
  built here, at the origin, in numpy, and the
  guarantee against look-ahead stays structural.

Gaps inside the history are interpolated for the statistical models (between two known values,
both at or before the origin); leading gaps are dropped.
"""

from __future__ import annotations

import warnings
from collections.abc import Callable

import numpy as np
import pandas as pd

from idpkit.forecast.baselines import BASELINES, last_observed, naive
from idpkit.forecast.series import Panel

Model = Callable[[Panel, int, int], np.ndarray]
MIN_STAT_LENGTH = 6


def _interpolated(y: np.ndarray) -> np.ndarray:
    """Interpolate inside gaps of each row; leading and trailing gaps stay missing."""
    return pd.DataFrame(y).interpolate(axis=1, limit_area="inside").to_numpy()


def _statsforecast(p: Panel, h: int, make, *, log: bool) -> np.ndarray:
    from statsforecast import StatsForecast

    y = _interpolated(p.y)
    out = naive(p, h)  # fallback for series too short to fit
    ok = ~np.isnan(y)
    first = np.argmax(ok, axis=1)
    last = y.shape[1] - 1 - np.argmax(ok[:, ::-1], axis=1)
    length = np.where(ok.any(axis=1), last - first + 1, 0)
    fit = np.flatnonzero(length >= MIN_STAT_LENGTH)
    if len(fit) == 0:
        return out
    rows, ds, vals = [], [], []
    for i in fit:  # one slice per series (not per row of data): builds the long frame
        seg = y[i, first[i]:last[i] + 1]
        rows.append(np.full(len(seg), i))
        ds.append(np.arange(len(seg)))
        vals.append(seg)
    v = np.concatenate(vals)
    v = np.log1p(np.maximum(v, 0)) if log else np.maximum(v, 0)
    df = pd.DataFrame({"unique_id": np.concatenate(rows), "ds": np.concatenate(ds), "y": v})
    season = p.season_length if p.season_length and length[fit].min() >= 3 * p.season_length else 1
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        from statsforecast.models import Naive

        # a series the model cannot fit (too short for its parameters) gets the naive forecast
        sf = StatsForecast(models=[make(season)], freq=1, n_jobs=1, fallback_model=Naive())
        fc = sf.forecast(df=df, h=h)
    col = next(c for c in fc.columns if c not in ("unique_id", "ds"))
    fc = fc.sort_values(["unique_id", "ds"])
    ids = fc["unique_id"].to_numpy().reshape(-1, h)[:, 0].astype(int)
    vals = fc[col].to_numpy(dtype=float).reshape(-1, h)
    if log:
        cap = np.log1p(3 * np.nanmax(np.maximum(y[ids], 0), axis=1))
        vals = np.expm1(np.minimum(vals, cap[:, None]))
    vals = np.where(np.isfinite(vals), np.maximum(vals, 0), out[ids])
    out[ids] = vals
    return out


def ets(p: Panel, h: int, seed: int = 0) -> np.ndarray:
    from statsforecast.models import AutoETS

    return _statsforecast(p, h, lambda s: AutoETS(season_length=s, model="ZZN" if s == 1
                                                  else "ZZZ"), log=True)


def arima(p: Panel, h: int, seed: int = 0) -> np.ndarray:
    from statsforecast.models import AutoARIMA

    return _statsforecast(p, h, lambda s: AutoARIMA(season_length=s, max_p=2, max_q=2, max_P=1,
                                                    max_Q=1, stepwise=True), log=True)


def croston_sba(p: Panel, h: int, seed: int = 0) -> np.ndarray:
    from statsforecast.models import CrostonSBA

    return _statsforecast(p, h, lambda s: CrostonSBA(), log=False)


def tsb(p: Panel, h: int, seed: int = 0) -> np.ndarray:
    from statsforecast.models import TSB

    return _statsforecast(p, h, lambda s: TSB(alpha_d=0.2, alpha_p=0.2), log=False)


# ---------------------------------------------------------------- global gradient boosting


def _window_mean(y: np.ndarray, w: int | None) -> np.ndarray:
    """Mean of the last ``w`` months up to and including each month (``None``: all), ignoring
    gaps; ``NaN`` where the window holds no value. Shape like ``y``."""
    f = np.nan_to_num(y)
    c = (~np.isnan(y)).astype(float)
    cs = np.cumsum(f, axis=1)
    cc = np.cumsum(c, axis=1)
    if w is not None:
        cs[:, w:] = cs[:, w:] - cs[:, :-w].copy()
        cc[:, w:] = cc[:, w:] - cc[:, :-w].copy()
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(cc > 0, cs / np.maximum(cc, 1), np.nan)


def _lag(a: np.ndarray, k: int) -> np.ndarray:
    if k == 0:
        return a
    out = np.full_like(a, np.nan)
    out[:, k:] = a[:, :-k]
    return out


def _parent_totals(p: Panel) -> np.ndarray:
    par = p.keys["parent_pcode"].fillna("").to_numpy()
    _, inv = np.unique(par, return_inverse=True)
    tot = np.zeros((inv.max() + 1, p.n_months))
    np.add.at(tot, inv, np.nan_to_num(p.y))
    return tot[inv]


def feature_cube(p: Panel) -> tuple[np.ndarray, list[str], np.ndarray]:
    """Features of every series at every month as the *origin* of a forecast: ``(n, T, F)``,
    their names, and the scale each series' target is divided by, ``(n, T)``.

    Each feature at month ``s`` uses months ``≤ s`` only (lags and trailing windows)."""
    y = p.y
    recent, ever = _window_mean(y, 12), _window_mean(y, None)
    scale = np.nan_to_num(np.where(np.isnan(recent), ever, recent), nan=0.0) + 1.0
    feats: dict[str, np.ndarray] = {}
    for k in (0, 1, 2, 3, 4, 5, 11):
        feats[f"lag{k}"] = _lag(y, k) / scale
    for w in (3, 6, 12):
        feats[f"mean{w}"] = _window_mean(y, w) / scale
    feats["mean_all"] = _window_mean(y, None) / scale
    feats["log_scale"] = np.log(scale)
    feats["growth"] = feats["lag0"] - feats["mean3"]
    feats["zeros12"] = _window_mean((y == 0).astype(float) + np.where(np.isnan(y), np.nan, 0), 12)
    par = _parent_totals(p)
    pscale = _window_mean(par, 12) + 1.0
    feats["parent_lag0"] = par / pscale
    feats["parent_growth"] = (par - _window_mean(par, 3)) / pscale
    feats["share_of_parent"] = _window_mean(y, 12) / pscale
    par_code = p.keys["parent_pcode"].fillna("").to_numpy()
    _, inv = np.unique(par_code, return_inverse=True)
    for name, d in sorted(p.drivers.items()):
        dm = _window_mean(np.abs(d), None) + 1.0
        feats[f"{name}_0"] = d
        feats[f"{name}_1"] = _lag(d, 1)
        feats[f"{name}_rel"] = d / dm
        feats[f"{name}_chg"] = (d - _window_mean(_lag(d, 1), 3)) / dm
        # the same driver over the whole region: conflict regimes are regional and last
        tot = np.zeros((inv.max() + 1, p.n_months))
        np.add.at(tot, inv, np.nan_to_num(d))
        tot = tot[inv]
        feats[f"{name}_region_rel"] = tot / (_window_mean(np.abs(tot), None) + 1.0)
        feats[f"{name}_region_mean3"] = _window_mean(tot, 3) / (_window_mean(np.abs(tot), None)
                                                               + 1.0)
    names = list(feats)
    return np.stack([feats[n] for n in names], axis=2), names, scale


def _seasonal_lags(p: Panel, scale: np.ndarray, k: int) -> np.ndarray:
    """For origin ``s`` and horizon ``k``: the value of the *target* month one and two years
    earlier (``y[s + k - 12]``, ``y[s + k - 24]``), known at the origin for ``k ≤ 12``; missing
    when steps are assessment rounds (no season)."""
    n, t = p.y.shape
    out = np.full((n, t, 2), np.nan)
    if p.season_length and k <= p.season_length:
        for j, back in enumerate((12 - k, 24 - k)):
            out[:, :, j] = _lag(p.y, back) / scale
    return out


LGBM_PARAMS = {"objective": "tweedie", "tweedie_variance_power": 1.3, "learning_rate": 0.08,
               "num_leaves": 31, "min_data_in_leaf": 40, "feature_fraction": 0.9,
               "bagging_fraction": 0.8, "bagging_freq": 1, "lambda_l2": 1.0, "verbose": -1,
               "num_threads": 1, "deterministic": True, "force_col_wise": True, "max_bin": 63}
LGBM_ROUNDS = 120
LGBM_TRAIN_WINDOW = 24  # origins used for training, counted back from the forecast origin
LGBM_MAX_ROWS = 120_000  # a random (seeded) subsample above this: time grows with rows, skill barely
LGBM_MIN_ROWS = 300


def lgbm(p: Panel, h: int, seed: int = 0) -> np.ndarray:
    """Global LightGBM, one model per horizon, trained on every (series, past origin) pair whose
    target month is known at the forecast origin."""
    import lightgbm as lgb

    x, _names, scale = feature_cube(p)
    n, t, nf = x.shape
    out = naive(p, h)
    month = p.months.month.to_numpy()
    first_origin = max(3, t - LGBM_TRAIN_WINDOW - h)
    for k in range(1, h + 1):
        src = np.arange(first_origin, t - k)  # past origins whose target (src + k) is known
        if len(src) == 0:
            continue
        target = p.y[:, src + k] / scale[:, src]
        seas = _seasonal_lags(p, scale, k)  # (n, T, 2): the target month 1 and 2 years before
        xs = x[:, src, :]
        cal = np.broadcast_to(((month[src] + k - 1) % 12 + 1)[None, :], (n, len(src)))
        xs = np.concatenate([xs, seas[:, src, :], cal[..., None].astype(float)],
                            axis=2).reshape(-1, nf + 3)
        target = target.reshape(-1)
        ok = ~np.isnan(target)
        if ok.sum() > LGBM_MAX_ROWS:
            keep = np.random.default_rng(seed + k).choice(np.flatnonzero(ok), LGBM_MAX_ROWS,
                                                          replace=False)
            ok = np.zeros_like(ok)
            ok[np.sort(keep)] = True
        if ok.sum() < LGBM_MIN_ROWS:  # too little to learn from: the naive forecast stays
            continue
        params = {**LGBM_PARAMS, "seed": seed, "min_data_in_leaf": min(40, int(ok.sum()) // 10 + 1)}
        booster = lgb.train(params, lgb.Dataset(xs[ok], np.maximum(target[ok], 0)),
                            num_boost_round=LGBM_ROUNDS)
        cal_now = np.full((n, 1), float((month[-1] + k - 1) % 12 + 1))
        pred = booster.predict(np.concatenate([x[:, -1, :], seas[:, -1, :], cal_now], axis=1))
        out[:, k - 1] = np.maximum(pred, 0) * scale[:, -1]
    # bounded like the statistical models: a tree extrapolating a ratio never exceeds 3× the
    # largest value the series has shown
    with np.errstate(invalid="ignore"):
        cap = 3 * np.nanmax(np.where(np.isnan(p.y), -np.inf, p.y), axis=1)
    out = np.minimum(out, np.maximum(cap, 0)[:, None])
    has = ~np.isnan(last_observed(p.y))
    return np.where(has[:, None], out, np.nan)


CANDIDATES: dict[str, Model] = {"ets": ets, "arima": arima, "croston_sba": croston_sba,
                                "tsb": tsb, "lgbm": lgbm}


def all_models() -> dict[str, Model]:
    """Baselines (as models ignoring the seed) and candidates, baselines first."""
    return {**{k: _seedless(f) for k, f in BASELINES.items()}, **CANDIDATES}


def _seedless(f: Callable[[Panel, int], np.ndarray]) -> Model:
    """A baseline as a model: same signature, the seed ignored (baselines draw nothing)."""
    def model(p: Panel, h: int, seed: int = 0) -> np.ndarray:
        return f(p, h)

    model.__name__ = f.__name__
    return model
