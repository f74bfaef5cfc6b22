"""Solutions results as warehouse tables, for the API, the dashboard and exports.

Why store them: the estimates take seconds on a large survey, and other parts (API, dashboard,
situation reports) must read them through the warehouse, not call into this package. ``analyse``
recomputes a survey's results and replaces its rows in four tables in one transaction:

``solution_estimates``  every indicator by group and by area × group (SE, CI, CV, deff, n, N);
``solution_gaps``       the progress measure per area and indicator (focal vs comparison);
``solution_criteria``   the progress measure per area and IRIS criterion;
``solution_exit``       the experimental exit measure (full composite), per area.
"""

from __future__ import annotations

from dataclasses import dataclass

import ibis
import ibis.expr.datatypes as dt
import pandas as pd
import pyarrow as pa

from idpkit.solutions.engine import lit
from idpkit.solutions.estimate import estimate
from idpkit.solutions.exit import exit_measure
from idpkit.solutions.progress import progress_measure
from idpkit.solutions.store import AREA_COLUMN, GROUP_COLUMN, StoredSurvey
from idpkit.warehouse.warehouse import Warehouse

S, F, I, B = dt.string, dt.float64, dt.int64, dt.boolean
TABLES: dict[str, ibis.Schema] = {
    "solution_estimates": ibis.schema({
        "survey_id": S, "domain": S, "area_pcode": S, "population_group": S, "indicator": S,
        "statistic": S, "level": S, "criterion": S, "sub_criterion": S, "estimate": F, "se": F,
        "ci_low": F, "ci_high": F, "cv": F, "deff": F, "n": I, "weighted_n": F}),
    "solution_gaps": ibis.schema({
        "survey_id": S, "area_pcode": S, "area_name": S, "indicator": S, "criterion": S,
        "sub_criterion": S, "better": S, "focal": S, "comparison": S, "focal_estimate": F,
        "comparison_estimate": F, "gap": F, "gap_se": F, "gap_ci_low": F, "gap_ci_high": F,
        "significant": B, "status": S, "parity_ratio": F, "parity_ratio_se": F}),
    "solution_criteria": ibis.schema({
        "survey_id": S, "area_pcode": S, "area_name": S, "criterion": S, "criterion_label": S,
        "indicators": I, "worse": I, "better": I, "status": S, "focal": S, "comparison": S}),
    "solution_exit": ibis.schema({
        "survey_id": S, "area_pcode": S, "outcome": S, "method": S, "unit": S,
        "population": F, "overcame": F, "overcame_ci_low": F, "overcame_ci_high": F,
        "share": F, "share_ci_low": F, "share_ci_high": F, "assessed_share": F,
        "households_assessed": I, "status": S}),
}


@dataclass
class Analysis:
    survey_id: str
    rows: dict[str, int]


def _frame(df: pd.DataFrame, schema: ibis.Schema) -> pa.Table:
    arrow = schema.to_pyarrow()
    cols = {}
    for f in arrow:
        values = df[f.name].tolist() if f.name in df else [None] * len(df)
        cols[f.name] = pa.array([None if isinstance(v, float) and v != v else v for v in values],
                                f.type, from_pandas=True)
    return pa.Table.from_pydict(cols, schema=arrow)


def analyse(wh: Warehouse, survey: StoredSurvey, *, focal: str = "idps",
            comparison: str = "non_displaced") -> Analysis:
    """Recompute and store the survey's results (replacing earlier ones, atomically)."""
    wh.ensure_tables(TABLES)
    specs = {i.name: i for i in survey.indicators}
    domains = [(GROUP_COLUMN,)] + ([(AREA_COLUMN, GROUP_COLUMN)] if survey.design.area else [])
    est = estimate(wh, survey.table, survey.design, [i.engine() for i in survey.indicators],
                   domains).estimates
    est["criterion"] = est.indicator.map(lambda n: specs[n].criterion)
    est["sub_criterion"] = est.indicator.map(lambda n: specs[n].sub_criterion)
    frames = {"solution_estimates": est.rename(columns={"by": "domain"})}  # BY is reserved
    pm = progress_measure(wh, survey, focal=focal, comparison=comparison)
    frames["solution_gaps"] = pm.gaps.rename(columns={
        f"{focal}_estimate": "focal_estimate", f"{comparison}_estimate": "comparison_estimate"
    }).assign(focal=focal, comparison=comparison)
    frames["solution_criteria"] = pm.criteria.assign(focal=focal, comparison=comparison)
    if any(i.criterion for i in survey.indicators):
        em = exit_measure(wh, survey, method="full", focal=focal, comparison=comparison)
        frames["solution_exit"] = em.table.rename(columns={f"{focal}_households": "population"})
    stages, statements, rows = [], [], {}
    try:
        for name, df in frames.items():
            stage = wh.backend.new_stage_name()
            wh.backend.load_arrow(stage, _frame(df.assign(survey_id=survey.survey_id),
                                                TABLES[name]))
            stages.append(stage)
            cols = ", ".join(f'"{c}"' for c in TABLES[name].names)
            statements += [f'DELETE FROM "{name}" WHERE survey_id = {lit(survey.survey_id)}',
                           f'INSERT INTO "{name}" ({cols}) SELECT {cols} FROM "{stage}"']
            rows[name] = len(df)
        wh.execute_atomically(statements)
    finally:
        wh.backend.drop_stages(stages)
    return Analysis(survey.survey_id, rows)
