"""The estimation engine reproduces R's ``survey`` package, on every backend.

Published numbers: ``tests/fixtures/survey/api`` (R's ``api`` and ``fpc`` data) against the table
in ``../shared/survey-reference/EXPECTED.md`` (copied below, to 5 significant digits as printed).
"""

from __future__ import annotations

import math
from pathlib import Path

import pandas as pd
import pyarrow as pa
import pytest

from idpkit.solutions.design import DesignError, SurveyDesign
from idpkit.solutions.estimate import Indicator, estimate

API = Path(__file__).parent / "fixtures" / "survey" / "api"


def load(wh, name: str) -> object:
    """An R dataset as a warehouse table (dots in names become underscores, as import does)."""
    df = pd.read_csv(API / f"{name}.csv", na_values=["NA"])
    df.columns = [c.replace(".", "_") for c in df.columns]
    df = df.rename(columns={"Nh": "pop_h"})  # 'nh' and 'Nh' are one name to SQL
    df = df[[c for c in df.columns if df[c].notna().any()]]
    wh.backend.load_arrow(name, pa.Table.from_pandas(df, preserve_index=False))
    return wh.table(name)


def sig5(a: float, b: float) -> bool:
    """Equal to the 5 significant digits R prints."""
    return math.isclose(a, b, rel_tol=5e-5) or abs(a - b) <= 0.5 * 10 ** (
        math.floor(math.log10(abs(b))) - 4)


def check(res: pd.DataFrame, indicator: str, estimate_: float, se: float, **domain) -> None:
    row = res[res.indicator == indicator]
    for k, v in domain.items():
        row = row[row[k] == v]
    assert len(row) == 1, (indicator, domain)
    got = row.iloc[0]
    assert sig5(got.estimate, estimate_), (indicator, domain, got.estimate, estimate_)
    assert sig5(got.se, se), (indicator, domain, got.se, se)


def test_stratified_with_fpc(wh):
    t = load(wh, "apistrat")
    d = SurveyDesign(strata="stype", weights="pw", fpc=["fpc"])
    r = estimate(wh, t, d, [Indicator("api00", "mean", "api00"),
                            Indicator("enroll", "total", "enroll")]).estimates
    check(r, "api00", 662.29, 9.4089)
    check(r, "enroll", 3_687_178, 114_642)


def test_one_stage_cluster(wh):
    t = load(wh, "apiclus1")
    d = SurveyDesign(psu="dnum", weights="pw", fpc=["fpc"])
    inds = [Indicator("api00", "mean", "api00"), Indicator("enroll", "total", "enroll"),
            *[Indicator(f"stype_{lv}", "total", "stype", level=lv) for lv in "EHM"],
            Indicator("api_stu/enroll", "ratio", "api_stu", denominator="enroll"),
            Indicator("ell", "mean", "ell"), Indicator("meals", "mean", "meals")]
    r = estimate(wh, t, d, inds, domains=[(), ("stype",)]).estimates
    whole, by = r[r.by == ""], r[r.by == "stype"]
    check(whole, "api00", 644.17, 23.542)
    check(whole, "enroll", 3_404_940, 932_235)
    check(whole, "stype_E", 4873.97, 1333.32)
    check(whole, "stype_H", 473.86, 158.70)
    check(whole, "stype_M", 846.17, 167.55)
    check(whole, "api_stu/enroll", 0.8497087, 0.008386297)
    check(by, "api_stu/enroll", 0.8300683, 0.01472607, stype="H")
    for lv, m, se in [("E", 29.69444, 1.411617), ("H", 15.00000, 5.347065),
                      ("M", 22.68000, 2.952862)]:
        check(by, "ell", m, se, stype=lv)
    for lv, m, se in [("E", 53.09028, 7.070399), ("H", 37.57143, 5.912262),
                      ("M", 43.08000, 6.017110)]:
        check(by, "meals", m, se, stype=lv)


def test_two_stage_without_weights_uses_population_sizes(wh):
    t = load(wh, "apiclus2")
    inds = [Indicator("api00", "mean", "api00"), Indicator("enroll", "total", "enroll")]
    r = estimate(wh, t, SurveyDesign(psu="dnum", ssu="snum", fpc=["fpc1", "fpc2"]), inds).estimates
    check(r, "api00", 670.81, 30.099)
    check(r, "enroll", 2_639_273, 799_638)
    # with replacement (weights only): the first stage alone
    r = estimate(wh, t, SurveyDesign(psu="dnum", ssu="snum", weights="pw"), inds).estimates
    check(r, "api00", 670.81, 30.712)
    check(r, "enroll", 2_639_273, 820_261)


@pytest.mark.parametrize("fpc", [[], ["pop_h"]], ids=["with-replacement", "fpc"])
def test_domains_of_nested_psus(wh, fpc):
    t = load(wh, "fpc")
    t = t.mutate(big=(t.x > 4).ifelse("TRUE", "FALSE"))
    d = SurveyDesign(psu="psuid", strata="stratid", weights="weight", nest=True, fpc=fpc)
    r = estimate(wh, t, d, [Indicator("x", "mean", "x")], domains=[("big",)]).estimates
    expected = {(): [(3.314286, 0.3117042), (6.195000, 0.7555129)],
                ("pop_h",): [(3.314286, 0.2623382), (6.195000, 0.6301110)]}[tuple(fpc)]
    check(r, "x", *expected[0], big="FALSE")
    check(r, "x", *expected[1], big="TRUE")


def test_lonely_psu_fails_by_default_with_a_clear_message(wh):
    t = load(wh, "apiclus1")  # no strata: one stratum of 15 PSUs; make one lonely stratum
    t = t.mutate(s=(t.dnum == t.dnum.min()).ifelse("alone", "rest"))
    with pytest.raises(DesignError, match="single PSU.*alone.*lonely_psu"):
        estimate(wh, t, SurveyDesign(strata="s", psu="dnum", weights="pw"),
                 [Indicator("api00", "mean", "api00")])
