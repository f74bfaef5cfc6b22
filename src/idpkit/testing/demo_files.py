"""Writers for the demo operation's assessment files, with the habits of real DTM exports.

Why: an ingestion pipeline is only tested for real if its inputs look like what operations actually
publish: title rows above the header, an HXL row under it, dates sometimes as Excel serial numbers,
hashtag variants, ``;``-separated cp1252 CSVs with accented names, flow monitoring that names places
instead of coding them, and a sprinkling of broken rows. Each deliberate problem is logged (file,
sheet, row as the user sees it, column, code) so tests can check a validator finds exactly it.

Rule that keeps the truth recoverable: *errors* live only on extra rows (at quiet locations, with
site ids not in ``sites.csv``, or exact copies of a true row), so quarantining them leaves exactly the
true rows; rows whose area is unknown are *kept* by idpkit (real people count in the national total),
so the extra rows that carry an unknown P-code or place count nobody (zeros) and are warnings;
*warnings* (formula-like text in a name, a real twenty-fold jump, an ambiguous cause) sit
on true rows whose numbers are true and must be kept; *info* items (placeholders such as ``-``,
``n/a``, ``Not available``) are missing values standing where the true value is zero or in a
breakdown column that never enters totals.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, timedelta
from pathlib import Path

import numpy as np
import pandas as pd
from openpyxl import Workbook
from openpyxl.cell import WriteOnlyCell

from idpkit.testing.demo_dynamics import CONFLICT, DISASTER, NEW, SECONDARY, Simulation
from idpkit.testing.demo_geo import COUNTRY_NAME, ISO3, Geography, points_in_quads

FORMULA = '=HYPERLINK("http://example.com/zedland","Click for details")'
_EXCEL_EPOCH = date(1899, 12, 30)

BASELINE_SHEET = "Baseline Assessment Dataset"
BASELINE_COLUMNS: list[tuple[str, str]] = [
    ("Snapshot date", "#date+reported"),
    ("Round", "#round+code"),
    ("State", "#adm1+name"),
    ("State Pcode", "#adm1+code"),
    ("LGA", "#adm2+name"),
    ("LGA Pcode", "#adm2+code"),
    ("Ward", "#adm3+name"),
    ("Ward Pcode", "#adm3+code"),
    ("IDP households", "#affected+idps+hh"),
    ("IDP individuals", "#affected+idps+ind"),
    ("IDPs - conflict (ind)", "#affected+idps+ind+cause+conflict"),
    ("IDPs - flood (ind)", "#affected+idps+ind+cause+disaster+flood"),
    ("IDP males", "#affected+idps+ind+m"),
    ("IDP females", "#affected+idps+ind+f"),
    ("Returnees (ind)", "#affected+returnees+ind"),
    ("Returnee households", "#affected+returnees+hh"),
]
SITE_COLUMNS: list[tuple[str, str]] = [
    ("Site ID", "#loc+code"),
    ("Site Name", "#loc+name"),
    ("Site Type", "#loc+type"),
    ("Latitude", "#geo+lat"),
    ("Longitude", "#geo+lon"),
    ("Admin 1", "#adm1+name"),
    ("Admin 1 Pcode", "#adm1+code"),
    ("Admin 2", "#adm2+name"),
    ("Admin 2 Pcode", "#adm2+code"),
    ("Admin 3", "#adm3+name"),
    ("Admin 3 Pcode", "#adm3+code"),
    ("Reporting Date", "#date+reported"),
    ("IDP Households", "#affected+idps+hh"),
    ("IDP Individuals", "#affected+idps+ind"),
]
FLOW_COLUMNS: list[tuple[str, str]] = [
    ("Date", "#date+reported"),
    ("Departure State", "#adm1+name+origin"),
    ("Departure LGA", "#adm2+name+origin"),
    ("Arrival State", "#adm1+name"),
    ("Arrival LGA", "#adm2+name"),
    ("Arrival LGA Pcode", "#adm2+code"),
    ("Individuals", "#affected+ind"),
    ("Reason", "#cause+type"),
]
SITE_TYPE_LABELS = {"camp": "Camp", "collective_centre": "Collective centre",
                    "informal_settlement": "Informal settlement"}

# Which round index carries which deliberate problem (taken modulo the number of rounds).
BASELINE_PLAN: dict[int, list[str]] = {
    1: ["pcode_typo"], 2: ["negative_value", "placeholders"], 3: ["non_numeric"], 4: ["duplicate_row"],
    5: ["households_exceed_individuals"], 6: ["sex_sum_exceeds_total"], 7: ["formula_injection"],
    8: ["placeholders"],
}
SITE_PLAN: dict[int, list[str]] = {1: ["pcode_unknown"], 3: ["formula_injection"], 5: ["non_numeric"],
                                   7: ["negative_value"]}


class Literal(str):
    """Text that must be stored as text even if it starts with ``=`` (openpyxl would write a formula)."""


def _literal_cell(ws: object, value: str) -> object:
    cell = WriteOnlyCell(ws, value=str(value))  # type: ignore[arg-type]
    cell.data_type = "s"  # the injection attempt is the string itself, not a live formula
    return cell


def excel_serial(d: date) -> int:
    """Excel's 1900 date system serial number (what a date cell holds without its format)."""
    return (d - _EXCEL_EPOCH).days


