"""Exports in Portuguese and Spanish (Mozambique, Central America), read with no mapping.

Why: DTM and its government partners publish in the operation's language. A Mozambican baseline
speaks of "agregados familiares deslocados" and "Posto Administrativo", a Honduran one of
"Hogares desplazados" and "Municipio", with "1.250" for a thousand and "No disponible" for a gap.
Each file is written here in the shape such operations use; the expected totals are worked out by
hand from the rows below, not by idpkit.
"""

from __future__ import annotations

import csv
from datetime import date

import openpyxl
import pytest

from conftest import dataset_rows
from idpkit.ingest.columns import role_from_header
from idpkit.ingest.normalise import find_date_in_text, normalise_cause, parse_dates
from idpkit.ingest.pipeline import ingest_file
from idpkit.warehouse.summary import summary_expr

# Província, código, distrito, código, posto, localidade, data, AF deslocados, pessoas deslocadas,
# homens, mulheres, causa, retornados (pessoas), comunidade de acolhimento (pessoas)
MOZ_ROWS = [
    ("Cabo Delgado", "MZ01", "Ancuabe", "MZ0101", "Ancuabe-Sede", "Ancuabe", "15/09/2024", 120, 560,
     270, 290, "Conflito", 40, 900),
    ("Cabo Delgado", "MZ01", "Balama", "MZ0102", "Impiri", "Impiri", "15/09/2024", 80, "1.250",
     600, 650, "Ataques de grupos armados", "Não disponível", 300),
    ("Cabo Delgado", "MZ01", "Macomia", "MZ0106", "Mucojo", "Mucojo", "16/09/2024", 15, 70, 30, 40,
     "Ciclone", 0, "-"),
    ("Nampula", "MZ07", "Erati", "MZ0703", "Namapa", "Namapa", "17/09/2024", 50, 210, 100, 110,
     "Inundações", 5, 120),
    ("Nampula", "MZ07", "Memba", "MZ0711", "Lurio", "Lurio", "17/09/2024", 30, 140, 60, 80,
     "Conflito e chuvas", 0, 50),
    ("Niassa", "MZ08", "Mecula", "MZ0814", "Gomba", "Gomba", "18/09/2024", 10, 40, 20, 20,
     "Desconhecido", "n/d", 10),
]


def _mozambique_workbook(path):
    wb = openpyxl.Workbook()
    notes = wb.active
    notes.title = "Notas"
    notes.append(["Avaliação de base — deslocados internos"])
    notes.append(["Fonte: DTM / INGD. Metodologia: entrevistas com informadores-chave."])
    data = wb.create_sheet("Dados")
    data.append(["Moçambique: Avaliação de Linha de Base, Ronda 21 (Setembro de 2024)"])
    data.append([])
    data.append(["Província", "Código da Província", "Distrito", "Código do Distrito",
                 "Posto Administrativo", "Localidade", "Data da avaliação",
                 "Nº de agregados familiares deslocados", "Nº de pessoas deslocadas", "Homens",
                 "Mulheres", "Causa do deslocamento", "Nº de retornados (pessoas)",
                 "Comunidade de acolhimento (pessoas)"])
    for r in MOZ_ROWS:
        data.append(list(r))
    wb.save(path)
    return path


def _summary(wh, dataset_id):
    s = summary_expr(wh, dataset_id).execute()
    return {(r.adm1_pcode, r.population_group, r.unit): float(r.value) for r in s.itertuples()}


