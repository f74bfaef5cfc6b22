"""Our own reference cases computed with R's ``survey`` (``tests/reference/survey/make_reference.R``):
every number in ``tests/fixtures/survey/r_expected.csv`` to 1e-8 relative, on every backend.

The cases stress what naive implementations get wrong: domain means within strata (domains
estimated inside the full design), differences and parity ratios between groups that share PSUs
(covariance), missing values per indicator (``na.rm=TRUE`` domain-style), one- and two-stage
designs with and without population sizes, element sampling, and R's four lonely-PSU rules.
"""

from __future__ import annotations

import math
from pathlib import Path

import pandas as pd
import pyarrow as pa
import pytest
import yaml

from idpkit.solutions.design import SurveyDesign
from idpkit.solutions.estimate import Contrast, Indicator, estimate

HERE = Path(__file__).parent / "fixtures" / "survey"
EXPECTED = pd.read_csv(HERE / "r_expected.csv", dtype=str, keep_default_na=False)
DESIGNS = yaml.safe_load((HERE / "designs.yaml").read_text(encoding="utf-8"))
NUMERIC = ["income", "employed", "has_documents", "hh_size", "food_score"]
LEVELS = ["owned", "rented", "other"]
DOMAINS = {"": (), "group": ("group",), "area": ("area",), "area+group": ("area", "group")}
REL = 1e-8


def _indicators() -> list[Indicator]:
    inds = [Indicator(f"mean:{v}", "mean", v) for v in NUMERIC]
    inds += [Indicator(f"total:{v}", "total", v) for v in NUMERIC]
    inds += [Indicator(f"proportion:housing:{lv}", "proportion", "housing", level=lv)
             for lv in LEVELS]
    inds.append(Indicator("ratio:income/hh_size", "ratio", "income", denominator="hh_size"))
    return inds


def _key(row: pd.Series) -> str:
    if row.statistic in ("proportion", "diff_proportion"):
        return f"{'mean' if row.statistic == 'diff_proportion' else 'proportion'}:housing:" \
               f"{row.level}" if row.statistic == "proportion" else f"proportion:housing:{row.level}"
    if row.statistic == "ratio":
        return f"ratio:{row.variable}/{row.denominator}"
    if row.statistic in ("diff_mean", "parity_ratio"):
        return f"mean:{row.variable}"
    return f"{row.statistic}:{row.variable}"


def _close(got: float, want: float, scale: float) -> bool:
    return math.isclose(got, want, rel_tol=REL, abs_tol=REL * scale * 1e-3)


@pytest.fixture(scope="module")
def loaded(backend, request, tmp_path_factory):
    from conftest import new_warehouse_url

    from idpkit.warehouse import connect

    with new_warehouse_url(backend, request, tmp_path_factory.mktemp("r")) as url:
        wh = connect(url)
        for name in ("generated_survey", "lonely_psu"):
            df = pd.read_csv(HERE / f"{name}.csv", dtype={"stratum": str, "area": str})
            wh.backend.load_arrow(name, pa.Table.from_pandas(df, preserve_index=False))
        yield wh
        wh.close()


@pytest.mark.parametrize("design_id", sorted(DESIGNS))
def test_matches_r(loaded, design_id):
    wh = loaded
    spec = dict(DESIGNS[design_id])
    table = wh.table(Path(spec.pop("data")).stem)
    design = SurveyDesign.model_validate({k: v for k, v in spec.items() if v is not None})
    res = estimate(wh, table, design, _indicators(), list(DOMAINS.values()),
                   [Contrast("group", "idps", "non_displaced")])
    est, con = res.estimates, res.contrasts
    cases = EXPECTED[EXPECTED.design == design_id]
    assert len(cases) > 0
    failures = []
    for row in cases.itertuples():
        keys = DOMAINS[row.by]
        if row.statistic in ("diff_mean", "parity_ratio", "diff_proportion"):
            other = [k for k in keys if k != "group"]
            sel = con[(con.indicator == _key(row)) & (con.by == "+".join(other))]
            if other:
                sel = sel[sel[other[0]] == row.domain.split("|")[0]]
            if row.statistic == "parity_ratio":
                got_e, got_se = sel.parity_ratio, sel.parity_ratio_se
            else:
                got_e, got_se = sel.difference, sel.difference_se
        else:
            sel = est[(est.indicator == _key(row)) & (est.by == "+".join(keys))]
            for k, v in zip(keys, row.domain.split("|") if keys else [], strict=True):
                sel = sel[sel[k] == v]
            got_e, got_se = sel.estimate, sel.se
        if len(sel) != 1:
            failures.append(f"{row.case}: {len(sel)} rows")
            continue
        want_e, want_se = float(row.estimate), float(row.se)
        scale = max(abs(want_e), abs(want_se), 1e-300)
        if not _close(float(got_e.iloc[0]), want_e, scale):
            failures.append(f"{row.case}: estimate {got_e.iloc[0]!r} != R {want_e!r}")
        if not _close(float(got_se.iloc[0]), want_se, scale):
            failures.append(f"{row.case}: SE {got_se.iloc[0]!r} != R {want_se!r}")
        if row.deff and row.statistic == "mean":
            got_d = float(sel.deff.iloc[0])
            if not math.isclose(got_d, float(row.deff), rel_tol=REL):
                failures.append(f"{row.case}: deff {got_d!r} != R {row.deff}")
    assert not failures, f"{len(failures)} of {len(cases)} differ:\n" + "\n".join(failures[:25])


NATIONAL = [line.split() for line in
            (HERE / "r_expected_national.txt").read_text(encoding="utf-8").splitlines()]


@pytest.mark.parametrize("design_id", ["D2", "D3"])
def test_national_comparison_matches_r(loaded, design_id):
    """IDPs minus every household of the survey (IRIS' national comparison), overall and per
    area: the IDP domain is part of the reference, so the covariance is large."""
    wh = loaded
    spec = dict(DESIGNS[design_id])
    table = wh.table(Path(spec.pop("data")).stem)
    design = SurveyDesign.model_validate({k: v for k, v in spec.items() if v is not None})
    con = estimate(wh, table, design, [Indicator("income", "mean", "income")],
                   [("group",), ("area", "group")], [Contrast("group", "idps", "*")]).contrasts
    rows = [r for r in NATIONAL if r[0] == design_id]
    assert rows
    for _, area, diff, se, ratio, ratio_se in rows:
        sel = con[con.by == ""] if area == "ALL" else con[con.area == area]
        got = sel.iloc[0]
        for g, w in ((got.difference, diff), (got.difference_se, se), (got.parity_ratio, ratio),
                     (got.parity_ratio_se, ratio_se)):
            assert math.isclose(g, float(w), rel_tol=REL), (design_id, area, g, w)
