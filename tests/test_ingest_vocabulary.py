"""What real columns mean: HXL tags that are not displacement stocks, IDMC's flow and stock
attributes, pre-1.0 HXL tags, header words (years, countries, Kobo names, causes, rounded twins),
and how strong the evidence for each count is.

Every rule is general: each has a generated test that varies wording, language, case,
punctuation and column order. The corpus fixtures (IDMC, Mali) are checked against totals worked
out here from the files with the csv module, never taken from idpkit.
"""

from __future__ import annotations

import csv
import random
import re
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from idpkit.ingest.columns import (NOT_DISPLACEMENT_HASHTAGS, ColumnAssignment, ValueSpec,
                                   count_evidence, guess_roles, role_from_header, role_from_tag,
                                   weak_counts)
from idpkit.ingest.detect import _pivot_hint, choose_layout, detect_layout
from idpkit.ingest.hxl import parse_tag, translate_legacy
from idpkit.ingest.pipeline import IngestOptions, ingest_file
from idpkit.ingest.profile import resolve_columns
from idpkit.ingest.readers import Sheet, open_source
from conftest import dataset_rows
from idpkit.errors import IdpkitError, NoDataFoundError
from idpkit.warehouse.areas import Gazetteer

CORPUS = Path(__file__).parent / "fixtures" / "corpus"
FAST = settings(max_examples=40, deadline=None,
                suppress_health_check=[HealthCheck.function_scoped_fixture])


# ---------------------------------------------------------------------------------------------
# Ways people write the same header or tag


def _styles(text: str) -> st.SearchStrategy[str]:
    """``text`` as exports write it: case, separators (space, _, -, .), camelCase, padding."""
    words = re.split(r"[\s_]+", text.strip())

    def camel(ws: list[str]) -> str:
        return ws[0].lower() + "".join(w[:1].upper() + w[1:] for w in ws[1:])

    forms = st.sampled_from([
        " ".join(words), "_".join(words), " ".join(words).upper(), " ".join(words).lower(),
        " ".join(w[:1].upper() + w[1:] for w in words), "_".join(words).upper(),
        "-".join(words) if len(words) > 1 else words[0], camel(words),
    ])
    return st.tuples(forms, st.sampled_from(["", " ", "  "]), st.sampled_from(["", " ", ":"])) \
        .map(lambda t: t[1] + t[0] + t[2])


def _tag_styles(hashtag: str, attrs: list[str]) -> st.SearchStrategy[str]:
    """A tag with its attributes in any order, any case, spaces around '+' or not."""
    return st.tuples(st.permutations(attrs), st.sampled_from(["+", " +", "+ ", " + "]),
                     st.booleans()).map(
        lambda t: ("#" + hashtag + "".join(t[1] + a for a in t[0]))
        if not t[2] else ("#" + hashtag + "".join(t[1] + a for a in t[0])).upper())


def _role(header: str) -> str:
    return role_from_header(header)[0]


def _spec(header: str) -> ValueSpec | None:
    return role_from_header(header)[1]


# ---------------------------------------------------------------------------------------------
# 1. HXL tags that are not displacement stocks


@FAST
@given(st.sampled_from(sorted(NOT_DISPLACEMENT_HASHTAGS)).flatmap(
    lambda h: st.lists(st.sampled_from(["idps", "ind", "hh", "returnees", "m", "f", "total",
                                        "conflict", "num", "new"]), unique=True, max_size=4)
    .flatmap(lambda a: _tag_styles(h, a))))
def test_people_in_need_targeted_reached_are_never_counts(tag):
    parsed = parse_tag(tag)
    assert parsed is not None and parsed.hashtag in NOT_DISPLACEMENT_HASHTAGS
    assert role_from_tag(parsed)[0] != "value"


def test_file_mixing_inneed_and_affected_counts_only_the_affected(wh, tmp_path):
    f = tmp_path / "mixed.csv"
    rows = [("NG008", "2023-05-31", 1200, 900, 300), ("NG036", "2023-05-31", 4000, 3500, 50)]
    with open(f, "w", newline="", encoding="utf-8") as fh:
        w = csv.writer(fh)
        w.writerow(["State P-code", "Date", "People in need (IDPs)", "IDPs targeted", "IDPs"])
        w.writerow(["#adm1+code", "#date+reported", "#inneed+idps+ind", "#targeted+idps+ind",
                    "#affected+idps+ind"])
        w.writerows(rows)
    r = ingest_file(wh, f, IngestOptions(dry_run=True))
    values = [c for c in r.plan.columns.values()]
    assert [c.header for c in values] == ["IDPs"]
    assert r.totals.value.sum() == 300 + 50  # the #affected column only