def households(ind: np.ndarray, hh_size: np.ndarray) -> np.ndarray:
    """Households from individuals: ``rint(ind / size)``, at least one when anyone is there."""
    hh = np.rint(ind / hh_size).astype(np.int64)
    return np.where(ind > 0, np.maximum(hh, 1), 0)


@dataclass
class Ctx:
    """Everything the writers share; ``errors`` and ``totals`` are filled as files are written."""

    geo: Geography
    sim: Simulation
    rng: np.random.Generator
    sites: pd.DataFrame
    site_ind: np.ndarray  # (T, S)
    errors: list[dict] = field(default_factory=list)
    totals: list[dict] = field(default_factory=list)
    _quiet_used: int = 0

    def __post_init__(self) -> None:
        sim = self.sim
        tot = sim.idps.sum(axis=2)
        self.idp_hh = households(tot, sim.hh_size[None])
        self.ret_hh = households(sim.returnees, sim.hh_size[None])
        self.males = self.rng.binomial(tot, 0.48)
        self.site_hh = households(self.site_ind, self.sites["hh_size"].to_numpy()[None])
        self.quiet_idx = self.rng.permutation(np.flatnonzero(sim.quiet))

    @property
    def a3(self) -> pd.DataFrame:
        return self.geo.units[3]

    def next_quiet(self) -> int:
        """A quiet location for the next extra row (cycled, so rows within a file rarely share one)."""
        i = int(self.quiet_idx[self._quiet_used % len(self.quiet_idx)])
        self._quiet_used += 1
        return i

    def log(self, file: Path, sheet: str, row: int, column: str, code: str, severity: str, value: object,
            description: str) -> None:
        self.errors.append({"file": file.name, "sheet": sheet, "row": row, "column": column, "code": code,
                            "description": description, "severity": severity,
                            "value": "" if value is None else str(value)})

    def total(self, file: Path, adm1: pd.Series, group: str, unit: str, values: pd.Series) -> None:
        g = pd.Series(np.asarray(values, dtype=np.int64)).groupby(np.asarray(adm1)).sum()
        for a1, v in g.items():
            self.totals.append({"file": file.name, "adm1_pcode": a1, "population_group": group,
                                "unit": unit, "value": int(v)})


def _plan_for(plan: dict[int, list[str]], t: int, rounds: int) -> list[str]:
    """Problems for round ``t``, each once; edits of true rows first, so a later exact copy of a row
    (``duplicate_row``) copies the row as finally written."""
    items = dict.fromkeys(item for k, items in plan.items() if k % rounds == t for item in items)
    return sorted(items, key=lambda x: x not in ("formula_injection", "placeholders"))


