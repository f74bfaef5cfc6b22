"""Combinations and honest selection on real data: IDMC disaster displacement per country-month.

    .venv/bin/python benchmarks/forecast_idmc.py [--countries 30] [--origins 36] [--calibration 6]
                                                  [--models ets,lgbm] [--file CSV]
                                                  [--min-series-errors 24] [--generated N]

Input: IDMC's Global Internal Displacement Database, disaster events
(``/work/shared/real-data/corpus/figures/idmc_gidd_disaster_events.csv``, not shipped). Each
event's ``new_displacement`` is counted in the month of its ``start_date``; a country's series runs
from the month of its first event to the last month of the file, months without an event are 0.
The ``--countries`` countries with the most displacement are kept. Horizons 1–3.

Prints, per horizon, MAE and MAE skill vs the expanding mean of: the best single model (lowest
MAE among baselines and candidates at that horizon — an in-sample pick, shown as the bar the
combinations must meet), ``combo_median``, ``combo_mean``, ``blend_em`` and ``selected`` (the
out-of-sample per-series choice ``forecast run`` uses), and the largest forecast / history max.

``--generated N`` replaces the IDMC panel by N generated series × 40 months
(:func:`idpkit.testing.demo_forecast.synthetic_panel`, seed 1) for comparison;
``--min-series-errors`` sets :data:`idpkit.forecast.combine.MIN_SERIES_ERRORS`.
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path

import pandas as pd

DEFAULT = Path("/work/shared/real-data/corpus/figures/idmc_gidd_disaster_events.csv")


def country_months(path: Path, countries: int) -> pd.DataFrame:
    """Long table ``area_pcode`` (ISO3), ``month``, ``value`` with zeros filled after the first
    event of each country, for the ``countries`` with most displacement."""
    d = pd.read_csv(path, usecols=["iso3", "start_date", "new_displacement"])
    d = d.dropna(subset=["iso3", "start_date"])
    d["month"] = pd.PeriodIndex(pd.to_datetime(d["start_date"]), freq="M")
    d["new_displacement"] = pd.to_numeric(d["new_displacement"], errors="coerce").fillna(0)
    top = d.groupby("iso3")["new_displacement"].sum().nlargest(countries).index
    d = d[d.iso3.isin(top)]
    g = d.groupby(["iso3", "month"])["new_displacement"].sum()
    last = d["month"].max()
    first = d.groupby("iso3")["month"].min()
    grid = pd.MultiIndex.from_tuples([(c, m) for c in top
                                      for m in pd.period_range(first[c], last, freq="M")],
                                     names=["iso3", "month"])
    g = g.reindex(grid, fill_value=0).reset_index()
    return pd.DataFrame({"area_pcode": g.iso3, "month": g.month.astype(str),
                         "value": g.new_displacement.astype(float)})


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--file", type=Path, default=DEFAULT)
    ap.add_argument("--countries", type=int, default=30)
    ap.add_argument("--origins", type=int, default=36)
    ap.add_argument("--calibration", type=int, default=6)
    ap.add_argument("--models", default="ets,lgbm")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--min-series-errors", type=int, default=None)
    ap.add_argument("--generated", type=int, default=0)
    ap.add_argument("--min-history", type=int, default=24)
    a = ap.parse_args()

    from idpkit.forecast import combine

    if a.min_series_errors is not None:
        combine.MIN_SERIES_ERRORS = a.min_series_errors

    from idpkit.forecast.backtest import BASELINES, BacktestConfig, backtest
    from idpkit.forecast.combine import DERIVED
    from idpkit.forecast.series import panel_from_long

    if a.generated:
        from idpkit.testing.demo_forecast import synthetic_panel

        panel = synthetic_panel(a.generated, 40, seed=1)
    else:
        panel = panel_from_long(country_months(a.file, a.countries))
    cfg = BacktestConfig(horizons=3, origins=a.origins, calibration=a.calibration,
                         min_history=a.min_history, models=(*BASELINES, *a.models.split(",")), seed=a.seed)
    t0 = time.perf_counter()
    import sys

    def progress(msg: str, k: int, n: int) -> None:
        print(f"\r{k}/{n} {msg}        ", end="", file=sys.stderr, flush=True)

    bt = backtest(panel, cfg, progress=progress)
    print(file=sys.stderr)
    secs = time.perf_counter() - t0
    s = bt.scores
    sc = bt.predictions[bt.predictions.scored & bt.predictions.actual.notna()]
    print(f"{panel.n_series} series, {panel.months[0]}–{panel.months[-1]}, "
          f"{cfg.origins} scored origins ({panel.months[-cfg.origins - 1]}–"
          f"{panel.months[-2]}), models {', '.join(cfg.models)}; backtest {secs:.0f} s")
    print(f"largest scored forecast / history max: "
          f"{(sc.point / sc.history_max.clip(lower=1)).max():.2f}")
    print("| h | model | MAE | skill vs expanding mean | RMSE skill |")
    print("|---|---|---|---|---|")
    for k, g in s.groupby("horizon"):
        g = g.set_index("model")
        single = g[~g.index.isin(DERIVED)]["mae"].idxmin()
        for m, label in ((single, f"best single: {single}"), ("combo_median", "combo_median"),
                         ("combo_mean", "combo_mean"), ("blend_em", "blend_em"),
                         ("selected", "selected (out of sample)")):
            if m in g.index:
                r = g.loc[m]
                print(f"| {k} | {label} | {r.mae:,.0f} | {r.skill_vs_mean:+.3f} | "
                      f"{r.rmse_skill_vs_mean:+.3f} |")
    print("choice for forecast run:", dict(bt.choice.model.value_counts()))
    print("\n".join(bt.verdict))


if __name__ == "__main__":
    main()