# ---------------------------------------------------------------------------------------------
# 2. IDMC flow and stock attributes


@FAST
@given(st.sampled_from(["newdisp", "internaldisp", "newdisplacement", "new"]),
       st.sampled_from(["conflict", "disaster"]), st.data())
def test_idmc_flow_attributes_are_new_displacements(flow, cause, data):
    tag = parse_tag(data.draw(_tag_styles("affected", ["idps", "ind", flow, cause])))
    role, spec, _ = role_from_tag(tag)
    assert role == "value" and spec.metric == "new_displacement" and spec.cause == cause
    assert spec.population_group == "idps" and spec.unit == "individuals"


@FAST
@given(st.sampled_from(["conflict", "disaster"]), st.data())
def test_idmc_stock_attribute_is_present_stock(cause, data):
    tag = parse_tag(data.draw(_tag_styles("affected", ["idps", "ind", "stock", cause])))
    role, spec, _ = role_from_tag(tag)
    assert role == "value" and spec.metric == "present_stock" and spec.cause == cause


# ---------------------------------------------------------------------------------------------
# 3. HXL 0.x tags

_LEGACY_GROUPS = {"idp": "idps", "refugee": "refugees", "returnee": "returnees",
                  "migrant": "migrants"}


@FAST
@given(st.sampled_from(sorted(_LEGACY_GROUPS)), st.sampled_from(["", "hh", "ind"]),
       st.sampled_from(["lower", "upper"]), st.sampled_from(["", " "]))
def test_legacy_group_counts(base, unit, case, pad):
    text = "#" + "_".join(p for p in (base, unit, "num") if p)
    text = pad + (text.upper() if case == "upper" else text) + pad
    tag = parse_tag(text)
    assert tag.legacy
    role, spec, _ = role_from_tag(tag)
    assert role == "value" and spec.population_group == _LEGACY_GROUPS[base]
    assert spec.unit == ("households" if unit == "hh" else "individuals")
    col = ColumnAssignment(0, "Total", text, role, spec, "hxl", 10)
    assert count_evidence(col) == "strong"


@pytest.mark.parametrize("text", ["#aff_num", "#affected_num", "#AFF_NUM", "#hh_num", "#ind_num",
                                  "#pop_num", "#inneed_num", "#reached_num", "#targeted_num"])
def test_legacy_counts_of_no_group_are_not_imported(text):
    assert role_from_tag(parse_tag(text))[0] == "ignore"


@pytest.mark.parametrize("text,role", [
    ("#period_date", "reporting_date"), ("#report_date", "reporting_date"),
    ("#Period_Date", "reporting_date"), ("#country_code", "country_code"),
    ("#country_id", "country_code"), ("#country_name", "country_name"), ("#loc_id", "site_id"),
    ("#loc_name", "site_name"), ("#lat_deg", "latitude"), ("#lon_deg", "longitude"),
    *[(f"#adm{n}_{s}", f"adm{min(n, 4)}_pcode") for n in (1, 2, 3, 4, 5)
      for s in ("code", "id", "pcode")],
    *[(f"#adm{n}_name", f"adm{min(n, 4)}_name") for n in (1, 2, 3, 4)],
    *[(f"#adm{n}", f"adm{n}_name") for n in (1, 2, 3, 4)],
])
def test_legacy_places_and_dates(text, role):
    assert role_from_tag(parse_tag(text))[0] == role


@pytest.mark.parametrize("text", ["#sector_id", "#org_id", "#fatalities_num", "#killed_num",
                                  "#x_custom"])
def test_legacy_tags_that_are_not_figures(text):
    assert role_from_tag(parse_tag(text))[0] == "ignore"


def test_legacy_translation_leaves_unknown_words_alone():
    assert translate_legacy("fatalities_num") is None
    assert translate_legacy("affected") is None
    assert translate_legacy("idp_hh_num") == ("affected", ("idps", "hh"))


@pytest.mark.parametrize("text,role", [("#adm0+name", "country_name"), ("#adm0 +code", "country_code"),
                                       ("#ADM0+NAME", "country_name")])