def test_portuguese_baseline_workbook(wh, tmp_path):
    r = ingest_file(wh, _mozambique_workbook(tmp_path / "mocambique_linha_de_base_r21.xlsx"))
    assert r.status == "imported" and r.sheet == "Dados"
    assert r.rows_read == 6 == r.rows_accepted + r.rows_quarantined and r.rows_quarantined == 0
    # the one data sheet, found below its title rows; nothing left unread but the notes sheet
    assert not [i for i in r.issues if i.code == "column-ignored"]
    o = dataset_rows(wh, "observations", r.dataset_id)
    assert set(o["round"]) == {"21"}  # from the title "Ronda 21"
    assert {str(d)[:10] for d in o.reporting_date} == {"2024-09-15", "2024-09-16", "2024-09-17",
                                                     "2024-09-18"}
    totals = o[(o.sex == "all")].groupby(["population_group", "unit"]).value.sum().to_dict()
    assert totals == {("idps", "households"): 305, ("idps", "individuals"): 2270,
                      ("returnees", "individuals"): 45,  # "Não disponível" and "n/d": missing
                      ("host_community", "individuals"): 1380}  # "-" is missing, not 0
    assert o[(o.sex == "all") & (o.unit == "individuals") & (o.population_group == "idps")
             ].value.tolist().count(1250) == 1  # "1.250": a thousands separator
    # "Homens" / "Mulheres" break down the IDP individuals beside them
    parts = o[o.sex != "all"].groupby(["population_group", "sex"]).value.sum().to_dict()
    assert parts == {("idps", "male"): 1080, ("idps", "female"): 1190}
    ind = o[(o.sex == "all") & (o.population_group == "idps") & (o.unit == "individuals")]
    causes = ind.set_index("adm2_pcode")[["cause", "hazard"]].apply(tuple, axis=1).to_dict()
    assert causes == {"MZ0101": ("conflict", None), "MZ0102": ("conflict", None),
                      "MZ0106": ("disaster", "storm"), "MZ0703": ("disaster", "flood"),
                      "MZ0711": ("other", None), "MZ0814": ("unknown", None)}
    assert ("multiple-causes", "warning") in r.issue_counts  # "Conflito e chuvas"
    # a round collected over four days is one round: every province is in the summary
    assert _summary(wh, r.dataset_id) == {
        ("MZ01", "host_community", "individuals"): 1200, ("MZ01", "idps", "households"): 215,
        ("MZ01", "idps", "individuals"): 1880, ("MZ01", "returnees", "individuals"): 40,
        ("MZ07", "host_community", "individuals"): 170, ("MZ07", "idps", "households"): 80,
        ("MZ07", "idps", "individuals"): 350, ("MZ07", "returnees", "individuals"): 5,
        ("MZ08", "host_community", "individuals"): 10, ("MZ08", "idps", "households"): 10,
        ("MZ08", "idps", "individuals"): 40}


def test_spanish_csv_latin1_semicolons(wh, tmp_path):
    f = tmp_path / "honduras_desplazamiento_ronda3.csv"
    with open(f, "w", encoding="latin-1", newline="") as fh:
        w = csv.writer(fh, delimiter=";")
        w.writerow(["Departamento", "Código departamento", "Municipio", "Código municipio",
                    "Fecha de reporte", "Ronda", "Hogares desplazados", "Personas desplazadas",
                    "Hombres", "Mujeres", "Motivo del desplazamiento"])
        w.writerow(["Cortés", "HN05", "San Pedro Sula", "HN0501", "30/06/2024", "3", "1.020",
                    "4.310", "2.100", "2.210", "Violencia"])
        w.writerow(["Cortés", "HN05", "Choloma", "HN0502", "30/06/2024", "3", "210", "890", "400",
                    "490", "Amenazas y extorsión de pandillas"])
        w.writerow(["Atlántida", "HN01", "La Ceiba", "HN0101", "30/06/2024", "3", "55", "230",
                    "110", "120", "Inundaciones"])
        w.writerow(["Francisco Morazán", "HN08", "Distrito Central", "HN0801", "30/06/2024", "3",
                    "No disponible", "1.500", "", "", "Desalojo"])
        w.writerow(["Yoro", "HN18", "El Progreso", "HN1804", "30/06/2024", "3", "12", "50", "20",
                    "30", "Sequía"])
    r = ingest_file(wh, f)
    assert r.rows_read == 5 == r.rows_accepted
    assert not [i for i in r.issues if i.code == "column-ignored"]
    assert _summary(wh, r.dataset_id) == {
        ("HN01", "idps", "households"): 55, ("HN01", "idps", "individuals"): 230,
        ("HN05", "idps", "households"): 1230, ("HN05", "idps", "individuals"): 5200,
        ("HN08", "idps", "individuals"): 1500,  # "No disponible" households: missing
        ("HN18", "idps", "households"): 12, ("HN18", "idps", "individuals"): 50}
    o = dataset_rows(wh, "observations", r.dataset_id)
    ind = o[(o.sex == "all") & (o.unit == "individuals")].set_index("adm2_pcode")
    assert ind.cause.to_dict() == {"HN0501": "conflict", "HN0502": "conflict",
                                   "HN0101": "disaster", "HN0801": "other", "HN1804": "disaster"}
    assert ind.hazard.to_dict()["HN1804"] == "drought"
    assert o[o.sex == "female"].value.sum() == 2210 + 490 + 120 + 30
    assert set(o["round"]) == {"3"}


