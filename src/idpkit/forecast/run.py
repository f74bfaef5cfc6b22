"""Current forecasts: each series' model chosen by the backtest's out-of-sample rule (the one the
``selected`` row scores; :mod:`combine`) from the latest month, points capped like in the
backtest, conformal intervals from that model's backtest residuals, reconciled so districts add up
to regions, and alerts.

Why intervals of reconciled forecasts are *shifted* with their point: reconciliation moves a
district's forecast by a small, known amount; its error distribution (learned in the backtest of
the base forecast) is kept around the moved point. A full probabilistic reconciliation is not done
(see docs/forecast.md, "Known limits").
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass

import numpy as np
import pandas as pd

from idpkit.forecast import combine, intervals
from idpkit.forecast.alerts import AlertRule, current_alerts, rule_record
from idpkit.forecast.backtest import BacktestResult
from idpkit.forecast.metrics import mase_scale
from idpkit.forecast.models import all_models
from idpkit.forecast.reconcile import parent_index, reconcile


@dataclass
class RunResult:
    forecasts: pd.DataFrame  # one row per series and horizon (districts and regions)
    alerts: pd.DataFrame


def current_points(bt: BacktestResult, models: set[str], horizons: int) -> dict[str, np.ndarray]:
    """Forecasts ``(n, horizons)`` from the last month of each model in ``models`` — base models
    run on the full panel, combinations built from their members by the backtest's rules (the
    blend's weight from every backtest error, all known at the last month) — every point capped
    like in the backtest."""
    p = bt.panel
    cut = p.cut(p.n_months - 1)
    with np.errstate(invalid="ignore"):
        top = np.nanmax(np.where(np.isnan(cut.y), -np.inf, cut.y), axis=1)
    ran = list(dict.fromkeys(bt.predictions.model))
    need = {m for m in models if m not in combine.DERIVED}
    if models & {"combo_median", "combo_mean"}:
        need |= set(combine.members(ran))
    partner = combine.blend_partner(ran)
    if "blend_em" in models and partner is not None:
        need |= {partner, "expanding_mean"}
    runnable = all_models()
    out = {m: intervals.cap_points(np.asarray(runnable[m](cut, horizons, bt.config.seed),
                                              dtype=float), top[:, None])
           for m in sorted(need)}
    mem = combine.members(ran)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        if "combo_median" in models:
            out["combo_median"] = np.nanmedian(np.stack([out[m] for m in mem]), axis=0)
        if "combo_mean" in models:
            out["combo_mean"] = np.nanmean(np.stack([out[m] for m in mem]), axis=0)
    if "blend_em" in models and partner is not None:
        w = combine.current_blend_weight(bt.predictions, partner, p.n_months - 1, horizons)
        out["blend_em"] = combine.blend(out[partner], out["expanding_mean"], w[None, :])
    return out


def base_forecasts(bt: BacktestResult, horizons: int) -> pd.DataFrame:
    """Forecast of every series from the last month with the model the backtest's honest rule
    picks for it (``combine.current_choice``), with intervals from that model's residuals."""
    p = bt.panel
    cut = p.cut(p.n_months - 1)
    scale = mase_scale(cut.y)
    with np.errstate(invalid="ignore"):
        top = np.nanmax(np.where(np.isnan(cut.y), -np.inf, cut.y), axis=1)
    chosen = bt.choice.set_index("series")["model"].reindex(range(p.n_series)).fillna(
        "expanding_mean")
    points = current_points(bt, set(chosen.unique()), horizons)
    res = bt.predictions[bt.predictions.actual.notna()]
    frames = []
    for m in chosen.unique():
        rows = np.flatnonzero(chosen.to_numpy() == m)
        f = points[m][rows]
        for k in range(1, horizons + 1):
            r = res[(res.model == m) & (res.horizon == k)]
            iv = intervals.conformal(f[:, k - 1], scale[rows],
                                     ((r.actual - r.point) / r.scale).to_numpy(),
                                     r.scale.to_numpy(), top[rows])
            frames.append(pd.DataFrame({"series": rows, "horizon": k, "model": m,
                                        "point": f[:, k - 1], **iv}))
    out = pd.concat(frames, ignore_index=True).sort_values(["series", "horizon"])
    mse = res.assign(se=(res.actual - res.point) ** 2).groupby(["series", "model"])["se"].mean()
    out["mse"] = [mse.get((s, m), np.nan) for s, m in zip(out.series, out.model)]
    return out.reset_index(drop=True)


def _frame(bt: BacktestResult, f: pd.DataFrame, reconciled: bool) -> pd.DataFrame:
    p = bt.panel
    keys = p.keys.iloc[f.series.to_numpy()].reset_index(drop=True)
    origin = p.months[-1]
    step = (lambda k: str(origin + k)) if p.steps == "month" else (lambda k: f"{origin}+{k} rounds")
    return pd.concat([keys, pd.DataFrame({
        "origin_month": str(origin), "target_month": [step(k) for k in f.horizon],
        "horizon": f.horizon.to_numpy(), "model": f.model.to_numpy(), "reconciled": reconciled,
        "value": f.point.to_numpy(), "lo80": f.lo80.to_numpy(), "hi80": f.hi80.to_numpy(),
        "lo95": f.lo95.to_numpy(), "hi95": f.hi95.to_numpy()})], axis=1)


def run(bt: BacktestResult, horizons: int, rule: AlertRule,
        upper: BacktestResult | None = None) -> RunResult:
    """Forecasts of ``bt``'s panel (and, with ``upper``, of its parent areas, reconciled)."""
    low = base_forecasts(bt, horizons)
    reconciled = False
    out_frames = []
    if upper is not None:
        up = base_forecasts(upper, horizons)
        par = parent_index(bt.panel.keys, upper.panel.keys["area_pcode"])
        wide = lambda d, c: d.pivot(index="series", columns="horizon", values=c).to_numpy()
        b, t = wide(low, "point"), wide(up, "point")
        wb = low.groupby("series")["mse"].first().to_numpy()
        wt = up.groupby("series")["mse"].first().to_numpy()
        nb, nt = reconcile(b, par, t, wb, wt)
        for d, new in ((low, nb), (up, nt)):
            shift = new.reshape(-1) - d.sort_values(["series", "horizon"]).point.to_numpy()
            d.sort_values(["series", "horizon"], inplace=True)
            d["point"] = new.reshape(-1)
            for c in ("lo80", "hi80", "lo95", "hi95"):
                d[c] = np.maximum(d[c].to_numpy() + shift, 0.0)
        reconciled = True
        out_frames.append(_frame(upper, up, True))
    alerts = current_alerts(bt.panel, low, rule)
    if len(alerts):
        keys = bt.panel.keys.iloc[alerts.series.to_numpy()].reset_index(drop=True)
        origin = bt.panel.months[-1]
        alerts = pd.concat([keys, alerts.drop(columns="series").reset_index(drop=True)], axis=1)
        alerts["target_month"] = [str(origin + int(k)) for k in alerts.horizon]
        alerts = alerts.rename(columns={"point": "value"})
        alerts["rule"] = rule.describe()
        # the rule's record on the honestly selected forecasts (chosen from earlier errors only)
        sel = combine.SELECTED if (bt.predictions.model == combine.SELECTED).any() else None
        record = rule_record(bt.predictions, bt.choice.assign(model=sel) if sel else bt.choice,
                             bt.panel, rule, horizons)
        alerts = alerts.merge(record, on="horizon", how="left")
    out_frames.insert(0, _frame(bt, low, reconciled))
    return RunResult(pd.concat(out_frames, ignore_index=True), alerts)