def test_adm0_is_the_country_not_admin_1(text, role):
    assert role_from_tag(parse_tag(text))[0] == role


@pytest.mark.parametrize("text,role", [("#date+year", "reporting_year"),
                                       ("#date+year+reported", "reporting_year"),
                                       ("#date +Year", "reporting_year"),
                                       ("#date+month", "ignore"),
                                       ("#date+year+displacement", "ignore"),
                                       ("#indicator+displacement+year", "ignore")])
def test_year_tags(text, role):
    assert role_from_tag(parse_tag(text))[0] == role


# ---------------------------------------------------------------------------------------------
# 4. Header words


@FAST
@given(st.sampled_from(["year", "Année", "Año", "ano", "yr", "Reporting year", "Year of report",
                        "report year", "Année de référence", "Año del reporte"]).flatmap(_styles))
def test_year_headers(header):
    assert _role(header) == "reporting_year"


@pytest.mark.parametrize("header", ["Year of displacement", "displacement_year", "Year of arrival",
                                    "Nombre de PDI par année"])
def test_other_years_are_not_the_reporting_year(header):
    assert _role(header) != "reporting_year"


@FAST
@given(st.sampled_from(["iso3", "ISO3", "iso", "country_code", "country iso3", "Country ISO",
                        "Code pays", "Código del país", "country pcode", "admin0Pcode",
                        "ISO 3166 alpha 3"]).flatmap(_styles))
def test_country_code_headers(header):
    assert _role(header) == "country_code"


@FAST
@given(st.sampled_from(["country", "country_name", "Country Name", "pays", "Pays", "País",
                        "Nom du pays", "Nombre del país", "admin0Name"]).flatmap(_styles))
def test_country_name_headers(header):
    assert _role(header) == "country_name"


def test_country_of_origin_is_not_the_country():
    assert _role("Country of origin") not in ("country_code", "country_name")


_KOBO_COUNTS = {"nb_menages": "households", "nb_individus": "individuals",
                "nbr_pdi": "individuals", "nombre_personnes": "individuals",
                "effectif_menages": "households", "num_hh": "households", "hh_count": "households",
                "total_ind": "individuals", "nb_hh": "households", "total_individuals": "individuals"}


@FAST
@given(st.sampled_from(sorted(_KOBO_COUNTS)), st.sampled_from(["", "grp_pop/", "g1/grp_pop/",
                                                               "grp_pop."]),
       st.sampled_from(["lower", "upper", "camel"]))
def test_kobo_count_names(name, path, case):
    last = {"lower": name, "upper": name.upper(),
            "camel": re.sub(r"_(\w)", lambda m: m.group(1).upper(), name)}[case]
    header = path + last
    role, spec, _ = role_from_header(header)
    assert role == "value" and spec.unit == _KOBO_COUNTS[name]
    assert spec.population_group == "idps"
    evidence = count_evidence(ColumnAssignment(0, header, None, role, spec, "header", 4))
    # nbr_pdi names its group (PDI: IDPs); the others name a unit only, the group is assumed
    assert evidence == ("strong" if name == "nbr_pdi" else "weak")


@pytest.mark.parametrize("header,group", [("g_ret/nb_menages", "returnees"),
                                          ("grp_host/num_hh", "host_community"),
                                          ("refugies/nb_individus", "refugees")])
def test_kobo_group_path_names_the_group(header, group):
    role, spec, _ = role_from_header(header)
    assert role == "value" and spec.population_group == group
    assert count_evidence(ColumnAssignment(0, header, None, role, spec, "header", 4)) == "strong"


@FAST
@given(st.sampled_from(["Reason", "Reasons", "Displacement reason", "Reason for displacement",
                        "Motif", "Motif du déplacement", "Motivo", "Causa", "Razón",
                        "Main reason", "Raison du déplacement", "Causa del desplazamiento"])
       .flatmap(_styles))
def test_cause_headers(header):
    assert _role(header) == "cause_text"


@pytest.mark.parametrize("header", ["reason_insurg_hh", "reason_clash_ind", "Reason (yes/no)",
                                    "reason_insurgency_YesNo"])
def test_counts_by_reason_are_not_the_cause_column(header):
    assert _role(header) != "cause_text"


