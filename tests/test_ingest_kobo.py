"""KoboToolbox/ODK exports of a location assessment, imported with no mapping.

The exports come from :mod:`idpkit.testing.demo_kobo` (XML-name and label variants, XLSX and CSV);
every expected number below is computed here from the rows the generator wrote, not by idpkit.
"""

from __future__ import annotations

import csv
import re
from datetime import date, datetime

import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from conftest import dataset_rows
from idpkit.ingest.columns import guess_roles, role_from_header
from idpkit.ingest.kobo import choice_parent, kobo_meta_role, xml_path
from idpkit.ingest.normalise import normalise_cause, parse_dates
from idpkit.ingest.pipeline import IngestOptions, ingest_file
from idpkit.testing.demo_kobo import REPEAT_SHEET, VARIANTS, generate_kobo_exports
from idpkit.warehouse.areas import load_areas, read_gazetteer_csv


@pytest.fixture(scope="module")
def kobo(tmp_path_factory):
    return generate_kobo_exports(tmp_path_factory.mktemp("kobo"), n_submissions=150)


def _load_areas(wh, kobo) -> None:
    load_areas(wh, read_gazetteer_csv(kobo.gazetteer_csv))


def _obs(wh, dataset_id: str) -> pd.DataFrame:
    return dataset_rows(wh, "observations", dataset_id)


def _issues(wh, dataset_id: str) -> pd.DataFrame:
    return dataset_rows(wh, "issues", dataset_id)


def _written_rows(path) -> list[dict[str, str]]:
    """The data rows as written in the file (for the CSV variants), header -> text."""
    with open(path, encoding="utf-8", newline="") as fh:
        delim = ";" if fh.readline().count(";") > 5 else ","
        fh.seek(0)
        return list(csv.DictReader(fh, delimiter=delim))


@pytest.mark.parametrize("variant", VARIANTS)
def test_kobo_export_totals_per_admin1(wh, kobo, variant):
    _load_areas(wh, kobo)
    r = ingest_file(wh, kobo.files[variant])
    rows = kobo.rows
    assert r.rows_read == len(rows)
    assert r.rows_read == r.rows_accepted + r.rows_quarantined
    # an unknown P-code is flagged, not quarantined: the row's people count in the areas its
    # other codes name (here its admin 1 and 2)
    rejected = rows.error.notna() & (rows.error != "unknown-pcode")
    assert r.rows_quarantined == rejected.sum() == 3

    good = rows[~rejected]
    o = _obs(wh, r.dataset_id)
    tot = o[(o.sex == "all") & (o.age_group == "all")]
    for group, col in (("idps", "idp_ind"), ("returnees", "ret_ind")):
        g = good[good[col].astype(int) >= 0]
        expected = g.groupby("adm1")[col].apply(lambda s: s.astype(int).sum()).to_dict()
        got = tot[(tot.population_group == group) & (tot.unit == "individuals")] \
            .groupby("adm1_pcode").value.sum().to_dict()
        assert got == {k: float(v) for k, v in expected.items()}, group
    # households too
    exp_hh = good.groupby("adm1").idp_hh.sum().to_dict()
    got_hh = tot[(tot.population_group == "idps") & (tot.unit == "households")] \
        .groupby("adm1_pcode").value.sum().to_dict()
    assert got_hh == {k: float(v) for k, v in exp_hh.items()}

    # each injected problem is found on its row (row 1 is the header)
    iss = _issues(wh, r.dataset_id)
    for i, err in rows.error.items():
        if err is None:
            continue
        codes = set(iss[iss.row == i + 2].code)
        assert err in codes, (i + 2, err, codes)
    dup = iss[iss.code == "duplicate-submission"]
    assert len(dup) == 1 and "same _uuid as row" in dup.message.iloc[0]
    q = wh.table("quarantine").execute()
    assert sorted(q[q.dataset_id == r.dataset_id].source_row) == \
        sorted(i + 2 for i in rows.index[rejected])


