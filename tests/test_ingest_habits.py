"""Habits of real exports, each in a small file written here: French headers without HXL, a P-code
tag over internal codes, parent mismatches, mappings, causes, placeholders, DTM API JSON."""

from __future__ import annotations

import csv
import json
from pathlib import Path

import pytest

from conftest import dataset_rows
from idpkit.ingest.mapping import Mapping
from idpkit.ingest.pipeline import IngestOptions, ingest_file

DTM = Path(__file__).parent / "fixtures" / "dtm"


def _obs(wh, dataset_id: str):
    return dataset_rows(wh, "observations", dataset_id)


def _issues(wh, dataset_id: str):
    return dataset_rows(wh, "issues", dataset_id)


def test_french_headers_without_hxl(wh, tmp_path):
    f = tmp_path / "tchad_pdi.csv"
    f.write_text(
        "Région;Code Région;Département;Pcode Département;Nombre de PDI (individus);Ménages PDI;"
        "Date de collecte;Raison du déplacement\n"
        "Lac;TCD07;Mamdi;TCD0704;1 250;250;15/03/2022;Conflit\n"
        "Lac;TCD07;Fouli;TCD0701;n/a;-;15/03/2022;Inondation\n"
        "Lac;TCD07;Kaya;TCD0703;300;60;15/03/2022;\"Conflit; Inondation\"\n",
        encoding="cp1252")
    r = ingest_file(wh, f)
    assert r.rows_read == 3 and r.rows_quarantined == 0
    o = _obs(wh, r.dataset_id)
    tot = o[(o.sex == "all") & (o.unit == "individuals")]
    assert tot.value.sum() == 1550  # "1 250" read with its thousands space; "n/a" is missing, not 0
    assert set(tot.adm2_pcode) == {"TCD0704", "TCD0703"}
    assert tot.set_index("adm2_pcode").cause.to_dict() == {"TCD0704": "conflict", "TCD0703": "other"}
    assert str(o.reporting_date.iloc[0])[:10] == "2022-03-15"
    codes = set(_issues(wh, r.dataset_id).code)
    assert "multiple-causes" in codes and "no-values" in codes


def test_pcode_tag_over_internal_codes(wh, tmp_path):
    f = tmp_path / "internal.csv"
    f.write_text("Province ID,Province code,IDPs,Date\n#adm1+code,,#affected+idps+ind,#date+reported\n"
                 "17,AF17,100,2023-01-31\n18,AF18,200,2023-01-31\n19,AF19,300,2023-01-31\n"
                 "20,AF20,50,2023-01-31\n21,AF21,60,2023-01-31\n", encoding="utf-8")
    r = ingest_file(wh, f)
    o = _obs(wh, r.dataset_id)
    assert sorted(o.adm1_pcode) == ["AF17", "AF18", "AF19", "AF20", "AF21"]
    assert ("tag-contradicts-values", "warning") in r.issue_counts


def test_unknown_and_mismatched_pcodes(wh, tmp_path):
    """Unknown and inconsistent codes are flagged, never dropped: the people are real. A row is
    placed as deep as its codes agree (else at the country level only), an unknown code under
    the areas its other codes name."""
    f = tmp_path / "codes.csv"
    f.write_text("adm1,adm2,idps,date\n#adm1+code,#adm2+code,#affected+idps+ind,#date+reported\n"
                 "NG002,NG002001,10,2021-07-30\n"   # fine
                 "NG002,NG008001,20,2021-07-30\n"   # NG008001 belongs to NG008: country only
                 "NG002,NG0020O1,30,2021-07-30\n"   # letter O: unknown, nearest suggested
                 "TD07,TD0704,40,2021-07-30\n",     # Chad ISO2 prefix: repaired
                 encoding="utf-8")
    r = ingest_file(wh, f)
    assert r.rows_read == 4 and r.rows_quarantined == 0 and r.rows_accepted == 4
    iss = _issues(wh, r.dataset_id)
    by_row = {int(x.row): x for x in iss.itertuples() if x.row == x.row}
    assert by_row[4].code == "pcode-parent-mismatch" and by_row[4].severity == "warning"
    assert by_row[5].code == "unknown-pcode" and "NG002001" in by_row[5].message
    assert by_row[6].code == "pcode-repaired"
    o = _obs(wh, r.dataset_id).set_index("source_row")
    assert o.loc[3, "adm2_pcode"] == "NG002001" and o.loc[6, "adm2_pcode"] == "TCD0704"
    # NG008001 (in state NG008) and NG002 share only the country
    assert o.loc[4, "adm1_pcode"] is None and o.loc[4, "iso3"] == "NGA"
    # the unknown admin-2 code stays in the admin 1 its row names
    assert o.loc[5, "adm1_pcode"] == "NG002" and o.loc[5, "adm2_pcode"] is None
    assert o.value.sum() == 100  # 10 + 20 + 30 + 40: nobody dropped