@FAST
@given(st.sampled_from(["IDPs reached", "Number of IDPs targeted", "IDP beneficiaries",
                        "People in need", "IDP PiN", "PDI ciblées", "Personnes dans le besoin",
                        "Personas desplazadas alcanzadas", "Beneficiarios desplazados",
                        "Pessoas deslocadas assistidas", "Nombre de bénéficiaires PDI",
                        "Returnees reached (individuals)"]).flatmap(_styles))
def test_people_reached_targeted_or_in_need_are_not_displacement_counts(header):
    assert _role(header) != "value"


@pytest.mark.parametrize("header,metric", [
    ("total_displacement", "present_stock"), ("Total displacement", "present_stock"),
    ("totalDisplacement", "present_stock"), ("new_displacement", "new_displacement"),
    ("New Displacements", "new_displacement"), ("newDisplacement", "new_displacement"),
    ("Nouveaux déplacements", "new_displacement"),
    ("Conflict Internal Displacements", "new_displacement"),
    ("Conflict Stock Displacement", "present_stock"),
])
def test_idmc_header_words(header, metric):
    role, spec, _ = role_from_header(header)
    assert role == "value" and spec.population_group == "idps" and spec.metric == metric
    assert count_evidence(ColumnAssignment(0, header, None, role, spec, "header", 4)) == "strong"


@pytest.mark.parametrize("header,cause,hazard", [
    ("Conflict stock displacement", "conflict", None), ("Disaster new displacements", "disaster", None),
    ("IDP individuals (floods)", "disaster", "flood"), ("PDI - conflit (individus)", "conflict", None),
    ("Desplazados por inundaciones (personas)", "disaster", "flood"),
    ("IDP individuals", None, None)])
def test_cause_named_in_a_count_header(header, cause, hazard):
    role, spec, _ = role_from_header(header)
    assert role == "value" and (spec.cause, spec.hazard) == (cause, hazard)


# ---- rounded twins

_GAZ: Gazetteer | None = None


def _gazetteer() -> Gazetteer:
    global _GAZ
    if _GAZ is None:
        _GAZ = Gazetteer.from_embedded()
    return _GAZ


def _resolve(headers: list[str], rows: list[list[str]], tags: list[str] | None = None):
    grid = [headers] + ([tags] if tags else []) + rows
    sheet = Sheet("data", rows=None, preview=grid)
    layout = detect_layout(sheet)
    assert layout is not None
    sample = [list(r) for r in rows]
    return layout, *resolve_columns(layout, sample, _gazetteer(), "f.csv")


_COUNT_HEADERS = ["new_displacement", "total_displacement", "IDP individuals", "Nombre de PDI",
                  "Personas desplazadas", "Newly displaced individuals"]
_ROUNDING = ["rounded", "arrondi", "redondeado", "arredondado", "approx", "approximate",
             "Rounded", "ARRONDIS"]


@FAST
@given(st.sampled_from(_COUNT_HEADERS), st.sampled_from(_ROUNDING),
       st.sampled_from(["{c}_{r}", "{c} ({r})", "{r} {c}", "{c} - {r}", "{c}, {r}"]),
       st.booleans(), st.randoms(use_true_random=False))
def test_rounded_twin_gives_way_to_the_exact_count(count, word, form, rounded_first, rnd):
    rounded = form.format(c=count, r=word)
    exact_vals = [str(rnd.randint(0, 99999)) for _ in range(6)]
    headers = ["iso3", rounded, count] if rounded_first else ["iso3", count, rounded]
    rows = []
    for v in exact_vals:
        r = str(round(int(v), -3))
        rows.append(["AFG", r, v] if rounded_first else ["AFG", v, r])
    layout, plan, issues = _resolve(headers, rows)
    kept = [c.header for c in plan.values()]
    assert kept == [count]
    assert any(i.code == "duplicate-value-column" and i.column == rounded for i in issues)


def test_a_rounded_count_alone_is_still_a_count():
    layout, plan, issues = _resolve(["iso3", "new_displacement_rounded"],
                                    [["AFG", "1000"], ["SDN", "2000"]])
    assert [c.header for c in plan.values()] == ["new_displacement_rounded"]


# ---------------------------------------------------------------------------------------------
# 5. Kobo meta columns never look like periods

_STAMPS = ["2022-06-{d:02d}T10:02:11.000+03:00", "2022-06-{d:02d} 10:02:11", "{d:02d}/06/2022",
           "2022-06-{d:02d}T08:15:00Z", "2022-06-{d:02d}"]


