"""Drivers for the demo operation, and generated panels with real dynamics for tests and benchmarks.

Why drivers are derived from the simulation's own shocks: in Zedland displacement *is* caused by the
shocks in ``truth/shocks.csv``, so conflict events written from them (a build-up the month before,
the peak in the shock month, plus background noise everywhere) carry real signal, exactly as ACLED
data does for a real operation; rainfall anomalies peak in flood months. Fully deterministic per seed.

:func:`synthetic_panel` generates many district series (benchmarks: 5,000 × 60 months) with the
dynamics that make displacement hard: seasonality, regional conflict regimes that persist and drive
surges a month later through a conflict-event driver, heavy-tailed sizes, and intermittent districts
(most months zero). ``truth`` gives the regime of each region and month.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from idpkit.forecast.series import Panel

EVENT_TYPES = ("Battles", "Violence against civilians", "Explosions/Remote violence")


@dataclass
class DemoDrivers:
    conflict_csv: Path  # ACLED-shaped events, admin names only (as ACLED exports them)
    hazard_csv: Path  # pcode, month, rainfall_anomaly, flood_alert


def write_demo_drivers(truth_dir: Path, gazetteer_csv: Path, out_dir: Path,
                       seed: int = 7) -> DemoDrivers:
    """Write the demo's conflict events and hazard signals next to its assessment files."""
    rng = np.random.default_rng(seed + 808)
    shocks = pd.read_csv(truth_dir / "shocks.csv", dtype=str, keep_default_na=False)
    gaz = pd.read_csv(gazetteer_csv, skiprows=[1], dtype=str, encoding="utf-8-sig")
    gaz.columns = ["iso3", "level", "pcode", "name", "parent", "valid_from"]
    a2 = gaz[gaz.level == "2"].reset_index(drop=True)
    a1 = dict(zip(gaz.loc[gaz.level == "1", "pcode"], gaz.loc[gaz.level == "1", "name"]))
    stocks = pd.read_csv(truth_dir / "stocks.csv", usecols=["reference_date"])
    months = pd.period_range(pd.Period(stocks.reference_date.min()[:7], "M"),
                             pd.Period(stocks.reference_date.max()[:7], "M"), freq="M")
    # expected events per admin 2 and month: background + build-up before and peak at each shock
    lam = np.full((len(a2), len(months)), 0.6)
    pos = {p: i for i, p in enumerate(a2.pcode)}
    for s in shocks[shocks.cause == "conflict"].itertuples():
        i, t = pos[s.adm2_pcode], months.get_loc(pd.Period(s.to_date[:7], "M"))
        lam[i, t] += 9.0
        if t > 0:
            lam[i, t - 1] += 5.0
    n = rng.poisson(lam)
    ii, tt = np.nonzero(n)
    reps = n[ii, tt]
    ii, tt = np.repeat(ii, reps), np.repeat(tt, reps)
    days = rng.integers(1, 29, len(ii))
    dates = [f"{months[t].year:04d}-{months[t].month:02d}-{d:02d}" for t, d in zip(tt, days)]
    ev = pd.DataFrame({
        "event_id_cnty": [f"ZDL{k + 1:05d}" for k in range(len(ii))],
        "event_date": dates,
        "year": [d[:4] for d in dates],
        "event_type": rng.choice(EVENT_TYPES, len(ii)),
        "country": "Zedland",
        "admin1": [a1.get(p, "") for p in a2.parent.to_numpy()[ii]],
        "admin2": a2.name.to_numpy()[ii],
        "fatalities": rng.poisson(np.where(lam[ii, tt] > 1, 4.0, 0.5)),
        "source": "Generated for the idpkit demo (fictional)",
    }).sort_values(["event_date", "event_id_cnty"])
    out_dir.mkdir(parents=True, exist_ok=True)
    conflict = out_dir / "conflict_events.csv"
    ev.to_csv(conflict, index=False, lineterminator="\n")
    rain = rng.normal(0, 0.6, (len(a2), len(months)))
    flood = np.zeros_like(rain, dtype=int)
    for s in shocks[shocks.cause == "disaster"].itertuples():
        i, t = pos[s.adm2_pcode], months.get_loc(pd.Period(s.to_date[:7], "M"))
        rain[i, t] += 2.5
        flood[i, t] = 1
    hz = pd.DataFrame({"pcode": np.repeat(a2.pcode.to_numpy(), len(months)),
                       "month": np.tile([str(m) for m in months], len(a2)),
                       "rainfall_anomaly": np.round(rain.reshape(-1), 2),
                       "flood_alert": flood.reshape(-1)})
    hazard = out_dir / "hazard.csv"
    hz.to_csv(hazard, index=False, lineterminator="\n")
    return DemoDrivers(conflict, hazard)


