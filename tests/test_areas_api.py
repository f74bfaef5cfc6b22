"""The area view end to end (issue 7): demo data generated, imported and analysed; the API's
area endpoints (roles, formats, error shape) and the CLI commands over the same warehouse."""

from __future__ import annotations

import io

import pandas as pd
import pytest
from fastapi.testclient import TestClient
from typer.testing import CliRunner

from idpkit.api.auth import create_token


@pytest.fixture(scope="module")
def area_api(tmp_path_factory, demo_operation):
    from idpkit.api.app import create_app
    from idpkit.areas import needs
    from idpkit.areas.activities import import_activities
    from idpkit.areas.sites import import_sites
    from idpkit.areas.voice import import_consultations
    from idpkit.ingest.pipeline import ingest_file
    from idpkit.testing.demo_areas import generate_areas
    from idpkit.warehouse import connect
    from idpkit.warehouse.areas import load_areas, read_gazetteer_csv

    folder = tmp_path_factory.mktemp("area_api")
    db = str(folder / "w.duckdb")
    g = read_gazetteer_csv(demo_operation.gazetteer_csv)
    adm2 = sorted(g[g.admin_level == 2].pcode)
    adm3 = sorted(g[g.admin_level == 3].pcode)
    with connect(db) as wh:
        load_areas(wh, g)
        for f in demo_operation.all_assessment_files()[:2]:
            ingest_file(wh, f)
        sites = wh.table("sites").select("site_id", "area_pcode").order_by("site_id").execute()
        files = generate_areas(folder / "areas", adm2, adm3[:30], sites, households=1500)
        hh = needs.import_needs(wh, files.households_csv,
                                needs.NeedsSpec.from_yaml(files.households_spec))
        needs.analyse(wh, hh.source_id)
        import_sites(wh, files.sites_csv)
        import_activities(wh, files.activities_csv)
        import_consultations(wh, files.consultations_csv)
        token = create_token(wh, "test-analyst", "analyst")
    client = TestClient(create_app(db), raise_server_exceptions=False)
    return client, {"Authorization": f"Bearer {token}"}, db, adm2


def test_profile_public_and_analyst(area_api):
    client, auth, _, adm2 = area_api
    pub = client.get(f"/api/areas/{adm2[0]}/profile")
    assert pub.status_code == 200, pub.text
    p = pub.json()
    assert p["area"]["pcode"] == adm2[0] and p["public_rules"] is True
    groups = {r["population_group"] for r in p["people"]}
    assert {"idps", "host_community"} <= groups  # figures and the needs survey side by side
    assert p["needs"] and p["people_in_need"] and p["activities"] and p["voice"]
    assert all("notes" not in v for v in p["voice"])
    for r in p["people_in_need"]:  # IDMC rounding: above 1,000 to the nearest 100 or 1,000
        v = r["people_in_need"]
        assert v is None or v <= 100 or v % 10 == 0
    ana = client.get(f"/api/areas/{adm2[0]}/profile", headers=auth).json()
    assert ana["public_rules"] is False and all("notes" in v for v in ana["voice"])
    kinds = {d["kind"] for d in ana["data"]}
    assert {"baseline_area", "needs", "activities_4w", "consultations"} <= kinds


def test_profiles_table_and_formats(area_api):
    client, auth, _, adm2 = area_api
    r = client.get("/api/areas/profiles?level=2", headers=auth)
    assert r.status_code == 200, r.text
    rows = r.json()["data"]
    assert len(rows) == len(adm2)
    assert {"idps_individuals", "host_community_individuals", "severity", "people_in_need",
            "unique_reached", "priority_rank", "consultations"} <= set(rows[0])
    hxl = client.get("/api/needs/severity?sector=intersectoral&format=hxl", headers=auth)
    lines = hxl.text.splitlines()
    assert "#loc+code" in lines[1].split(",") and len(lines) > 2
    df = pd.read_csv(io.StringIO(client.get("/api/needs/pin?format=csv", headers=auth).text))
    assert {"people_in_need", "ci_low", "ci_high", "se"} <= set(df.columns)


def test_needs_sites_activities_voice_endpoints(area_api):
    client, auth, _, adm2 = area_api
    pin_pub = client.get(f"/api/needs/pin?area={adm2[0]}").json()
    pin_ana = client.get(f"/api/needs/pin?area={adm2[0]}", headers=auth).json()
    assert pin_pub["public_rules"] and not pin_ana["public_rules"]
    assert len(pin_pub["data"]) == len(pin_ana["data"])
    pr = client.get("/api/needs/priority?weights=severity=1,pin=1").json()
    assert pr["weights"]["severity"] == 1 and pr["stability"] and pr["data"][0]["rank"] == 1
    flagged = client.get("/api/sites/risk?flagged=true", headers=auth).json()["data"]
    assert flagged and all(s["flagged"] for s in flagged)
    cov = client.get("/api/activities/coverage", headers=auth).json()["data"]
    assert {"gap", "low"} & {c["status"] for c in cov}
    cont = client.get("/api/activities/continuity", headers=auth).json()["data"]
    assert "gap" in {c["status"] for c in cont}
    reach = client.get("/api/activities/reach", headers=auth).json()["data"]
    assert all(r["unique_reached"] <= r["reported_reach"] for r in reach)
    voice = client.get(f"/api/voice?area={adm2[0]}").json()
    assert voice["priorities"] and all("notes" not in v for v in voice["data"])


