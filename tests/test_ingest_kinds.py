"""Files that count people but are not displacement figures are refused, pointing to the command
that imports them: who-does-what-where (3W/4W/5W) reports, people-in-need tables, household-survey
microdata. Displacement figures — with a count that names its group — never are, whatever else
they hold; a mapping that names count columns overrides the refusal.

The tables are generated (headers in four languages, case, punctuation, HXL row or not, column
order); the trimmed corpus fixtures and, when present, the whole real-data corpus are checked too.
"""

from __future__ import annotations

import csv
import random
import re
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from idpkit.errors import IdpkitError, NoDataFoundError, NotDisplacementFiguresError, \
    UnreadableFileError
from idpkit.ingest.detect import choose_layout
from idpkit.ingest.kinds import mapping_names_counts
from idpkit.ingest.mapping import Mapping
from idpkit.ingest.pipeline import IngestOptions, ingest_file
from idpkit.ingest.readers import open_source

FIXTURES = Path(__file__).parent / "fixtures"
REAL = Path(__file__).resolve().parents[1].parent / "shared" / "real-data"
ACTIVITIES = "idpkit areas activities import"
NEEDS = "idpkit areas needs import"
SOLUTIONS = "idpkit solutions import"
FAST = settings(max_examples=30, deadline=None,
                suppress_health_check=[HealthCheck.function_scoped_fixture])


def _style(text: str, how: str) -> str:
    return {"as is": text, "upper": text.upper(), "lower": text.lower(),
            "snake": re.sub(r"[\s/.'’-]+", "_", text).strip("_"),
            "padded": f" {text} "}[how]


STYLES = st.sampled_from(["as is", "upper", "lower", "snake", "padded"])

AREAS = [("State", "#adm1+name", ["Borno", "Yobe", "Adamawa", "Borno"]),
         ("State P-code", "#adm1+code", ["NG008", "NG036", "NG002", "NG008"])]


def _write(path: Path, columns: list[tuple[str, str | None, list[str]]], hxl: bool,
           order: list[int]) -> Path:
    cols = [columns[i] for i in order]
    with open(path, "w", newline="", encoding="utf-8") as fh:
        w = csv.writer(fh)
        w.writerow([h for h, _, _ in cols])
        if hxl:
            w.writerow([t or "" for _, t, _ in cols])
        n = max(len(v) for _, _, v in cols)
        for i in range(n):
            w.writerow([v[i % len(v)] for _, _, v in cols])
    return path


def _refusal(path: Path) -> str:
    src = open_source(path)
    try:
        with pytest.raises(NotDisplacementFiguresError) as err:
            choose_layout(src)
    finally:
        src.cleanup()
    return str(err.value)


def _accepted(path: Path):
    src = open_source(path)
    try:
        return choose_layout(src)
    finally:
        src.cleanup()


# ---------------------------------------------------------------------------------------------
# Who does what where

ORG = ["Organization", "Organisation", "Partner", "Implementing Partner", "Acronym", "Partenaire",
       "Acteur", "Socio", "Organización", "Organização", "Org. Acronym", "Nom de l'organisation",
       "Socio implementador", "Parceiro"]
WHAT = ["Cluster", "Sector", "Secteur", "Sector/Cluster", "Activity", "Activité", "Actividad",
        "Atividade", "Sector / Cluster", "Setor", "Activities", "Secteur d'intervention"]
PEOPLE = [None, "Beneficiaries", "People reached", "Personas alcanzadas", "Bénéficiaires ciblés",
          "Households", "Individuals", "Pessoas assistidas", "Number of IDPs reached"]


@FAST
@given(st.sampled_from(ORG), st.sampled_from(WHAT), st.sampled_from(PEOPLE), STYLES, st.booleans(),
       st.randoms(use_true_random=False))
def test_who_does_what_where_is_refused(tmp_path_factory, org, what, people, style, hxl, rnd):
    cols = [(_style(org, style), "#org+name", ["IRC", "NRC", "UNICEF", "WFP"]),
            (_style(what, style), "#sector" if "ect" in what or "lust" in what or "Setor" in what
             else "#activity", ["WASH", "Health", "Education", "Protection"]), *AREAS]
    if people:
        cols.append((_style(people, style), "#reached+ind", ["120", "40", "300", "75"]))
    order = list(range(len(cols)))
    rnd.shuffle(order)
    f = _write(tmp_path_factory.mktemp("www") / "report.csv", cols, hxl, order)
    message = _refusal(f)
    assert ACTIVITIES in message and "who-does-what-where" in message