def test_mapping_overrides_guesses(wh, tmp_path):
    f = tmp_path / "odd.csv"
    f.write_text("where,how many,hh,when\nNG002,600,100,2021-07-30\nNG008,300,50,2021-07-30\n",
                 encoding="utf-8")
    m = tmp_path / "map.yml"
    m.write_text("columns:\n  where: adm1_pcode\n  when: reporting_date\n"
                 "  how many: {population_group: returnees, unit: individuals}\n"
                 "  3: {population_group: returnees, unit: households}\n", encoding="utf-8")
    r = ingest_file(wh, f, IngestOptions(mapping=Mapping.load(m)))
    o = _obs(wh, r.dataset_id)
    assert set(o.population_group) == {"returnees"}
    assert o[o.unit == "individuals"].value.sum() == 900 and o[o.unit == "households"].value.sum() == 150


def test_bad_mapping_is_a_clear_error(tmp_path):
    from idpkit.errors import MappingError

    m = tmp_path / "map.yml"
    m.write_text("columns:\n  where: adm9_pcode\n", encoding="utf-8")
    with pytest.raises(MappingError, match="unknown role 'adm9_pcode'"):
        Mapping.load(m)


def test_dtm_api_json_equals_csv(wh, tmp_path):
    with open(DTM / "dtm-api-v3-admin0-2-afg-hti-tcd.csv", encoding="utf-8-sig", newline="") as fh:
        rows = [r for r in csv.DictReader(fh) if not r["id"].startswith("#")][:3000]
    for r in rows:
        r["numPresentIdpInd"] = int(r["numPresentIdpInd"]) if r["numPresentIdpInd"] else None
    f = tmp_path / "api.json"
    f.write_text(json.dumps({"isSuccess": True, "result": rows}), encoding="utf-8")
    r = ingest_file(wh, f)
    assert r.rows_read == 3000 and r.rows_quarantined == 0
    o = _obs(wh, r.dataset_id)
    t = o[(o.sex == "all") & (o.reported_level == 2)]
    expected = sum(x["numPresentIdpInd"] or 0 for x in rows if x["adminLevel"] == "2")
    assert t.value.sum() == expected


def test_households_and_parts_checks(wh, tmp_path):
    f = tmp_path / "parts.csv"
    f.write_text("p,ind,hh,m,f,date\n#adm1+code,#affected+idps+ind,#affected+idps+hh,"
                 "#affected+idps+ind+m,#affected+idps+ind+f,#date+reported\n"
                 "NG002,100,20,50,50,2021-07-30\n"
                 "NG002,100,200,50,50,2021-07-30\n"   # more households than people
                 "NG008,100,20,80,50,2021-07-30\n"    # sex parts exceed the total
                 "NG008,100,2,40,60,2021-07-30\n",    # 50 per household: implausible, accepted
                 encoding="utf-8")
    r = ingest_file(wh, f, IngestOptions(household_size_range=(1, 20)))
    codes = {(x.code, int(x.row)) for x in _issues(wh, r.dataset_id).itertuples() if x.row == x.row}
    assert ("households-exceed-individuals", 4) in codes
    assert ("parts-exceed-total", 5) in codes
    assert ("implausible-household-size", 6) in codes
    assert r.rows_quarantined == 2


def test_hxl_row_without_count_tags_falls_back_to_headers(wh, tmp_path):
    """Some publishers tag places and dates only; their counts are still found by header."""
    f = tmp_path / "partial_tags.csv"
    f.write_text("State Pcode,Reporting date,IDP individuals,IDP households\n"
                 "#adm1+code,#date+reported,,\n"
                 "NG002,2021-07-30,600,100\nNG008,2021-07-30,300,50\n", encoding="utf-8")
    r = ingest_file(wh, f)
    o = _obs(wh, r.dataset_id)
    assert o[o.unit == "individuals"].value.sum() == 900
    assert o[o.unit == "households"].value.sum() == 150