def test_errors_have_one_shape(area_api):
    client, auth, _, _ = area_api
    for url in ("/api/areas/NOPE/profile", "/api/needs/pin?source=nope",
                "/api/needs/priority?weights=luck=1", "/api/sites/risk?format=geojson"):
        r = client.get(url, headers=auth)
        assert 400 <= r.status_code < 500, (url, r.text)
        err = r.json()["error"]
        assert set(err) == {"code", "message", "location"} and err["message"]


def test_cli_profile_rank_and_imports(area_api, tmp_path):
    from idpkit.cli.app import app

    _, _, db, adm2 = area_api
    run = CliRunner()
    out = run.invoke(app, ["areas", "profile", adm2[0], "--db", db])
    assert out.exit_code == 0, out.output
    assert adm2[0] in out.output and "people in need" in out.output
    out = run.invoke(app, ["areas", "needs", "rank", "--db", db, "--top", "5"])
    assert out.exit_code == 0 and "spearman" in out.output
    out = run.invoke(app, ["areas", "profiles", "--level", "1", "--format", "csv", "--db", db])
    assert out.exit_code == 0 and out.output.startswith("area_pcode,")
    bad = tmp_path / "4w.csv"
    bad.write_text("organisation,sector,activity,phase,pcode,start_date,end_date,"
                   "population_group,reached\nOrg,wash,x,humanitarian,NOPE,2025-01-01,"
                   "2025-02-01,idps,10\n")
    out = run.invoke(app, ["areas", "activities", "import", str(bad), "--db", db])
    assert out.exit_code == 0 and "1 quarantined" in out.output and "unknown-pcode" in out.output
    out = run.invoke(app, ["areas", "sites", "risk", "--flagged", "--db", db])
    assert out.exit_code == 0 and "high" in out.output


@pytest.fixture(scope="module")
def small_cells_api(backend, request, tmp_path_factory, demo_operation):
    """A small area-view warehouse on each backend whose stored people in need hold, for known
    rows, a small number (3), nothing (NULL) and zero: the three cases public rules tell apart."""
    from conftest import new_warehouse_url

    from idpkit.api.app import create_app
    from idpkit.areas import needs
    from idpkit.areas.activities import import_activities
    from idpkit.ingest.pipeline import ingest_file
    from idpkit.testing.demo_areas import generate_areas
    from idpkit.warehouse import connect
    from idpkit.warehouse.areas import load_areas, read_gazetteer_csv

    folder = tmp_path_factory.mktemp("small_cells")
    g = read_gazetteer_csv(demo_operation.gazetteer_csv)
    adm2 = sorted(g[g.admin_level == 2].pcode)
    adm3 = sorted(g[g.admin_level == 3].pcode)
    with new_warehouse_url(backend, request, folder) as url:
        with connect(url) as wh:
            load_areas(wh, g)
            ingest_file(wh, demo_operation.all_assessment_files()[0])
            sites = wh.table("sites").select("site_id", "area_pcode").order_by("site_id").execute()
            files = generate_areas(folder / "areas", adm2, adm3[:10], sites, households=400)
            src = needs.import_needs(wh, files.households_csv,
                                     needs.NeedsSpec.from_yaml(files.households_spec)).source_id
            needs.analyse(wh, src)
            import_activities(wh, files.activities_csv)
            p = wh.table("need_pin")
            rows = p.filter((p.sector == "intersectoral") & (p.population_group == "idps")).order_by(
                "area_pcode").select("area_pcode", "admin_level").execute()
            small, missing, zero = rows.area_pcode[:3]
            cell = ("UPDATE need_pin SET people_in_need = {v} WHERE sector = 'intersectoral' AND "
                    "population_group = 'idps' AND area_pcode = '{a}'")
            wh.execute_atomically([cell.format(v=3, a=small), cell.format(v="NULL", a=missing),
                                   cell.format(v=0, a=zero)])
            token = create_token(wh, "test-analyst", "analyst")
        client = TestClient(create_app(url), raise_server_exceptions=False)
        yield client, {"Authorization": f"Bearer {token}"}, (small, missing, zero)
        client.close()