@pytest.mark.parametrize("variant", VARIANTS)
def test_kobo_meta_columns_are_not_data(tmp_path, kobo, variant):
    from idpkit.warehouse import connect

    with connect(str(tmp_path / "w.duckdb")) as wh:
        _load_areas(wh, kobo)
        r = ingest_file(wh, kobo.files[variant], IngestOptions(dry_run=True))
    values = {h: m for h, m in r.columns.items() if m.startswith("value")}
    assert sorted(values.values()) == sorted([
        "value: idps, households, present_stock", "value: idps, individuals, present_stock",
        "value: returnees, households, present_stock",
        "value: returnees, individuals, present_stock"])
    for meta in ("_id", "_validation_status", "_notes", "_status", "_submitted_by", "__version__",
                 "_tags", "start", "end", "deviceid", "username", "phonenumber", "audit"):
        assert r.columns[meta] == "kobo_meta", meta
    assert r.columns["_uuid"] == "kobo_uuid" and r.columns["_index"] == "kobo_index"
    choice = [h for h, m in r.columns.items() if m == "kobo_choice"]
    assert len(choice) == 3  # the select_multiple's 0/1 option columns
    dated_by = {"xml_xlsx": "date question", "label_fr_csv": "date question",
                "label_xlsx": "'today'", "xml_csv": "'_submission_time'"}[variant]
    assert any("reporting date from" in n and dated_by in n for n in r.notes), r.notes
    assert not any(i.code == "column-ignored" and i.column in choice for i in r.issues)


def test_kobo_dates_from_submission_time(wh, kobo):
    """No date question and no 'today': the date part of _submission_time, as written."""
    _load_areas(wh, kobo)
    r = ingest_file(wh, kobo.files["xml_csv"])
    written = _written_rows(kobo.files["xml_csv"])
    expected = {i + 2: row["_submission_time"][:10] for i, row in enumerate(written)}
    o = _obs(wh, r.dataset_id)
    got = {int(x.source_row): str(x.reporting_date)[:10] for x in o.itertuples()}
    assert got and all(expected[k] == v for k, v in got.items())
    # the date question where there is one: the assessment date, not the submission
    r2 = ingest_file(wh, kobo.files["label_fr_csv"])
    o2 = _obs(wh, r2.dataset_id)
    dates = {i + 2: d.isoformat() for i, d in kobo.rows.date.items()}
    assert all(dates[int(x.source_row)] == str(x.reporting_date)[:10] for x in o2.itertuples())


def test_kobo_select_multiple_causes(wh, kobo):
    _load_areas(wh, kobo)
    r = ingest_file(wh, kobo.files["xml_xlsx"])
    o = _obs(wh, r.dataset_id)
    tot = o[(o.population_group == "idps") & (o.unit == "individuals")].set_index("source_row")
    rows = kobo.rows
    good = rows[rows.error.isna() | (rows.error == "unknown-pcode")]  # unknown codes are kept
    iss = _issues(wh, r.dataset_id)
    multi_rows = set(iss[iss.code == "multiple-causes"].row.astype(int))
    for i, row in good.iterrows():
        names = row["cause"].split()
        obs = tot.loc[i + 2]
        if len(names) > 1:  # several causes: kept once (never dropped), flagged
            assert obs.cause == "other" and obs.cause_detail == "; ".join(
                "disaster" if n == "natural_disaster" else n for n in names)
            assert i + 2 in multi_rows and "multiple-causes" in obs["flags"]
        else:
            assert obs.cause == {"natural_disaster": "disaster"}.get(names[0], names[0])
            assert i + 2 not in multi_rows
    assert tot.value.sum() == good.idp_ind.astype(int).sum()  # nothing dropped


