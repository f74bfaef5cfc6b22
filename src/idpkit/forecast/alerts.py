"""Early-warning rules on forecasts, their cooldown, and their evaluation against real surges.

A forecast for month ``t`` raises an alert when *all* active rules hold:

``ratio``     forecast > ``ratio`` × mean of the last ``recent`` observed months (default 1.5 × 3);
``peak``      forecast > the highest value of the last ``peak_months`` months (12 or 36; 0 = off);
``min_size``  forecast − recent mean ≥ ``min_size`` people (a district going from 2 to 5 is no surge).

A *surge* is the same test applied to what really happened (the actual instead of the forecast).
Cooldown: after an alert (or a surge) in an area, the next ``cooldown`` months raise none — one
escalation is one warning, and one event to catch. Precision and recall are counted on onsets after
cooldown; the reference is "alert every month" (recall 1, precision = share of months with a surge
onset), the rule a forecast must beat to be worth anything.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from idpkit.forecast.baselines import _nanmean


@dataclass(frozen=True)
class AlertRule:
    ratio: float = 1.5
    recent: int = 3
    peak_months: int = 0
    min_size: float = 100.0
    cooldown: int = 2

    def describe(self) -> str:
        parts = [f"> {self.ratio:g}× the mean of the last {self.recent} months",
                 f"an increase of at least {self.min_size:,.0f}"]
        if self.peak_months:
            parts.append(f"the highest in {self.peak_months} months")
        return "; ".join(parts) + f" (cooldown {self.cooldown} months)"


def rule_holds(value: np.ndarray, history: np.ndarray, rule: AlertRule) -> tuple[np.ndarray,
                                                                                  np.ndarray]:
    """Per row of ``history`` (n, T ending at the origin): does ``value`` (n,) trip the rule?
    Returns (flag, recent mean)."""
    recent = _nanmean(history[:, -rule.recent:])
    ok = ~np.isnan(value) & ~np.isnan(recent)
    flag = ok & (value > rule.ratio * np.nan_to_num(recent)) \
        & (value - np.nan_to_num(recent) >= rule.min_size)
    if rule.peak_months:
        with np.errstate(invalid="ignore"):
            peak = np.nanmax(np.where(np.isnan(history[:, -rule.peak_months:]), -np.inf,
                                      history[:, -rule.peak_months:]), axis=1)
        flag &= value > peak
    return flag, recent


def with_cooldown(flags: np.ndarray, cooldown: int) -> np.ndarray:
    """Keep a flag (n, T) only if no flag was kept in the previous ``cooldown`` steps of its row.
    Sequential in time (a kept flag silences the next ones), vectorised across series."""
    kept = np.zeros_like(flags, dtype=bool)
    quiet_until = np.full(flags.shape[0], -1)
    for t in range(flags.shape[1]):
        k = flags[:, t] & (t > quiet_until)
        kept[:, t] = k
        quiet_until = np.where(k, t + cooldown, quiet_until)
    return kept


def surge_matrix(y: np.ndarray, rule: AlertRule) -> np.ndarray:
    """(n, T) surge months in the observed series (False where unknown or too early)."""
    out = np.zeros(y.shape, dtype=bool)
    for t in range(rule.recent, y.shape[1]):
        out[:, t], _ = rule_holds(y[:, t], y[:, :t], rule)
    return out


def prf(alerts: np.ndarray, surges: np.ndarray, known: np.ndarray) -> dict[str, float]:
    """Precision, recall, F1 of boolean ``alerts`` against ``surges`` where ``known``."""
    a, s = alerts[known], surges[known]
    tp = int((a & s).sum())
    p = tp / a.sum() if a.sum() else float("nan")
    r = tp / s.sum() if s.sum() else float("nan")
    f1 = 2 * p * r / (p + r) if (p + r) and not np.isnan(p + r) else 0.0
    return {"alerts": int(a.sum()), "surges": int(s.sum()), "hits": tp, "precision": p,
            "recall": r, "f1": f1}


def evaluate(predictions: pd.DataFrame, panel, rule: AlertRule, model: str | None = None,
             horizon: int = 1) -> pd.DataFrame:
    """Alert rule on backtest forecasts vs surges, per model (or the one named), with the
    "alert every month" reference row. ``predictions`` as in :class:`~.backtest.BacktestResult`."""
    p = predictions[(predictions.horizon == horizon) & predictions.scored]
    if model:
        p = p[p.model == model]
    origins = np.sort(p.origin.unique())
    if len(origins) == 0:
        return pd.DataFrame()
    tgt = origins + horizon
    y = panel.y
    surges_all = with_cooldown(surge_matrix(y, rule), rule.cooldown)
    known = ~np.isnan(y[:, tgt])
    surges = surges_all[:, tgt]
    rows = []
    for m, g in p.groupby("model", sort=False):
        f = np.full((panel.n_series, len(origins)), np.nan)
        f[g.series.to_numpy(), np.searchsorted(origins, g.origin.to_numpy())] = g.point.to_numpy()
        flags = np.zeros_like(f, dtype=bool)
        for j, o in enumerate(origins):
            flags[:, j], _ = rule_holds(f[:, j], y[:, :o + 1], rule)
        rows.append({"model": m, **prf(with_cooldown(flags, rule.cooldown), surges, known)})
    rows.append({"model": "alert every month", **prf(np.ones_like(surges), surges, known)})
    return pd.DataFrame(rows).sort_values("f1", ascending=False).reset_index(drop=True)


def current_alerts(panel, forecasts: pd.DataFrame, rule: AlertRule) -> pd.DataFrame:
    """Alerts on the forecasts of ``run`` (``series``, ``horizon``, ``point``, intervals): one row
    per area with its first alerting month, the forecast, interval and the reason in words."""
    rows = []
    for k, g in forecasts.groupby("horizon"):
        g = g.sort_values("series")
        flag, recent = rule_holds(g.point.to_numpy(), panel.y[g.series.to_numpy()], rule)
        hit = g[flag].assign(recent_mean=recent[flag])
        rows.append(hit)
    out = pd.concat(rows) if rows else pd.DataFrame()
    if out.empty:
        return out
    out = out.sort_values(["series", "horizon"]).drop_duplicates("series")
    out["reason"] = [f"forecast {r.point:,.0f} is {r.point / max(r.recent_mean, 1):.1f}× the "
                     f"last {rule.recent} months' mean ({r.recent_mean:,.0f})"
                     for r in out.itertuples()]
    return out.reset_index(drop=True)