@FAST
@given(st.sampled_from(_STAMPS), st.permutations(["start", "end", "today", "_submission_time",
                                                  "_uuid", "q_water", "q_shelter_type"]))
def test_kobo_timestamps_are_not_period_headers(tmp_path_factory, stamp, order):
    values = {"start": stamp, "end": stamp, "today": "2022-06-{d:02d}",
              "_submission_time": stamp, "_uuid": "uuid-{d}", "q_water": "yes",
              "q_shelter_type": "tent"}
    rows = [[values[c].format(d=d) for c in order] for d in range(1, 8)]
    f = tmp_path_factory.mktemp("kobo") / "export.csv"
    with open(f, "w", newline="", encoding="utf-8") as fh:
        csv.writer(fh).writerows([order, *rows])
    src = open_source(f)
    try:
        assert _pivot_hint(src) == ""
        with pytest.raises(NoDataFoundError) as err:
            choose_layout(src)
        assert "pivoted" not in str(err.value)
    finally:
        src.cleanup()


def test_a_table_pivoted_by_month_still_gets_the_hint(tmp_path):
    f = tmp_path / "by_month.csv"
    f.write_text("State,Jan 2023,Feb 2023,Mar 2023\nBorno,100,120,130\nYobe,40,45,50\n",
                 encoding="utf-8")
    src = open_source(f)
    try:
        assert "pivoted by period" in _pivot_hint(src)
    finally:
        src.cleanup()


# ---------------------------------------------------------------------------------------------
# 6. Evidence strength

_GROUPS = {"IDP": "idps", "IDPs": "idps", "PDI": "idps", "Déplacés": "idps", "Desplazados": "idps",
           "Deslocados": "idps", "Returnees": "returnees", "Retournés": "returnees",
           "Retornados": "returnees", "Host community": "host_community", "Refugees": "refugees"}
_UNITS = {"individuals": "individuals", "households": "households", "ménages": "households",
          "hogares": "households", "personnes": "individuals", "pessoas": "individuals",
          "HH": "households", "ind": "individuals"}


@FAST
@given(st.sampled_from(sorted(_GROUPS)), st.sampled_from(sorted(_UNITS)),
       st.sampled_from(["{g} {u}", "{u} {g}", "{g} ({u})", "Number of {g} {u}", "{g}_{u}"]))
def test_group_and_unit_named_is_strong(group, unit, form):
    header = form.format(g=group, u=unit)
    role, spec, _ = role_from_header(header)
    assert role == "value" and spec.population_group == _GROUPS[group]
    assert count_evidence(ColumnAssignment(0, header, None, role, spec, "header", 4)) == "strong"


@FAST
@given(st.sampled_from(["Households", "Individuals", "Number of households", "Nombre de ménages",
                        "Total individus", "Hogares", "Pessoas", "Male", "Female", "Mulheres",
                        "Hommes", "Total femmes"]).flatmap(_styles))
def test_unit_only_or_bare_sex_is_weak(header):
    role, spec, _ = role_from_header(header)
    assert role == "value"
    assert count_evidence(ColumnAssignment(0, header, None, role, spec, "header", 4)) == "weak"


def test_evidence_of_tags_and_mappings():
    spec = ValueSpec()
    assert count_evidence(ColumnAssignment(0, "x", "#affected+idps+hh", "value", spec, "hxl")) \
        == "strong"
    # a publisher's count tag is strong even without a group (flow monitoring tags #affected+ind)
    assert count_evidence(ColumnAssignment(0, "x", "#affected+ind", "value", spec, "hxl")) \
        == "strong"
    assert count_evidence(ColumnAssignment(0, "Total", None, "value", spec, "mapping")) == "strong"
    assert count_evidence(ColumnAssignment(0, "Total", None, "value", spec, "header")) == "weak"
    assert count_evidence(ColumnAssignment(0, "State", None, "adm1_name", None, "header")) is None
    assert ColumnAssignment(0, "IDP households", None, "value", spec, "header").evidence == "strong"


def test_the_sheet_name_can_name_the_group():
    spec = ValueSpec("returnees", "individuals")
    col = ColumnAssignment(0, "Individuals", None, "value", spec, "header")
    assert count_evidence(col) == "weak"
    assert count_evidence(col, ["Returnees"]) == "strong"
    assert count_evidence(col, ["IDPs"]) == "weak"  # another group's sheet says nothing of it