def test_kobo_repeat_sheet(wh, kobo):
    _load_areas(wh, kobo)
    main = ingest_file(wh, kobo.files["xml_xlsx"])
    assert main.sheet == "Location assessment"
    assert any(f"sheet {REPEAT_SHEET!r} is a Kobo repeat group" in n for n in main.notes)
    o = _obs(wh, main.dataset_id)
    assert o.origin_pcode.isna().all()  # the breakdown is not added to the totals

    rep = ingest_file(wh, kobo.files["xml_xlsx"], IngestOptions(sheet=REPEAT_SHEET))
    assert rep.status == "imported" and rep.dataset_id != main.dataset_id
    origins = kobo.origins
    assert rep.rows_read == len(origins) == rep.rows_accepted + rep.rows_quarantined
    ro = _obs(wh, rep.dataset_id)
    assert set(ro.source_sheet) == {REPEAT_SHEET}
    parents = kobo.rows.iloc[origins.parent_index - 1].reset_index(drop=True)
    expected = pd.DataFrame({"source_row": range(2, len(origins) + 2),
                             "origin_pcode": origins.origin_adm2_pcode,
                             "area_pcode": parents.adm3, "value": origins.idp_ind.astype(float),
                             "reporting_date": parents.date.astype(str)})
    got = ro[["source_row", "origin_pcode", "area_pcode", "value"]].assign(
        reporting_date=ro.reporting_date.astype(str).str[:10]).sort_values("source_row")
    pd.testing.assert_frame_equal(got.reset_index(drop=True), expected, check_dtype=False)
    # the origin split adds up to (at most) the main sheet's totals of those locations
    by_area = ro.groupby("area_pcode").value.sum()
    main_tot = o[(o.population_group == "idps") & (o.unit == "individuals")] \
        .groupby("area_pcode").value.sum()
    assert (by_area <= main_tot.reindex(by_area.index) + 1e-9).all()
    # figures keep using the main sheet's totals (the breakdown is a least-trusted other source)
    from idpkit.figures.stock import StockQuery, stock_frame

    st_ = stock_frame(wh, StockQuery(reference_date=date(2025, 3, 31), level=1, by=("group",)))
    st_ = st_[(st_.population_group == "idps") & (st_.unit == "individuals")]
    good = kobo.rows[kobo.rows.error.isna() | (kobo.rows.error == "unknown-pcode")]
    assert st_.set_index("adm1_pcode").value.astype(float).to_dict() == \
        good.groupby("adm1").idp_ind.apply(lambda s: float(s.astype(int).sum())).to_dict()
    # the same sheet again is recognised; the main sheet again too
    assert ingest_file(wh, kobo.files["xml_xlsx"], IngestOptions(sheet=REPEAT_SHEET)).status == \
        "already-imported"
    assert ingest_file(wh, kobo.files["xml_xlsx"]).status == "already-imported"


# ------------------------------------------------------------------ parsers (no warehouse)

_seg = st.from_regex(r"[A-Za-z_][A-Za-z0-9_]{0,12}", fullmatch=True)


@pytest.mark.core
@settings(max_examples=200, deadline=None)
@given(st.lists(_seg, min_size=1, max_size=5), st.sampled_from(["/", "."]))
def test_xml_path_splits_group_paths(segments, sep):
    assert xml_path(sep.join(segments)) == segments


@pytest.mark.core
@settings(max_examples=300, deadline=None)
@given(st.text(max_size=40))
def test_xml_path_is_lossless_and_leaves_labels_whole(text):
    parts = xml_path(text)
    h = text.strip()
    if len(parts) > 1:
        assert all(re.fullmatch(r"[A-Za-z_][A-Za-z0-9_\-]*", p) for p in parts)
        assert re.sub(r"[/.]", "/", h) == "/".join(parts)
    else:
        assert parts == [h]
    if re.search(r"\s", h):  # a label ("Returnees / IDPs", "No. of IDPs") is never split
        assert parts == [h]


@pytest.mark.core
@settings(max_examples=200, deadline=None)
@given(st.lists(st.one_of(st.text(max_size=20), _seg), min_size=1, max_size=8))
def test_guess_roles_on_any_headers(headers):
    out = guess_roles(headers, [None] * len(headers))
    assert len(out) == len(headers)
    names = {h.strip() for h in headers}
    for g in out:
        if g.role == "kobo_choice":  # only when the question itself is a column
            assert choice_parent(g.header, names) is not None
        if g.role.startswith("kobo_") and g.role != "kobo_choice":
            assert g.value is None


@pytest.mark.core
@settings(max_examples=200, deadline=None)
@given(st.datetimes(min_value=datetime(1990, 1, 1), max_value=datetime(2090, 12, 31)),
       st.sampled_from(["Z", "+00:00", "+03:00", "-05:30", ""]), st.booleans())
