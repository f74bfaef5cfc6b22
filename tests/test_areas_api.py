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
    assert "#adm+code" in lines[1].split(",") and len(lines) > 2
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
