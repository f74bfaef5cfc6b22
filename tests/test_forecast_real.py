"""Backtest on real data: IDP stock of Afghanistan's 34 provinces, DTM API v3 (16 assessment
rounds, 2017–2022), through ingestion, the warehouse and the panel, on every selected backend."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from conftest import new_warehouse_url

AFG = Path(__file__).parent / "fixtures" / "forecast" / "dtm-api-v3-afg-admin1.csv"


@pytest.fixture(scope="module")
def afg_panel(backend, request, tmp_path_factory):
    from idpkit.forecast.pipeline import load_panel
    from idpkit.ingest.pipeline import ingest_file
    from idpkit.warehouse import connect

    with new_warehouse_url(backend, request, tmp_path_factory.mktemp("afg")) as url:
        wh = connect(url)
        try:
            assert ingest_file(wh, AFG).status == "imported"
            yield load_panel(wh, "idps", 1, steps="round")
        finally:
            wh.close()


def test_afghanistan_series_match_the_file(afg_panel):
    p = afg_panel
    assert p.n_series == 34 and p.n_months == 16 and p.steps == "round"
    # independent: sum of numPresentIdpInd per province and round month, straight from the CSV
    raw = pd.read_csv(AFG, skiprows=[1])
    raw["month"] = raw.reportingDate.str[:7]
    want = raw.groupby(["admin1Pcode", "month"]).numPresentIdpInd.sum()
    got = pd.Series(p.y.reshape(-1), index=pd.MultiIndex.from_product(
        [p.keys.area_pcode, [str(m) for m in p.months]])).dropna()
    assert len(got) == len(want)
    np.testing.assert_allclose(got.sort_index().to_numpy(), want.sort_index().to_numpy())


def test_afghanistan_backtest_end_to_end_reproducible_and_honest(afg_panel):
    from idpkit.forecast.backtest import BASELINES, BacktestConfig, backtest

    cfg = BacktestConfig(horizons=3, origins=8, calibration=3, min_history=4,
                         models=(*BASELINES, "ets", "tsb", "lgbm"), seed=1)
    a = backtest(afg_panel, cfg)
    b = backtest(afg_panel, cfg)
    pd.testing.assert_frame_equal(a.predictions, b.predictions)
    s = a.scores
    assert sorted(s.horizon.unique()) == [1, 2, 3] and (s.n >= 150).all()
    # the verdict states what the scores say, per horizon
    for k in (1, 2, 3):
        g = s[s.horizon == k]
        cand = g[~g.model.isin(list(BASELINES))].mae.min()
        base = g[g.model.isin(list(BASELINES))].mae.min()
        line = a.verdict[k - 1]
        assert ("NOTHING BEATS THE BASELINE" in line) == (cand >= base), line
    # bounded intervals: no 95% upper bound beyond 3× the largest stock a province ever had
    top = np.nanmax(afg_panel.y, axis=1)[a.predictions.series.to_numpy()]
    hi = a.predictions.hi95.to_numpy()
    ok = ~np.isnan(hi)
    point = a.predictions.point.to_numpy()
    assert ok.any() and (hi[ok] <= np.maximum(3 * np.maximum(top[ok], 1), point[ok]) + 1e-6).all()
