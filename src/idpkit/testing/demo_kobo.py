"""KoboToolbox exports of a location assessment in Zedland (the demo operation), with their truth.

Why: operations share location and site assessments as Kobo exports, whose habits (XML-path or
label headers, meta columns, select_multiple answers and their 0/1 option columns, repeat groups
in extra sheets, duplicate submissions) the importer must handle without a mapping. Real exports
cannot be shipped; these are generated, deterministic for a seed, on the demo operation's P-codes
(:func:`idpkit.testing.demo_geo.build_geography` with the demo's seed gives the same gazetteer),
so every row resolves unless an error was put in on purpose.

One set of submissions is written in four variants that differ only in form:

``xml_xlsx``     XML names with ``/`` group paths, XLSX, a date question, the repeat group
                 ``origins`` as a second sheet linked by ``_parent_index``;
``label_xlsx``   English question labels (meta columns keep their XML names, as Kobo does), XLSX,
                 no date question (the date comes from ``today``);
``xml_csv``      XML names with ``.`` group separators, CSV with ``;``, no date question and no
                 ``today`` (the date comes from ``_submission_time``), counts as ``12.0``;
``label_fr_csv`` French labels, CSV with ``,``, a date question.

``rows`` holds every submission as written (one row per data row of every variant, same order),
with ``error`` naming the deliberate problem of the row (None for good rows): ``unknown-pcode``,
``negative-count``, ``non-numeric-count`` and ``duplicate-submission`` (a second copy of an earlier
``_uuid``). ``origins`` holds the repeat rows with their parent's ``_index``.
"""

from __future__ import annotations

import csv
import uuid as _uuid
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from pathlib import Path

import numpy as np
import pandas as pd

from idpkit.testing.demo_geo import build_geography, write_gazetteer_csv

CAUSE_LABELS = {"conflict": ("Conflict", "Conflit"),
                "natural_disaster": ("Natural disaster", "Catastrophe naturelle"),
                "other": ("Other", "Autre")}
CAUSES = tuple(CAUSE_LABELS)

# question -> (xml path, English label, French label)
QUESTIONS = {
    "date": ("grp_general/date_assessment", "Date of the assessment", "Date de l'évaluation"),
    "adm1": ("grp_location/admin1_pcode", "State P-code", "Code P de l'état"),
    "adm2": ("grp_location/admin2_pcode", "LGA P-code", "Code P du département"),
    "adm3": ("grp_location/admin3_pcode", "Ward P-code", "Code P de la commune"),
    "location": ("grp_location/location_name", "Name of the location", "Nom de la localité"),
    "idp_hh": ("g1/g_idp/idp_hh", "How many IDP households live in this location?",
               "Combien de ménages PDI vivent dans cette localité ?"),
    "idp_ind": ("g1/g_idp/idp_ind", "How many IDP individuals live in this location?",
                "Combien d'individus PDI vivent dans cette localité ?"),
    "ret_hh": ("g1/g_ret/returnee_hh", "How many returnee households?",
               "Combien de ménages retournés ?"),
    "ret_ind": ("g1/g_ret/returnee_ind", "How many returnee individuals?",
                "Combien d'individus retournés ?"),
    "cause": ("grp_cause/displacement_cause", "What are the main reasons for displacement?",
              "Quelles sont les principales raisons du déplacement ?"),
}
META_BEFORE = ["start", "end", "today", "deviceid", "username", "phonenumber", "audit"]
META_AFTER = ["meta/instanceID", "formhub/uuid", "_id", "_uuid", "_submission_time",
              "_validation_status", "_notes", "_status", "_submitted_by", "__version__", "_tags",
              "_index"]
REPEAT_COLUMNS = ["origins/origin_admin2_pcode", "origins/origin_idp_ind", "_index",
                  "_parent_table_name", "_parent_index", "_submission__id", "_submission__uuid",
                  "_submission__submission_time", "_submission__validation_status",
                  "_submission__notes", "_submission__status", "_submission__submitted_by",
                  "_submission___version__", "_submission__tags"]
MAIN_SHEET = "Location assessment"
REPEAT_SHEET = "origins"
VARIANTS = ("xml_xlsx", "label_xlsx", "xml_csv", "label_fr_csv")


@dataclass
class KoboExports:
    """What :func:`generate_kobo_exports` wrote, and what it put in."""

    root: Path
    gazetteer_csv: Path
    files: dict[str, Path]  # variant -> file
    rows: pd.DataFrame  # one row per data row written (see the module docstring)
    origins: pd.DataFrame  # repeat rows: parent_index, origin_adm2_pcode, idp_ind