def test_header_over_two_rows_with_merged_cells(wh, tmp_path):
    """Reports group columns under merged cells: "IDPs" over "Households | Individuals". The file
    keeps the merged text in its first cell only; the names are joined column by column."""
    import openpyxl

    wb = openpyxl.Workbook()
    ws = wb.active
    ws.title = "Data"
    ws.append(["Mobility tracking, Round 40 (June 2022)"])
    ws.append(["State", "State P-code", "LGA", "LGA P-code", "IDPs", None, "Returnees", None, "Date"])
    ws.append([None, None, None, None, "Households", "Individuals", "Households", "Individuals",
               None])
    ws.merge_cells("E2:F2")
    ws.merge_cells("G2:H2")
    ws.append(["Borno", "NG008", "Maiduguri", "NG008021", 1000, 5000, 200, 900, "2022-06-15"])
    ws.append(["Adamawa", "NG002", "Yola North", "NG002020", 300, 1200, 50, 210, "2022-06-15"])
    ws.append(["Yobe", "NG036", "Damaturu", "NG036003", 120, 600, 10, 40, "2022-06-16"])
    f = tmp_path / "grouped.xlsx"
    wb.save(f)
    r = ingest_file(wh, f)
    assert r.rows_read == 3 == r.rows_accepted
    assert any("header over two rows (2 and 3)" in n for n in r.notes)
    o = _obs(wh, r.dataset_id)
    got = o.groupby(["population_group", "unit"]).value.sum().to_dict()
    assert got == {("idps", "households"): 1420, ("idps", "individuals"): 6800,
                   ("returnees", "households"): 260, ("returnees", "individuals"): 1150}
    assert set(o.adm2_pcode) == {"NG008021", "NG002020", "NG036003"}
    assert not r.errors and "pcode-name-mismatch" not in {c for c, _ in r.issue_counts}

    # the same table as CSV, the group written in every cell of its span
    g = tmp_path / "grouped.csv"
    g.write_text("State P-code,IDPs,IDPs,Returnees,Returnees,Date\n"
                 ",HH,Ind,HH,Ind,\n"
                 "NG008,10,50,2,9,2022-06-15\nNG002,3,12,1,4,2022-06-15\n", encoding="utf-8")
    r2 = ingest_file(wh, g)
    o2 = _obs(wh, r2.dataset_id)
    assert o2.groupby(["population_group", "unit"]).value.sum().to_dict() == {
        ("idps", "households"): 13, ("idps", "individuals"): 62,
        ("returnees", "households"): 3, ("returnees", "individuals"): 13}


def test_title_rows_above_a_one_row_header_are_not_joined(wh, tmp_path):
    f = tmp_path / "titled.csv"
    f.write_text("Country:,Nigeria,,\nState P-code,IDP households,IDP individuals,Date\n"
                 "NG008,10,50,2022-06-15\nNG002,3,12,2022-06-15\n", encoding="utf-8")
    r = ingest_file(wh, f)
    assert r.rows_read == 2 == r.rows_accepted
    assert not any("two rows" in n for n in r.notes)
    assert r.columns["IDP individuals"] == "value: idps, individuals, present_stock"


def test_pcode_contradicting_its_name_is_flagged(wh, tmp_path):
    """Codes shifted by a row against the names beside them: each code is kept (the code is the
    key), and the area the name means is named. A name that only differs in spelling, or that
    matches nothing, is not flagged."""
    f = tmp_path / "shifted.csv"
    f.write_text("State,LGA,LGA P-code,IDP individuals,Date\n"
                 "Borno,Maiduguri,NG008017,100,2022-06-15\n"    # NG008017 is Kukawa
                 "Borno,Kukawa,NG008017,50,2022-06-15\n"        # right
                 "Yobe,Damaturu Town,NG036003,20,2022-06-15\n"  # a spelling of Damaturu
                 "Yobe,Unheard-of,NG036006,5,2022-06-15\n",     # matches nothing: left alone
                 encoding="utf-8")
    r = ingest_file(wh, f)
    assert r.rows_read == 4 == r.rows_accepted
    iss = _issues(wh, r.dataset_id)
    bad = iss[iss.code == "pcode-name-mismatch"]
    assert list(bad.row) == [2] and set(bad.severity) == {"warning"}
    assert "NG008017 is Kukawa" in bad.message.iloc[0] and "NG008021 (Maiduguri)" in bad.message.iloc[0]
    assert list(bad.column_name) == ["LGA P-code"] and list(bad.value) == ["NG008017"]
    o = _obs(wh, r.dataset_id).sort_values("source_row")
    assert list(o.adm2_pcode) == ["NG008017", "NG008017", "NG036003", "NG036006"]