def test_summary_takes_a_whole_round_dated_over_several_days(wh, tmp_path):
    """One round is collected over days; the summary used to keep only the last day's rows. The
    rule is the figures' (idpkit.warehouse.rounds): a round code, else a file whose dates span a
    few weeks is one round, else each date is one (never two snapshots added together)."""
    f = tmp_path / "one_round.csv"
    f.write_text("Admin 2 P-code,IDP individuals,Reporting date\n"
                 "AF0101,100,2023-04-03\nAF0102,200,2023-04-20\nAF0201,5,2023-04-21\n",
                 encoding="utf-8")
    r = ingest_file(wh, f)
    assert _summary(wh, r.dataset_id) == {("AF01", "idps", "individuals"): 300,
                                          ("AF02", "idps", "individuals"): 5}
    g = tmp_path / "coded_rounds.csv"
    g.write_text("Admin 2 P-code,IDP individuals,Round,Reporting date\n"
                 "AF0101,100,7,2023-01-05\nAF0102,200,7,2023-02-20\n"
                 "AF0101,90,6,2022-11-30\nAF0201,7,6,2022-12-02\n", encoding="utf-8")
    r2 = ingest_file(wh, g)
    assert _summary(wh, r2.dataset_id) == {("AF01", "idps", "individuals"): 300}
    h = tmp_path / "months_apart.csv"
    h.write_text("Admin 2 P-code,IDP individuals,Reporting date\n"
                 "AF0101,100,2023-01-05\nAF0102,200,2023-01-12\nAF0101,110,2023-04-20\n",
                 encoding="utf-8")
    r3 = ingest_file(wh, h)
    assert _summary(wh, r3.dataset_id) == {("AF01", "idps", "individuals"): 110}


@pytest.mark.parametrize("header, expected", [
    ("Nº de agregados familiares deslocados", ("idps", "households", "all")),
    ("Nº de pessoas deslocadas", ("idps", "individuals", "all")),
    ("Hogares desplazados", ("idps", "households", "all")),
    ("Personas desplazadas en familias de acogida", ("idps", "individuals", "all")),
    ("Comunidad de acogida (personas)", ("host_community", "individuals", "all")),
    ("Retornados (hogares)", ("returnees", "households", "all")),
    ("Mujeres", ("idps", "individuals", "female")),
    # English and French habits fixed on the way: a number sign is not a yes/no column, and
    # households win over a unit only implied by "nombre de"
    ("No. of IDP HH", ("idps", "households", "all")),
    ("No. of IDP individuals", ("idps", "individuals", "all")),
    ("Nombre de ménages PDI", ("idps", "households", "all")),
    ("N° de ménages PDI", ("idps", "households", "all")),
])
def test_count_headers(header, expected):
    role, spec, _ = role_from_header(header)
    assert role == "value" and (spec.population_group, spec.unit, spec.sex) == expected


