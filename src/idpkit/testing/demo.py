"""A fictional displacement-tracking operation ("Zedland"), written as real DTM files, with ground truth.

Why: ``idpkit demo``, the end-to-end tests and the benchmarks all need an operation whose every number
is known. Real data cannot give that (and cannot be shipped freely); this generator can. Given a seed
it is fully deterministic, needs no network, and writes:

``<root>/gazetteer/zdl_pcodes.csv``
    OCHA global P-code list format (``Location,Admin Level,P-Code,Name,Parent P-Code,Valid from date``
    + HXL row, UTF-8 with BOM), admin levels 1-3; the parent of an admin 1 is ``ZDL``.
``<root>/boundaries/zdl_admbnda_adm{1,2,3}.geojson``
    nested, non-overlapping polygons (see :mod:`idpkit.testing.demo_geo`).
``<root>/assessments/baseline_round_RR.xlsx``
    baseline area assessment per round, admin-3 rows (sheets Summary / Baseline Assessment Dataset /
    Methodology; two title rows, a blank row in odd-numbered rounds, header, HXL row, data; dates as
    real Excel dates in odd-numbered rounds R01, R03, ... and as serial numbers in the others).
``<root>/assessments/sites_round_RR.csv``
    site assessment per round (header + HXL row; ``;``/cp1252 in one or two rounds, ``dd/mm/yyyy``
    dates in some).
``<root>/assessments/flow_monitoring.csv``
    flow monitoring, all months (UTF-8 with BOM, header + HXL row, admin names not codes).
``<root>/truth/*.csv``
    the ground truth described below.

Definitions (all counts are integers; rows whose value is 0 are omitted; dates are ISO; a *month* or
*period* is ``(from_date, to_date]`` between two consecutive reporting dates, the first reporting date
has stocks but no flows):

``stocks.csv`` — ``adm3_pcode,reference_date,population_group,cause,unit,value``
    ``idps``: IDPs *hosted* in the admin 3 at the reporting date, by cause ``conflict``/``disaster``
    (every disaster is a flood). ``returnees``: cumulative former IDPs who have returned to this admin 3
    (their origin), cause ``unknown`` because the files do not report it. ``unit`` is ``individuals``
    or ``households``; households = ``max(1, rint(individuals / household size of the location))``
    on the location total, split over causes as ``conflict = rint(hh * conflict_ind / total_ind)``,
    ``disaster = hh - conflict``, which is exactly what the baseline files say.
``flows.csv`` — ``adm3_pcode,from_date,to_date,population_group,flow,cause,value`` (individuals)
    names as in :data:`idpkit.model.vocabulary.METRICS`:
    ``new_displacement`` (idps): people newly displaced *from* this admin 3 (counted at the origin;
    they are not part of this location's IDP stock); ``arrivals`` (idps): IDPs who arrived *in* this
    admin 3, newly displaced or moving on from another host; ``departures`` (idps): IDPs who left this
    admin 3, by returning home or moving on; ``secondary_displacement`` (idps): the part of
    ``departures`` that moved on to another host; ``returns`` (returnees, cause ``unknown``): people who
    returned to this admin 3 as their origin. Identities, per admin 3 and period:
    ``idps(to) = idps(from) + arrivals - departures`` (per cause) and
    ``returnees(to) = returnees(from) + returns``.
``od.csv`` — ``origin_adm3_pcode,destination_adm3_pcode,from_date,to_date,cause,value,flow``
    every movement of the period, ``flow`` is ``new_displacement`` (home -> first host),
    ``secondary_displacement`` (host -> next host) or ``returns`` (host -> home; here ``cause`` is the
    cause of the displacement that ended). Summing by destination over the first two gives
    ``arrivals``, by origin over the last two gives ``departures``.
``stocks_by_origin.csv`` — ``adm3_pcode,origin_adm3_pcode,reference_date,cause,value``
    the IDP stock (individuals) by admin-3 origin; sums to the ``idps`` individuals of ``stocks.csv``.
``sites.csv`` — ``site_id,site_name,site_type,adm3_pcode,latitude,longitude`` (types from
    :data:`~idpkit.model.vocabulary.SITE_TYPES`); ``site_stocks.csv`` —
    ``site_id,reference_date,unit,value`` IDPs living in each site (a share of its admin 3's IDPs).
``shocks.csv`` — ``from_date,to_date,adm2_pcode,cause,hazard``: the displacement events simulated.
``injected_errors.csv`` — ``file,sheet,row,column,code,description,severity,value``
    every deliberate problem, ``row`` as a user sees it (XLSX: Excel row; CSV: 1-based line counting
    the header and HXL lines). ``severity`` ``error``: the row must be quarantined (such rows are always
    extra rows, so the truth stays whole); ``warning``: flag and keep (numbers are true); ``info``: a
    placeholder (``-``, ``n/a``, ``Not available``) meaning *missing*, never an error. Codes:
    ``pcode_typo``, ``pcode_unknown``, ``unknown_location``, ``negative_value``, ``non_numeric``,
    ``duplicate_row`` (exact copy: keep one), ``households_exceed_individuals``,
    ``sex_sum_exceeds_total``, ``formula_injection``, ``value_jump`` (IDP individuals at least 20x the
    previous round, previous > 0; the designed surge and any natural one), ``ambiguous_cause``,
    ``placeholder_missing``.
``file_totals.csv`` — ``file,adm1_pcode,population_group,unit,value``
    what a correct validator accepts per file and admin 1 (errors quarantined, warnings kept,
    placeholders missing): baseline files: idps and returnees, individuals and households; site files:
    idps individuals and households; flow file: idps individuals by *arrival* admin 1.

The flow monitoring file covers every IDP arrival of months 1..T-1 (new and secondary displacement),
aggregated to (month, departure admin 2, arrival admin 2, cause) and split into 1-3 observed groups on
random days of the month; for secondary displacement the departure area is the previous host. So
``od.csv`` restricted to those two flows and aggregated to admin 2 equals the file summed by month.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from pathlib import Path

import numpy as np
import pandas as pd

from idpkit.testing.demo_dynamics import CAUSES, KINDS, Simulation, location_flows, simulate
from idpkit.testing.demo_files import (
    Ctx,
    make_sites,
    site_populations,
    write_baseline,
    write_flows,
    write_sites,
)
from idpkit.testing.demo_geo import Geography, build_geography, write_boundaries, write_gazetteer_csv
from idpkit.testing.demo_large import write_large_gazetteer_csv, write_large_observations_csv

__all__ = [
    "DemoOperation",
    "generate_operation",
    "write_large_gazetteer_csv",
    "write_large_observations_csv",
]


@dataclass
class DemoOperation:
    """Paths of everything :func:`generate_operation` wrote."""

    root: Path
    gazetteer_csv: Path  # OCHA-format P-code list, admin 1..3
    boundaries: dict[int, Path]  # admin level -> GeoJSON FeatureCollection
    baseline_files: list[Path]  # one XLSX per round
    site_files: list[Path]  # one CSV per round
    flow_files: list[Path]  # flow monitoring CSV(s)
    truth_dir: Path  # ground-truth CSVs

    def all_assessment_files(self) -> list[Path]:
        """Baseline and site file of round 1, of round 2, ..., then the flow file(s)."""
        out: list[Path] = []
        for b, s in zip(self.baseline_files, self.site_files):
            out += [b, s]
        return out + list(self.flow_files)


def reporting_dates(start: date, rounds: int) -> list[date]:
    """Month ends: the end of ``start``'s month, then the following ``rounds - 1`` month ends."""
    return [d.date() for d in pd.date_range(start, periods=rounds, freq="ME")]


