"""The real DTM exports ingest with no mapping, and their per-admin-1 IDP totals are right.

Expected totals are computed here straight from the files with openpyxl/csv (independently of
idpkit's readers, detection and normalisation). Runs on every selected backend.
Source of the fixtures: IOM Displacement Tracking Matrix (DTM); see tests/fixtures/README.md.
"""

from __future__ import annotations

import csv
from collections import defaultdict
from pathlib import Path

import openpyxl
import pytest

from idpkit.ingest.pipeline import ingest_file
from idpkit.warehouse.summary import summary_expr

DTM = Path(__file__).parent / "fixtures" / "dtm"


def _xlsx_totals(name: str, sheet: str, first_data_row: int, key_col: int, value_col: int,
                 key_map: dict[str, str] | None = None) -> dict[str, float]:
    ws = openpyxl.load_workbook(DTM / name, read_only=True, data_only=True)[sheet]
    out: dict[str, float] = defaultdict(float)
    for row in ws.iter_rows(min_row=first_data_row, values_only=True):
        key, value = row[key_col], row[value_col]
        if key is None or value in (None, ""):
            continue
        key = str(key).strip()
        out[key_map[key] if key_map else key] += float(value)
    return dict(out)


def _summary(wh, dataset_id: str, group: str = "idps", unit: str = "individuals") -> dict[str, float]:
    df = summary_expr(wh, dataset_id).execute()
    df = df[(df.population_group == group) & (df.unit == unit)]
    return {r.adm1_pcode: float(r.value) for r in df.itertuples()}


def _check_counts(wh, result) -> None:
    assert result.rows_read == result.rows_accepted + result.rows_quarantined
    ds = wh.table("datasets")
    row = ds.filter(ds.dataset_id == result.dataset_id).execute().iloc[0]
    assert row.rows_read == row.rows_accepted + row.rows_quarantined
    q = wh.table("quarantine")
    assert q.filter(q.dataset_id == result.dataset_id).count().execute() == result.rows_quarantined


def test_nigeria_baseline(wh):
    r = ingest_file(wh, DTM / "nigeria_baseline_assessment_round_38.xlsx")
    assert r.status == "imported" and r.sheet == "Baseline Assessment Dataset"
    _check_counts(wh, r)
    assert r.rows_read == 790
    # column 6 'State Pcode', column 12 'Estimated Number of IDP'; data from Excel row 3
    expected = _xlsx_totals("nigeria_baseline_assessment_round_38.xlsx",
                            "Baseline Assessment Dataset", 3, 6, 12)
    assert _summary(wh, r.dataset_id) == pytest.approx(expected)
    hh = _xlsx_totals("nigeria_baseline_assessment_round_38.xlsx", "Baseline Assessment Dataset",
                      3, 6, 11)
    assert _summary(wh, r.dataset_id, unit="households") == pytest.approx(hh)
    # the swapped LGA/ward tags were noticed, and P-codes (not names) were stored
    assert r.issue_counts.get(("tag-contradicts-values", "warning")) == 2
    o = wh.table("observations")
    sample = o.filter(o.dataset_id == r.dataset_id).select("adm2_pcode", "adm3_pcode").limit(5).execute()
    assert all(str(v).startswith("NG") for v in sample.adm2_pcode)
    assert all(str(v).startswith("NG") for v in sample.adm3_pcode)
    ds = wh.table("datasets").execute()
    assert ds["round"].iloc[0] == "38" and str(ds.reporting_date.iloc[0])[:10] == "2021-07-30"


def test_ethiopia_sites(wh):
    r = ingest_file(wh, DTM / "ethiopia_site_assessment_round_28.xlsx")
    _check_counts(wh, r)
    assert r.rows_read == 1440
    expected = _xlsx_totals("ethiopia_site_assessment_round_28.xlsx", "Sites", 3, 5, 11)
    assert _summary(wh, r.dataset_id) == pytest.approx(expected)


IRAQ_GOVERNORATES = {  # names as written in the DTM file -> COD P-codes (OCHA gazetteer)
    "Anbar": "IQG01", "Basrah": "IQG02", "Muthanna": "IQG03", "Najaf": "IQG04",
    "Qadissiya": "IQG05", "Sulaymaniyah": "IQG06", "Babylon": "IQG07", "Baghdad": "IQG08",
    "Dahuk": "IQG09", "Diyala": "IQG10", "Erbil": "IQG11", "Kerbala": "IQG12", "Kirkuk": "IQG13",
    "Missan": "IQG14", "Ninewa": "IQG15", "Salah al-Din": "IQG16", "Thi-Qar": "IQG17",
    "Wassit": "IQG18",
}