@pytest.mark.parametrize("header, metric", [
    ("Newly displaced individuals", "new_displacement"), ("Number of new IDPs", "new_displacement"),
    ("Nouveaux ménages PDI", "new_displacement"), ("Nuevos desplazados (personas)", "new_displacement"),
    ("IDP arrivals", "arrivals"), ("Salidas de desplazados (personas)", "departures"),
    ("Retours (ménages)", "returns"),
    # "new" that qualifies something else, and people who returned, are stocks
    ("IDPs in new settlements (individuals)", "present_stock"),
    ("Returned IDPs individuals", "present_stock"), ("IDP individuals", "present_stock"),
])
def test_flow_or_stock_from_header(header, metric):
    role, spec, _ = role_from_header(header)
    assert role == "value" and spec.metric == metric


@pytest.mark.parametrize("header, role", [
    ("Província", "adm1_name"), ("Código da Província", "adm1_pcode"), ("Distrito", "adm2_name"),
    ("Posto Administrativo", "adm3_name"), ("Localidade", "adm4_name"),
    ("Departamento", "adm1_name"), ("Código municipio", "adm2_pcode"),
    ("Nombre del municipio", "adm2_name"), ("Distrito de origem", "origin_adm2_name"),
    ("Data da avaliação", "reporting_date"), ("Fecha de reporte", "reporting_date"),
    ("Ronda", "round"), ("Número de ronda", "round"), ("Motivo del desplazamiento", "cause_text"),
    ("Causa do deslocamento", "cause_text"), ("Nome do local", "site_name"),
    ("Código do local", "site_id"), ("Tipo de sitio", "site_type"), ("Yes/No", "ignore"),
    ("Nombre de PDI dans la commune", "value"),  # French "nombre" counts, it does not name
])
def test_other_headers(header, role):
    assert role_from_header(header)[0] == role


def test_bare_sex_columns_follow_the_total_to_their_left(wh, tmp_path):
    f = tmp_path / "groups.csv"
    f.write_text("Admin 1 P-code,IDP individuals,Male,Female,Returnee individuals,Male,Female,Date\n"
                 "AF01,100,40,60,30,10,20,2023-01-31\n", encoding="utf-8")
    r = ingest_file(wh, f)
    o = dataset_rows(wh, "observations", r.dataset_id)
    got = {(x.population_group, x.sex): x.value for x in o.itertuples()}
    assert got == {("idps", "all"): 100, ("idps", "male"): 40, ("idps", "female"): 60,
                   ("returnees", "all"): 30, ("returnees", "male"): 10,
                   ("returnees", "female"): 20}
    assert not r.errors


@pytest.mark.parametrize("text, expected", [
    ("Conflito armado", ("conflict", None)), ("Violencia de pandillas", ("conflict", None)),
    ("Inseguridad", ("conflict", None)), ("Cheias", ("disaster", "flood")),
    ("Seca", ("disaster", "drought")), ("Huracán", ("disaster", "storm")),
    ("Deslizamiento de tierra", ("disaster", "landslide")), ("Terremoto", ("disaster", "earthquake")),
    ("Desconocido", ("unknown", None)), ("Otro", ("other", None)),
])
def test_causes_in_portuguese_and_spanish(text, expected):
    cause, hazard, _, several = normalise_cause(text)
    assert (cause, hazard) == expected and not several
    assert normalise_cause("Conflicto y lluvias")[3]  # two causes named with "y"


def test_dates_in_portuguese_and_spanish():
    assert find_date_in_text(["Avaliação de Linha de Base (Setembro de 2024)"]) == date(2024, 9, 30)
    assert find_date_in_text(["Informe de situación, diciembre 2023"]) == date(2023, 12, 31)
    got, _ = parse_dates(["15 de septiembre de 2024", "3 março 2022", "1-dez-2021"])
    assert got == {"15 de septiembre de 2024": date(2024, 9, 15), "3 março 2022": date(2022, 3, 3),
                   "1-dez-2021": date(2021, 12, 1)}