def generate_operation(
    out_dir: Path,
    *,
    seed: int = 7,
    rounds: int = 12,
    n_adm1: int = 4,
    n_adm2_per_adm1: int = 5,
    n_adm3_per_adm2: int = 12,
    start: date = date(2025, 1, 31),
) -> DemoOperation:
    """Simulate Zedland and write its files and ground truth under ``out_dir`` (see module docstring).

    Same arguments give byte-identical CSVs (the XLSX zip containers carry a timestamp, their cell
    contents are identical).
    """
    if rounds < 1:
        raise ValueError("rounds must be >= 1")
    root = Path(out_dir)
    dirs = {k: root / k for k in ("gazetteer", "boundaries", "assessments", "truth")}
    for d in dirs.values():
        d.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(seed)
    geo = build_geography(rng, n_adm1, n_adm2_per_adm1, n_adm3_per_adm2)
    sim = simulate(geo, rng, reporting_dates(start, rounds))
    sites = make_sites(geo, sim, rng)
    ctx = Ctx(geo=geo, sim=sim, rng=rng, sites=sites, site_ind=site_populations(sim, sites, rng))

    gazetteer = write_gazetteer_csv(geo.units, dirs["gazetteer"] / "zdl_pcodes.csv")
    boundaries = write_boundaries(geo, dirs["boundaries"])
    baseline_files, site_files = [], []
    for t in range(rounds):
        baseline_files.append(write_baseline(ctx, dirs["assessments"] / f"baseline_round_{t + 1:02d}.xlsx", t))
        site_files.append(write_sites(ctx, dirs["assessments"] / f"sites_round_{t + 1:02d}.csv", t))
    flow_files = [write_flows(ctx, dirs["assessments"] / "flow_monitoring.csv")]
    write_truth(ctx, dirs["truth"])
    (root / "README.txt").write_text(
        "Zedland is a fictional country. Every name, code and number here was generated by idpkit "
        f"(seed {seed}) for demonstrations and tests. See truth/ for the ground truth and the docstring "
        "of idpkit.testing.demo for the definitions.\n",
        encoding="utf-8",
    )
    return DemoOperation(root=root, gazetteer_csv=gazetteer, boundaries=boundaries,
                         baseline_files=baseline_files, site_files=site_files, flow_files=flow_files,
                         truth_dir=dirs["truth"])


