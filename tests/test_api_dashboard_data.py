"""API endpoints the dashboard needs (reference dates, admin levels, findings per area) and the
dashboard's own serving: offline assets, licences, and a content-security policy.

The expected numbers are computed independently, with pandas, from the warehouse's raw tables
and the generator's files, and compared with the API's answers on every selected backend.
"""

from __future__ import annotations

import json
import re
from pathlib import Path

import pandas as pd
import pytest
from fastapi.testclient import TestClient
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from conftest import new_warehouse_url

STATIC = Path(__file__).resolve().parent.parent / "src" / "idpkit" / "dashboard" / "static"


@pytest.fixture(scope="module")
def served(backend, request, tmp_path_factory, demo_operation):
    """Two baseline rounds and the flow file of the demo, with boundaries, behind the API."""
    from idpkit.api.app import create_app
    from idpkit.ingest.pipeline import ingest_file
    from idpkit.warehouse import connect
    from idpkit.warehouse.areas import load_areas, read_boundaries_geojson, read_gazetteer_csv

    files = demo_operation.all_assessment_files()
    with new_warehouse_url(backend, request, tmp_path_factory.mktemp("dash")) as url:
        with connect(url) as wh:
            load_areas(wh, read_gazetteer_csv(demo_operation.gazetteer_csv))
            for level, path in sorted(demo_operation.boundaries.items()):
                load_areas(wh, read_boundaries_geojson(path, level))
            for f in [files[0], files[2], *demo_operation.flow_files]:  # two rounds, flows
                assert ingest_file(wh, f).status == "imported"
            raw = {t: wh.table(t).execute() for t in ("observations", "issues", "quarantine",
                                                     "datasets")}
        yield TestClient(create_app(url), raise_server_exceptions=False), raw


def test_reference_dates_are_the_stock_rounds(served):
    client, raw = served
    r = client.get("/api/figures/dates")
    assert r.status_code == 200
    got = [d["reference_date"][:10] for d in r.json()["data"]]
    o = raw["observations"]
    stock = o[o.metric == "present_stock"]
    want = sorted(pd.to_datetime(stock.reporting_date).dt.strftime("%Y-%m-%d").unique())
    assert got == want and len(got) == 2
    per_date = stock.assign(d=pd.to_datetime(stock.reporting_date).dt.strftime("%Y-%m-%d")
                            ).groupby("d").dataset_id.nunique().to_dict()
    assert {d["reference_date"][:10]: d["datasets"] for d in r.json()["data"]} == per_date
    for d in got:  # every date the slider offers has figures at exactly that date
        s = client.get("/api/figures/stock", params={"date": d, "level": 1}).json()
        assert s["data"] and {row["source_date"][:10] for row in s["data"]} == {d}


def test_admin_levels_count_areas_and_boundaries(served, demo_operation):
    client, _ = served
    got = {d["admin_level"]: (d["areas"], d["with_boundaries"])
           for d in client.get("/api/areas/levels").json()["data"]}
    gaz = pd.read_csv(demo_operation.gazetteer_csv, skiprows=[1], encoding="utf-8-sig")  # HXL row
    level_col = next(c for c in gaz.columns if "level" in c.lower())
    want_areas = gaz[level_col].value_counts().to_dict()
    for level, path in demo_operation.boundaries.items():
        n = len(json.loads(Path(path).read_text())["features"])
        assert got[level] == (want_areas[level], n)
    assert set(got) == set(want_areas)


def _expected_quality(raw: dict[str, pd.DataFrame], area: str | None) -> dict:
    """(dataset_id, code, severity) -> issues, and the datasets listed, computed with pandas."""
    o, i, q = raw["observations"], raw["issues"], raw["quarantine"]
    if area is None:
        found, listed = i, set(raw["datasets"].dataset_id)
    else:
        cols = ["area_pcode", "adm1_pcode", "adm2_pcode", "adm3_pcode", "adm4_pcode"]
        here = o[(o[cols] == area).any(axis=1)]
        rows = set(zip(here.dataset_id, here.source_row))
        qrows = set(zip(*q[q.raw.str.contains(f'"{area}"', regex=False)][
            ["dataset_id", "source_row"]].T.values)) if len(q) else set()
        keep = [(d, r) in rows or (d, r) in qrows for d, r in zip(i.dataset_id, i.row)]
        found = i[keep].drop_duplicates(["dataset_id", "row", "code", "severity", "message"])
        listed = set(here.dataset_id) | {d for d, _ in qrows}
    counts = found.groupby(["dataset_id", "code", "severity"]).size().to_dict()
    return {"counts": counts, "datasets": listed}


