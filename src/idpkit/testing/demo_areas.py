"""The demo operation's area-view data (issue 7): a weighted MSNA-style household survey for IDPs,
returnees and the host community, key-informant locations, site measurements across rounds, 4W
activity reports across the humanitarian-development-peace continuum, and community
consultations. Deterministic for a seed; every value is generated (Zedland is fictional).

What is built in, so the demo shows something worth looking at:

* needs are worse for IDPs than for hosts in most areas, and worst in the first areas (so the
  priority ranking has a clear top); a few households skip sectors (missing values);
* sites get more crowded across rounds; a third of them breach the covered-space minimum by the
  last round, some run short of water and latrines;
* humanitarian activities in some areas end after the second quarter with nothing after them
  (continuity gaps); in others transition/recovery programmes follow;
* consultations record what IDPs and host residents asked for, per area.

:func:`household_needs` is also the benchmark's generator (``benchmarks/areas.py``).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta
from pathlib import Path

import numpy as np
import pandas as pd
import yaml

GROUP_LABELS = {"idps": "IDP", "returnees": "Returnee", "host_community": "Host community"}
SHELTER = np.array(["adequate", "damaged", "collective_centre", "makeshift", "none"])
SANITATION = np.array(["improved", "shared_improved", "shared_unimproved", "open_defecation"])
SECTORS = ("food_security", "health", "shelter", "wash", "protection", "education")
ORGS = ("Zedland Red Crescent", "WASH Alliance", "Hope Relief", "UN Agency A", "Local NGO Kora",
        "Development Bank ZD", "Peace Initiative")
PRIORITIES = ("water", "shelter", "jobs", "schools", "health care", "documents", "safety",
              "food", "land and housing", "electricity", "roads")


@dataclass
class DemoAreas:
    households_csv: Path
    households_spec: Path
    locations_csv: Path
    locations_spec: Path
    sites_csv: Path
    activities_csv: Path
    consultations_csv: Path


def household_needs(n: int, areas: list[str], *, seed: int = 17, clusters_per_area: int = 8
                    ) -> pd.DataFrame:
    """``n`` households over ``areas`` (one stratum each, ``clusters_per_area`` clusters), with
    weights, group labels, size and the columns the default severity rules read. Vectorised, so
    millions of rows take seconds."""
    rng = np.random.default_rng(seed)
    H = len(areas)
    stratum = rng.integers(0, H, n)
    cluster = rng.integers(1, clusters_per_area + 1, n)
    hardship = np.linspace(1.0, 0.0, H)[stratum] + rng.normal(0, 0.15, (H, clusters_per_area + 1)
                                                               )[stratum, cluster]
    u = rng.random(n)
    idp_share = rng.uniform(0.2, 0.5, H)[stratum]
    grp = np.where(u < idp_share, "idps", np.where(u < idp_share + 0.12, "returnees",
                                                   "host_community"))
    idp = (grp == "idps").astype(float) + 0.5 * (grp == "returnees")
    x = hardship + 0.8 * idp + rng.normal(0, 0.6, n)  # latent deprivation

    def miss(a: np.ndarray, share: float) -> np.ndarray:
        a = a.astype(float)
        a[rng.random(n) < share] = np.nan
        return a

    size = np.clip(rng.poisson(4.5, n) + 1 + idp.astype(int), 1, 20)
    school_age = rng.binomial(size, 0.3)
    oos = np.where(school_age > 0, rng.binomial(school_age, np.clip(0.1 + 0.2 * x, 0, 1)) /
                   np.maximum(school_age, 1), np.nan)
    df = pd.DataFrame({
        "stratum": np.array(areas)[stratum],
        "cluster": cluster,
        "weight": np.round(rng.uniform(20, 80, n) * (1 + 0.5 * (stratum % 3)), 4),
        "pcode": np.array(areas)[stratum],
        "pop_group": pd.Series(grp).map(GROUP_LABELS).to_numpy(),
        "hh_size": size,
        "fcs": miss(np.clip(np.round(60 - 18 * x + rng.normal(0, 10, n), 1), 0, 112), 0.02),
        "rcsi": miss(np.clip(np.round(6 + 7 * x + rng.normal(0, 5, n)), 0, 56), 0.03),
        "health_access_barrier": miss((rng.random(n) < 0.15 + 0.15 * x).astype(float), 0.02),
        "health_facility_km": miss(np.round(np.abs(rng.normal(3 + 2 * x, 2, n)), 1), 0.02),
        "shelter_type": SHELTER[np.clip(np.round(x * 1.3 + rng.normal(0, 0.8, n)), 0, 4
                                        ).astype(int)],
        "people_per_room": miss(np.round(np.clip(1.5 + x + rng.normal(0, 1, n), 0.5, 9), 1), 0.01),
        "water_lpd": miss(np.round(np.clip(22 - 7 * x + rng.normal(0, 5, n), 1, 60), 1), 0.02),
        "sanitation": SANITATION[np.clip(np.round(x + rng.normal(0, 0.7, n)), 0, 3).astype(int)],
        "safety_concern": miss((rng.random(n) < 0.1 + 0.12 * x).astype(float), 0.04),
        "missing_documents": miss((rng.random(n) < 0.05 + 0.15 * idp).astype(float), 0.03),
        "child_labour": miss((rng.random(n) < 0.03 + 0.04 * x).astype(float), 0.05),
        "out_of_school_share": np.round(oos, 4),
    })
    df.loc[rng.random(n) < 0.03, "shelter_type"] = None  # sector partly missing
    return df


def _spec(kind: str, sid: str, title: str) -> dict:
    if kind == "households":
        return {"needs": {"id": sid, "title": title, "kind": "households",
                          "reference_date": "2025-06-30", "size": "hh_size"},
                "design": {"weights": "weight", "strata": "stratum", "psu": "cluster",
                           "nest": True, "lonely_psu": "adjust", "group": "pop_group",
                           "groups": {g: [label] for g, label in GROUP_LABELS.items()},
                           "area": "pcode"}}
    return {"needs": {"id": sid, "title": title, "kind": "locations",
                      "reference_date": "2025-05-31", "size": "people", "area": "pcode",
                      "group": "group"}}


def generate_areas(out_dir: Path, adm2: list[str], adm3: list[str], sites: pd.DataFrame, *,
                   seed: int = 7, households: int = 4000) -> DemoAreas:
    """Write every area-view file of the demo under ``out_dir``. ``sites`` has ``site_id`` and
    ``area_pcode`` (the sites the demo's site assessments created)."""
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(seed + 100)
    hh = household_needs(households, adm2, seed=seed)
    paths = {}
    paths["households_csv"] = out / "msna_households.csv"
    hh.to_csv(paths["households_csv"], index=False, lineterminator="\n")
    paths["households_spec"] = out / "msna.yaml"
    paths["households_spec"].write_text(yaml.safe_dump(
        _spec("households", "msna_2025", "Multi-sector needs assessment 2025 (demo)"),
        sort_keys=False), encoding="utf-8")

    # key-informant locations: one row per admin-3 area and group, indicators as typical values
    ki = household_needs(len(adm3) * 3, adm3, seed=seed + 1, clusters_per_area=1)
    ki["pcode"] = np.repeat(adm3, 3)[:len(ki)] if len(ki) == len(adm3) * 3 else ki["pcode"]
    ki["group"] = np.tile(["IDPs", "Host community", "Returnees"], len(adm3))
    ki["people"] = rng.integers(200, 5000, len(ki))
    ki = ki.drop(columns=["stratum", "cluster", "weight", "pop_group", "hh_size"])
    paths["locations_csv"] = out / "ki_locations.csv"
    ki.to_csv(paths["locations_csv"], index=False, lineterminator="\n")
    paths["locations_spec"] = out / "ki.yaml"
    paths["locations_spec"].write_text(yaml.safe_dump(
        _spec("locations", "ki_2025", "Key-informant needs monitoring (demo)"), sort_keys=False),
        encoding="utf-8")

    paths["sites_csv"] = out / "site_conditions.csv"
    site_conditions(sites, rng).to_csv(paths["sites_csv"], index=False, lineterminator="\n")
    paths["activities_csv"] = out / "activities_4w.csv"
    activities(adm2, rng).to_csv(paths["activities_csv"], index=False, lineterminator="\n")
    paths["consultations_csv"] = out / "consultations.csv"
    consultations(adm2, rng).to_csv(paths["consultations_csv"], index=False, lineterminator="\n")
    return DemoAreas(**paths)


def site_conditions(sites: pd.DataFrame, rng: np.random.Generator, rounds: int = 3
                    ) -> pd.DataFrame:
    """Three monthly rounds of site measurements: crowding grows, services lag behind."""
    n = len(sites)
    base = rng.integers(300, 6000, n).astype(float)
    space = rng.uniform(3.2, 7.0, n)  # covered m² per person in round 1
    frames = []
    for r in range(rounds):
        people = np.round(base * (1 + 0.15 * r + rng.normal(0, 0.05, n)))
        frames.append(pd.DataFrame({
            "site_id": sites.site_id.to_numpy(), "round": f"R{r + 1}",
            "assessment_date": [(date(2025, 4, 15) + timedelta(days=30 * r)).isoformat()] * n,
            "pcode": sites.area_pcode.to_numpy(),
            "individuals": people.astype(int),
            "covered_area_m2": np.round(base * space),
            "site_area_m2": np.round(base * space * rng.uniform(8, 16, n)),
            "water_litres_per_day": np.round(people * rng.uniform(12, 30, n)),
            "latrines": np.maximum(1, np.round(base / rng.uniform(12, 30, n))).astype(int),
            "handwashing_stations": np.round(base / rng.uniform(8, 28, n)).astype(int),
            "health_facility_km": np.round(rng.uniform(0.2, 9, n), 1),
            "isolation_spaces": rng.choice([0, 5, 10, 20], n, p=[0.2, 0.3, 0.3, 0.2]),
        }))
    return pd.concat(frames, ignore_index=True)


def activities(adm2: list[str], rng: np.random.Generator) -> pd.DataFrame:
    """4W reports over four quarters of 2025, with sex breakdown rows under some totals."""
    quarters = [(date(2025, 1, 1), date(2025, 3, 31)), (date(2025, 4, 1), date(2025, 6, 30)),
                (date(2025, 7, 1), date(2025, 9, 30)), (date(2025, 10, 1), date(2025, 12, 31))]
    rows = []
    for i, area in enumerate(adm2):
        follow_up = i % 3 != 0  # every third area: humanitarian aid stops, nothing follows
        for sector in rng.choice(SECTORS, size=rng.integers(2, 5), replace=False):
            org = ORGS[rng.integers(0, 5)]
            for q in range(2):
                for grp in ("idps", "host_community"):
                    target = int(rng.integers(200, 3000))
                    reached = int(target * rng.uniform(0.5, 1.05))
                    rows.append((org, sector, f"{sector.replace('_', ' ')} assistance",
                                 "humanitarian_response", area, *quarters[q], grp, "all",
                                 "all", target, reached))
                    if grp == "idps" and q == 0:
                        f = int(reached * 0.52)
                        rows.append((org, sector, f"{sector.replace('_', ' ')} assistance",
                                     "humanitarian_response", area, *quarters[q], grp, "female",
                                     "all", None, f))
                        rows.append((org, sector, f"{sector.replace('_', ' ')} assistance",
                                     "humanitarian_response", area, *quarters[q], grp, "male",
                                     "all", None, reached - f))
            if rng.random() < 0.35:  # a second organisation in the same place: an overlap
                rows.append((ORGS[rng.integers(0, 5)], sector, ("cash for "
                             f"{sector.replace('_', ' ')}"), "humanitarian_response", area,
                             *quarters[1], "idps", "all", "all", 800, int(rng.integers(300, 900))))
        if follow_up:
            for q in (2, 3):
                rows.append((ORGS[5 + (i % 2)], "livelihoods" if i % 2 else "education",
                             "recovery programme" if i % 2 else "school rehabilitation",
                             "transition_recovery" if q == 2 else "development_peace", area,
                             *quarters[q], "idps", "all", "all", 1500, int(rng.integers(600, 1500))))
    cols = ["organisation", "sector", "activity", "phase", "pcode", "start_date", "end_date",
            "population_group", "sex", "age_group", "targeted", "reached"]
    df = pd.DataFrame(rows, columns=cols)
    df["start_date"] = df.start_date.astype(str)
    df["end_date"] = df.end_date.astype(str)
    df["targeted"] = df.targeted.astype("Int64")
    return df


def consultations(adm2: list[str], rng: np.random.Generator) -> pd.DataFrame:
    rows = []
    for area in adm2:
        for grp, label in (("idps", "IDPs"), ("host_community", "Host residents")):
            for k in range(int(rng.integers(1, 3))):
                pri = rng.choice(PRIORITIES, size=3, replace=False)
                rows.append((area, (date(2025, 3, 10) + timedelta(days=int(rng.integers(0, 150)))
                                    ).isoformat(),
                             ["focus group discussion", "community meeting", "key informant"][k % 3],
                             label, int(rng.integers(8, 40)), ORGS[int(rng.integers(0, 5))],
                             "; ".join(pri), f"{label} in {area} raised {pri[0]} first"))
    return pd.DataFrame(rows, columns=["pcode", "date", "method", "group", "participants",
                                       "organisation", "priorities", "notes"])


# ---------------------------------------------------------------------- pandas reference
def pandas_needs_reference(df: pd.DataFrame, rules, *, area: str, group: str,
                           weight: str | None, size: str | None
                           ) -> tuple[pd.DataFrame, pd.DataFrame]:
    """The severity rules written straightforwardly with pandas/numpy, independently of the SQL:
    the peer of ``benchmarks/areas.py`` and the reference of the tests. Returns (severity, pin)
    long tables with the columns of :func:`idpkit.areas.needs.long_results`
    (``area_pcode, population_group, sector, phase, share_phase_2..5, population, records`` and
    ``area_pcode, population_group, sector, people_in_need, population``)."""
    def phase(rule) -> np.ndarray:
        x = df[rule.column]
        out = np.full(len(df), np.nan)
        if rule.values:
            numeric = pd.api.types.is_numeric_dtype(x) or pd.api.types.is_bool_dtype(x)
            out[x.notna().to_numpy()] = rule.otherwise
            for k, p in rule.values.items():
                if numeric:
                    try:
                        hit = x.astype(float).to_numpy() == float(k)
                    except (TypeError, ValueError):
                        continue
                else:
                    hit = (x.astype("string").str.strip().str.lower() == str(k).strip().lower()
                           ).fillna(False).to_numpy()
                out[hit] = p
            return out
        v = x.astype(float).to_numpy()
        out[~np.isnan(v)] = 1
        cuts = rule.below or rule.at_least
        for p in sorted(cuts):  # ascending: the worst matching phase is written last
            hit = v < cuts[p] if rule.below else v >= cuts[p]
            out[hit & (out < p)] = p
        return out

    sev = {}
    for name, sector in rules.sectors.items():
        sev[name] = np.fmax.reduce([phase(i) for i in sector.indicators])
    mat = np.column_stack(list(sev.values()))
    if rules.intersectoral.method == "max":
        inter = np.fmax.reduce(mat, axis=1)
    else:
        n = rules.intersectoral.top
        filled = np.where(np.isnan(mat), -np.inf, mat)
        top = -np.sort(-filled, axis=1)[:, :n]
        avail = np.isfinite(top)
        with np.errstate(invalid="ignore", divide="ignore"):
            mean = np.where(avail, top, 0).sum(axis=1) / avail.sum(axis=1)
        inter = np.floor(mean + 0.5)
    sev["intersectoral"] = inter
    w = df[weight].astype(float).to_numpy() if weight else np.ones(len(df))
    n_ = df[size].astype(float).to_numpy() if size else np.ones(len(df))
    pop = w * n_
    thr = rules.area_rule.threshold - 1e-9
    k = rules.phase_in_need
    sev_rows, pin_rows = [], []
    keys = df[[area, group]].astype(object).rename(columns={area: "area_pcode",
                                                            group: "population_group"})
    for name, s in sev.items():
        frame = keys.assign(_pop=np.where(np.isnan(s), 0.0, pop), _n=~np.isnan(s),
                            **{f"_ge{p}": np.where(s >= p, pop, 0.0) for p in (2, 3, 4, 5)})
        g = frame.groupby(["area_pcode", "population_group"], sort=True).sum()
        out = pd.DataFrame(index=g.index)
        out["sector"] = name
        for p in (2, 3, 4, 5):
            out[f"share_phase_{p}"] = g[f"_ge{p}"] / g._pop.where(g._pop != 0)
        ph = np.select([out[f"share_phase_{p}"] >= thr for p in (5, 4, 3, 2)], [5, 4, 3, 2], 1)
        out["phase"] = pd.array(np.where(g._n > 0, ph, 0), dtype="Int64")
        out.loc[g._n.to_numpy() == 0, "phase"] = pd.NA
        out["population"] = g._pop
        out["records"] = g._n.astype("int64")
        sev_rows.append(out.reset_index())
        pin = pd.DataFrame({"sector": name,
                            "people_in_need": g[f"_ge{k}"].where(g._n > 0),
                            "population": g._pop}, index=g.index)
        pin_rows.append(pin.reset_index())
    order = ["area_pcode", "population_group", "sector"]
    severity = pd.concat(sev_rows, ignore_index=True).sort_values(order).reset_index(drop=True)
    people = pd.concat(pin_rows, ignore_index=True).sort_values(order).reset_index(drop=True)
    return severity, people
