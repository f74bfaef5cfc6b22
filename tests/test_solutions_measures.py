"""Progress and exit measures on the demo survey: checked against independent pandas arithmetic."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from idpkit.solutions.estimate import Contrast, Indicator, estimate
from idpkit.solutions.exit import exit_measure
from idpkit.solutions.progress import progress_measure
from idpkit.solutions.store import SurveySpec, import_survey, load_survey
from idpkit.testing.demo_survey import generate_survey

AREAS = ["ZDL0101", "ZDL0102", "ZDL0201", "ZDL0202"]


@pytest.fixture(scope="module")
def survey_wh(backend, request, tmp_path_factory):
    from conftest import new_warehouse_url

    from idpkit.warehouse import connect

    demo = generate_survey(tmp_path_factory.mktemp("sv"), AREAS, psus_per_stratum=6,
                           households_per_psu=15)
    with new_warehouse_url(backend, request, tmp_path_factory.mktemp("whs")) as url:
        wh = connect(url)
        import_survey(wh, demo.households_csv, SurveySpec.from_yaml(demo.spec_yaml))
        yield wh, load_survey(wh, "demo_solutions")
        wh.close()


def test_progress_gaps_match_weighted_means_and_the_engine(survey_wh):
    wh, s = survey_wh
    pm = progress_measure(wh, s)
    df = s.table.execute()
    employed = next(i for i in s.indicators if i.name == "employment_rate").variable
    for area in AREAS:
        part = df[(df.area_pcode == area) & df[employed].notna()]
        means = part.groupby("population_group").apply(
            lambda g: np.average(g[employed], weights=g.weight), include_groups=False)
        row = pm.gaps[(pm.gaps.area_pcode == area) & (pm.gaps.indicator == "employment_rate")].iloc[0]
        assert row.idps_estimate == pytest.approx(means["idps"], rel=1e-12)
        assert row.non_displaced_estimate == pytest.approx(means["non_displaced"], rel=1e-12)
        assert row.gap == pytest.approx(means["idps"] - means["non_displaced"], rel=1e-9)
        assert row.gap_ci_low < row.gap < row.gap_ci_high
        assert row.significant == (row.gap_ci_high < 0 or row.gap_ci_low > 0)
    # every area has one row per indicator, plus the whole survey
    assert set(pm.gaps.area_pcode) == {*AREAS, "all"}
    assert len(pm.gaps) == (len(AREAS) + 1) * len(s.indicators)
    assert len(pm.areas) == len(AREAS) + 1
    assert pm.areas.summary.str.contains("significantly worse off than non-displaced").all()


def test_worse_off_follows_the_indicator_direction(survey_wh):
    wh, s = survey_wh
    g = progress_measure(wh, s).gaps
    worse = g[g.status == "worse off"]
    assert ((worse.better == "higher") == (worse.gap < 0)).all()
    assert worse.significant.all()
    crit = progress_measure(wh, s).criteria
    for (area, c), part in g.groupby(["area_pcode", "criterion"]):
        status = crit[(crit.area_pcode == area) & (crit.criterion == c)].status.iloc[0]
        assert (status == "worse off") == (part.status == "worse off").any()


def test_difference_se_includes_the_covariance_of_shared_psus(survey_wh):
    """Var(a − b) = Var(a) + Var(b) − 2 Cov(a, b): the contrast's SE differs from the naive
    sqrt(se_a² + se_b²), because IDPs and non-displaced households share PSUs."""
    wh, s = survey_wh
    res = estimate(wh, s.table, s.design, [Indicator("fcs", "mean", "fcs")],
                   [("population_group",)], [Contrast("population_group", "idps",
                                                      "non_displaced")])
    e = res.estimates.set_index("population_group")
    c = res.contrasts.iloc[0]
    naive = (e.loc["idps", "se"] ** 2 + e.loc["non_displaced", "se"] ** 2) ** 0.5
    assert c.difference == pytest.approx(e.loc["idps", "estimate"] - e.loc["non_displaced",
                                                                          "estimate"])
    assert abs(c.difference_se - naive) / naive > 1e-3


def _passes(df: pd.DataFrame, s, bench: dict[str, float]) -> pd.Series:
    out = pd.Series(True, index=df.index)
    missing = pd.Series(False, index=df.index)
    for spec in s.indicators:
        if not spec.criterion:  # IASC criteria 6-8: not part of IRIS' measures
            continue
        v = df[spec.variable].astype(float)
        miss = v.isna()
        if spec.statistic == "ratio":
            x = df[spec.denominator].astype(float)
            miss = miss | x.isna()
            ok = (x == 0) | ((v / x.where(x != 0)) >= bench[spec.name] if spec.better == "higher"
                             else (v / x.where(x != 0)) <= bench[spec.name])
        else:
            ok = v >= bench[spec.name] if spec.better == "higher" else v <= bench[spec.name]
        out &= ok | miss
        missing |= miss
    return out.where(~missing)  # NaN: not assessed


def test_full_composite_exit_count_matches_pandas(survey_wh):
    wh, s = survey_wh
    df = s.table.execute()
    est = estimate(wh, s.table, s.design, [i.engine() for i in s.indicators],
                   [("area_pcode", "population_group")]).estimates
    em = exit_measure(wh, s, method="full")
    tab = em.table
    assert (tab.status == "experimental (IRIS exit measure)").all()
    for area in AREAS:
        comp = est[(est.area_pcode == area) & (est.population_group == "non_displaced")]
        bench = {i.name: (i.benchmark if i.benchmark is not None else
                          float(comp[comp.indicator == i.name].estimate.iloc[0]))
                 for i in s.indicators}
        part = df[(df.area_pcode == area) & (df.population_group == "idps")]
        p = _passes(part, s, bench)
        expected = (part.weight * p.fillna(0)).sum()
        row = tab[(tab.area_pcode == area) & (tab.outcome == "all criteria")].iloc[0]
        assert row.overcame == pytest.approx(expected, rel=1e-9, abs=1e-9)
        assert row.idps_households == pytest.approx(part.weight.sum(), rel=1e-12)
        assert row.assessed_share == pytest.approx(
            part.weight[p.notna()].sum() / part.weight.sum(), rel=1e-9)
        assert row.households_assessed == int(p.notna().sum())
        assert 0 <= row.overcame_ci_low <= row.overcame <= row.overcame_ci_high


def test_per_criterion_and_cells(survey_wh):
    wh, s = survey_wh
    per = exit_measure(wh, s, method="per_criterion").table
    allc = per[per.outcome == "all criteria"].set_index("area_pcode").overcame
    for crit, part in per[per.outcome != "all criteria"].groupby("outcome"):
        # passing every criterion is rarer than passing any single one
        assert (part.set_index("area_pcode").overcame + 1e-9 >= allc).all(), crit
    cells = exit_measure(wh, s, method="cells").table
    pm = progress_measure(wh, s).criteria
    for area in AREAS:
        worse = (pm[pm.area_pcode == area].status == "worse off").any()
        row = cells[cells.area_pcode == area].iloc[0]
        assert (row.overcame == 0) == worse
        if not worse:
            assert row.overcame == pytest.approx(row.idps_households)


def test_analyse_stores_results_atomically_and_replaces_them(survey_wh):
    from idpkit.solutions.results import analyse

    wh, s = survey_wh
    first = analyse(wh, s)
    second = analyse(wh, s)
    assert first.rows == second.rows
    for name, n in second.rows.items():
        assert int(wh.table(name).count().execute()) == n, name
    gaps = wh.table("solution_gaps").execute()
    assert set(gaps.area_pcode) == {*AREAS, "all"} and (gaps.focal == "idps").all()
    assert gaps.significant.dtype == bool


def test_progress_against_the_national_population(survey_wh):
    wh, s = survey_wh
    pm = progress_measure(wh, s, comparison="national")
    assert "national_estimate" in pm.gaps and len(pm.gaps) == (len(AREAS) + 1) * len(s.indicators)
    df = s.table.execute()
    v = next(i for i in s.indicators if i.name == "employment_rate").variable
    ok = df[df[v].notna()]
    national = np.average(ok[v], weights=ok.weight)
    row = pm.gaps[(pm.gaps.area_pcode == "ZDL0101") & (pm.gaps.indicator == "employment_rate")]
    assert row.national_estimate.iloc[0] == pytest.approx(national, rel=1e-12)
    assert pm.areas.summary.str.contains("than the whole population").all()