@pytest.mark.parametrize("area", [None, "ZD01", "ZD0102", "ZD010101", "XX99"])
def test_quality_counts_findings_per_dataset_and_area(served, area):
    client, raw = served
    r = client.get("/api/quality", params={"area": area} if area else {})
    assert r.status_code == 200, r.text
    rows = r.json()["data"]
    want = _expected_quality(raw, area)
    got = {(x["dataset_id"], x["code"], x["severity"]): x["issues"] for x in rows if x["code"]}
    assert got == want["counts"]
    assert {x["dataset_id"] for x in rows} == want["datasets"]
    assert all(x["issues"] == 0 for x in rows if not x["code"])
    assert all({"value", "message", "raw"}.isdisjoint(x) for x in rows)  # counts only, public
    if area == "XX99":
        assert rows == []
    if area is None:
        assert sum(got.values()) == len(raw["issues"]) > 0


def test_quality_as_csv_and_bad_requests(served):
    client, _ = served
    r = client.get("/api/quality", params={"format": "csv", "area": "ZD01"})
    assert r.status_code == 200 and r.text.splitlines()[0].startswith("dataset_id,file_name")
    assert client.get("/api/quality", params={"format": "xml"}).status_code == 422
    quote = client.get("/api/quality", params={"area": "ZD01'; DROP TABLE issues; --"})
    assert quote.status_code == 200 and quote.json()["data"] == []
    assert client.get("/api/quality").json()["data"]  # the table is still there


@settings(max_examples=15, deadline=None,
          suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture])
@given(area=st.text(min_size=1, max_size=40))
def test_quality_takes_any_area_text_without_failing(served, area):
    """Any text as ``area`` (quotes, percent signs, backslashes, unicode): a list, never a 500;
    control characters (NUL …) get a clear 422."""
    client, raw = served
    r = client.get("/api/quality", params={"area": area})
    if any(ord(c) < 32 or ord(c) == 127 for c in area):
        assert r.status_code == 422 and r.json()["error"]["location"] == "query.area", r.text
        return
    assert r.status_code == 200, r.text
    rows = r.json()["data"]
    assert {x["dataset_id"] for x in rows} <= set(raw["datasets"].dataset_id)


def test_dashboard_is_served_with_a_strict_policy(served):
    client, _ = served
    r = client.get("/")
    assert r.status_code == 200 and r.headers["content-type"].startswith("text/html")
    csp = r.headers["content-security-policy"]
    assert "default-src 'self'" in csp and "script-src 'self'" in csp
    assets = re.findall(r'(?:src|href)="(dashboard/[^"]+)"', r.text)
    assert "dashboard/vendor/d3.min.js" in assets and "dashboard/js/main.js" in assets
    for a in assets:
        assert client.get("/" + a).status_code == 200, a
    assert client.get("/dashboard", follow_redirects=False).status_code in (302, 307)
    assert client.get("/dashboard/nothing.js").status_code == 404


@pytest.mark.core
def test_dashboard_modules_resolve_and_reach_no_other_origin():
    """Every ES-module import points at a file that exists; no asset names another origin."""
    for js in sorted((STATIC / "js").rglob("*.js")):
        text = js.read_text()
        for target in re.findall(r'from\s+"(\.[^"]+)"', text):
            assert (js.parent / target).resolve().is_file(), f"{js.name}: {target}"
        assert not re.search(r"https?://", text.replace("http://www.w3.org/2000/svg", "")), js
    for f in [STATIC / "index.html", STATIC / "app.css"]:
        assert not re.search(r"(?:src|href)=\"https?://|url\(https?:", f.read_text()), f


@pytest.mark.core
def test_vendored_libraries_carry_their_licences():
    vendor = STATIC / "vendor"
    listed = re.findall(r"^  (\S+) \S+ \((\S+)\)$", (vendor / "VENDORED.txt").read_text(), re.M)
    assert listed and all(lic for _, lic in listed)
    for name, _ in listed:
        lic = vendor / "licenses" / f"{name.replace('/', '__')}.LICENSE"
        assert lic.is_file() and "Copyright" in lic.read_text(), name
    assert (vendor / "d3.min.js").stat().st_size < 200_000  # a subset, not all of d3
