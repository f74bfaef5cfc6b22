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
* one column for every standard indicator of the library (``solutions/library/indicators.yaml``:
  IRIS' ten sub-criteria and IASC criteria 6-8), each with its own missing values (a refusal,
  "don't know"), two of them ratios (children in school per school-age child, income per person);
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

BINARY = {
    # library id: (base logit, IDP effect (x area gap), returnee effect, missing share)
    "victim_of_violence": (-2.8, 0.7, 0.3, 0.04),
    "feel_safe_night": (1.0, -0.6, -0.3, 0.03),
    "free_movement": (2.2, -0.2, -0.1, 0.02),
    "movement_restrictions": (-1.8, 0.5, 0.2, 0.02),
    "food_insecurity": (-0.6, 0.9, 0.4, 0.03),
    "adequate_shelter": (1.2, -1.3, -0.6, 0.02),
    "overcrowding": (-1.2, 1.1, 0.4, 0.01),
    "improved_water": (1.4, -0.5, -0.2, 0.01),
    "health_access": (0.9, -0.15, -0.1, 0.03),
    "health_facility_near": (0.7, -0.3, -0.2, 0.02),
    "employment_rate": (0.2, -0.8, -0.3, 0.08),
    "stable_income_source": (0.0, -1.0, -0.5, 0.05),
    "unable_basic_expenses": (-0.5, 1.0, 0.4, 0.04),
    "debt_for_basic_needs": (-0.8, 0.8, 0.3, 0.04),
    "hlp_documents": (0.6, -1.5, -0.4, 0.05),
    "secure_tenure": (1.5, -1.2, -0.3, 0.04),
    "property_restituted": (1.0, -1.6, -0.8, 0.06),
    "id_documents": (1.8, -1.0, -0.3, 0.03),
    "birth_registration": (1.5, -0.9, -0.4, 0.03),
    "family_separated": (-2.5, 1.2, 0.5, 0.03),
    "voted_last_election": (0.5, -0.7, -0.2, 0.07),
    "access_justice": (0.9, -0.5, -0.2, 0.06),
}
"""How the demo's 0/1 indicators are drawn: IDPs are clearly worse off on housing, property,
livelihoods and documents in most areas, close to parity on movement and health."""


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
    from idpkit.solutions.indicators import library

    lib = library()
    missing_demo = [i for i in lib if i not in BINARY and i not in (
        "food_consumption_score", "school_attendance", "income_per_capita")]
    assert not missing_demo, f"no demo column recipe for {missing_demo}"
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
        "living/fcs": fcs,
        "living/children_school_age": school_age,
        "living/children_in_school": in_school,
        "econ/income_month": income,
    }
    for ind_id, (base, idp_eff, ret_eff, missing) in BINARY.items():
        cols[lib[ind_id]["demo"]["variable"]] = binary(base, idp_eff, ret_eff, missing)
    df = pd.DataFrame(cols)
    csv_path = out_dir / "households.csv"
    df.to_csv(csv_path, index=False, lineterminator="\n", float_format="%.10g")

    indicators = [{"use": i, **lib[i]["demo"]} for i in lib]  # the library, demo columns
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