def pcode_typo(code: str) -> str:
    """The classic typo: a digit zero typed as the letter O (``ZD010203`` -> ``ZD01O203``)."""
    for pos in (4, 2, 6):
        if code[pos] == "0":
            return code[:pos] + "O" + code[pos + 1 :]
    return code[:-1] + "O"


# --------------------------------------------------------------------------------------------- baseline
def write_baseline(ctx: Ctx, path: Path, t: int) -> Path:
    """One baseline (area) assessment workbook for round ``t`` (0-based), admin-3 rows."""
    sim, a3, rng = ctx.sim, ctx.a3, ctx.rng
    rounds = len(sim.dates)
    d = sim.dates[t]
    tot = sim.idps[t].sum(axis=1)
    locs = np.flatnonzero((tot > 0) | (sim.returnees[t] > 0))
    headers = [h for h, _ in BASELINE_COLUMNS]
    tags = [x for _, x in BASELINE_COLUMNS]
    if t == 3 % rounds:
        tags[headers.index("IDP individuals")] = "#affected+idp+ind"
    if t == 6 % rounds:
        tags[headers.index("Ward Pcode")] = "#Adm3+Code"
    if t == 9 % rounds and rounds > 9:
        headers[headers.index("Ward Pcode")] = "Ward P-code"
    col = {h: i for i, h in enumerate(h for h, _ in BASELINE_COLUMNS)}  # canonical name -> position
    date_val: object = d if t % 2 == 0 else excel_serial(d)

    names = a3[["adm1_name", "adm1_pcode", "adm2_name", "adm2_pcode", "adm3_name", "adm3_pcode"]].to_numpy()
    nums = np.column_stack([ctx.idp_hh[t], tot, sim.idps[t, :, 0], sim.idps[t, :, 1], ctx.males[t],
                            tot - ctx.males[t], sim.returnees[t], ctx.ret_hh[t]]).tolist()

    def row_for(i: int) -> list[object]:
        return [date_val, f"R{t + 1:02d}", *names[i].tolist(), *nums[i]]

    # entries: (cells, [(canonical column, code, severity, value, description), ...])
    entries: list[tuple[list[object], list[tuple]]] = [(row_for(i), []) for i in locs]
    loc_entry = {int(i): entries[k] for k, i in enumerate(locs)}
    extras: list[tuple[list[object], list[tuple]]] = []

    def quiet_row() -> list[object]:
        q = ctx.next_quiet()
        ind = int(rng.integers(100, 900))
        row = row_for(q)
        males = int(rng.binomial(ind, 0.48))
        row[8:16] = [int(households(np.array([ind]), sim.hh_size[q : q + 1])[0]), ind, ind, 0, males,
                     ind - males, 0, 0]
        return row

    for item in _plan_for(BASELINE_PLAN, t, rounds):
        if item == "pcode_typo":
            row = quiet_row()
            row[col["Ward Pcode"]] = bad = pcode_typo(str(row[col["Ward Pcode"]]))
            row[8:16] = [0] * 8  # kept by idpkit (area unknown): counts nobody, so no truth moves
            extras.append((row, [("Ward Pcode", item, "warning", bad, "P-code with letter O for digit "
                                  "0; not in the gazetteer: flagged, the row kept")]))
        elif item == "negative_value":
            row = quiet_row()
            row[col["IDP individuals"]] = row[col["IDPs - conflict (ind)"]] = -int(row[col["IDP individuals"]])
            row[col["IDP males"]] = row[col["IDP females"]] = None
            extras.append((row, [("IDP individuals", item, "error", row[col["IDP individuals"]],
                                  "negative count")]))
        elif item == "non_numeric":
            row = quiet_row()
            row[col["IDP individuals"]] = "approx 200"
            row[col["IDPs - conflict (ind)"]], row[col["IDP households"]] = 200, 40
            row[col["IDP males"]] = row[col["IDP females"]] = None
            extras.append((row, [("IDP individuals", item, "error", "approx 200", "non-numeric count")]))
        elif item == "duplicate_row" and len(entries):
            src = entries[int(rng.integers(len(entries)))][0]
            extras.append((list(src), [("", item, "error", None, "exact duplicate of another row; keep one")]))
        elif item == "households_exceed_individuals":
            row = quiet_row()
            row[col["IDP households"]] = bad = 3 * int(row[col["IDP individuals"]])
            extras.append((row, [("IDP households", item, "error", bad, "more households than individuals")]))
        elif item == "sex_sum_exceeds_total":
            row = quiet_row()
            ind = int(row[col["IDP individuals"]])
            row[col["IDP males"]], row[col["IDP females"]] = ind, ind // 2 + 10
            extras.append((row, [("IDP males", item, "error", ind, "males + females exceed the total")]))
        elif item == "formula_injection" and len(entries):
            cells, notes = entries[int(rng.integers(len(entries)))]
            cells[col["Ward"]] = Literal(FORMULA)
            notes.append(("Ward", item, "warning", FORMULA,
                          "name cell starts with '=': neutralise the text, keep the row (P-code is valid)"))
        elif item == "placeholders":
            zero_ret = [k for k, i in enumerate(locs) if sim.returnees[t, i] == 0]
            for k in zero_ret[:2]:
                cells, notes = entries[k]
                cells[col["Returnees (ind)"]], cells[col["Returnee households"]] = "-", "n/a"
                notes.append(("Returnees (ind)", "placeholder_missing", "info", "-",
                              "placeholder for a missing value (true value 0); not an error"))
                notes.append(("Returnee households", "placeholder_missing", "info", "n/a",
                              "placeholder for a missing value (true value 0); not an error"))
            for k in [k for k, i in enumerate(locs) if tot[i] > 0][-2:]:
                cells, notes = entries[k]
                cells[col["IDP males"]] = cells[col["IDP females"]] = "Not available"
                for c_name in ("IDP males", "IDP females"):
                    notes.append((c_name, "placeholder_missing", "info", "Not available",
                                  "placeholder in a breakdown column; not an error"))

    if t > 0:  # every twenty-fold jump (the designed surge and any natural one): warn, keep
        prev = sim.idps[t - 1].sum(axis=1)
        for i in np.flatnonzero((prev > 0) & (tot >= 20 * prev)):
            loc_entry[int(i)][1].append(("IDP individuals", "value_jump", "warning", int(tot[i]),
                                         f"IDP individuals {int(tot[i])} vs {int(prev[i])} in the previous "
                                         "round (x20 or more); a real surge, keep"))

    final = list(entries)
    for ex in extras:
        final.insert(int(rng.integers(0, len(final) + 1)), ex)

    blank = t % 2 == 0
    first = (4 if blank else 3) + 2
    wb = Workbook(write_only=True)
    ws = wb.create_sheet("Summary")
    ws.append([f"{COUNTRY_NAME} — DTM Baseline Assessment Round {t + 1}: key figures"])
    ws.append([])
    ws.append(["Reporting date", d])
    ws.append(["Locations assessed", len(locs)])
    ws.append(["IDP individuals", int(tot[locs].sum())])
    ws.append(["IDP households", int(ctx.idp_hh[t, locs].sum())])
    ws.append(["Returnee individuals", int(sim.returnees[t, locs].sum())])
    ws = wb.create_sheet(BASELINE_SHEET)
    ws.append([f"{COUNTRY_NAME} — DTM Baseline Assessment Round {t + 1}"])
    ws.append(["Source: fictional demo data generated by idpkit (not a real country)"])
    if blank:
        ws.append([])
    ws.append(headers)
    ws.append(tags)
    for k, (cells, notes) in enumerate(final):
        ws.append([_literal_cell(ws, v) if isinstance(v, Literal) else v for v in cells])
        for c_name, code, sev, value, desc in notes:
            ctx.log(path, BASELINE_SHEET, first + k, headers[col[c_name]] if c_name else "", code, sev,
                    value, desc)
    ws = wb.create_sheet("Methodology")
    ws.append(["Methodology"])
    ws.append([
        "The baseline assessment collects the number of IDPs and returnees per ward through key "
        "informants at ward level. Figures are estimates. Zedland is a fictional country: every name, "
        "code and number in this workbook was generated for software testing."
    ])
    wb.save(path)

    sub = a3.loc[locs]
    ctx.total(path, sub["adm1_pcode"], "idps", "individuals", tot[locs])
    ctx.total(path, sub["adm1_pcode"], "idps", "households", ctx.idp_hh[t, locs])
    ctx.total(path, sub["adm1_pcode"], "returnees", "individuals", sim.returnees[t, locs])
    ctx.total(path, sub["adm1_pcode"], "returnees", "households", ctx.ret_hh[t, locs])
    return path