def test_submission_time_date_part(dt, tz, millis):
    text = dt.isoformat(timespec="milliseconds" if millis else "seconds") + tz
    mapping, _ = parse_dates([text])
    assert mapping[text] == dt.date()


@pytest.mark.core
def test_kobo_header_roles():
    assert role_from_header("grp_location/admin2_pcode")[0] == "adm2_pcode"
    assert role_from_header("g1.g_idp.idp_ind")[1].unit == "individuals"
    assert role_from_header("g_ret/ind")[1].population_group == "returnees"
    assert role_from_header("grp_host/hh")[1].population_group == "host_community"
    assert role_from_header("How many IDP individuals live in this location?")[1].population_group == "idps"
    assert role_from_header("Combien de ménages PDI vivent dans cette localité ?")[1].unit == "households"
    assert role_from_header("Quelles sont les principales raisons du déplacement ?")[0] == "cause_text"
    for meta in ("_index", "_id", "_uuid", "_submission_time", "_validation_status", "_notes",
                 "_status", "_submitted_by", "__version__", "_tags", "start", "end", "today",
                 "deviceid", "username", "simserial", "phonenumber", "audit", "meta/instanceID",
                 "formhub/uuid"):
        assert kobo_meta_role(meta) is not None, meta
        assert role_from_header(meta)[0].startswith("kobo_"), meta
    assert kobo_meta_role("idp_ind") is None
    headers = ["cause", "cause/conflict", "No. of IDPs", "Returnees/IDPs", "Reasons", "Reasons/War"]
    assert [choice_parent(h, set(headers)) for h in headers] == [
        None, "cause", None, None, None, "Reasons"]
    roles = [g.role for g in guess_roles(["q/idp_ind", "q/idp_ind/x", "q"], [None] * 3)]
    assert roles[1] == "kobo_choice"


@pytest.mark.core
def test_choice_list_causes():
    assert normalise_cause("conflict natural_disaster", choice_list=True) == (
        "other", None, "conflict; disaster", True)
    assert normalise_cause("natural_disaster", choice_list=True)[0] == "disaster"
    assert normalise_cause("Armed conflict", choice_list=True)[:2] == ("conflict", None)
    assert normalise_cause("other", choice_list=True)[0] == "other"


def test_kobo_repeat_linked_by_uuid_when_index_is_lost(wh, kobo, tmp_path):
    """A repeat row without _parent_index still finds its submission by _submission__uuid; a row
    with neither is reported (no place, no date) and quarantined, never silently dropped."""
    from openpyxl import load_workbook

    _load_areas(wh, kobo)
    wb = load_workbook(kobo.files["xml_xlsx"])
    ws = wb[REPEAT_SHEET]
    head = [c.value for c in ws[1]]
    pi, pu = head.index("_parent_index") + 1, head.index("_submission__uuid") + 1
    for r in range(2, 7):  # index lost, uuid kept
        ws.cell(r, pi).value = None
    ws.cell(7, pi).value = None  # both lost
    ws.cell(7, pu).value = None
    f = tmp_path / "lost_index.xlsx"
    wb.save(f)
    rep = ingest_file(wh, f, IngestOptions(sheet=REPEAT_SHEET))
    assert rep.rows_read == len(kobo.origins) and rep.rows_quarantined == 1
    assert any("1 repeat row(s) point at no row" in n for n in rep.notes)
    ro = _obs(wh, rep.dataset_id).set_index("source_row")
    parents = kobo.rows.iloc[kobo.origins.parent_index - 1].reset_index(drop=True)
    for r in range(2, 7):
        assert ro.loc[r, "area_pcode"] == parents.adm3[r - 2]
    assert 7 not in ro.index
    q = wh.table("quarantine").execute()
    assert list(q[q.dataset_id == rep.dataset_id].source_row) == [7]


