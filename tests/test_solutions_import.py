"""Survey import: formats survey teams export, design checks that name file/row/column, atomicity."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from idpkit.errors import AlreadyImportedError, IdpkitError
from idpkit.solutions.design import DesignError, SurveyDesign
from idpkit.solutions.reading import clean_names, read_survey
from idpkit.solutions.store import SurveyImportError, SurveySpec, import_survey, load_survey
from idpkit.testing.demo_survey import generate_survey

AREAS = ["ZDL0101", "ZDL0102", "ZDL0201"]


@pytest.fixture(scope="module")
def demo(tmp_path_factory):
    return generate_survey(tmp_path_factory.mktemp("survey"), AREAS, psus_per_stratum=4,
                           households_per_psu=6)


def _spec(demo) -> SurveySpec:
    return SurveySpec.from_yaml(demo.spec_yaml)


def _frame(demo) -> pd.DataFrame:
    return pd.read_csv(demo.households_csv)


def _write(df: pd.DataFrame, path: Path) -> Path:
    df.to_csv(path, index=False)
    return path


def _count_surveys(wh) -> int:
    return int(wh.table("surveys").count().execute())


def test_csv_import_keeps_every_household_and_maps_groups(wh, demo):
    res = import_survey(wh, demo.households_csv, _spec(demo))
    assert res.households == demo.households
    s = load_survey(wh, res.survey_id)
    df = s.table.execute()
    assert len(df) == demo.households
    raw = _frame(demo)
    labels = {"IDP": "idps", "Returnee": "returnees", "Non-displaced": "non_displaced"}
    assert (df.sort_values("_row").population_group.tolist()
            == raw["hh/displacement_status"].map(labels).tolist())
    assert s.design.group == "population_group" and s.design.weights == "weight"
    assert [i.name for i in s.indicators][:2] == ["victim_of_violence", "feel_safe_night"]
    # the same file twice is refused; --replace replaces
    with pytest.raises(IdpkitError, match="already exists"):
        import_survey(wh, demo.households_csv, _spec(demo))
    import_survey(wh, demo.households_csv, _spec(demo), replace=True)
    assert _count_surveys(wh) == 1
    with pytest.raises(AlreadyImportedError):
        import_survey(wh, demo.households_csv, _spec(demo), survey_id="another")


@pytest.mark.parametrize("fmt", ["xlsx-kobo", "dta", "sav"])
def test_other_formats_give_the_same_table(wh, demo, tmp_path, fmt):
    raw = _frame(demo)
    if fmt == "xlsx-kobo":
        path = tmp_path / "kobo_export.xlsx"
        members = pd.DataFrame({"name": ["a", "b", "c"], "age": [30, 4, 61],
                                "_parent_index": [1, 1, 2], "_index": [1, 2, 3]})
        with pd.ExcelWriter(path) as xw:
            raw.to_excel(xw, sheet_name="hh_survey", index=False)
            members.to_excel(xw, sheet_name="member_roster", index=False)
    elif fmt == "dta":
        path = tmp_path / "survey.dta"
        flat = raw.copy()
        flat.columns = [c.replace("/", "_") for c in flat.columns]
        flat.to_stata(path, write_index=False)
    else:
        import pyreadstat

        path = tmp_path / "survey.sav"
        flat = raw.drop(columns=["_index", "_uuid"])  # SPSS names cannot start with '_'
        flat.columns = [c.replace("/", "_") for c in flat.columns]
        codes = {"IDP": 1, "Returnee": 2, "Non-displaced": 3}  # a labelled numeric variable
        flat["hh_displacement_status"] = flat["hh_displacement_status"].map(codes)
        pyreadstat.write_sav(flat, str(path), variable_value_labels={
            "hh_displacement_status": {v: k for k, v in codes.items()}})
    spec = _spec(demo)
    if fmt != "xlsx-kobo":  # Stata/SPSS names cannot hold '/': the spec names the flat columns
        d = spec.design.model_dump()
        for k in ("weights", "strata", "psu", "ssu", "group", "area"):
            d[k] = d[k].replace("/", "_")
        d["fpc"] = [c.replace("/", "_") for c in d["fpc"]]
        spec.design = SurveyDesign.model_validate(d)
        spec.indicators = [i.model_copy(update={
            "variable": i.variable.replace("/", "_"),
            "denominator": i.denominator and i.denominator.replace("/", "_")})
            for i in spec.indicators]
    res = import_survey(wh, path, spec)
    assert res.households == demo.households
    assert res.members == (3 if fmt == "xlsx-kobo" else 0)
    s = load_survey(wh, res.survey_id)
    got = s.table.execute().sort_values("_row")
    assert got[s.design.weights].tolist() == pytest.approx(raw["design/weight"].tolist())
    income = next(i.variable for i in s.indicators if i.name == "income_per_capita")
    assert got[income].isna().sum() == raw["econ/income_month"].isna().sum()
    assert got.population_group.notna().all()


def _expect_issues(wh, demo, tmp_path, df: pd.DataFrame, code: str, spec: SurveySpec | None = None
                   ) -> list:
    path = _write(df, tmp_path / "bad.csv")
    before = set(wh.con.list_tables())
    with pytest.raises(SurveyImportError) as info:
        import_survey(wh, path, spec or _spec(demo))
    found = [i for i in info.value.issues if i.code == code]
    assert found, [i.code for i in info.value.issues]
    assert _count_surveys(wh) == 0 and set(wh.con.list_tables()) == before  # nothing stored
    assert all(i.file == "bad.csv" for i in info.value.issues)
    return found


def test_missing_and_non_positive_weights_name_the_rows(wh, demo, tmp_path):
    df = _frame(demo)
    df.loc[4, "design/weight"] = None
    df.loc[9, "design/weight"] = -3
    missing = _expect_issues(wh, demo, tmp_path, df, "survey-missing-weight")
    assert [(i.row, i.column) for i in missing] == [(6, "design/weight")]  # header is row 1
    path = _write(df.fillna({"design/weight": 1.0}), tmp_path / "bad.csv")
    with pytest.raises(SurveyImportError) as info:
        import_survey(wh, path, _spec(demo))
    bad = [i for i in info.value.issues if i.code == "survey-non-positive-weight"]
    assert [(i.row, i.value) for i in bad] == [(11, "-3")]


def test_psus_repeating_across_strata_need_nest(wh, demo, tmp_path):
    spec = _spec(demo)
    spec.design = spec.design.model_copy(update={"nest": False})
    found = _expect_issues(wh, demo, tmp_path, _frame(demo), "survey-psu-in-several-strata", spec)
    assert "nest: true" in found[0].message and found[0].column == "admin/ea_number"


def test_lonely_psu_is_an_error_unless_a_rule_is_chosen(wh, demo, tmp_path):
    df = _frame(demo)
    df = df[~((df["admin/stratum"] == "ZDL0201") & (df["admin/ea_number"] > 1))]
    spec = _spec(demo)
    spec.design = spec.design.model_copy(update={"lonely_psu": "fail"})
    found = _expect_issues(wh, demo, tmp_path, df, "survey-lonely-psu", spec)
    assert found[0].value == "ZDL0201" and "lonely_psu" in found[0].message
    spec.design = spec.design.model_copy(update={"lonely_psu": "certainty"})
    res = import_survey(wh, _write(df, tmp_path / "ok.csv"), spec)
    assert [i.code for i in res.warnings] == ["survey-lonely-psu"]


def test_unknown_group_and_unknown_pcode(wh, demo, tmp_path):
    from idpkit.warehouse.areas import load_areas

    load_areas(wh, pd.DataFrame({"pcode": ["ZDL", *AREAS], "name": ["Zedland", "A", "B", "C"],
                                 "admin_level": [0, 2, 2, 2],
                                 "parent_pcode": [None, "ZDL", "ZDL", "ZDL"],
                                 "iso3": "ZDL"}))
    df = _frame(demo)
    df.loc[2, "hh/displacement_status"] = "Refugee camp"
    df.loc[3, "admin/area_pcode"] = "ZDL0999"
    path = _write(df, tmp_path / "bad.csv")
    with pytest.raises(SurveyImportError) as info:
        import_survey(wh, path, _spec(demo))
    codes = {(i.code, i.row, i.value) for i in info.value.issues}
    assert ("survey-unknown-group", 4, "Refugee camp") in codes
    assert ("survey-unknown-pcode", 5, "ZDL0999") in codes


def test_design_columns_missing_from_the_file(wh, demo, tmp_path):
    df = _frame(demo).drop(columns=["admin/ea_number"])
    found = _expect_issues(wh, demo, tmp_path, df, "survey-missing-column")
    assert found[0].column == "admin/ea_number"


def test_spec_errors_are_clear():
    with pytest.raises(DesignError, match="ssu needs psu"):
        SurveySpec.from_dict({"design": {"weights": "w", "ssu": "hh"}})
    with pytest.raises(DesignError, match="lonely_psu"):
        SurveySpec.from_dict({"design": {"weights": "w", "lonely_psu": "ignore"}})
    with pytest.raises(DesignError, match=r"indicators\[0\].*sub-criterion"):
        SurveySpec.from_dict({"design": {"weights": "w"},
                              "indicators": [{"name": "x", "variable": "x",
                                              "sub_criterion": "happiness"}]})


def test_unreadable_files_are_named(tmp_path):
    from idpkit.errors import UnreadableFileError

    empty = tmp_path / "empty.csv"
    empty.write_text("")
    with pytest.raises(UnreadableFileError, match="empty.csv"):
        read_survey(empty)
    with pytest.raises(UnreadableFileError, match="unsupported"):
        read_survey(_write(pd.DataFrame({"a": [1]}), tmp_path / "x.json"))


def test_semicolon_csv_with_latin1_and_kobo_headers(tmp_path):
    path = tmp_path / "kobo_legacy.csv"
    path.write_bytes("grp/région;grp/poids;autre/région\nTillabéri;1,5;x\nDosso;2;y\n"
                     .encode("latin-1"))
    f = read_survey(path)
    assert f.households.column_names == ["grp_r_gion", "poids", "autre_r_gion", "_row"]
    assert f.households.column("grp_r_gion").to_pylist() == ["Tillabéri", "Dosso"]
    assert f.columns["poids"] == "grp/poids"


@settings(max_examples=200, deadline=None)
@given(st.lists(st.one_of(st.text(max_size=12), st.none(), st.integers()), min_size=1,
                max_size=12))
def test_clean_names_are_unique_sql_safe_and_total(headers):
    names = clean_names(headers)
    cleaned = list(names.values())
    assert len(cleaned) == len(headers)
    assert len(set(cleaned)) == len(cleaned)
    for n in cleaned:
        assert n and n == n.lower() and not n[0].isdigit()
        assert all(ch.isalnum() or ch == "_" for ch in n)