# ------------------------------------------------------------------------------------------------ sites
def make_sites(geo: Geography, sim: Simulation, rng: np.random.Generator, n_sites: int = 30) -> pd.DataFrame:
    """About ``n_sites`` sites in the biggest host locations, with a point inside their polygon."""
    a3 = geo.units[3]
    peak = sim.idps.sum(axis=2).max(axis=0).astype(float)
    hosts = np.flatnonzero(peak > 0)
    k = min(n_sites, max(1, len(hosts)))
    loc = np.sort(rng.choice(hosts, k, replace=True, p=peak[hosts] ** 0.8 / (peak[hosts] ** 0.8).sum()))
    types = rng.choice(["camp", "collective_centre", "informal_settlement"], k, p=[0.35, 0.35, 0.3])
    if "collective_centre" not in types:
        types[0] = "collective_centre"
    names = a3["adm3_name"].to_numpy()[loc].astype(object)
    style = rng.integers(0, 3, k)
    label = np.select(
        [types == "camp", types == "collective_centre"],
        [np.where(style == 0, names + " IDP Camp", names + " Camp"),
         np.where(style == 0, names + " Primary School", np.where(style == 1, "École " + names,
                                                                  names + " Church Compound"))],
        np.where(style == 0, names + " Informal Settlement", "Kasuwa " + names),
    ).astype(object)
    label[np.flatnonzero(types == "collective_centre")[0]] = "École " + names[np.flatnonzero(
        types == "collective_centre")[0]]  # at least one accented name, for the cp1252 files
    dup = pd.Series(label).groupby(label).cumcount().to_numpy()
    label = np.where(dup > 0, label + " " + (dup + 1).astype(str), label)
    pts = points_in_quads(geo.quads[3][loc], rng)
    return pd.DataFrame({
        "site_id": [f"{ISO3}-S-{i + 1:03d}" for i in range(k)],
        "site_name": label, "site_type": types, "loc": loc,
        "adm3_pcode": a3["adm3_pcode"].to_numpy()[loc],
        "latitude": np.round(pts[:, 1], 6), "longitude": np.round(pts[:, 0], 6),
        "weight": rng.uniform(0.5, 2.0, k), "hh_size": sim.hh_size[loc],
    })


