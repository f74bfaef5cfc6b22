"""Registers idpkit has never seen (issue 19): a YAML mapping names columns by header, position or
HXL tag, joins columns, reads dates in the file's formats and sets phone regions per
organisation; every column but the record id is optional; unread dates and unmapped columns are
reported with file, row and column; bad mappings fail naming the key.

Expected values are written out by hand or computed with plain pandas beside the test, never
read back from idpkit's own helpers.
"""

from __future__ import annotations

from pathlib import Path

import duckdb
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from idpkit.errors import IdpkitError, MappingError
from idpkit.linkage.register import RegisterError, import_register
from idpkit.linkage.register_mapping import RegisterMapping
from idpkit.warehouse import connect

pytestmark = pytest.mark.core


@pytest.fixture()
def env(tmp_path, monkeypatch) -> dict[str, str]:
    e = {"IDPKIT_PSEUDONYM_KEY_FILE": str(tmp_path / "key"),
         "IDPKIT_REGISTER_DB": str(tmp_path / "protected.duckdb"),
         "IDPKIT_LOG": str(tmp_path / "idpkit.log")}
    for k, v in e.items():
        monkeypatch.setenv(k, v)
    return e


def _import(tmp_path: Path, name: str, text: str, mapping: str | None = None, **kw):
    f = tmp_path / name
    f.write_text(text, encoding="utf-8")
    m = None
    if mapping is not None:
        (tmp_path / "map.yml").write_text(mapping, encoding="utf-8")
        m = RegisterMapping.load(tmp_path / "map.yml")
    db = str(tmp_path / "w.duckdb")
    with connect(db) as wh:
        return import_register(wh, f, warehouse_target=db, mapping=m, **kw)


def _people(env) -> pd.DataFrame:
    con = duckdb.connect(env["IDPKIT_REGISTER_DB"], read_only=True)
    try:
        return con.execute("SELECT * FROM reg_people ORDER BY record_id").df()
    finally:
        con.close()


PARTNER = """\
Ref,Hh,Org,Given,Father,Street no,Street,Town,Born,Mobile,Registered,Notes
#beneficiary+id,#household+id,#org,#beneficiary+name+first,#beneficiary+name+father,,,,,,,
A1,H1,NGO-A,Amina,Yusuf,12,Market Road,Baidoa,19870412,0612345678,05/03/2024,x
A2,H1,NGO-A,Omar,Yusuf,12,Market Road,Baidoa,2001-13-45,0612345679,05/03/2024,
A3,H9,NGO-B,Chidi,Okeke,,Zoo Road,Maiduguri,1990-02-01,08031234567,06/03/2024,y
"""

MAPPING = """\
header_row: 1
columns:
  record_id: "#beneficiary+id"
  household_ref: 2
  organisation: Org
  first_name: "#beneficiary+name+first"
  father_name: Father
  address: [Street no, Street]
  locality: Town
  date_of_birth: Born
  phone: Mobile
  registration_date: Registered
date_formats: ["%Y%m%d", "%Y-%m-%d", "%d/%m/%Y"]
phone_regions: {by: organisation, values: {NGO-A: SO, NGO-B: NG}}
event: [household_ref, registration_date]
"""


def test_mapping_by_tag_position_header_with_joins_dates_and_phone_regions(tmp_path, env):
    res = _import(tmp_path, "partner.csv", PARTNER, MAPPING)
    assert res.records == 3 and res.quarantined == 0
    p = _people(env).set_index("record_id")
    assert p.loc["A1", "household_ref"] == "H1" and p.loc["A3", "first_name"] == "Chidi"
    assert p.loc["A1", "address"] == "12 Market Road" and p.loc["A3", "address"] == "Zoo Road"
    assert p.loc["A1", "date_of_birth"] == "1987-04-12"  # %Y%m%d from the mapping
    assert p.loc["A1", "registration_date"] == "2024-03-05"  # d/m/Y
    assert p.loc["A1", "phone_region"] == "SO" and p.loc["A3", "phone_region"] == "NG"
    # E.164 by each record's own region: Somalia +252, Nigeria +234 (leading 0 dropped)
    assert p.loc["A1", "phone"] == "+252612345678" and p.loc["A3", "phone"] == "+2348031234567"
    assert p.loc["A1", "registration_event"] == p.loc["A2", "registration_event"] == \
        "H1|2024-03-05"
    # the date of birth that no format reads: empty, reported at file row 4 (header, HXL, 2nd)
    assert pd.isna(p.loc["A2", "date_of_birth"])
    bad = [i for i in res.issues if i.code == "register-unparsed-date"]
    assert [(i.row, i.column, i.file) for i in bad] == [(4, "date_of_birth", "partner.csv")]
    assert "2001-13-45" not in bad[0].message  # a date of birth is personal: never echoed
    unmapped = [i for i in res.issues if i.code == "register-unmapped-columns"]
    assert len(unmapped) == 1 and unmapped[0].column == "Notes"