def _submissions(rng: np.random.Generator, adm3: pd.DataFrame, n: int, day0: date
                 ) -> pd.DataFrame:
    pick = rng.choice(len(adm3), size=n, replace=n > len(adm3))
    a = adm3.iloc[pick].reset_index(drop=True)
    idp_ind = rng.integers(20, 3000, n)
    hh_size = rng.uniform(4.0, 7.5, n)
    ret_ind = np.where(rng.random(n) < 0.6, rng.integers(0, 1500, n), -1)  # -1: not asked
    causes = []
    for _ in range(n):
        k = rng.choice([1, 1, 1, 2])
        causes.append(" ".join(sorted(rng.choice(CAUSES, size=k, replace=False).tolist(),
                                      key=CAUSES.index)))
    days = rng.integers(0, 10, n)
    return pd.DataFrame({
        "adm1": a.adm1_pcode, "adm2": a.adm2_pcode, "adm3": a.adm3_pcode, "location": a.adm3_name,
        "idp_ind": idp_ind, "idp_hh": np.maximum(1, np.rint(idp_ind / hh_size)).astype(int),
        "ret_ind": ret_ind,
        "ret_hh": np.where(ret_ind > 0, np.maximum(1, np.rint(ret_ind / hh_size)), ret_ind).astype(int),
        "cause": causes,
        "date": [day0 + timedelta(days=int(d)) for d in days],
        "uuid": [str(_uuid.UUID(bytes=rng.bytes(16), version=4)) for _ in range(n)],
        "error": None,
    })


def _inject_errors(rng: np.random.Generator, s: pd.DataFrame) -> pd.DataFrame:
    """Extra rows, each with one deliberate problem (the good rows stay whole)."""
    extra = []
    base = s.sample(4, random_state=int(rng.integers(1 << 30))).reset_index(drop=True)
    r = base.iloc[0].copy()
    r["adm3"], r["uuid"], r["error"] = r["adm3"][:-2] + "99", str(_uuid.UUID(int=1)), "unknown-pcode"
    extra.append(r)
    r = base.iloc[1].copy()
    r["idp_ind"], r["uuid"], r["error"] = -25, str(_uuid.UUID(int=2)), "negative-count"
    extra.append(r)
    r = base.iloc[2].copy()
    r["idp_ind"], r["uuid"], r["error"] = "twelve", str(_uuid.UUID(int=3)), "non-numeric-count"
    extra.append(r)
    r = base.iloc[3].copy()  # sent twice from the device: same _uuid, new _id, later submission
    r["error"] = "duplicate-submission"
    extra.append(r)
    out = pd.concat([s, pd.DataFrame(extra)], ignore_index=True)
    # the copies are spread through the export, as they arrive in time order
    order = np.concatenate([rng.permutation(len(s)), np.arange(len(s), len(out))])
    return out.iloc[order].reset_index(drop=True)


def _origins(rng: np.random.Generator, rows: pd.DataFrame, adm2: list[str]) -> pd.DataFrame:
    recs = []
    for i, r in rows.iterrows():  # generator only: a few hundred rows
        if r["error"] is not None or rng.random() < 0.3:
            continue
        total = int(r["idp_ind"])
        k = int(rng.integers(1, 4))
        cuts = np.sort(rng.integers(0, total + 1, k - 1)) if k > 1 else np.array([], int)
        shares = np.diff(np.concatenate([[0], cuts, [total]]))
        for o, v in zip(rng.choice(adm2, size=k, replace=False), shares):
            if v > 0:
                recs.append({"parent_index": i + 1, "origin_adm2_pcode": o, "idp_ind": int(v)})
    return pd.DataFrame(recs, columns=["parent_index", "origin_adm2_pcode", "idp_ind"])


def _count_text(v: object, rng: np.random.Generator, *, decimal: bool) -> object:
    """How Kobo writes a count: the number, ``12.0`` in some CSVs; a question not asked is blank,
    ``n/a`` or ``-``."""
    if isinstance(v, str):
        return v
    if int(v) < 0 and int(v) != -25:
        return ["", "n/a", "-"][int(rng.integers(0, 3))]
    return f"{int(v)}.0" if decimal else int(v)


