"""Every HXL output is standard HXL: each column tagged with a core hashtag, cells written alike.

Issue 21: the dashboard's origin-destination download (and the API's flows as HXL) had an empty
tag row, timestamps as ``2025-01-31 00:00:00``, values as ``52264.0`` and booleans as ``False``,
while ``idpkit figures od --format hxl`` was right; ``register_counts.csv`` used ``#adm+code``
(no such hashtag) and left a column untagged. One writer (:func:`idpkit.figures.output.to_csv`)
now serves the CLI, the API, the dashboard's downloads and the release; these tests read every
HXL output back with ``libhxl``.
"""

from __future__ import annotations

import csv
import io
import re

import hxl  # libhxl, a test dependency (pyproject [test])
import pytest
from fastapi.testclient import TestClient
from typer.testing import CliRunner

CORE_HASHTAGS = {
    # HXL 1.1 core hashtags (https://hxlstandard.org/standard/1-1final/dictionary/), written out
    # here rather than taken from idpkit's own tables
    "access", "activity", "adm1", "adm2", "adm3", "adm4", "adm5", "affected", "beneficiary",
    "capacity", "cause", "channel", "contact", "country", "crisis", "currency", "date",
    "delivery", "description", "event", "financial", "frequency", "geo", "group", "impact",
    "indicator", "inneed", "item", "loc", "meta", "modality", "need", "operations", "org",
    "output", "population", "reached", "region", "respondee", "sector", "service", "severity",
    "status", "subsector", "targeted", "value",
}
TAG = re.compile(r"#([a-z][a-z0-9_]*)(\s*\+[a-z][a-z0-9_]*)*")


def check_hxl(text: str, where: str) -> list[list[str]]:
    """``text`` parses as HXL with every column tagged by a core hashtag, and its cells are
    written the one way (no ``.0`` integers, no times on dates, lower-case booleans)."""
    src = hxl.data(hxl.input.make_input(io.BytesIO(text.encode("utf-8")),
                                        hxl.input.InputOptions(allow_local=True)))
    tags = [c.display_tag for c in src.columns]
    assert tags and all(tags), f"{where}: untagged column in {tags}"
    for t in tags:
        m = TAG.fullmatch(t)
        assert m and m.group(1) in CORE_HASHTAGS, f"{where}: {t!r} is not a core HXL hashtag"
    rows = [r.values for r in src]
    for row in rows:
        for v in row:
            s = str(v or "")
            assert not re.fullmatch(r"-?\d+\.0", s), f"{where}: {s!r} written with .0"
            assert not re.fullmatch(r"\d{4}-\d{2}-\d{2}[ T]\d{2}:\d{2}:\d{2}.*", s), \
                f"{where}: {s!r} is a timestamp, not a date"
            assert s not in ("True", "False"), f"{where}: boolean written as {s!r}"
    return rows


@pytest.fixture(scope="module")
def served(tmp_path_factory, demo_operation):
    """The demo's files (stocks, flows, origin-destination) in a DuckDB file, published once."""
    from idpkit.ingest.pipeline import ingest_file
    from idpkit.publish.package import publish
    from idpkit.warehouse import connect
    from idpkit.warehouse.areas import load_areas, read_gazetteer_csv

    folder = tmp_path_factory.mktemp("hxl")
    db = str(folder / "w.duckdb")
    with connect(db) as wh:
        load_areas(wh, read_gazetteer_csv(demo_operation.gazetteer_csv))
        for f in demo_operation.all_assessment_files():
            ingest_file(wh, f)
        publish(wh, folder / "release", pdf=False)
    return db, folder / "release"


API_HXL = [
    ("/api/figures/stock", {"level": 1}),
    ("/api/figures/stock", {"level": 2, "by": "group"}),
    ("/api/figures/series", {"from": "2025-01-01", "to": "2025-12-31", "level": 1}),
    ("/api/figures/flows", {"from": "2025-01-01", "to": "2025-12-31", "level": 1}),
    ("/api/figures/od", {"from": "2025-01-01", "to": "2025-12-31", "level": 1}),
    ("/api/areas", {"level": 1}),
    ("/api/datasets", {}),
    ("/api/areas/profiles", {"level": 1}),
]


def test_api_and_dashboard_downloads_are_standard_hxl(served, tmp_path):
    from idpkit.api.app import create_app

    db, _ = served
    copy = tmp_path / "served.duckdb"  # the server holds its file; the CLI test uses the original
    copy.write_bytes(open(db, "rb").read())
    client = TestClient(create_app(str(copy)), raise_server_exceptions=False)
    seen = 0
    for path, params in API_HXL:
        r = client.get(path, params={**params, "format": "hxl"})
        assert r.status_code == 200, (path, r.text[:300])
        rows = check_hxl(r.text, path)
        seen += bool(rows)
    assert seen >= 6  # the demo has stocks, series, flows, OD, areas and datasets


def test_cli_and_api_write_the_same_od_bytes(served, tmp_path):
    """The dashboard's "Download as HXL-tagged CSV" on the O-D page is the API's OD as HXL: the
    same text as ``idpkit figures od --format hxl`` for the analyst (exact figures)."""
    from idpkit.api.app import create_app
    from idpkit.api.auth import create_token
    from idpkit.cli.app import app
    from idpkit.warehouse import connect

    db, _ = served
    copy = tmp_path / "served.duckdb"
    copy.write_bytes(open(db, "rb").read())
    with connect(str(copy)) as wh:
        token = create_token(wh, "hxl-test", "analyst")
    res = CliRunner().invoke(app, ["figures", "od", "--from", "2025-01-01", "--to", "2025-12-31",
                                   "--level", "1", "--format", "hxl", "--db", db])
    assert res.exit_code == 0, res.output
    cli_rows = check_hxl(res.stdout, "figures od")
    client = TestClient(create_app(str(copy)), raise_server_exceptions=False)
    r = client.get("/api/figures/od", params={"from": "2025-01-01", "to": "2025-12-31",
                                              "level": 1, "format": "hxl"},
                   headers={"Authorization": f"Bearer {token}"})
    assert r.status_code == 200
    api_rows = check_hxl(r.text, "api od")
    assert cli_rows and len(api_rows) == len(cli_rows)
    header = next(csv.reader(io.StringIO(res.stdout)))
    api_header = next(csv.reader(io.StringIO(r.text)))
    assert api_header == header
    assert sorted(map(tuple, api_rows)) == sorted(map(tuple, cli_rows))


def test_release_files_are_standard_hxl(served):
    _, out = served
    files = sorted(out.glob("*.csv"))
    assert {"stock_adm1.csv", "stock_total_adm1.csv", "stock_total_adm0.csv"} <= \
        {f.name for f in files}
    for f in files:
        check_hxl(f.read_text(encoding="utf-8"), f.name)


def test_every_declared_tag_is_a_core_hashtag():
    """Tag tables of outputs not built in the fixture above (forecasts, area view)."""
    from idpkit.api.area_view import HXL as AREA_HXL
    from idpkit.figures.schema import _TAGS
    from idpkit.forecast.store import HXL as FORECAST_HXL

    for table in (AREA_HXL, FORECAST_HXL, _TAGS):
        for col, tag in table.items():
            m = TAG.fullmatch(tag)
            assert m and m.group(1) in CORE_HASHTAGS, (col, tag)