@pytest.mark.parametrize("headers,weak", [
    (["State P-code", "Date", "Households", "Individuals"], ["Households", "Individuals"]),
    (["State P-code", "Date", "IDP households", "IDP individuals"], []),
    (["State P-code", "Date", "IDP individuals", "Male", "Female"], ["Male", "Female"]),
])
def test_weak_counts_of_an_import_plan(wh, tmp_path, headers, weak):
    f = tmp_path / "counts.csv"
    rows = [["NG008", "2023-05-31", "120", "600", "300"][:len(headers)],
            ["NG036", "2023-05-31", "40", "220", "100"][:len(headers)]]
    if headers[-2:] == ["Male", "Female"]:
        rows = [["NG008", "2023-05-31", "600", "290", "310"], ["NG036", "2023-05-31", "220", "100",
                                                                   "120"]]
    with open(f, "w", newline="", encoding="utf-8") as fh:
        csv.writer(fh).writerows([headers, *rows])
    r = ingest_file(wh, f, IngestOptions(dry_run=True))
    assert [c.header for c in weak_counts(r.plan)] == weak
    assert [c.header for c in weak_counts(r.plan.columns)] == weak


# ---------------------------------------------------------------------------------------------
# 7. Corpus fixtures: IDMC and Mali, totals counted here from the files


def _csv_rows(path: Path, skip: int) -> tuple[list[str], list[list[str]]]:
    with open(path, encoding="utf-8-sig", newline="") as fh:
        lines = list(csv.reader(fh))
    return lines[0], lines[1 + skip:]


def _column_sum(header: list[str], rows: list[list[str]], name: str) -> int:
    j = header.index(name)
    return sum(int(r[j]) for r in rows if j < len(r) and r[j].strip())


def _by_year(header: list[str], rows: list[list[str]], year_col: str, name: str) -> dict[str, int]:
    """Sum of column ``name`` per year, as the date idpkit gives year-only rows (31 December)."""
    j, y = header.index(name), header.index(year_col)
    out: dict[str, int] = {}
    for r in rows:
        if j < len(r) and r[j].strip():
            key = f"{int(r[y])}-12-31"
            out[key] = out.get(key, 0) + int(r[j])
    return out


def _stored(r, metric: str) -> dict[str, int]:
    t = r.totals[(r.totals.metric == metric) & (r.totals.population_group == "idps")]
    g = t.groupby(t.reporting_date.astype(str).str[:10]).value.sum()
    return {k: int(v) for k, v in g.items() if v}


def test_idmc_hdx_csv_roles_and_totals(wh):
    path = CORPUS / "figures" / "idmc_hdx_displacement_data.csv"
    header, rows = _csv_rows(path, skip=1)  # line 2 is the HXL row
    stock = _column_sum(header, rows, "Conflict Stock Displacement") + \
        _column_sum(header, rows, "Disaster Stock Displacement")
    new = _column_sum(header, rows, "Conflict New Displacements") + \
        _column_sum(header, rows, "Disaster New Displacements")
    conflict_stock_by_year = _by_year(header, rows, "Year", "Conflict Stock Displacement")
    r = ingest_file(wh, path)
    roles = {c.header: c for c in r.plan.columns.columns}
    assert roles["Year"].role == "reporting_year"
    assert roles["ISO3"].role == "country_code"
    for name, metric, cause in (("Conflict Stock Displacement", "present_stock", "conflict"),
                                ("Conflict New Displacements", "new_displacement", "conflict"),
                                ("Disaster New Displacements", "new_displacement", "disaster"),
                                ("Disaster Stock Displacement", "present_stock", "disaster")):
        v = roles[name].value
        assert (roles[name].role, v.population_group, v.unit, v.metric, v.cause) == \
            ("value", "idps", "individuals", metric, cause)
        assert roles[name].evidence == "strong"
    t = r.totals.groupby("metric").value.sum()
    assert t["present_stock"] == stock and t["new_displacement"] == new
    assert r.rows_read == len(rows) and r.rows_quarantined == 0
    obs = dataset_rows(wh, "observations", r.dataset_id)
    tot = obs[(obs.sex == "all") & (obs.age_group == "all") & (obs.metric == "present_stock")
              & (obs.cause == "conflict")]
    got = tot.groupby(tot.reporting_date.astype(str).str[:10]).value.sum()
    assert {k: int(v) for k, v in got.items() if v} == \
        {k: v for k, v in conflict_stock_by_year.items() if v}