def site_populations(sim: Simulation, sites: pd.DataFrame, rng: np.random.Generator) -> np.ndarray:
    """``(T, S)`` IDP individuals per site: a share of the host location's IDPs, split by weights.

    ``floor(share * stock)`` goes to the location's sites by largest remainder, so site sums are
    integers never above the location stock.
    """
    loc = sites["loc"].to_numpy()
    share = dict(zip(np.unique(loc), rng.uniform(0.25, 0.6, len(np.unique(loc)))))
    host_total = np.floor(sim.idps.sum(axis=2)[:, loc] * np.array([share[i] for i in loc])[None])
    w = sites["weight"].to_numpy()
    wsum = pd.Series(w).groupby(loc).transform("sum").to_numpy()
    raw = host_total * (w / wsum)[None]
    base = np.floor(raw).astype(np.int64)
    # host_total is identical for all sites of a location, so it is the location's total too
    left = (host_total - pd.DataFrame(base.T).groupby(loc).transform("sum").to_numpy().T).astype(np.int64)
    frac = raw - base
    rank = pd.DataFrame(-frac.T).groupby(loc).rank(method="first").to_numpy().T  # ties: first site wins
    return base + (rank <= left)


def write_sites(ctx: Ctx, path: Path, t: int) -> Path:
    """Site assessment CSV for round ``t``: header + HXL row; some rounds ``;`` and cp1252."""
    sim, a3, rng, s = ctx.sim, ctx.a3, ctx.rng, ctx.sites
    rounds = len(sim.dates)
    d = sim.dates[t]
    legacy = t in ({x for x in (4, 9) if x < rounds} or {rounds - 1})
    sep, enc = (";", "cp1252") if legacy else (",", "utf-8")
    dstr = d.strftime("%d/%m/%Y") if t % 3 == 1 else d.isoformat()
    on = np.flatnonzero(ctx.site_ind[t] > 0)
    loc = s["loc"].to_numpy()[on]
    df = pd.DataFrame({
        "Site ID": s["site_id"].to_numpy()[on],
        "Site Name": s["site_name"].to_numpy()[on],
        "Site Type": s["site_type"].map(SITE_TYPE_LABELS).to_numpy()[on],
        "Latitude": s["latitude"].to_numpy()[on], "Longitude": s["longitude"].to_numpy()[on],
        "Admin 1": a3["adm1_name"].to_numpy()[loc], "Admin 1 Pcode": a3["adm1_pcode"].to_numpy()[loc],
        "Admin 2": a3["adm2_name"].to_numpy()[loc], "Admin 2 Pcode": a3["adm2_pcode"].to_numpy()[loc],
        "Admin 3": a3["adm3_name"].to_numpy()[loc], "Admin 3 Pcode": a3["adm3_pcode"].to_numpy()[loc],
        "Reporting Date": dstr,
        "IDP Households": ctx.site_hh[t, on], "IDP Individuals": ctx.site_ind[t, on],
    }).astype(object)
    ctx.total(path, df["Admin 1 Pcode"], "idps", "individuals", df["IDP Individuals"])
    ctx.total(path, df["Admin 1 Pcode"], "idps", "households", df["IDP Households"])
    notes: dict[int, list[tuple]] = {}  # position in df -> notes
    extra_rows: list[tuple[dict, tuple]] = []
    for item in _plan_for(SITE_PLAN, t, rounds):
        if item == "formula_injection" and len(df):
            k = int(rng.integers(len(df)))
            df.iat[k, 1] = FORMULA
            notes.setdefault(k, []).append(("Site Name", item, "warning", FORMULA,
                                            "name cell starts with '=': neutralise the text, keep the row"))
            continue
        q = ctx.next_quiet()
        lat_lon = points_in_quads(ctx.geo.quads[3][q : q + 1], rng)[0]
        ind = int(rng.integers(80, 600))
        row = {
            "Site ID": f"{ISO3}-S-{900 + ctx._quiet_used:03d}", "Site Name": f"{a3.at[q, 'adm3_name']} Camp",
            "Site Type": "Camp", "Latitude": round(lat_lon[1], 6), "Longitude": round(lat_lon[0], 6),
            "Admin 1": a3.at[q, "adm1_name"], "Admin 1 Pcode": a3.at[q, "adm1_pcode"],
            "Admin 2": a3.at[q, "adm2_name"], "Admin 2 Pcode": a3.at[q, "adm2_pcode"],
            "Admin 3": a3.at[q, "adm3_name"], "Admin 3 Pcode": a3.at[q, "adm3_pcode"],
            "Reporting Date": dstr, "IDP Households": max(1, round(ind / 5.5)), "IDP Individuals": ind,
        }
        if item == "pcode_unknown":
            row["Admin 3 Pcode"] = bad = f"{a3.at[q, 'adm2_pcode']}00"
            row["IDP Households"] = row["IDP Individuals"] = 0  # kept (area unknown): nobody
            extra_rows.append((row, ("Admin 3 Pcode", item, "warning", bad,
                                     "P-code not in the gazetteer: flagged, the row kept")))
        elif item == "non_numeric":
            row["IDP Individuals"] = "approx 200"
            extra_rows.append((row, ("IDP Individuals", item, "error", "approx 200", "non-numeric count")))
        elif item == "negative_value":
            row["IDP Individuals"] = -ind
            extra_rows.append((row, ("IDP Individuals", item, "error", -ind, "negative count")))

    order: list[object] = list(range(len(df)))
    for j in range(len(extra_rows)):
        order.insert(int(rng.integers(0, len(order) + 1)), ("x", j))
    out_rows = [df.iloc[o].to_dict() if isinstance(o, int) else extra_rows[o[1]][0] for o in order]
    out = pd.DataFrame(out_rows, columns=[h for h, _ in SITE_COLUMNS])
    hxl = pd.DataFrame([[x for _, x in SITE_COLUMNS]], columns=out.columns)
    pd.concat([hxl, out], ignore_index=True).to_csv(path, sep=sep, encoding=enc, index=False,
                                                   lineterminator="\r\n" if legacy else "\n")
    for pos, o in enumerate(order):
        line = pos + 3  # line 1 header, line 2 HXL
        for c_name, code, sev, value, desc in (notes.get(o, []) if isinstance(o, int) else [extra_rows[o[1]][1]]):
            ctx.log(path, "", line, c_name, code, sev, value, desc)
    return path