def _main_rows(rows: pd.DataFrame, variant: str, rng: np.random.Generator
               ) -> tuple[list[str], list[list[object]]]:
    lang = {"xml_xlsx": 0, "xml_csv": 0, "label_xlsx": 1, "label_fr_csv": 2}[variant]
    sep = "." if variant == "xml_csv" else "/"
    with_date = variant in ("xml_xlsx", "label_fr_csv")
    with_today = variant != "xml_csv"
    xlsx = variant.endswith("xlsx")

    def head(q: str) -> str:
        h = QUESTIONS[q][lang]
        return h.replace("/", sep) if lang == 0 else h

    qs = (["date"] if with_date else []) + ["adm1", "adm2", "adm3", "location", "idp_hh",
                                            "idp_ind", "ret_hh", "ret_ind", "cause"]
    onehot = [f"{head('cause')}{sep}{c}" if lang == 0 else f"{head('cause')}/{CAUSE_LABELS[c][lang - 1]}"
              for c in CAUSES]
    meta_before = [m for m in META_BEFORE if with_today or m != "today"]
    headers = meta_before + [head(q) for q in qs] + onehot + [
        m.replace("/", sep) if m.startswith(("meta/", "formhub/")) else m for m in META_AFTER]
    out = []
    seen_id = 400_000
    for i, r in rows.iterrows():
        d: date = r["date"]
        start = datetime.combine(d, datetime.min.time()) + timedelta(hours=8, minutes=i % 50)
        sub = start + timedelta(days=1 + i % 3, hours=3)
        if r["error"] == "duplicate-submission":
            sub += timedelta(days=2)
        seen_id += 1
        vals: dict[str, object] = {
            "start": start.isoformat(timespec="milliseconds") + "+01:00",
            "end": (start + timedelta(minutes=25)).isoformat(timespec="milliseconds") + "+01:00",
            "today": d if xlsx else d.isoformat(), "deviceid": f"collect:{r['uuid'][:16]}",
            "username": "enumerator_" + str(i % 7), "phonenumber": "", "audit": "audit.csv",
        }
        answers = {
            "date": d if xlsx else d.isoformat(), "adm1": r["adm1"], "adm2": r["adm2"],
            "adm3": r["adm3"], "location": r["location"],
            **{k: _count_text(r[k], rng, decimal=variant == "xml_csv")
               for k in ("idp_hh", "idp_ind", "ret_hh", "ret_ind")},
            "cause": r["cause"] if lang == 0 else " ".join(
                CAUSE_LABELS[c][lang - 1] for c in r["cause"].split()),
        }
        chosen = set(r["cause"].split())
        meta_after = [f"uuid:{r['uuid']}", "a1b2c3d4e5f6", seen_id, r["uuid"],
                      sub.isoformat(timespec="seconds") + ("Z" if i % 2 else "+00:00"),
                      "", "", "submitted_via_web", "", "vXyZ2025", "", i + 1]
        out.append([vals[m] for m in meta_before] + [answers[q] for q in qs]
                   + [(1 if c in chosen else 0) for c in CAUSES] + meta_after)
    return headers, out


def generate_kobo_exports(out_dir: Path, *, seed: int = 7, n_submissions: int = 150,
                          start: date = date(2025, 3, 1)) -> KoboExports:
    """Write the four variants (see the module docstring) and the demo gazetteer under
    ``out_dir``. ``seed`` 7 gives the demo operation's areas (the demo's default seed)."""
    root = Path(out_dir)
    root.mkdir(parents=True, exist_ok=True)
    geo = build_geography(np.random.default_rng(seed), 4, 5, 12)
    gaz = write_gazetteer_csv(geo.units, root / "zdl_pcodes.csv")
    rng = np.random.default_rng([seed, 2])
    subs = _submissions(rng, geo.units[3], n_submissions, start)
    rows = _inject_errors(rng, subs)
    origins = _origins(rng, rows, geo.units[2]["pcode"].tolist())
    files: dict[str, Path] = {}
    for variant in VARIANTS:
        headers, data = _main_rows(rows, variant, np.random.default_rng([seed, 3]))
        if variant.endswith("xlsx"):
            path = root / f"kobo_location_assessment_{variant}.xlsx"
            _write_xlsx(path, headers, data, origins, rows)
        else:
            path = root / f"kobo_location_assessment_{variant}.csv"
            with open(path, "w", encoding="utf-8", newline="") as fh:
                w = csv.writer(fh, delimiter=";" if variant == "xml_csv" else ",")
                w.writerow(headers)
                w.writerows(data)
        files[variant] = path
    return KoboExports(root, gaz, files, rows, origins)


def _write_xlsx(path: Path, headers: list[str], data: list[list[object]], origins: pd.DataFrame,
                rows: pd.DataFrame) -> None:
    from openpyxl import Workbook

    wb = Workbook()
    ws = wb.active
    ws.title = MAIN_SHEET
    ws.append(headers)
    for r in data:
        ws.append(r)
    rep = wb.create_sheet(REPEAT_SHEET)
    rep.append(REPEAT_COLUMNS)
    for k, o in enumerate(origins.itertuples(index=False), start=1):
        parent = rows.iloc[o.parent_index - 1]
        rep.append([o.origin_adm2_pcode, o.idp_ind, k, MAIN_SHEET, o.parent_index,
                    400_000 + o.parent_index, parent["uuid"],
                    f"{parent['date'] + timedelta(days=1)}T11:00:00", "", "", "submitted_via_web",
                    "", "vXyZ2025", ""])
    wb.save(path)


__all__ = ["MAIN_SHEET", "REPEAT_SHEET", "VARIANTS", "KoboExports", "generate_kobo_exports"]