def test_ignore_silences_the_unmapped_warning(tmp_path, env):
    res = _import(tmp_path, "p.csv", PARTNER, MAPPING + "ignore: [Notes]\n")
    assert not [i for i in res.issues if i.code == "register-unmapped-columns"]


def test_default_dates_iso_dmy_and_yyyymmdd_and_a_year_alone(tmp_path, env):
    text = ("id,first_name,dob,registered_on\n"
            "1,Ali,1987-04-12,2024-03-05 00:00:00\n2,Aden,12/04/1987,\n"
            "3,Asha,19870412,\n4,Abdi,1987,\n5,Hodan,04-12-1987,\n")
    res = _import(tmp_path, "d.csv", text)
    p = _people(env).set_index("record_id")
    assert list(p.date_of_birth[["1", "2", "3"]]) == ["1987-04-12"] * 3
    assert p.registration_date["1"] == "2024-03-05"
    assert pd.isna(p.date_of_birth["4"]) and p.year_of_birth["4"] == "1987"  # a year, kept
    assert pd.isna(p.date_of_birth["5"])
    bad = [(i.row, i.column) for i in res.issues if i.code == "register-unparsed-date"]
    assert bad == [(6, "date_of_birth")]  # header row 1 + fifth record


def test_no_household_column_each_record_its_own_event(tmp_path, env):
    res = _import(tmp_path, "solo.csv", "record_id,first_name\nR1,Ali\nR2,Ali\n")
    assert res.records == 2
    p = _people(env)
    assert p.registration_event.nunique() == 2 and p.household_ref.isna().all()
    con = duckdb.connect(str(tmp_path / "w.duckdb"), read_only=True)
    units = con.execute("SELECT * FROM register_units").df()
    con.close()
    assert units.household_key.nunique() == 2  # one household per person registered alone


def test_missing_record_id_lists_the_files_own_headers(tmp_path, env):
    with pytest.raises(RegisterError, match=r"record_id.*headers read: HH ID, Given Name"):
        _import(tmp_path, "noid.csv", "HH ID,Given Name\nH1,Ali\n")


def test_register_with_nothing_to_match_by_is_refused(tmp_path, env):
    with pytest.raises(RegisterError, match="nothing to match records by"):
        _import(tmp_path, "bare.csv", "record_id,household_id,site\nR1,H1,S1\nR2,H1,S1\n")
    with pytest.raises(RegisterError, match="nothing to match records by"):
        _import(tmp_path, "empty.csv", "record_id,first_name,phone\nR1,,\nR2,,\n")


@pytest.mark.parametrize("text, message", [
    ("colums: {record_id: 1}\n", r"colums: unknown key; did you mean 'columns'"),
    ("columns: {first_nam: 2}\n", r"columns: 'first_nam' is not a register field; did you "
                                  r"mean 'first_name'"),
    ("phone_region: Somalia\n", r"phone_region: must be an ISO 3166 alpha-2"),
    ("phone_regions: {by: village, values: {}}\n", r"phone_regions.by"),
    ("phone_regions: {by: organisation, values: {A: XYZ}}\n", r"phone_regions.values"),
    ("date_formats: [dd/mm/yyyy]\n", r"date_formats: 'dd/mm/yyyy' is not a strftime format"),
    ("event: [household, registration_date]\n", r"event: 'household' is not a register field"),
    ("header_row: 0\n", r"header_row: must be a 1-based row number"),
    ("- a list\n", r"not a list"),
])
def test_a_bad_mapping_names_the_key(tmp_path, text, message):
    (tmp_path / "m.yml").write_text(text, encoding="utf-8")
    with pytest.raises(MappingError, match=message) as e:
        RegisterMapping.load(tmp_path / "m.yml")
    assert str(tmp_path / "m.yml") in str(e.value)