@FAST
@given(st.sampled_from(["Organisation", "Partner", "Acteur", "Organización", "Org"]), STYLES,
       st.randoms(use_true_random=False))
def test_operational_presence_without_counts_is_refused(tmp_path_factory, org, style, rnd):
    cols = [(_style(org, style), "#org", ["IRC", "NRC", "UNICEF", "WFP"]), *AREAS]
    order = list(range(len(cols)))
    rnd.shuffle(order)
    f = _write(tmp_path_factory.mktemp("op") / "presence.csv", cols, rnd.random() < 0.5, order)
    assert ACTIVITIES in _refusal(f)


@pytest.mark.parametrize("clusters,extra", [
    (["CCCM", "Education", "Health", "WASH", "Nutrition"], "Total reached"),
    (["Abris", "EHA", "Santé", "Protection"], "Secteurs présents"),
    (["Educación", "Salud", "Protección", "Agua"], "Personas alcanzadas"),
])
def test_one_column_per_cluster_is_a_3w_pivot(tmp_path, clusters, extra):
    cols = [AREAS[0]] + [(c, None, ["3", "0", "12", "5"]) for c in clusters] + \
        [(extra, None, ["20", "4", "30", "9"])]
    f = _write(tmp_path / "pivot.csv", cols, False, list(range(len(cols))))
    assert ACTIVITIES in _refusal(f)


def test_a_refused_file_stores_nothing(wh, tmp_path):
    cols = [("Organisation", "#org", ["IRC", "NRC"]), ("Cluster", "#sector", ["WASH", "Health"]),
            *AREAS, ("IDP households", "#affected+idps+hh", ["12", "30"])]
    # a count tag naming its group (#affected+idps+hh) is strong evidence: beside #org and
    # #sector it is still displacement figures, and imported
    f = _write(tmp_path / "dtm_with_partners.csv", cols, True, list(range(len(cols))))
    assert _accepted(f) is not None
    g = _write(tmp_path / "www.csv", cols[:4] + [("Beneficiaries", "#reached", ["12", "30"])],
               True, list(range(5)))
    with pytest.raises(NotDisplacementFiguresError, match=ACTIVITIES):
        ingest_file(wh, g)
    assert int(wh.table("datasets").count().execute()) == 0
    assert int(wh.table("observations").count().execute()) == 0


# ---------------------------------------------------------------------------------------------
# People in need

NEED = ["People in need", "PiN", "In Need", "Personnes dans le besoin", "Personas con necesidades",
        "Pessoas com necessidades", "IDP PiN", "Nombre de personnes dans le besoin"]


@FAST
@given(st.sampled_from(NEED), st.booleans(), st.booleans(), STYLES, st.booleans(),
       st.randoms(use_true_random=False))
def test_people_in_need_tables_are_refused(tmp_path_factory, need, targeted, cluster, style, hxl,
                                           rnd):
    cols = [*AREAS, (_style(need, style), "#inneed+ind", ["1200", "800", "4000", "90"])]
    if targeted:
        cols.append((_style("Targeted", style), "#targeted+ind", ["600", "500", "2000", "60"]))
    if cluster:
        cols.append((_style("Cluster", style), "#sector", ["FSC", "WASH", "EDU", "ALL"]))
    order = list(range(len(cols)))
    rnd.shuffle(order)
    f = _write(tmp_path_factory.mktemp("pin") / "hno.csv", cols, hxl, order)
    message = _refusal(f)
    assert NEEDS in message and "people-in-need" in message


@FAST
@given(st.permutations(["INN", "TGT", "AFF", "REA"]), st.sampled_from(["population_status",
                                                                         "Population status",
                                                                         "POPULATION_STATUS"]))
def test_hpc_population_status_codes_are_refused(tmp_path_factory, codes, header):
    cols = [("location_code", None, ["AFG"] * 4), ("admin1_code", None, ["AF01", "AF02"] * 2),
            ("sector_name", None, ["Intersectoral"] * 4), (header, None, list(codes)),
            ("population", None, ["23666389", "17327995", "1000", "18400000"])]
    f = _write(tmp_path_factory.mktemp("hapi") / "needs.csv", cols, False, list(range(5)))
    assert NEEDS in _refusal(f)


# ---------------------------------------------------------------------------------------------
# Household-survey microdata


