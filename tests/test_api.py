"""The HTTP API: formats, roles, ETags, pagination, and clear 4xx errors (never a 500)."""

from __future__ import annotations

import csv
import io

import pytest
from fastapi.testclient import TestClient

from idpkit.api.auth import create_token
from idpkit.figures.stock import StockQuery, stock_frame


@pytest.fixture(scope="module")
def api(tmp_path_factory, demo_operation):
    from idpkit.api.app import create_app
    from idpkit.ingest.pipeline import ingest_file
    from idpkit.solutions.results import analyse
    from idpkit.solutions.store import SurveySpec, import_survey, load_survey
    from idpkit.testing.demo_survey import generate_survey
    from idpkit.warehouse import connect
    from idpkit.warehouse.areas import load_areas, read_gazetteer_csv, read_boundaries_geojson

    folder = tmp_path_factory.mktemp("api")
    db = str(folder / "w.duckdb")
    with connect(db) as wh:
        load_areas(wh, read_gazetteer_csv(demo_operation.gazetteer_csv))
        for level, path in sorted(demo_operation.boundaries.items()):
            load_areas(wh, read_boundaries_geojson(path, level))
        for f in demo_operation.all_assessment_files()[:4]:
            ingest_file(wh, f)
        demo = generate_survey(folder / "sv", ["ZD0101", "ZD0102"], psus_per_stratum=4,
                               households_per_psu=8)
        import_survey(wh, demo.households_csv, SurveySpec.from_yaml(demo.spec_yaml))
        analyse(wh, load_survey(wh, "demo_solutions"))
        tokens = {r: create_token(wh, f"test-{r}", r) for r in ("analyst", "protection")}
    client = TestClient(create_app(db), raise_server_exceptions=False)
    return client, tokens, db