@pytest.mark.parametrize("ref, message", [
    ("Nope", r"column 'Nope', which is not in the file \(headers read: Ref, Hh"),
    ("99", r"column 99, but the file has 12 column\(s\)"),
    ('"#beneficiary+name+last"', r"HXL tag '#beneficiary\+name\+last', which is not in"),
])
def test_mapping_naming_a_column_the_file_lacks(tmp_path, env, ref, message):
    with pytest.raises(MappingError, match=message):
        _import(tmp_path, "p.csv", PARTNER, f"columns: {{record_id: 1, first_name: {ref}}}\n")


def test_header_row_and_xlsx_sheet(tmp_path, env):
    df = pd.DataFrame([["Registration list", None, None], [None, None, None],
                       ["Individual ID", "First Name", "DOB"], ["R1", "Ali", "01/02/1990"],
                       ["R2", "Asha", "1991-03-04"]])
    with pd.ExcelWriter(tmp_path / "reg.xlsx") as w:
        pd.DataFrame([["cover"]]).to_excel(w, sheet_name="About", header=False, index=False)
        df.to_excel(w, sheet_name="People", header=False, index=False)
    (tmp_path / "m.yml").write_text("sheet: People\nheader_row: 3\n", encoding="utf-8")
    db = str(tmp_path / "w.duckdb")
    with connect(db) as wh:
        res = import_register(wh, tmp_path / "reg.xlsx", warehouse_target=db,
                              mapping=RegisterMapping.load(tmp_path / "m.yml"))
    assert res.records == 2
    p = _people(env).set_index("record_id")
    assert list(p.date_of_birth) == ["1990-02-01", "1991-03-04"]
    (tmp_path / "m2.yml").write_text("sheet: Nope\n", encoding="utf-8")
    with connect(db) as wh, pytest.raises(IdpkitError, match="no sheet 'Nope'"):
        import_register(wh, tmp_path / "reg.xlsx", warehouse_target=db,
                        mapping=RegisterMapping.load(tmp_path / "m2.yml"))


def test_new_header_aliases(tmp_path, env):
    text = ("Beneficiary ID,Full Name,Grandfather Name,Year of Birth,Village,Postal Code,"
            "Street Address\nR1,Ali Guled Ali,Ali,1980,Doolow,00252,Main St\n")
    res = _import(tmp_path, "a.csv", text.replace("Beneficiary ID", "beneficiary_id"))
    assert res.records == 1
    assert not [i for i in res.issues if i.code == "register-unmapped-columns"]
    p = _people(env).iloc[0]
    assert (p.full_name, p.grandfather_name, p.year_of_birth, p.locality, p.postcode,
            p.address) == ("Ali Guled Ali", "Ali", "1980", "Doolow", "00252", "Main St")


def test_warehouse_units_hold_no_personal_field(tmp_path, env):
    _import(tmp_path, "partner.csv", PARTNER, MAPPING)
    con = duckdb.connect(str(tmp_path / "w.duckdb"), read_only=True)
    cols = [r[0] for r in con.execute("DESCRIBE register_units").fetchall()]
    units = con.execute("SELECT * FROM register_units").df()
    con.close()
    assert set(cols) == {"person_key", "household_key", "person_cluster", "household_cluster",
                         "area_pcode", "site_id", "sex", "age_group", "organisation",
                         "registration_date"}
    text = units.astype(str).to_csv()
    for secret in ("Amina", "0612345678", "612345678", "Market Road", "1987", "A1,", "H1,"):
        assert secret not in text


def test_cli_import_with_mapping_prints_findings(tmp_path, env):
    from typer.testing import CliRunner

    from idpkit.cli.app import app

    (tmp_path / "p.csv").write_text(PARTNER, encoding="utf-8")
    (tmp_path / "m.yml").write_text(MAPPING, encoding="utf-8")
    r = CliRunner().invoke(app, ["register", "import", str(tmp_path / "p.csv"), "--mapping",
                                 str(tmp_path / "m.yml"), "--db", str(tmp_path / "w.duckdb")])
    assert r.exit_code == 0, r.output
    assert "Registered 3 records" in r.output
    assert "register-unparsed-date" in r.output and "row 4" in r.output
    assert "register-unmapped-columns" in r.output and "Notes" in r.output


