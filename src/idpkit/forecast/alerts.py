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

import re
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
    p = predictions[(predictions.horizon == horizon) & predictions.scored
                    & (predictions.origin + horizon < panel.n_months)]  # targets not yet seen
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
    out["reason"] = [reason(r.point, r.recent_mean, rule.recent) for r in out.itertuples()]
    return out.reset_index(drop=True)


def reason(value: float, recent_mean: float, recent: int) -> str:
    """Why an alert was raised, in words (the numbers as stored: exact)."""
    return (f"forecast {value:,.0f} is {value / max(recent_mean, 1):.1f}× the last {recent} "
            f"months' mean ({recent_mean:,.0f})")


_REASON = re.compile(r"^forecast -?[\d,]+ is (?P<ratio>[\d.]+)× the last (?P<recent>\d+) "
                     r"months' mean \(-?[\d,]+\)$")


def rounded_reason(text: object, value: float, recent_mean: float) -> str | None:
    """The reason with the already-rounded ``value`` and ``recent_mean`` in place of the exact
    numbers, for public readers (issue 22: the text leaked what the columns rounded). A text of
    another shape is dropped rather than published unrounded."""
    m = _REASON.match(str(text)) if isinstance(text, str) else None
    if m is None:
        return None
    num = lambda v: "0" if not np.isfinite(v) else f"{v:,.0f}"  # noqa: E731 (rounded 0 = NaN)
    return (f"forecast {num(value)} is {m['ratio']}× the last {m['recent']} months' mean "
            f"({num(recent_mean)})")


def rule_record(predictions: pd.DataFrame, choice: pd.DataFrame, panel, rule: AlertRule,
                horizons: int) -> pd.DataFrame:
    """The rule's backtest record on the forecasts ``forecast run`` uses (each series' chosen
    model), per horizon: alerts raised, surges caught (hits) and surges there were.

    Why attach it to every alert: an alert is only as good as its rule was on the past; a rule
    that raised alerts and caught no surge in the backtest must not look like one that did."""
    chosen = predictions.merge(choice[["series", "model"]], on=["series", "model"])
    rows = []
    for k in range(1, horizons + 1):
        ev = evaluate(chosen.assign(model="chosen"), panel, rule, horizon=k)
        mine = ev[ev.model == "chosen"] if len(ev) else ev
        if len(mine):
            r = mine.iloc[0]
            rows.append({"horizon": k, "backtest_alerts": int(r.alerts),
                         "backtest_hits": int(r.hits), "backtest_surges": int(r.surges)})
        else:
            rows.append({"horizon": k, "backtest_alerts": 0, "backtest_hits": 0,
                         "backtest_surges": 0})
    out = pd.DataFrame(rows)
    out["caveat"] = [caveat(a, h, s) for a, h, s in zip(out.backtest_alerts, out.backtest_hits,
                                                        out.backtest_surges)]
    return out


def caveat(alerts: int, hits: int, surges: int) -> str:
    """The rule's backtest record in words, a warning first where it earned no trust."""
    if surges == 0:
        return ("Untested: no surge happened in the backtest months, so how often this rule is "
                "right is unknown.")
    if hits == 0:
        return (f"Unconfirmed: in its backtest this rule raised {alerts} alert(s) and caught none "
                f"of {surges} surge(s).")
    return f"In its backtest this rule caught {hits} of {surges} surge(s) with {alerts} alert(s)."