# ------------------------------------------------------------------------------------- flow monitoring
_REASONS = {CONFLICT: (["Conflict", "conflict", "Armed conflict"], [0.6, 0.3, 0.1]),
            DISASTER: (["Flood", "Natural disaster", "flood"], [0.5, 0.4, 0.1])}


def flow_rows(ctx: Ctx) -> pd.DataFrame:
    """True flow monitoring rows: every IDP arrival (new + secondary displacement) in months 1..T-1,
    aggregated to (month, departure admin 2, arrival admin 2, cause) and split into 1-3 observed groups
    on random days of the month. Departure of a secondary movement is the previous host."""
    sim, a3, rng = ctx.sim, ctx.a3, ctx.rng
    e = sim.events[sim.events["kind"].isin([NEW, SECONDARY])]
    adm2 = a3["adm2_pcode"].to_numpy()
    g = (e.assign(o2=adm2[e["origin"]], d2=adm2[e["dest"]])
         .groupby(["t", "o2", "d2", "cause"], as_index=False)["value"].sum())
    if g.empty:
        return pd.DataFrame(columns=["t", "o2", "d2", "cause", "value", "day"])
    parts = rng.integers(1, 4, len(g))
    p = np.where(np.arange(3)[None] < parts[:, None], 1.0, 0.0)
    draws = rng.multinomial(g["value"].to_numpy(), p / p.sum(axis=1, keepdims=True))
    r, c = np.nonzero(draws)
    rows = g.iloc[r].reset_index(drop=True).assign(value=draws[r, c])
    dates = sim.dates
    span = np.array([(dates[t] - dates[t - 1]).days for t in rows["t"]])
    rows["day"] = (rng.random(len(rows)) * span).astype(int) + 1
    return rows