def test_iraq_master_list_names_only(wh):
    r = ingest_file(wh, DTM / "iraq_idps_master_list_round_123.xlsx")
    assert r.sheet == "DTM Dataset"
    _check_counts(wh, r)
    assert r.rows_read == 2842
    expected = _xlsx_totals("iraq_idps_master_list_round_123.xlsx", "DTM Dataset", 3, 1, 8,
                            IRAQ_GOVERNORATES)
    assert sum(expected.values()) == 1_189_581  # the total the file's own title sheet states
    assert _summary(wh, r.dataset_id) == pytest.approx(expected)
    ds = wh.table("datasets").execute()
    assert ds["round"].iloc[0] == "123" and str(ds.reporting_date.iloc[0])[:10] == "2021-09-30"


def _api_rows() -> list[dict[str, str]]:
    with open(DTM / "dtm-api-v3-admin0-2-afg-hti-tcd.csv", encoding="utf-8-sig", newline="") as fh:
        rows = list(csv.DictReader(fh))
    return [r for r in rows if not r["id"].startswith("#")]


def test_dtm_api_extract(wh):
    r = ingest_file(wh, DTM / "dtm-api-v3-admin0-2-afg-hti-tcd.csv")
    _check_counts(wh, r)
    rows = _api_rows()
    assert r.rows_read == len(rows) == 13367
    # per operation, round and admin-1 area, summing the admin-2 rows split by reason/origin
    expected: dict[tuple[str, str, str], float] = defaultdict(float)
    for x in rows:
        if x["adminLevel"] == "2" and x["numPresentIdpInd"]:
            pcode = x["admin1Pcode"].replace("TD", "TCD", 1) if x["admin1Pcode"].startswith("TD") \
                else x["admin1Pcode"]
            expected[(x["operation"], x["roundNumber"], pcode)] += float(x["numPresentIdpInd"])
    o = wh.table("observations")
    o = o.filter((o.reported_level == 2) & (o.sex == "all") & (o.population_group == "idps")
                 & (o.unit == "individuals"))
    got = o.group_by(["operation", "round", "adm1_pcode"]).aggregate(v=o.value.sum()).execute()
    got_map = {(g.operation, g.round, g.adm1_pcode): float(g.v) for g in got.itertuples()}
    assert got_map == pytest.approx(dict(expected))
    # Chad's TD07 was repaired to the COD's TCD07, and flagged
    assert r.issue_counts.get(("pcode-repaired", "warning"), 0) > 0
    # the summary never mixes rounds: latest round of each operation, finest level
    latest: dict[str, str] = {}
    for x in rows:
        d = x["reportingDate"][:10]
        if d > latest.get(x["operation"], ""):
            latest[x["operation"]] = d
    exp_sum: dict[str, float] = defaultdict(float)
    for x in rows:
        if x["reportingDate"][:10] == latest[x["operation"]] and x["numPresentIdpInd"]:
            level_rows = [y for y in rows if y["operation"] == x["operation"]
                          and y["reportingDate"][:10] == latest[x["operation"]]]
            finest = max(int(y["adminLevel"]) for y in level_rows if y["admin1Pcode"] ==
                         x["admin1Pcode"]) if x["admin1Pcode"] else 0
            if int(x["adminLevel"]) == finest and x["admin1Pcode"]:
                p = x["admin1Pcode"]
                exp_sum["TCD" + p[2:] if p.startswith("TD") else p] += float(x["numPresentIdpInd"])
    assert _summary(wh, r.dataset_id) == pytest.approx(dict(exp_sum))


def test_reimport_is_recognised(wh):
    f = DTM / "ethiopia_site_assessment_round_28.xlsx"
    first = ingest_file(wh, f)
    n = wh.table("observations").count().execute()
    again = ingest_file(wh, f)
    assert again.status == "already-imported" and again.dataset_id == first.dataset_id
    assert wh.table("observations").count().execute() == n
    assert wh.table("datasets").count().execute() == 1