def test_public_answers_name_suppressed_cells(small_cells_api):
    client, auth, (small, missing, zero) = small_cells_api
    q = "/api/needs/pin?sector=intersectoral&group=idps"
    pub = {r["area_pcode"]: r for r in client.get(q).json()["data"]}
    assert pub[small]["people_in_need"] is None and "people_in_need" in pub[small]["suppressed"]
    # no figure is empty, a true zero stays 0 (issue 21: 0 is not "not assessed"); neither
    # was suppressed
    assert pub[missing]["people_in_need"] is None and pub[zero]["people_in_need"] == 0
    for empty in (missing, zero):
        assert "people_in_need" not in pub[empty]["suppressed"]
    assert all(isinstance(r["suppressed"], list) for r in pub.values())
    big = [r for a, r in pub.items() if a not in (small, missing, zero)]
    assert big and all("people_in_need" not in r["suppressed"] for r in big
                       if r["people_in_need"] is not None)
    ana = {r["area_pcode"]: r for r in client.get(q, headers=auth).json()["data"]}
    assert ana[small]["people_in_need"] == 3 and ana[missing]["people_in_need"] is None
    assert ana[zero]["people_in_need"] == 0 and "suppressed" not in ana[small]

    # CSV and HXL keep one text cell: the suppressed column names joined by commas
    df = pd.read_csv(io.StringIO(client.get(q + "&format=csv").text), keep_default_na=False)
    row = df[df.area_pcode == small].iloc[0]
    assert "people_in_need" in row["suppressed"].split(",") and row["people_in_need"] == ""
    assert df[df.area_pcode == missing].iloc[0]["suppressed"] == ""
    hxl = client.get(q + "&format=hxl").text.splitlines()
    assert "#meta+suppressed" in hxl[1].split(",")

    # the area profile marks the same cell in its public people-in-need section
    prof = client.get(f"/api/areas/{small}/profile").json()
    mine = [r for r in prof["people_in_need"]
            if r["sector"] == "intersectoral" and r["population_group"] == "idps"]
    assert mine and mine[0]["people_in_need"] is None
    assert "people_in_need" in mine[0]["suppressed"]
    exact = client.get(f"/api/areas/{small}/profile", headers=auth).json()
    assert all("suppressed" not in r for r in exact["people_in_need"])


def test_coverage_rows_carry_admin_level_and_hide_ratios_of_suppressed_counts(small_cells_api):
    client, auth, _ = small_cells_api
    levels = {a["pcode"]: a["admin_level"]
              for a in client.get("/api/areas", params={"format": "json"}).json()["data"]}
    for q in ("/api/activities/coverage", "/api/activities/coverage?level=1"):
        rows = client.get(q, headers=auth).json()["data"]
        assert rows and all(r["admin_level"] == levels[r["area_pcode"]] for r in rows)
    assert {r["admin_level"] for r in client.get(
        "/api/activities/coverage?level=1").json()["data"]} == {1}
    pub = client.get("/api/activities/coverage").json()["data"]
    for r in pub:  # a share of a suppressed count would give the count back
        if {"reached", "people_in_need"} & set(r["suppressed"]):
            assert r["coverage"] is None
    hidden = [r for r in pub if "coverage" in r["suppressed"]]
    assert all(r["coverage"] is None for r in hidden)


def test_public_rules_list_suppressed_columns_and_hide_their_ratios():
    from idpkit.areas.profile import _public, suppressed_as_lists

    df = pd.DataFrame({"area_pcode": ["A", "B", "C", "D"],
                       "people_in_need": [3.0, None, 0.0, 12345.0],
                       "reached": [1.0, 2.0, None, 7.0], "coverage": [0.33, None, None, 0.0006]})
    out = _public(df, ("people_in_need", "reached"))
    assert list(out.suppressed) == ["people_in_need,reached,coverage", "reached", "", ""]
    assert out.people_in_need.isna().tolist() == [True, True, False, False]  # C: a true 0 stays 0
    assert out.coverage.isna().tolist() == [True, True, True, False]  # B: no ratio to hide
    assert suppressed_as_lists(out).suppressed.tolist()[:2] == [
        ["people_in_need", "reached", "coverage"], ["reached"]]


def test_coverage_and_profiles_take_a_period(area_api):
    client, auth, _, _ = area_api
    every = client.get("/api/activities/coverage", headers=auth).json()["data"]
    assert any(c["reached"] > 0 for c in every)
    # no 4W activity of the demo runs in 2099: nobody is reached in that period
    later = client.get("/api/activities/coverage?from=2099-01-01&to=2099-12-31",
                       headers=auth)
    assert later.status_code == 200, later.text
    assert all(c["reached"] == 0 for c in later.json()["data"])
    rows = client.get("/api/areas/profiles?level=2&from=2099-01-01", headers=auth).json()["data"]
    assert all(r.get("unique_reached") is None for r in rows)
    for url in ("/api/activities/coverage?from=2025-13-01",
                "/api/areas/profiles?level=2&from=2025-06-01&to=2025-01-01"):
        r = client.get(url, headers=auth)
        assert 400 <= r.status_code < 500, (url, r.text)
        assert set(r.json()["error"]) == {"code", "message", "location"}
