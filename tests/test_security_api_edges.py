"""Issue 22 item 6: edge values are clear 4xx answers in the API's one error shape, never a 500,
and no error names a server path.

Levels with no areas, dates outside the calendar the figures compute on (pandas' 1677-2262), NUL
in path parameters, malformed multipart bodies and unknown paths.
"""

from __future__ import annotations

import tempfile

import pytest
from fastapi.testclient import TestClient


@pytest.fixture(scope="module")
def edge_api(tmp_path_factory, demo_operation):
    """Figures, a needs survey (so profiles at a level without areas go through the roll-up),
    a survey-free solutions part, and an analyst and an admin token."""
    from idpkit.api.app import create_app
    from idpkit.api.auth import create_token
    from idpkit.areas import needs
    from idpkit.ingest.pipeline import ingest_file
    from idpkit.testing.demo_areas import generate_areas
    from idpkit.warehouse import connect
    from idpkit.warehouse.areas import load_areas, read_gazetteer_csv

    folder = tmp_path_factory.mktemp("edge_api")
    db = str(folder / "w.duckdb")
    g = read_gazetteer_csv(demo_operation.gazetteer_csv)
    adm2 = sorted(g[g.admin_level == 2].pcode)
    adm3 = sorted(g[g.admin_level == 3].pcode)
    with connect(db) as wh:
        load_areas(wh, g)
        for f in demo_operation.all_assessment_files()[:2]:
            ingest_file(wh, f)
        sites = wh.table("sites").select("site_id", "area_pcode").order_by("site_id").execute()
        files = generate_areas(folder / "areas", adm2, adm3[:10], sites, households=300)
        hh = needs.import_needs(wh, files.households_csv,
                                needs.NeedsSpec.from_yaml(files.households_spec))
        needs.analyse(wh, hh.source_id)
        tokens = {r: create_token(wh, f"t-{r}", r) for r in ("analyst", "admin")}
    client = TestClient(create_app(db), raise_server_exceptions=False)
    return client, {r: {"Authorization": f"Bearer {t}"} for r, t in tokens.items()}


def _assert_shape(r, *, status: int | None = None) -> dict:
    assert 400 <= r.status_code < 500, (r.request.url, r.status_code, r.text)
    if status is not None:
        assert r.status_code == status, (r.request.url, r.text)
    body = r.json()
    assert set(body) == {"error"}, r.text
    assert set(body["error"]) == {"code", "message", "location"}, r.text
    assert body["error"]["code"] and body["error"]["message"]
    assert tempfile.gettempdir() not in r.text and "/tmp/" not in r.text
    return body["error"]


EDGE_URLS = [
    "/api/areas/profiles?level=0",
    "/api/areas/profiles?level=4",
    "/api/figures/stock?date=0674-03-22",
    "/api/figures/stock?date=1677-01-01",
    "/api/figures/stock?date=2263-01-01",
    "/api/figures/series?from=0674-03-22&to=2025-01-01",
    "/api/figures/series?from=2025-01-01&to=9999-12-31",
    "/api/figures/flows?from=0674-03-22&to=2025-01-01",
    "/api/figures/od?from=2025-01-01&to=2999-01-01",
    "/api/areas/%00/profile",
    "/api/datasets/%00/issues",
    "/api/solutions/%00/estimates",
    "/api/solutions/%00/gaps",
    "/api/solutions/a%00b/exit",
    "/api/no/such/path",
]


@pytest.mark.parametrize("url", EDGE_URLS)
@pytest.mark.parametrize("who", ["public", "analyst"])
def test_edge_values_are_4xx_in_the_one_shape(edge_api, url, who):
    client, auth = edge_api
    r = client.get(url, headers=auth.get(who, {}))
    err = _assert_shape(r)
    if "%00" in url and who == "analyst":
        assert r.status_code == 422 and err["location"].startswith("path.")


def test_dates_at_the_calendar_edges_still_answer(edge_api):
    client, auth = edge_api
    for d in ("1678-01-01", "2261-12-31"):
        r = client.get("/api/figures/stock", params={"date": d}, headers=auth["analyst"])
        assert r.status_code == 200, r.text


def test_multipart_errors_in_the_one_shape(edge_api):
    client, auth = edge_api
    for ctype, body in (("multipart/form-data", b"xx"),
                        ("multipart/form-data; boundary=zz", b"--zz\r\nbroken"),
                        ("multipart/form-data; boundary=zz", b"")):
        r = client.post("/api/datasets", headers={**auth["admin"], "content-type": ctype},
                        content=body)
        _assert_shape(r)


@pytest.mark.parametrize("name,data", [
    ("broken.xlsx", b"PK\x03\x04 not really a workbook"),
    ("a.json", b"{not json"),
    ("header-only.csv", b"x,y\n"),
    ("c.zip", b"PK\x05\x06" + b"\0" * 18),
])
def test_upload_errors_name_no_server_path(edge_api, name, data):
    client, auth = edge_api
    r = client.post("/api/datasets", headers=auth["admin"], files={"file": (name, data)})
    err = _assert_shape(r, status=422)
    assert "idpkit-upload-" not in r.text
    assert err["location"] == name