def _auth(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


def test_index_and_openapi(api):
    client, _, _ = api
    assert "/api/figures/stock" in client.get("/api").json()["endpoints"]
    spec = client.get("/openapi.json").json()
    assert "/api/figures/stock" in spec["paths"]


def test_areas_as_geojson_and_hxl(api):
    client, _, _ = api
    r = client.get("/api/areas", params={"level": 1})
    assert r.status_code == 200 and r.headers["content-type"].startswith("application/geo+json")
    fc = r.json()
    assert fc["type"] == "FeatureCollection" and fc["features"]
    assert all(f["properties"]["admin_level"] == 1 for f in fc["features"])
    assert any(f["geometry"] for f in fc["features"])
    rows = list(csv.reader(io.StringIO(client.get("/api/areas", params={
        "level": 1, "format": "hxl"}).text)))
    assert rows[1][:2] == ["#loc+code", "#loc+name"]


def test_stock_public_is_rounded_analyst_is_exact(api):
    from idpkit.warehouse import connect

    client, tokens, db = api
    public = client.get("/api/figures/stock", params={"level": 1, "by": "group"}).json()
    assert public["public_rules"] is True
    exact = client.get("/api/figures/stock", params={"level": 1, "by": "group"},
                       headers=_auth(tokens["analyst"])).json()
    assert exact["public_rules"] is False
    with connect(db) as wh:
        from datetime import date

        ref = date.fromisoformat(exact["reference_date"])
        df = stock_frame(wh, StockQuery(ref, level=1, by=()))
    got = {(r["adm1_pcode"], r["population_group"], r["unit"]): r["value"] for r in exact["data"]}
    want = {(r.adm1_pcode, r.population_group, r.unit): r.value for r in df.itertuples()}
    assert got == pytest.approx(want)
    assert any(r["value"] != want[(r["adm1_pcode"], r["population_group"], r["unit"])]
               for r in public["data"] if r["value"] is not None)  # IDMC rounding applied


def test_etag_and_pagination(api):
    client, _, _ = api
    r = client.get("/api/datasets", params={"limit": 2})
    assert r.status_code == 200 and r.json()["total"] >= 3 and len(r.json()["data"]) == 2
    assert r.json()["next_offset"] == 2
    again = client.get("/api/datasets", params={"limit": 2},
                       headers={"If-None-Match": r.headers["etag"]})
    assert again.status_code == 304


@pytest.mark.parametrize("path,params,status,code", [
    ("/api/figures/stock", {"level": 9}, 422, "invalid-request"),
    ("/api/figures/stock", {"date": "31/12/2025"}, 422, "invalid-request"),
    ("/api/figures/stock", {"by": "colour"}, 422, "invalid-request"),
    ("/api/figures/stock", {"by": "DROP TABLE"}, 422, "invalid-request"),
    ("/api/figures/flows", {"from": "2025-05-01", "to": "2025-01-01"}, 422, "invalid-request"),
    ("/api/figures/flows", {}, 422, "invalid-request"),
    ("/api/datasets", {"limit": 0}, 422, "invalid-request"),
    ("/api/datasets", {"format": "xml"}, 422, "invalid-request"),
    ("/api/solutions", {}, 403, "forbidden"),
    ("/api/register/units", {}, 403, "forbidden"),
    ("/api/nothing", {}, 404, None),
])
def test_malformed_requests_get_clear_4xx(api, path, params, status, code):
    client, _, _ = api
    r = client.get(path, params=params)
    assert r.status_code == status, r.text
    if code:
        assert r.json()["error"]["code"] == code and r.json()["error"]["message"]


def test_tokens_and_roles(api):
    client, tokens, _ = api
    assert client.get("/api/solutions", headers=_auth("idp_wrong")).status_code == 401
    r = client.get("/api/datasets/nope/issues", headers=_auth(tokens["analyst"]))
    assert r.status_code == 404 and r.json()["error"]["code"] == "unknown-dataset"
    gaps = client.get("/api/solutions/demo_solutions/gaps", headers=_auth(tokens["analyst"]),
                      params={"area": "all"}).json()
    assert gaps["total"] == 25 and {"gap", "gap_ci_low", "status"} <= set(gaps["data"][0])
    assert client.get("/api/solutions/demo_solutions/gaps",
                      headers=_auth(tokens["protection"])).status_code == 403
    assert client.get("/api/solutions/unknown/gaps",
                      headers=_auth(tokens["analyst"])).status_code == 404


def test_publish_writes_a_valid_public_data_package(api, tmp_path):
    import json

    import pandas as pd
    from frictionless import validate

    from idpkit.figures.publication import idmc_round
    from idpkit.publish.package import publish
    from idpkit.warehouse import connect

    _, _, db = api
    with connect(db) as wh:
        rel = publish(wh, tmp_path / "release")
    out = tmp_path / "release"
    assert "stock_adm1.csv" in rel.resources and "solution_gaps.csv" in rel.resources
    report = validate(str(out / "datapackage.json"))
    assert report.valid, report.flatten(["taskPath", "rowNumber", "fieldName", "note"])[:5]
    lines = (out / "stock_adm1.csv").read_text().splitlines()
    assert lines[1].startswith("#adm1+code,#adm1+name")
    df = pd.read_csv(out / "stock_adm1.csv", skiprows=[1])
    v = df.value.dropna()
    assert (v.to_numpy() == idmc_round(v)).all()  # every published number is IDMC-rounded
    fc = json.loads((out / "areas_adm1.geojson").read_text())
    assert fc["features"] and "idps" in fc["features"][0]["properties"]
    assert set(pd.ExcelFile(out / "idpkit-release.xlsx").sheet_names) >= {"stock_adm1",
                                                                          "solution_gaps"}
    package = json.loads((out / "datapackage.json").read_text())
    assert all(r["dialect"]["commentRows"] == [2] for r in package["resources"])
    page = (out / "sitrep.html").read_text()
    assert "<svg" in page and "role=\"img\"" in page and "Areas with the most IDPs" in page
    nat = pd.read_csv(out / "stock_total_adm0.csv", skiprows=[1])
    total = nat[(nat.population_group == "idps") & (nat.unit == "individuals")].value.sum()
    assert f"<b>{total:,.0f}</b>" in page  # the key figure is the release's national total


def test_role_names_the_tokens_role(api):
    """GET /api/role: what the dashboard's footer says (issue 21 item 5)."""
    client, tokens, _ = api
    assert client.get("/api/role").json() == {"role": "public", "public_rules": True}
    assert client.get("/api/role", headers=_auth(tokens["analyst"])).json() == {
        "role": "analyst", "public_rules": False}
    r = client.get("/api/role", headers=_auth("idp_not-a-token"))
    assert r.status_code == 401 and r.json()["error"]["code"] == "invalid-token"