@FAST
@given(st.integers(100, 160), st.integers(0, 40), st.booleans(), st.sampled_from(
    ["_uuid", "_index", None]), st.randoms(use_true_random=False))
def test_household_survey_microdata_is_refused(tmp_path_factory, n_questions, n_options, weight,
                                               identity, rnd):
    if identity is None and not weight:
        weight = True  # a survey shows itself by its identity or its weights
    cols = [("date_assessment", None, ["2018-08-01", "2018-08-02"]),
            ("Governorate", None, ["Erbil", "Duhok"]),
            ("HH_profile", None, ["out_camp_idps", "returnees"]),
            ("num_hh_member", None, ["6", "4"])]
    cols += [(f"q{i}_answer", None, [rnd.choice(["yes", "no", "dont_know"]) for _ in range(2)])
             for i in range(n_questions)]
    if n_options:
        cols.append(("priority_needs", None, ["food water", "shelter"]))
        cols += [(f"priority_needs/opt{i}", None, ["1", "0"]) for i in range(n_options)]
    if weight:
        cols.append(("normalised_weight", None, ["0.8", "1.2"]))
    if identity:
        cols.append((identity, None, ["a1b2", "c3d4"]))
    order = list(range(len(cols)))
    rnd.shuffle(order)
    f = _write(tmp_path_factory.mktemp("msna") / "households.csv", cols, False, order)
    message = _refusal(f)
    assert "microdata" in message and NEEDS in message and SOLUTIONS in message


def test_kobo_assessment_with_counts_of_a_group_is_not_survey_microdata(tmp_path):
    cols = [("today", None, ["2022-06-15", "2022-06-16"]),
            ("grp_loc/admin1_pcode", None, ["NG008", "NG036"]),
            ("grp_idp/ind", None, ["120", "40"]), ("grp_idp/hh", None, ["20", "8"])]
    cols += [(f"grp_site/q{i}", None, ["yes", "no"]) for i in range(120)]
    cols += [("needs", None, ["food", "water"])] + \
        [(f"needs/o{i}", None, ["1", "0"]) for i in range(25)]
    cols += [("_uuid", None, ["u1", "u2"]), ("_index", None, ["1", "2"])]
    f = _write(tmp_path / "kobo.csv", cols, False, list(range(len(cols))))
    layout = _accepted(f)
    assert any(g.role == "value" for g in layout.guesses)


# ---------------------------------------------------------------------------------------------
# Displacement figures are never refused as another kind


@FAST
@given(st.sampled_from(["Partner", "Organisation", "Reporting organization", "Agence"]),
       st.sampled_from(["Sector", "Cluster", "Secteur"]),
       st.sampled_from(["IDP individuals", "Nombre de PDI (individus)", "Returnee households",
                        "Personas desplazadas"]), STYLES, st.randoms(use_true_random=False))
def test_figures_with_strong_counts_beside_org_and_sector_are_accepted(
        tmp_path_factory, org, sector, count, style, rnd):
    cols = [*AREAS, (_style(org, style), None, ["IOM", "IOM", "NRC", "IOM"]),
            (_style(sector, style), None, ["CCCM", "CCCM", "Shelter", "CCCM"]),
            (_style(count, style), None, ["1200", "340", "560", "80"])]
    order = list(range(len(cols)))
    rnd.shuffle(order)
    f = _write(tmp_path_factory.mktemp("dtm") / "baseline.csv", cols, False, order)
    assert _accepted(f) is not None


def test_weak_counts_with_an_org_column_alone_are_left_to_the_plausibility_stage(tmp_path):
    cols = [*AREAS, ("Partner", None, ["IOM"] * 4), ("Households", None, ["12", "3", "40", "7"])]
    f = _write(tmp_path / "hh.csv", cols, False, list(range(len(cols))))
    assert _accepted(f) is not None


def test_a_mapping_that_names_counts_overrides_the_refusal(wh, tmp_path):
    cols = [("Organisation", None, ["IRC", "NRC", "WFP", "IRC"]),
            ("Cluster", None, ["WASH", "Health", "FSL", "WASH"]), *AREAS,
            ("Households", None, ["12", "30", "5", "1"]), ("Date", None, ["2023-05-31"] * 4)]
    f = _write(tmp_path / "mine.csv", cols, False, list(range(len(cols))))
    with pytest.raises(NotDisplacementFiguresError):
        ingest_file(wh, f, IngestOptions(dry_run=True))
    roles_only = Mapping.model_validate({"columns": {"State": "adm1_name"}})
    assert not mapping_names_counts(roles_only)
    with pytest.raises(NotDisplacementFiguresError):
        ingest_file(wh, f, IngestOptions(dry_run=True, mapping=roles_only))
    mapping = Mapping.model_validate({"columns": {"Households": {"population_group": "idps",
                                                                 "unit": "households"}}})
    assert mapping_names_counts(mapping)
    r = ingest_file(wh, f, IngestOptions(dry_run=True, mapping=mapping))
    assert r.totals.value.sum() == 12 + 30 + 5 + 1