def test_kobo_mixed_label_and_xml_headers(wh, tmp_path):
    """A label export whose unlabelled questions keep their XML names; `;` CSV; `n/a`, `-` and
    blank are missing, `12.0` is 12; `_submission_time` dates the rows (no question, no today)."""
    f = tmp_path / "mixed_kobo_export.csv"
    f.write_text(
        "State P-code;grp_location/admin2_pcode;How many IDP individuals live here?;"
        "g1/g_ret/returnee_ind;Main reason for displacement;Main reason for displacement/conflict;"
        "Main reason for displacement/flood;_uuid;"
        "_submission_time;_index\n"
        "NG002;NG002001;120.0;n/a;conflict;1;0;u-1;2024-05-02T10:11:12.000+01:00;1\n"
        "NG002;NG002002;80;-;flood;0;1;u-2;2024-05-03T23:59:00Z;2\n"
        "NG002;NG002003;12.0;;conflict flood;1;1;u-3;2024-05-04T00:10:00;3\n"
        "NG002;NG002003;12.0;;conflict flood;1;1;u-3;2024-05-06T08:00:00;4\n",
        encoding="utf-8")
    r = ingest_file(wh, f)
    assert r.rows_read == 4 and r.rows_quarantined == 1 and r.rows_accepted == 3
    assert r.columns["Main reason for displacement/conflict"] == "kobo_choice"
    assert r.columns["_submission_time"] == "reporting_date"
    o = _obs(wh, r.dataset_id).sort_values("source_row")
    assert list(o.value) == [120.0, 80.0, 12.0]
    assert list(o.population_group) == ["idps"] * 3  # the returnee cells were all missing
    assert [str(d)[:10] for d in o.reporting_date] == ["2024-05-02", "2024-05-03", "2024-05-04"]
    assert list(o.cause) == ["conflict", "disaster", "other"]
    iss = _issues(wh, r.dataset_id)
    d = iss[iss.code == "duplicate-submission"]
    assert list(d.row) == [5] and "same _uuid as row 4" in d.message.iloc[0]


# ------------------------------------------------------------------ ODK Central ZIP, nested repeats

ODK_MAIN = ["SubmissionDate", "today", "grp_loc-adm1_pcode", "grp_loc-adm2_pcode",
            "grp_idp-idp_ind", "grp_idp-idp_hh", "meta-instanceID", "KEY", "SubmitterID",
            "SubmitterName", "AttachmentsPresent", "AttachmentsExpected", "Status", "ReviewState",
            "DeviceID", "Edits", "FormVersion", "SET-OF-origins"]
# (adm1, adm2, IDP individuals, households): Nigeria's P-codes, in the embedded gazetteer
ODK_SUBMISSIONS = [("NG008", "NG008001", 500, 100), ("NG008", "NG008002", 300, 60),
                   ("NG002", "NG002001", 250, 50), ("NG036", "NG036001", 120, 30)]