def synthetic_panel(n_series: int = 5000, n_months: int = 60, *, seed: int = 0,
                    per_region: int = 20, intermittent_share: float = 0.3) -> Panel:
    """District arrivals with seasonality, persistent regional conflict regimes that drive surges
    one month after conflict events rise, heavy-tailed sizes and intermittent districts.

    Drivers: ``conflict_events`` per district (region intensity × district exposure, Poisson)."""
    rng = np.random.default_rng(seed)
    n_reg = max(1, n_series // per_region)
    region = np.arange(n_series) % n_reg
    T = n_months
    # regional conflict regime: calm(0) / tense(1) / war(2), persistent Markov chain
    P = np.array([[0.90, 0.08, 0.02], [0.15, 0.75, 0.10], [0.05, 0.20, 0.75]])
    state = np.zeros((n_reg, T), dtype=int)
    state[:, 0] = rng.choice(3, n_reg, p=[0.7, 0.2, 0.1])
    cum = P.cumsum(axis=1)
    for t in range(1, T):
        u = rng.random(n_reg)
        state[:, t] = (u[:, None] > cum[state[:, t - 1]]).sum(axis=1)
    intensity = np.array([0.5, 3.0, 12.0])[state] * rng.lognormal(0, 0.3, (n_reg, T))
    exposure = rng.lognormal(0, 0.7, n_series)
    events = rng.poisson(intensity[region] * exposure[:, None]).astype(float)
    base = rng.lognormal(3.5, 1.2, n_series)
    inter = rng.random(n_series) < intermittent_share
    base[inter] = rng.lognormal(0.5, 0.8, inter.sum())
    phase = rng.uniform(0, 2 * np.pi, n_reg)[region]
    month = np.arange(T) % 12
    season = 1 + 0.35 * np.sin(2 * np.pi * month[None, :] / 12 + phase[:, None])
    # district level: slow AR(1) on the log scale (displacement hubs grow and fade)
    lvl = np.zeros((n_series, T))
    eps = rng.normal(0, 0.12, (n_series, T))
    for t in range(1, T):
        lvl[:, t] = 0.9 * lvl[:, t - 1] + eps[:, t]
    # conflict effect: events last month and this month's regime (people flee as fighting spreads)
    ev_lag = np.concatenate([np.zeros((n_series, 1)), events[:, :-1]], axis=1)
    effect = np.log1p(ev_lag) * 0.55 + 0.6 * (state[region] == 2)
    mu = base[:, None] * season * np.exp(lvl + effect)
    shape = 4.0  # negative binomial overdispersion
    y = rng.poisson(rng.gamma(shape, mu / shape)).astype(float)
    keys = pd.DataFrame({
        "area_pcode": [f"SYN{r:04d}{i:04d}" for i, r in enumerate(region)],
        "area_name": [f"District {i}" for i in range(n_series)],
        "admin_level": 2, "parent_pcode": [f"SYN{r:04d}" for r in region],
        "target": "arrivals", "population_group": "idps", "unit": "individuals"})
    months = pd.period_range("2020-01", periods=T, freq="M")
    return Panel(keys, months, y, {"conflict_events": events})