def test_idmc_gidd_csv_rounded_twins_are_not_counted_again(wh):
    path = CORPUS / "figures" / "idmc_gidd_conflict_new_displacements.csv"
    header, rows = _csv_rows(path, skip=0)
    stock = _column_sum(header, rows, "total_displacement")
    new = _column_sum(header, rows, "new_displacement")
    # imported as it comes: the counts' headers name displacement (strong evidence), the year
    # dates each row, the ISO3 column places it
    r = ingest_file(wh, path)
    roles = {c.header: c.role for c in r.plan.columns.columns}
    assert roles["year"] == "reporting_year" and roles["iso3"] == "country_code"
    assert roles["country_name"] == "country_name"
    assert roles["new_displacement_rounded"] == roles["total_displacement_rounded"] == "ignore"
    t = r.totals.groupby("metric").value.sum()
    assert t["present_stock"] == stock and t["new_displacement"] == new
    by_year = _by_year(header, rows, "year", "total_displacement")
    assert _stored(r, "present_stock") == {k: v for k, v in by_year.items() if v}
    dup = [i for i in r.issues if i.code == "duplicate-value-column"]
    assert sorted(i.column for i in dup) == ["new_displacement_rounded",
                                             "total_displacement_rounded"]


@pytest.mark.parametrize("name", ["idmc_displacement_all_dataset.xlsx",
                                  "idmc_disaster_all_dataset.xlsx"])
def test_idmc_legacy_workbooks_internal_displacements_are_flows(name):
    src = open_source(CORPUS / "figures" / name)
    try:
        layout = choose_layout(src)
    finally:
        src.cleanup()
    tagged = {g.tag: g for g in layout.guesses if g.role == "value"}
    for tag, g in tagged.items():
        attrs = parse_tag(tag).attributes
        expected = "present_stock" if "stock" in attrs else "new_displacement"
        assert g.value.metric == expected, tag
    assert any(g.role == "reporting_year" for g in layout.guesses)


def test_mali_old_hxl_roles_and_totals(wh):
    path = CORPUS / "figures" / "mli_population_movements_hxl.csv"
    header, rows = _csv_rows(path, skip=1)
    idps, refugees = _column_sum(header, rows, "IDPs"), _column_sum(header, rows, "Refugees")
    # the file names no country or place: refused with the fix (the country option)
    with pytest.raises(IdpkitError, match="--country"):
        ingest_file(wh, path)
    r = ingest_file(wh, path, IngestOptions(country="MLI"))
    roles = {c.header: c for c in r.plan.columns.columns}
    assert roles["Date"].role == "reporting_date"
    assert (roles["IDPs"].value.population_group, roles["IDPs"].evidence) == ("idps", "strong")
    assert roles["Refugees"].value.population_group == "refugees"
    assert roles["Total"].role == "ignore"  # #aff_num: IDPs + refugees, no group of its own
    t = r.totals.groupby("population_group").value.sum()
    assert t["idps"] == idps and t["refugees"] == refugees
    assert set(r.totals.population_group) == {"idps", "refugees"}
    assert set(r.totals.iso3) == {"MLI"}
    # one entry per month: line 3 is September 2012
    sept = r.totals[r.totals.reporting_date.astype(str).str.startswith("2012-09")]
    first = rows[0]
    assert dict(zip(sept.population_group, sept.value)) == {
        "idps": int(first[header.index("IDPs")]), "refugees": int(first[header.index("Refugees")])}


def test_column_order_does_not_change_the_legacy_roles():
    header = ["Date", "IDPs", "Refugees", "Total"]
    tags = ["#period_date", "#idp_num", "#refugee_num", "#aff_num"]
    rnd = random.Random(7)
    for _ in range(10):
        order = list(range(4))
        rnd.shuffle(order)
        guesses = guess_roles([header[i] for i in order], [parse_tag(tags[i]) for i in order])
        by = {g.header: g for g in guesses}
        assert by["Date"].role == "reporting_date" and by["Total"].role == "ignore"
        assert by["IDPs"].value.population_group == "idps"
        assert by["Refugees"].value.population_group == "refugees"
