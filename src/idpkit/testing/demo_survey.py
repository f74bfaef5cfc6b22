"""A realistic durable-solutions household survey for the demo and the tests.

Shaped like the surveys JIPS and DTM run for solutions analyses (and like a KoboToolbox export):

* stratified two-stage design: strata are admin-2 areas; in each, ``psus_per_stratum`` enumeration
  areas (EAs) are drawn from a population of 40-90, then ``households_per_psu`` households from the
  EA's 80-300; weights are the inverse of the two selection probabilities; the population sizes of
  both stages are in the file (``fpc``), EA numbers restart in each stratum (``nest: true``);
* IDPs, returnees and non-displaced households live in the same EAs (the IDP share varies by EA),
  so the IDP-minus-comparison gaps need the covariance between domains;
* EA-level random effects (design effects above 1) and area-specific gaps: IDPs are clearly worse
  off on housing, property documents and employment in most areas, close to parity on freedom of
  movement and health, and the gaps differ between areas;
* indicators for IRIS' ten sub-criteria with their own missing values (a refusal, "don't know"),
  one of them a ratio (children in school per school-age child);
* Kobo habits: group paths in headers (``hh_econ/income``), ``_index``/``_uuid`` columns, and the
  group written as labels (``IDP``, ``Returnee``, ``Non-displaced``), mapped in the spec.

The generator is deterministic for a seed. It writes ``households.csv`` and ``survey.yaml``.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd
import yaml

GROUP_LABELS = {"idps": "IDP", "returnees": "Returnee", "non_displaced": "Non-displaced"}

INDICATORS = [
    # name, variable (header), statistic, sub-criterion, better, benchmark (exit measure)
    ("victim_of_violence", "safety/victim_violence", "proportion", "victims_of_violence", "lower"),
    ("free_movement", "safety/free_movement", "proportion", "freedom_of_movement", "higher"),
    ("food_consumption_score", "living/fcs", "mean", "food_security", "higher"),
    ("adequate_shelter", "living/adequate_shelter", "proportion", "shelter_housing", "higher"),
    ("health_access", "living/health_access", "proportion", "medical_services", "higher"),
    ("school_attendance", "living/children_in_school", "ratio", "education", "higher"),
    ("employed", "econ/employed", "proportion", "employment_livelihoods", "higher"),
    ("income_per_capita", "econ/income_month", "ratio", "economic_security", "higher"),
    ("hlp_documents", "hlp/property_documents", "proportion", "property_restitution", "higher"),
    ("id_documents", "docs/has_id", "proportion", "documentation", "higher"),
]
DENOMINATORS = {"school_attendance": "living/children_school_age",
                "income_per_capita": "hh/hh_size"}


@dataclass
class DemoSurvey:
    households_csv: Path
    spec_yaml: Path
    households: int


def _logistic(x: np.ndarray) -> np.ndarray:
    return 1.0 / (1.0 + np.exp(-x))


def generate_survey(out_dir: Path, areas: list[str], *, seed: int = 11,
                    psus_per_stratum: int = 10, households_per_psu: int = 20) -> DemoSurvey:
    """Write the survey for the given admin-2 P-codes (one stratum each)."""
    rng = np.random.default_rng(seed)
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    n_h, m = psus_per_stratum, households_per_psu
    H = len(areas)
    strata = np.repeat(np.arange(H), n_h * m)
    psu = np.tile(np.repeat(np.arange(1, n_h + 1), m), H)
    N_h = rng.integers(40, 91, H)  # EAs in the stratum's population
    M = rng.integers(80, 301, (H, n_h))  # households in each sampled EA
    fpc1 = N_h[strata]
    fpc2 = M[strata, psu - 1]
    weight = (fpc1 / n_h) * (fpc2 / m)
    n = len(strata)

    idp_share = rng.uniform(0.1, 0.6, (H, n_h))[strata, psu - 1]
    ret_share = rng.uniform(0.0, 0.2, (H, n_h))[strata, psu - 1]
    u = rng.random(n)
    group = np.where(u < idp_share, "idps", np.where(u < idp_share + ret_share, "returnees",
                                                     "non_displaced"))
    idp = (group == "idps").astype(float)
    ret = (group == "returnees").astype(float)
    ea = rng.normal(0, 0.35, (H, n_h))[strata, psu - 1]  # EA effect: design effects > 1
    area_gap = rng.uniform(0.3, 1.6, H)[strata]  # how hard displacement hits in this area

    def binary(base: float, idp_eff: float, ret_eff: float = 0.0, missing: float = 0.03
               ) -> np.ndarray:
        p = _logistic(base + ea + area_gap * idp_eff * idp + ret_eff * ret)
        y = (rng.random(n) < p).astype(float)
        y[rng.random(n) < missing] = np.nan
        return y

    hh_size = np.clip(rng.poisson(5.2, n) + 1 + idp.astype(int), 1, 18)
    school_age = np.minimum(rng.binomial(hh_size, 0.3), hh_size)
    p_school = _logistic(1.4 + ea - 0.7 * area_gap * idp - 0.3 * ret)
    in_school = rng.binomial(school_age, p_school).astype(float)
    in_school[rng.random(n) < 0.02] = np.nan
    income = np.exp(rng.normal(10.4 + 0.6 * ea - 0.35 * area_gap * idp - 0.15 * ret, 0.7))
    income = np.round(income, -2)
    income[rng.random(n) < 0.06] = np.nan  # refusals
    fcs = np.clip(rng.normal(58 + 10 * ea - 7 * area_gap * idp - 3 * ret, 14), 0, 112).round(1)
    fcs[rng.random(n) < 0.05] = np.nan

    cols = {
        "_index": np.arange(1, n + 1),
        "_uuid": [str(uuid.UUID(int=int(x))) for x in rng.integers(0, 2**62, n)],
        "admin/stratum": np.array(areas)[strata],
        "admin/area_pcode": np.array(areas)[strata],
        "admin/ea_number": psu,
        "admin/household_number": np.concatenate([np.arange(1, m + 1)] * (H * n_h)),
        "design/weight": weight.round(6),
        "design/eas_in_stratum": fpc1,
        "design/households_in_ea": fpc2,
        "hh/displacement_status": np.vectorize(GROUP_LABELS.get)(group),
        "hh/hh_size": hh_size,
        "safety/victim_violence": binary(-2.8, 0.7, 0.3, 0.04),
        "safety/free_movement": binary(2.2, -0.2, -0.1, 0.02),
        "living/fcs": fcs,
        "living/adequate_shelter": binary(1.2, -1.3, -0.6, 0.02),
        "living/health_access": binary(0.9, -0.15, -0.1, 0.03),
        "living/children_school_age": school_age,
        "living/children_in_school": in_school,
        "econ/employed": binary(0.2, -0.8, -0.3, 0.08),
        "econ/income_month": income,
        "hlp/property_documents": binary(0.6, -1.5, -0.4, 0.05),
        "docs/has_id": binary(1.8, -1.0, -0.3, 0.03),
    }
    df = pd.DataFrame(cols)
    csv_path = out_dir / "households.csv"
    df.to_csv(csv_path, index=False, lineterminator="\n", float_format="%.10g")

    benchmarks = {"food_consumption_score": 42.0, "income_per_capita": None,
                  "school_attendance": None}
    indicators = []
    for name, var, stat, sub, better in INDICATORS:
        item = {"name": name, "variable": var, "statistic": stat, "sub_criterion": sub,
                "better": better}
        if name in DENOMINATORS:
            item["denominator"] = DENOMINATORS[name]
        if stat == "proportion":  # a household passes when it has the better value
            item["benchmark"] = 0.0 if better == "lower" else 1.0
        elif benchmarks.get(name) is not None:
            item["benchmark"] = benchmarks[name]
        indicators.append(item)
    spec = {
        "survey": {"id": "demo_solutions", "title": "Durable solutions survey (demo, Zedland)",
                   "reference_date": "2025-06-30"},
        "design": {"weights": "design/weight", "strata": "admin/stratum",
                   "psu": "admin/ea_number", "ssu": "admin/household_number",
                   "fpc": ["design/eas_in_stratum", "design/households_in_ea"], "nest": True,
                   "lonely_psu": "adjust", "group": "hh/displacement_status",
                   "groups": {g: [label] for g, label in GROUP_LABELS.items()},
                   "area": "admin/area_pcode"},
        "indicators": indicators,
    }
    spec_path = out_dir / "survey.yaml"
    spec_path.write_text("# Generated by idpkit.testing.demo_survey: a fictional survey.\n" +
                         yaml.safe_dump(spec, sort_keys=False, allow_unicode=True),
                         encoding="utf-8")
    return DemoSurvey(csv_path, spec_path, n)