def _csv(df: pd.DataFrame, path: Path) -> None:
    df.to_csv(path, index=False, lineterminator="\n", encoding="utf-8")


def stocks_table(ctx: Ctx) -> pd.DataFrame:
    """Ground-truth stocks in long format (see ``stocks.csv`` in the module docstring)."""
    sim, a3 = ctx.sim, ctx.geo.units[3]
    t_n, n, _ = sim.idps.shape
    tot = sim.idps.sum(axis=2)
    hh_conf = np.where(tot > 0, np.rint(ctx.idp_hh * sim.idps[..., 0] / np.maximum(tot, 1)), 0).astype(np.int64)
    parts = [
        ("idps", "conflict", "individuals", sim.idps[..., 0]),
        ("idps", "conflict", "households", hh_conf),
        ("idps", "disaster", "individuals", sim.idps[..., 1]),
        ("idps", "disaster", "households", ctx.idp_hh - hh_conf),
        ("returnees", "unknown", "individuals", sim.returnees),
        ("returnees", "unknown", "households", ctx.ret_hh),
    ]
    dates = np.array([d.isoformat() for d in sim.dates])
    t_idx = np.repeat(np.arange(t_n), n)
    l_idx = np.tile(np.arange(n), t_n)
    frames = [
        pd.DataFrame({"adm3_pcode": a3["adm3_pcode"].to_numpy()[l_idx], "reference_date": dates[t_idx],
                      "population_group": g, "cause": c, "unit": u, "value": v.reshape(-1)})
        for g, c, u, v in parts
    ]
    out = pd.concat(frames, ignore_index=True)
    out = out[out["value"] > 0]
    return out.sort_values(["reference_date", "adm3_pcode", "population_group", "cause", "unit"]).reset_index(
        drop=True
    )


