"""IRIS' *progress measure*: are IDPs still worse off than a comparison group, where, and on what?

Per area (and for the whole survey) and indicator: the IDP estimate, the comparison group's, the
gap ``IDPs − comparison`` with its confidence interval (from the joint linearisation: both groups
live in the same PSUs), whether it is significant, and whether it means *worse off* given the
indicator's direction. Per criterion: IDPs are *worse off* on a criterion when any of its
indicators shows a significant gap in the bad direction (IRIS reads criteria through their
sub-criteria), *better off* when some gap is significantly good and none bad, else *no significant
gap*.
"""

from __future__ import annotations

from dataclasses import dataclass

import pandas as pd

from idpkit.solutions.design import GROUPS, DesignError
from idpkit.solutions.estimate import Contrast, estimate
from idpkit.solutions.indicators import CRITERIA
from idpkit.solutions.store import AREA_COLUMN, GROUP_COLUMN, StoredSurvey
from idpkit.warehouse.warehouse import Warehouse

WHOLE_SURVEY = "all"
NATIONAL = "national"
"""Comparison with every household of the survey (IRIS' national population), IDPs included."""


@dataclass
class ProgressMeasure:
    gaps: pd.DataFrame  # area × indicator
    criteria: pd.DataFrame  # area × criterion
    areas: pd.DataFrame  # one row per area, with the sentence
    focal: str
    comparison: str


def progress_measure(wh: Warehouse, survey: StoredSurvey, *, focal: str = "idps",
                     comparison: str = "non_displaced", confidence: float = 0.95
                     ) -> ProgressMeasure:
    """The progress measure for every indicator of the survey's spec, per area and overall."""
    for g in (focal, comparison):
        if g not in GROUPS and not (g == NATIONAL and g == comparison):
            raise DesignError(f"unknown population group {g!r}; use one of {', '.join(GROUPS)}"
                              f" (or {NATIONAL!r} as the comparison)")
    if survey.design.group is None:
        raise DesignError("the survey's design names no population-group column")
    if not survey.indicators:
        raise DesignError("the survey spec lists no indicators")
    present = set(survey.table.select(GROUP_COLUMN).distinct().execute()[GROUP_COLUMN].dropna())
    for g in (focal, comparison):
        if g not in present and g != NATIONAL:
            raise DesignError(f"the survey has no {g} households "
                              f"(groups present: {', '.join(sorted(present))})")
    domains: list[tuple[str, ...]] = [(GROUP_COLUMN,)]
    if survey.design.area:
        domains.append((AREA_COLUMN, GROUP_COLUMN))
    res = estimate(wh, survey.table, survey.design, [i.engine() for i in survey.indicators],
                   domains, [Contrast(GROUP_COLUMN, focal,
                              "*" if comparison == NATIONAL else comparison)],
                   confidence=confidence)
    gaps = res.contrasts.copy()
    if AREA_COLUMN not in gaps:
        gaps[AREA_COLUMN] = None
    gaps[AREA_COLUMN] = gaps[AREA_COLUMN].where(gaps["by"] != "", WHOLE_SURVEY)
    specs = {i.name: i for i in survey.indicators}
    gaps["sub_criterion"] = gaps.indicator.map(lambda n: specs[n].sub_criterion)
    gaps["criterion"] = gaps.indicator.map(lambda n: specs[n].criterion)
    gaps["better"] = gaps.indicator.map(lambda n: specs[n].better)
    bad_sign = gaps.better.map({"higher": -1.0, "lower": 1.0})
    signed = gaps.difference * bad_sign
    gaps["status"] = "no significant gap"
    gaps.loc[gaps.significant & (signed > 0), "status"] = "worse off"
    gaps.loc[gaps.significant & (signed < 0), "status"] = "better off"
    gaps = gaps.rename(columns={"focal_estimate": f"{focal}_estimate",
                                "reference_estimate": f"{comparison}_estimate",
                                "difference": "gap", "difference_se": "gap_se",
                                "difference_ci_low": "gap_ci_low",
                                "difference_ci_high": "gap_ci_high"})
    keep = [AREA_COLUMN, "indicator", "criterion", "sub_criterion", "better",
            f"{focal}_estimate", f"{comparison}_estimate", "gap", "gap_se", "gap_ci_low",
            "gap_ci_high", "significant", "status", "parity_ratio", "parity_ratio_se"]
    gaps = gaps[keep].sort_values([AREA_COLUMN, "criterion", "indicator"], kind="stable")
    gaps = _with_area_names(wh, gaps)
    criteria = _criteria(gaps)
    return ProgressMeasure(gaps.reset_index(drop=True), criteria,
                           _areas(criteria, focal, comparison), focal, comparison)


def _with_area_names(wh: Warehouse, df: pd.DataFrame) -> pd.DataFrame:
    areas = wh.table("areas")
    codes = [c for c in df[AREA_COLUMN].dropna().unique() if c != WHOLE_SURVEY]
    names = areas.filter(areas.pcode.isin(codes)).select("pcode", "name").execute() if codes \
        else pd.DataFrame(columns=["pcode", "name"])
    lookup = dict(zip(names.pcode, names.name, strict=True))
    lookup[WHOLE_SURVEY] = "All areas"
    df.insert(1, "area_name", df[AREA_COLUMN].map(lookup))
    return df


def _criteria(gaps: pd.DataFrame) -> pd.DataFrame:
    g = gaps.dropna(subset=["criterion"])
    out = g.groupby([AREA_COLUMN, "area_name", "criterion"], dropna=False).agg(
        indicators=("indicator", "count"),
        worse=("status", lambda s: int((s == "worse off").sum())),
        better=("status", lambda s: int((s == "better off").sum()))).reset_index()
    out["status"] = "no significant gap"
    out.loc[out.better > 0, "status"] = "better off"
    out.loc[out.worse > 0, "status"] = "worse off"
    out["criterion_label"] = out.criterion.map(CRITERIA)
    return out


def _areas(criteria: pd.DataFrame, focal: str, comparison: str) -> pd.DataFrame:
    rows = []
    who = {"idps": "IDPs", "returnees": "returnees", "non_displaced": "non-displaced residents",
           "host_community": "the host community", "refugees": "refugees",
           "migrants": "migrants", NATIONAL: "the whole population"}
    for (code, name), part in criteria.groupby([AREA_COLUMN, "area_name"], dropna=False,
                                               sort=True):
        order = {c: i for i, c in enumerate(CRITERIA)}
        worse_codes = sorted(part[part.status == "worse off"].criterion, key=order.get)
        worse = [CRITERIA[c] for c in worse_codes]
        named = name if isinstance(name, str) and name else None
        place = ("Across all areas" if code == WHOLE_SURVEY else
                 f"In {named} ({code})" if named else f"In {code}")
        sentence = (f"{place}, {who[focal]} are significantly worse off than {who[comparison]} on "
                    f"{len(worse)} of {len(part)} criteria"
                    + (f": {'; '.join(worse)}." if worse else "."))
        rows.append({AREA_COLUMN: code, "area_name": name, "criteria_assessed": len(part),
                     "criteria_worse_off": len(worse),
                     "criteria_better_off": int((part.status == "better off").sum()),
                     "summary": sentence})
    return pd.DataFrame(rows)