FORMATS = ["%Y%m%d", "%d/%m/%Y", "%Y-%m-%d", "%d.%m.%Y", "%m/%d/%Y"]


@settings(max_examples=40, deadline=None)
@given(dates=st.lists(st.one_of(st.none(), st.dates(min_value=pd.Timestamp("1900-01-01").date(),
                                                      max_value=pd.Timestamp("2099-12-31").date()),
                                st.sampled_from(["", "n/a", "31/02/2001", "2001-00-10"])),
                      min_size=1, max_size=30),
       fmt=st.sampled_from(FORMATS), header_row=st.integers(1, 3))
def test_dates_in_the_mappings_format_and_unread_values_by_row(tmp_path_factory, dates, fmt,
                                                               header_row):
    """Each date written in the mapping's format is stored as ISO; each other non-empty value is
    stored empty and reported at its spreadsheet row (header row + its position)."""
    from idpkit.linkage.register_table import read_register

    folder = tmp_path_factory.mktemp("d")
    cells = [d.strftime(fmt) if hasattr(d, "strftime") else d for d in dates]
    lines = ["title,,"] * (header_row - 1) + ["record_id,first_name,date_of_birth"]
    lines += [f"R{i},Ali,{'' if c is None else c}" for i, c in enumerate(cells)]
    (folder / "r.csv").write_text("\n".join(lines) + "\n", encoding="utf-8")
    (folder / "m.yml").write_text(f"header_row: {header_row}\ndate_formats: ['{fmt}']\n",
                                  encoding="utf-8")
    t = read_register(folder / "r.csv", RegisterMapping.load(folder / "m.yml"))
    # expected, written out: ISO for real dates, None for the rest; rows of the non-empty rest
    want = [d.isoformat() if hasattr(d, "isoformat") else None for d in dates]
    got = dict(zip(t.frame.record_id, t.frame.date_of_birth, strict=True))
    for i, w in enumerate(want):
        if f"R{i}" in got:
            assert got[f"R{i}"] == w, (cells[i], fmt)
    bad_rows = sorted(header_row + 1 + i for i, (d, c) in enumerate(zip(dates, cells,
                                                                        strict=True))
                      if not hasattr(d, "isoformat") and c not in (None, ""))
    assert sorted(i.row for i in t.issues if i.code == "register-unparsed-date") == bad_rows


ROUNDS = """\
record_id,household_id,partner,date_of_registration,first_name
R1,H1,NGO-A,2024-01-10,Ali
R2,H1,NGO-A,2024-01-10,Asha
R3,H1,NGO-A,2024-06-02,Ali
R4,H1,NGO-B,2024-01-10,Ali
R5,,NGO-A,2024-01-10,Omar
"""


def test_events_default_split_rounds_and_organisations(tmp_path, env):
    _import(tmp_path, "rounds.csv", ROUNDS)
    ev = _people(env).set_index("record_id").registration_event
    # one household id, three events: the first round (R1, R2), a later round, another partner
    assert ev["R1"] == ev["R2"]
    assert len({ev["R1"], ev["R3"], ev["R4"], ev["R5"]}) == 4


def test_events_from_the_mapping(tmp_path, env):
    _import(tmp_path, "rounds.csv", ROUNDS, "event: [household_ref]\n")
    ev = _people(env).set_index("record_id").registration_event
    assert ev["R1"] == ev["R2"] == ev["R3"] == ev["R4"] != ev["R5"]


def test_a_windows_export_in_cp1252_reads(tmp_path, env):
    (tmp_path / "w.csv").write_bytes("record_id,Prénom\nR1,Aïcha\n".encode("cp1252"))
    db = str(tmp_path / "w.duckdb")
    with connect(db) as wh:
        assert import_register(wh, tmp_path / "w.csv", warehouse_target=db).records == 1
    assert _people(env).first_name[0] == "Aïcha"