def _odk_zip(path) -> dict[str, list[list[str]]]:
    """An ODK Central export: the submissions, a repeat of origins per submission and a repeat
    of households per origin (nested), one CSV each, linked by PARENT_KEY -> KEY."""
    import io as _io
    import zipfile

    main, origins, households = [ODK_MAIN], [
        ["origin_adm2_pcode", "origin_idp_ind", "PARENT_KEY", "KEY", "SET-OF-hh"]], [
        ["hh_grp-idp_ind", "PARENT_KEY", "KEY"]]
    for i, (a1, a2, ind, hh) in enumerate(ODK_SUBMISSIONS):
        key = f"uuid:0000000{i}-aaaa-bbbb-cccc-dddddddddddd"
        main.append(["2021-08-02T10:11:12.000Z", "2021-07-30", a1, a2, str(ind), str(hh), key, key,
                     "7", "enumerator", "0", "0", "", "received", "collect:x", "0", "3",
                     f"{key}/origins"])
        for k, (org, n) in enumerate([("NG005001", ind // 2), ("NG005002", ind - ind // 2)], 1):
            okey = f"{key}/origins[{k}]"
            origins.append([org, str(n), key, okey, f"{okey}/hh"])
            households.append([str(n // 5), okey, f"{okey}/hh[1]"])
    files = {"idp_location.csv": main, "idp_location-origins.csv": origins,
             "idp_location-hh.csv": households}
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as zf:
        for name, rows in files.items():
            buf = _io.StringIO()
            csv.writer(buf).writerows(rows)
            zf.writestr(name, buf.getvalue())
        zf.writestr("media/", "")
    return files


def test_odk_central_zip_with_repeats(wh, tmp_path):
    f = tmp_path / "idp_location.zip"
    _odk_zip(f)
    main = ingest_file(wh, f)
    assert main.status == "imported" and main.sheet == "idp_location"
    assert main.rows_read == len(ODK_SUBMISSIONS) == main.rows_accepted
    assert any("'idp_location-origins' is a Kobo repeat group" in n for n in main.notes)
    assert any("'idp_location-hh' is a Kobo repeat group" in n for n in main.notes)
    o = _obs(wh, main.dataset_id)
    # the ODK meta columns are never counts: individuals and households of each submission only
    assert len(o) == 2 * len(ODK_SUBMISSIONS)
    ind = o[o.unit == "individuals"]
    expected: dict[str, float] = {}
    for a1, _, n, _ in ODK_SUBMISSIONS:
        expected[a1] = expected.get(a1, 0.0) + n
    assert ind.groupby("adm1_pcode").value.sum().to_dict() == expected
    assert set(ind.reporting_date.astype(str).str[:10]) == {"2021-07-30"}  # 'today', not upload

    rep = ingest_file(wh, f, IngestOptions(sheet="idp_location-origins"))
    ro = _obs(wh, rep.dataset_id).sort_values("source_row")
    assert rep.rows_read == 2 * len(ODK_SUBMISSIONS) == rep.rows_accepted
    assert list(ro.area_pcode) == [a2 for _, a2, _, _ in ODK_SUBMISSIONS for _ in (1, 2)]
    assert list(ro.origin_pcode) == ["NG005001", "NG005002"] * len(ODK_SUBMISSIONS)
    assert any("PARENT_KEY -> KEY" in n for n in rep.notes)

    # a repeat inside the repeat: each row finds the submission at the root of its key
    nested = ingest_file(wh, f, IngestOptions(sheet="idp_location-hh"))
    no = _obs(wh, nested.dataset_id).sort_values("source_row")
    assert nested.rows_read == 2 * len(ODK_SUBMISSIONS) == nested.rows_accepted
    assert list(no.area_pcode) == [a2 for _, a2, _, _ in ODK_SUBMISSIONS for _ in (1, 2)]


def test_odk_briefcase_folder_with_repeats(wh, tmp_path):
    """ODK Briefcase writes its export as loose files in a folder (``Form.csv`` and one
    ``Form-group.csv`` per repeat): the folder is read like the ZIP, repeats joined the same way."""
    import zipfile

    from idpkit.errors import UnreadableFileError

    _odk_zip(tmp_path / "export.zip")
    folder = tmp_path / "briefcase-export"
    (folder / "media").mkdir(parents=True)
    with zipfile.ZipFile(tmp_path / "export.zip") as zf:
        for name in zf.namelist():
            if name.endswith(".csv"):
                (folder / name).write_bytes(zf.read(name))
    (folder / "media" / "photo.csv").write_text("not,a,table\n")  # sub-folders are not read
    (folder / ".~lock.idp_location.csv#").write_text("x")
    (folder / "README.txt").write_text("exported by ODK Briefcase")

    main = ingest_file(wh, folder)
    assert main.status == "imported" and main.sheet == "idp_location"
    assert main.rows_read == len(ODK_SUBMISSIONS) == main.rows_accepted
    assert any("folder of 3 CSV file(s)" in n for n in main.notes)
    assert any("'idp_location-origins' is a Kobo repeat group" in n for n in main.notes)
    ind = _obs(wh, main.dataset_id).query("unit == 'individuals'")
    assert ind.value.sum() == sum(n for _, _, n, _ in ODK_SUBMISSIONS)
    ds = dataset_rows(wh, "datasets", main.dataset_id)
    assert ds.file_name.iloc[0] == "briefcase-export"
    assert int(ds.file_bytes.iloc[0]) == sum(p.stat().st_size for p in folder.glob("*.csv"))

    rep = ingest_file(wh, folder, IngestOptions(sheet="idp_location-origins"))
    ro = _obs(wh, rep.dataset_id).sort_values("source_row")
    assert list(ro.area_pcode) == [a2 for _, a2, _, _ in ODK_SUBMISSIONS for _ in (1, 2)]

    # the same export again, even in a folder of another name, is recognised; a changed file is not
    moved = folder.rename(tmp_path / "copy-of-export")
    assert ingest_file(wh, moved).status == "already-imported"
    changed = (moved / "idp_location.csv").read_text().replace(",500,", ",501,")
    (moved / "idp_location.csv").write_text(changed)
    assert ingest_file(wh, moved, IngestOptions(dry_run=True)).status == "dry-run"
    assert ingest_file(wh, moved).status == "imported"

    empty = tmp_path / "empty"
    empty.mkdir()
    (empty / "notes.txt").write_text("x")
    with pytest.raises(UnreadableFileError, match="no CSV files in it"):
        ingest_file(wh, empty)
    binary = tmp_path / "binary"
    binary.mkdir()
    (binary / "data.csv").write_bytes(bytes(range(256)) * 50)
    with pytest.raises(UnreadableFileError, match="binary") as err:
        ingest_file(wh, binary)
    assert str(err.value.location).endswith("data.csv")


def test_odk_headers_only_in_odk_files():
    from idpkit.ingest.kobo import odk_headers

    assert odk_headers(["grp-adm1_pcode", "IDP-individuals", "KEY", "meta-instanceID"]) == [
        "grp/adm1_pcode", "IDP/individuals", "KEY", "meta/instanceID"]
    assert odk_headers(["IDP-individuals", "Key", "State"]) is None  # not an ODK export
    assert kobo_meta_role("KEY") == "kobo_key" and kobo_meta_role("Key") is None
    assert kobo_meta_role("SET-OF-origins") == "kobo_meta"


def test_kobo_nested_repeat_linked_by_submission_uuid(wh, kobo, tmp_path):
    """In a repeat inside a repeat, _parent_index is the row of the repeat above (Kobo names it in
    _parent_table_name), not a submission: rows are linked by the submission's uuid."""
    from openpyxl import load_workbook

    _load_areas(wh, kobo)
    wb = load_workbook(kobo.files["xml_xlsx"])
    ws = wb.create_sheet("households")
    ws.append(["origins/hh/idp_ind", "_index", "_parent_table_name", "_parent_index",
               "_submission__uuid"])
    origins = kobo.origins
    for k, o in enumerate(origins.itertuples(index=False), start=1):
        ws.append([max(1, o.idp_ind // 5), k, REPEAT_SHEET, k, kobo.rows.iloc[o.parent_index - 1].uuid])
    f = tmp_path / "nested.xlsx"
    wb.save(f)
    # the origins' own indexes differ from their submissions' (else the test proves nothing)
    assert (origins.parent_index != range(1, len(origins) + 1)).any()
    r = ingest_file(wh, f, IngestOptions(sheet="households"))
    assert r.rows_read == len(origins) == r.rows_accepted
    got = _obs(wh, r.dataset_id).sort_values("source_row")
    parents = kobo.rows.iloc[origins.parent_index - 1].reset_index(drop=True)
    assert list(got.area_pcode) == list(parents.adm3)


@pytest.mark.core
@settings(max_examples=200, deadline=None)
@given(st.lists(st.one_of(st.text(max_size=20), st.lists(_seg, min_size=1, max_size=4).map("-".join)),
                max_size=8),
       st.sampled_from(["meta-instanceID", "PARENT_KEY", "SubmissionDate", None]))
def test_odk_headers_rewrite_only_group_paths(headers, marker):
    from idpkit.ingest.kobo import odk_headers

    row = headers + ["KEY"] + ([marker] if marker else [])
    out = odk_headers(row)
    if marker is None and not {"meta-instanceID", "PARENT_KEY", "SubmissionDate"} & set(headers):
        assert out is None
        return
    assert out is not None and len(out) == len(row)
    for before, after in zip(row, out):
        assert after == before or (after == before.replace("-", "/") and "-" in before
                                   and " " not in before)