def write_flows(ctx: Ctx, path: Path) -> Path:
    """Flow monitoring CSV (all months): names not codes, arrival P-code on about half the rows."""
    sim, rng = ctx.sim, ctx.rng
    u2 = ctx.geo.units[2].set_index("pcode")
    rows = flow_rows(ctx)
    n = len(rows)
    reason = np.empty(n, dtype=object)
    for cause, (labels, p) in _REASONS.items():
        m = (rows["cause"] == cause).to_numpy()
        reason[m] = rng.choice(labels, m.sum(), p=p)
    mixed = rng.choice(np.flatnonzero(rows["cause"].to_numpy() == CONFLICT),
                       min(3, int((rows["cause"] == CONFLICT).sum())), replace=False)
    reason[mixed] = "Conflict; Natural disaster"
    df = pd.DataFrame({
        "Date": [(sim.dates[t - 1] + timedelta(days=int(dd))).isoformat()
                 for t, dd in zip(rows["t"], rows["day"])],
        "Departure State": u2.loc[rows["o2"], "adm1_name"].to_numpy(),
        "Departure LGA": u2.loc[rows["o2"], "name"].to_numpy(),
        "Arrival State": u2.loc[rows["d2"], "adm1_name"].to_numpy(),
        "Arrival LGA": u2.loc[rows["d2"], "name"].to_numpy(),
        "Arrival LGA Pcode": np.where(rng.random(n) < 0.5, rows["d2"].to_numpy(), ""),
        "Individuals": rows["value"].to_numpy(),
        "Reason": reason,
        "_adm1": u2.loc[rows["d2"], "adm1_pcode"].to_numpy(),
        "_mixed": np.isin(np.arange(n), mixed),
    })
    # identical observations would be exact duplicates a validator drops: merge them first
    keys = [h for h, _ in FLOW_COLUMNS if h != "Individuals"]
    df = df.groupby(keys + ["_adm1"], as_index=False, sort=False).agg(
        Individuals=("Individuals", "sum"), _mixed=("_mixed", "any"))
    df = df.sort_values("Date", kind="stable").reset_index(drop=True)
    ctx.total(path, df["_adm1"], "idps", "individuals", df["Individuals"])
    notes = {int(k): [("Reason", "ambiguous_cause", "warning", "Conflict; Natural disaster",
                       "two reasons given; the truth counts it as conflict; keep the row")]
             for k in np.flatnonzero(df["_mixed"].to_numpy())}
    out = df[[h for h, _ in FLOW_COLUMNS]].astype(object)
    extras = []
    if len(out):
        base = out.iloc[int(rng.integers(len(out)))].copy()
        neg = base.copy()
        neg["Individuals"] = -35
        extras.append((neg, ("Individuals", "negative_value", "error", -35, "negative count")))
        unk = out.iloc[int(rng.integers(len(out)))].copy()
        unk["Arrival State"], unk["Arrival LGA"], unk["Arrival LGA Pcode"] = "Zzyzx", "Zzyzx", ""
        unk["Individuals"] = 0  # kept by idpkit (area unknown): counts nobody
        extras.append((unk, ("Arrival LGA", "unknown_location", "warning", "Zzyzx",
                             "arrival state and LGA names match no admin unit: flagged, kept")))
    order: list[object] = list(range(len(out)))
    for j in range(len(extras)):
        order.insert(int(rng.integers(0, len(order) + 1)), ("x", j))
    final = pd.DataFrame([out.iloc[o] if isinstance(o, int) else extras[o[1]][0] for o in order],
                         columns=out.columns)
    hxl = pd.DataFrame([[x for _, x in FLOW_COLUMNS]], columns=out.columns)
    pd.concat([hxl, final], ignore_index=True).to_csv(path, index=False, encoding="utf-8-sig",
                                                     lineterminator="\n")
    for pos, o in enumerate(order):
        for c_name, code, sev, value, desc in (notes.get(o, []) if isinstance(o, int) else [extras[o[1]][1]]):
            ctx.log(path, "", pos + 3, c_name, code, sev, value, desc)
    return path