def flows_table(sim: Simulation, geo: Geography) -> pd.DataFrame:
    """Ground-truth flows per admin 3 and period (see ``flows.csv`` in the module docstring)."""
    f = location_flows(sim)
    f["population_group"] = np.where(f["flow"] == "returns", "returnees", "idps")
    f["cause"] = np.where(f["flow"] == "returns", "unknown", np.array(CAUSES)[f["cause"]])
    f = f.groupby(["t", "loc", "population_group", "flow", "cause"], as_index=False)["value"].sum()
    dates = np.array([d.isoformat() for d in sim.dates])
    out = pd.DataFrame({
        "adm3_pcode": geo.units[3]["adm3_pcode"].to_numpy()[f["loc"]],
        "from_date": dates[f["t"] - 1], "to_date": dates[f["t"]],
        "population_group": f["population_group"], "flow": f["flow"], "cause": f["cause"],
        "value": f["value"].astype(np.int64),
    })
    out = out[out["value"] > 0]
    return out.sort_values(["to_date", "adm3_pcode", "population_group", "flow", "cause"]).reset_index(drop=True)


def write_truth(ctx: Ctx, truth_dir: Path) -> None:
    """Write every ground-truth CSV (formats in the module docstring)."""
    sim, geo = ctx.sim, ctx.geo
    pc = geo.units[3]["adm3_pcode"].to_numpy()
    dates = np.array([d.isoformat() for d in sim.dates])
    _csv(stocks_table(ctx), truth_dir / "stocks.csv")
    _csv(flows_table(sim, geo), truth_dir / "flows.csv")
    e = sim.events
    od = pd.DataFrame({
        "origin_adm3_pcode": pc[e["origin"]], "destination_adm3_pcode": pc[e["dest"]],
        "from_date": dates[e["t"] - 1], "to_date": dates[e["t"]],
        "cause": np.array(CAUSES)[e["cause"]], "value": e["value"].astype(np.int64),
        "flow": np.array(KINDS)[e["kind"]],
    })
    od = od.sort_values(["to_date", "flow", "origin_adm3_pcode", "destination_adm3_pcode", "cause"])
    _csv(od, truth_dir / "od.csv")
    c = sim.cohorts
    _csv(
        pd.DataFrame({"adm3_pcode": pc[c["host"]], "origin_adm3_pcode": pc[c["origin"]],
                      "reference_date": dates[c["t"]], "cause": np.array(CAUSES)[c["cause"]],
                      "value": c["value"]})
        .sort_values(["reference_date", "adm3_pcode", "origin_adm3_pcode", "cause"]),
        truth_dir / "stocks_by_origin.csv",
    )
    s = ctx.sites
    _csv(s[["site_id", "site_name", "site_type", "adm3_pcode", "latitude", "longitude"]], truth_dir / "sites.csv")
    t_idx, s_idx = np.nonzero(ctx.site_ind > 0)
    ss = pd.concat([
        pd.DataFrame({"site_id": s["site_id"].to_numpy()[s_idx], "reference_date": dates[t_idx],
                      "unit": unit, "value": arr[t_idx, s_idx]})
        for unit, arr in (("individuals", ctx.site_ind), ("households", ctx.site_hh))
    ])
    _csv(ss.sort_values(["reference_date", "site_id", "unit"]), truth_dir / "site_stocks.csv")
    a2 = geo.units[2]["pcode"].to_numpy()
    _csv(pd.DataFrame(
        [{"from_date": dates[x.month - 1], "to_date": dates[x.month], "adm2_pcode": a2[x.adm2],
          "cause": CAUSES[x.cause], "hazard": "flood" if x.cause == 1 else ""} for x in sim.shocks],
        columns=["from_date", "to_date", "adm2_pcode", "cause", "hazard"],
    ).sort_values(["to_date", "adm2_pcode"]), truth_dir / "shocks.csv")
    _csv(pd.DataFrame(ctx.errors, columns=["file", "sheet", "row", "column", "code", "description",
                                           "severity", "value"]), truth_dir / "injected_errors.csv")
    _csv(pd.DataFrame(ctx.totals, columns=["file", "adm1_pcode", "population_group", "unit", "value"]),
         truth_dir / "file_totals.csv")