def test_total_and_subtotal_rows_are_not_data(wh, tmp_path):
    """Spreadsheets add up their rows: per state ("Sous-total Borno") and at the bottom ("TOTAL
    GÉNÉRAL"), sometimes without a label. Counted, those people would be counted twice: the rows
    are quarantined as total-row (kept, with their raw cells). A row that only lacks its area is
    accepted with a missing-area warning."""
    f = tmp_path / "with_totals.csv"
    f.write_text("State,LGA P-code,IDP households,IDP individuals,Date\n"
                 "Borno,NG008021,1000,5000,2022-06-15\n"
                 "Borno,NG008017,10,40,2022-06-15\n"
                 "Sous-total Borno,,1010,5040,2022-06-15\n"
                 "Yobe,NG036003,120,600,2022-06-15\n"
                 ",,7,30,2022-06-15\n"               # no area, not a total: kept, warned
                 "TOTAL GÉNÉRAL,,1137,5670,2022-06-15\n"
                 ",,1137,5670,2022-06-15\n",         # the same total, unlabelled
                 encoding="utf-8")
    r = ingest_file(wh, f)
    assert r.rows_read == 7 == r.rows_accepted + r.rows_quarantined and r.rows_quarantined == 3
    iss = _issues(wh, r.dataset_id)
    tot = iss[iss.code == "total-row"].sort_values("row")
    assert list(tot.row) == [4, 7, 8] and set(tot.severity) == {"error"}
    assert "'Sous-total Borno'" in tot.message.iloc[0]
    assert list(iss[iss.code == "missing-area"].sort_values("row").row) == [6, 8]
    assert not {"unknown-area", "area-name-unmatched"} & set(iss.code)
    o = _obs(wh, r.dataset_id)
    ind = o[o.unit == "individuals"]
    assert ind.value.sum() == 5000 + 40 + 600 + 30
    q = dataset_rows(wh, "quarantine", r.dataset_id)
    assert sorted(q.source_row) == [4, 7, 8] and all("total-row" in c for c in q.codes)

    # one row and a row without its area that happens to equal it: not a total (nothing adds up)
    g = tmp_path / "lone.csv"
    g.write_text("LGA P-code,IDP individuals,Date\nNG008021,50,2022-06-15\n,50,2022-06-15\n",
                 encoding="utf-8")
    r2 = ingest_file(wh, g)
    assert r2.rows_accepted == 2 and ("missing-area", "warning") in r2.issue_counts


@pytest.mark.parametrize("text, is_total", [
    ("Total", True), ("TOTAL", True), ("Grand Total", True), ("Sub-total", True),
    ("Sous-total Borno", True), ("Borno Total", True), ("Total général", True), ("Totales", True),
    ("TOTAL:", True), ("Totota", False), ("Totalville", False), ("Maiduguri", False), ("", False),
])
def test_total_labels(text, is_total):
    from idpkit.ingest.area_resolve import is_total_label

    assert is_total_label(text) is is_total


def test_french_site_assessment_workbook(wh, tmp_path):
    """A site assessment as French-speaking operations publish it: a summary sheet first, the
    data under a title row, Excel dates, coordinates with decimal commas, "Code du site" and
    "Nom du site", site types in words, P-codes with the ISO2 prefix."""
    import datetime as dt

    import openpyxl

    wb = openpyxl.Workbook()
    ws = wb.active
    ws.title = "Synthèse"
    ws.append(["Tableau de bord"])
    ws.append(["Province", "PDI"])
    ws.append(["Lac", 20000])
    data = wb.create_sheet("Base de données sites")
    data.append(["DTM Tchad — Évaluation des sites, Round 18"])
    data.append(["Date d'évaluation", "Province", "Pcode Province", "Département",
                 "Pcode Département", "Nom du site", "Code du site", "Type de site", "Latitude",
                 "Longitude", "Ménages PDI", "Individus PDI", "Retournés (individus)",
                 "Raison du déplacement"])
    data.append([dt.datetime(2023, 5, 10), "Lac", "TD07", "Mamdi", "TD0704", "Site de Kafia",
                 "TCD-S-001", "Site spontané", "13,456", "14,123", 120, 600, 0, "Conflit armé"])
    data.append([dt.datetime(2023, 5, 11), "Lac", "TD07", "Fouli", "TD0701",
                 "Camp de Dar es Salam", "TCD-S-002", "Camp", "13.62", "14.30", "1 250", "6 010",
                 "N/A", "Insécurité / attaques"])
    data.append([dt.datetime(2023, 5, 11), "Lac", "TD07", "Kaya", "TD0703", "Famille d'accueil Bol",
                 "TCD-S-003", "Famille d'accueil", "13,46", "14,71", 30, 150, 12, "Inondations"])
    f = tmp_path / "tchad_sites_r18.xlsx"
    wb.save(f)
    r = ingest_file(wh, f)
    assert r.sheet == "Base de données sites" and r.rows_read == 3 == r.rows_accepted
    assert not [i for i in r.issues if i.code == "column-ignored"]
    sites = wh.table("sites").execute().set_index("site_id").sort_index()
    assert list(sites.site_type) == ["informal_settlement", "camp", "host_community"]
    assert list(sites.area_pcode) == ["TCD0704", "TCD0701", "TCD0703"]
    assert list(sites.latitude) == [13.456, 13.62, 13.46]
    o = _obs(wh, r.dataset_id)
    got = o.groupby(["population_group", "unit"]).value.sum().to_dict()
    assert got == {("idps", "households"): 1400, ("idps", "individuals"): 6760,
                   ("returnees", "individuals"): 12}
    assert {str(d)[:10] for d in o.reporting_date} == {"2023-05-10", "2023-05-11"}
    assert set(o["round"]) == {"18"} and set(o.cause) == {"conflict", "disaster"}
    assert r.issue_counts.get(("pcode-repaired", "warning")) == 6