def test_the_refusal_is_a_no_data_found_error_with_its_own_code():
    assert issubclass(NotDisplacementFiguresError, NoDataFoundError)
    assert NotDisplacementFiguresError.code == "not-displacement-figures"


# ---------------------------------------------------------------------------------------------
# Corpus fixtures (trimmed copies of real files)


@pytest.mark.parametrize("path", sorted((FIXTURES / "corpus" / "activities").iterdir()) +
                         sorted((FIXTURES / "corpus" / "needs").iterdir()), ids=lambda p: p.name)
def test_corpus_fixtures_of_other_kinds_are_refused_with_the_right_pointer(wh, path):
    pointer = ACTIVITIES if path.parent.name == "activities" else NEEDS
    with pytest.raises(NotDisplacementFiguresError) as err:
        ingest_file(wh, path)
    assert pointer in str(err.value)
    assert int(wh.table("datasets").count().execute()) == 0


@pytest.mark.parametrize("path", sorted((FIXTURES / "corpus" / "figures").iterdir()) +
                         sorted((FIXTURES / "dtm").iterdir()), ids=lambda p: p.name)
def test_figures_and_dtm_fixtures_are_not_refused_as_another_kind(path):
    src = open_source(path)
    try:
        choose_layout(src)
    except NotDisplacementFiguresError as exc:  # pragma: no cover - the failure
        pytest.fail(f"refused as another kind: {exc}")
    except NoDataFoundError:
        pass  # the headerless Iraq lists and their column list need a mapping: refused as such
    finally:
        src.cleanup()


# ---------------------------------------------------------------------------------------------
# The whole real-data corpus, when it is beside the repository (../shared/real-data)

def _real(folder: str) -> list[Path]:
    d = REAL / folder
    return sorted(p for p in d.iterdir() if p.is_file()) if d.is_dir() else []


# the Venezuela 3W declares a 275,847 × 1,021 sheet: the reader refuses it before its columns can
# be read (a memory guard of readers.py), so it is refused without the pointer
_READER_REFUSES = {"whowhatwhere_3w_venezuela.xlsx"}


@pytest.mark.slow
@pytest.mark.skipif(not REAL.is_dir(), reason="real-data corpus not beside the repository")
@pytest.mark.parametrize("path", _real("corpus/activities") + _real("corpus/needs"),
                         ids=lambda p: p.name)
def test_real_files_of_other_kinds_are_refused_with_the_right_pointer(path):
    pointer = ACTIVITIES if path.parent.name == "activities" else NEEDS
    if path.name in _READER_REFUSES:
        with pytest.raises(UnreadableFileError):
            open_source(path)
        pytest.xfail("refused by the reader before the kind can be told (no pointer)")
    src = open_source(path)
    try:
        with pytest.raises(NotDisplacementFiguresError) as err:
            choose_layout(src)
    finally:
        src.cleanup()
    assert pointer in str(err.value)


@pytest.mark.slow
@pytest.mark.skipif(not REAL.is_dir(), reason="real-data corpus not beside the repository")
@pytest.mark.parametrize("path", _real("corpus/figures") + _real("dtm"), ids=lambda p: p.name)
def test_real_figures_are_not_refused_as_another_kind(path):
    src = open_source(path)
    try:
        choose_layout(src)
    except NotDisplacementFiguresError as exc:  # pragma: no cover - the failure
        pytest.fail(f"refused as another kind: {exc}")
    except IdpkitError:
        pass
    finally:
        src.cleanup()


def test_random_column_order_keeps_the_verdict(tmp_path):
    base = [("Organisation", "#org", ["IRC", "NRC"]), ("Activité", "#activity", ["x", "y"]),
            *AREAS]
    rnd = random.Random(3)
    for k in range(6):
        order = list(range(len(base)))
        rnd.shuffle(order)
        f = _write(tmp_path / f"o{k}.csv", base, k % 2 == 0, order)
        assert ACTIVITIES in _refusal(f)