def test_flow_columns_are_not_stocks(wh, tmp_path):
    """Emergency tracking counts people who moved in a period ("Newly displaced individuals",
    "Returns"): stored as flows, never added to the people present."""
    from datetime import date

    from idpkit.figures.stock import StockQuery, stock_frame

    f = tmp_path / "emergency_tracking.csv"
    f.write_text("Admin 2 P-code,Newly displaced individuals,New displacement (HH),"
                 "Returns (individuals),Date\n"
                 "AF0101,300,60,20,2023-03-10\nAF0102,120,25,,2023-03-12\n", encoding="utf-8")
    r = ingest_file(wh, f)
    o = _obs(wh, r.dataset_id)
    got = o.groupby(["population_group", "metric", "unit"]).value.sum().to_dict()
    assert got == {("idps", "new_displacement", "individuals"): 420,
                   ("idps", "new_displacement", "households"): 85,
                   ("idps", "returns", "individuals"): 20}
    assert dataset_rows(wh, "datasets", r.dataset_id).assessment_type.iloc[0] == "flow_monitoring"
    stock = stock_frame(wh, StockQuery(date(2023, 3, 31), level=1, by=()))
    assert stock.empty or stock.value.fillna(0).sum() == 0


def test_notes_under_the_table(wh, tmp_path):
    """Source lines and footnotes under the data are quarantined as one note-row each, not as the
    date, P-code and area errors their words would raise. A last row that names a real place but
    has no count is data (accepted with no-values)."""
    f = tmp_path / "with_notes.csv"
    f.write_text("State,LGA P-code,IDP individuals,Date\n"
                 "Borno,NG008021,5000,2022-06-15\n"
                 "Yobe,NG036003,600,2022-06-15\n"
                 "Yobe,NG036006,,2022-06-15\n"
                 ",,,\n"
                 "Source: IOM DTM Nigeria, Round 40. Figures are estimates.,,,\n"
                 "Note: ward-level data available on request,,,\n", encoding="utf-8")
    r = ingest_file(wh, f)
    assert r.rows_read == 5 == r.rows_accepted + r.rows_quarantined and r.rows_quarantined == 2
    iss = _issues(wh, r.dataset_id)
    notes = iss[iss.code == "note-row"].sort_values("row")
    assert list(notes.row) == [6, 7]
    assert notes.value.iloc[0] == "Source: IOM DTM Nigeria"
    assert set(iss[iss.row.isin([6, 7])].code) == {"note-row"}  # nothing else about them
    assert list(iss[iss.code == "no-values"].row) == [4]
    q = dataset_rows(wh, "quarantine", r.dataset_id)
    assert sorted(q.source_row) == [6, 7] and "Note: ward-level" in q.raw.iloc[-1] + q.raw.iloc[0]


def test_table_pivoted_by_round_is_refused_with_a_hint(wh, tmp_path):
    from idpkit.errors import NoDataFoundError

    f = tmp_path / "by_round.csv"
    f.write_text("State,State P-code,Round 35 IDPs,Round 36 IDPs,Round 37 IDPs\n"
                 "Borno,NG008,1500000,1520000,1540000\nYobe,NG036,130000,131000,129000\n",
                 encoding="utf-8")
    with pytest.raises(NoDataFoundError, match="pivoted by period") as err:
        ingest_file(wh, f)
    assert "'Round 35 IDPs', 'Round 36 IDPs'" in str(err.value)
    assert int(wh.table("datasets").count().execute()) == 0
    g = tmp_path / "inventory.csv"
    g.write_text("item,colour\nchair,red\ntable,blue\n", encoding="utf-8")
    with pytest.raises(NoDataFoundError) as err2:
        ingest_file(wh, g)
    assert "pivoted by period" not in str(err2.value)
