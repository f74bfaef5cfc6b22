"""The situation report: HTML with map, charts and key figures, the same page as PDF (headless
Chromium), and the ``--pdf`` / ``--no-pdf`` choices of ``idpkit publish``."""

from __future__ import annotations

import html
import math
import os
import re
import subprocess
import sys
import unicodedata
from pathlib import Path

import pandas as pd
import pytest

from idpkit.publish.pdf import PdfError, find_chromium
from idpkit.publish.sitrep import _bar_chart, _line_chart

@pytest.fixture()
def chromium_required() -> None:
    """`make test` installs Debian's chromium (scripts/ensure-chromium.sh): missing is a failure."""
    if find_chromium() is None:
        pytest.fail("Debian's chromium is not installed: run scripts/ensure-chromium.sh")


needs_chromium = pytest.mark.usefixtures("chromium_required")


@pytest.fixture(scope="module")
def release(tmp_path_factory, demo_operation):
    """The demo's boundaries and baseline rounds (the stocks and the trend; sites and flows add
    nothing the report shows) in a warehouse, published once with a PDF."""
    from idpkit.ingest.pipeline import ingest_file
    from idpkit.publish.package import publish
    from idpkit.warehouse import connect
    from idpkit.warehouse.areas import load_areas, read_boundaries_geojson, read_gazetteer_csv

    folder = tmp_path_factory.mktemp("sitrep")
    db = str(folder / "w.duckdb")
    with connect(db) as wh:
        load_areas(wh, read_gazetteer_csv(demo_operation.gazetteer_csv))
        for level, path in sorted(demo_operation.boundaries.items()):
            load_areas(wh, read_boundaries_geojson(path, level))
        for f in demo_operation.all_assessment_files():
            if f.name.startswith("baseline"):
                ingest_file(wh, f)
        rel = publish(wh, folder / "release", pdf=True)  # chromium is required (make test)
    return rel, db


def _text(s: str) -> str:
    """Text as a reader sees it: ligatures unfolded (PDF "ﬁ"), runs of blanks as one space."""
    return " ".join(unicodedata.normalize("NFKC", s).split())


def _shown_numbers(page: str) -> list[str]:
    """Every number the HTML shows in a key-figure box or a numeric table cell."""
    cells = re.findall(r'<td class="n">([^<]*)</td>', page) + re.findall(r"<b>([^<]*)</b>", page)
    return [html.unescape(c).strip() for c in cells if re.fullmatch(r"[\d,]+", c.strip())]


def test_html_has_map_trend_and_breakdowns_from_the_release(release):
    rel, _ = release
    out = rel.folder
    page = (out / "sitrep.html").read_text(encoding="utf-8")
    assert '<svg class="map"' in page
    assert page.count('<svg class="chart"') == 3  # trend line, cause bars, group bars
    assert "Trend: people in displacement" in page and "Breakdowns at" in page
    assert "@page{size:A4" in page and "break-inside:avoid" in page
    assert "http://" not in page.replace("http://www.w3.org", "") and "https://" not in page

    national = pd.read_csv(out / "stock_adm0.csv", skiprows=[1])
    idps = national[(national.population_group == "idps") & (national.unit == "individuals")]
    # the cause table is the release's national cause cells (one country in the demo)
    for cause, v in idps.groupby("cause").value.sum(min_count=1).items():
        label = cause.capitalize()
        assert re.search(rf"<td>{label}</td><td class=\"n\">{v:,.0f}</td>", page), (cause, v)
    # the trend table holds the line's points, rounded like every public number
    months = re.findall(r"<tr><td>(\d{4}-\d{2})</td>", page)
    assert months == sorted(months) and len(months) >= 3
    assert months[-1] == rel.reference_date.isoformat()[:7]


def _levels(out: Path) -> list[int]:
    return [int(p.stem.removeprefix("stock_adm")) for p in out.glob("stock_adm*.csv")]


def _idmc(v: float) -> float:
    """IDMC's rounding written out independently of idpkit: exact up to 100, then to the nearest
    10 (to 1,000), 100 (below 10,000), 1,000."""
    step = 1 if v <= 100 else 10 if v <= 1000 else 100 if v < 10000 else 1000
    return round(v / step) * step


def _sitrep_tables(page: str) -> dict:
    """The numbers a reader sees: key figures, cause and group tables, top areas, the trend."""
    num = lambda t: float(html.unescape(t).replace(",", ""))  # noqa: E731
    kpi = dict(re.findall(r'<div class="kpi">([^<]+)<b>([\d,]+)</b>', page))
    rows = re.findall(r"<tr><td>([^<]+)</td><td>([A-Z]{2}[0-9]+)</td><td class=\"n\">"
                      r"([\d,]+)</td></tr>", page)
    trend = re.findall(r"<tr><td>(\d{4}-\d{2})</td><td class=\"n\">([\d,]+)</td>", page)
    return {"kpi": {k.strip(): num(v) for k, v in kpi.items()},
            "top": {code: num(v) for _, code, v in rows},
            "trend": {m: num(v) for m, v in trend}}


def test_one_number_everywhere_sitrep_api_release(release, tmp_path):
    """Every headline and table cell of the situation report is the number the public API and
    the release files give for the same cell — totals rounded once from exact totals, never
    sums of rounded parts (issue 21: "IDPs 168,530" beside a trend of 170,000)."""
    from fastapi.testclient import TestClient

    from idpkit.api.app import create_app
    from idpkit.figures.stock import StockQuery, stock_frame
    from idpkit.warehouse import connect

    rel, db = release
    out = rel.folder
    page = (out / "sitrep.html").read_text(encoding="utf-8")
    shown = _sitrep_tables(page)
    served = tmp_path / "served.duckdb"  # the server holds its file: other tests use the original
    served.write_bytes(Path(db).read_bytes())
    client = TestClient(create_app(str(served)), raise_server_exceptions=False)

    def api(level: int, by: str) -> pd.DataFrame:
        r = client.get("/api/figures/stock", params={"level": level, "by": by, "limit": 10000})
        assert r.status_code == 200 and r.json()["public_rules"]
        return pd.DataFrame(r.json()["data"])

    # key figure = the API's national total = the release's total file = the exact total,
    # rounded once (the exact total from the analyst's unrounded stock, rounded here by hand)
    with connect(db) as wh:
        exact = stock_frame(wh, StockQuery(rel.reference_date, level=0, by=()))
    exact_idps = exact[(exact.population_group == "idps") & (exact.unit == "individuals")]
    headline = shown["kpi"]["IDPs (individuals)"]
    assert headline == _idmc(exact_idps.value.sum())
    nat = api(0, "group")
    nat = nat[(nat.population_group == "idps") & (nat.unit == "individuals")]
    assert nat.value.sum() == headline
    rel_total = pd.read_csv(out / "stock_total_adm0.csv", skiprows=[1])
    assert rel_total[(rel_total.population_group == "idps")
                     & (rel_total.unit == "individuals")].value.sum() == headline
    # the trend's last month is the same total
    assert shown["trend"][rel.reference_date.isoformat()[:7]] == headline
    # top areas: the API's area totals and the release's total file, cell by cell
    level = max(_levels(out))
    while not (out / f"areas_adm{level}.geojson").exists():
        level -= 1
    areas = api(level, "group")
    areas = areas[(areas.population_group == "idps") & (areas.unit == "individuals")]
    from_api = dict(zip(areas[f"adm{level}_pcode"], areas.value, strict=True))
    totals = pd.read_csv(out / f"stock_total_adm{level}.csv", skiprows=[1])
    totals = totals[(totals.population_group == "idps") & (totals.unit == "individuals")]
    from_release = dict(zip(totals[f"adm{level}_pcode"], totals.value, strict=True))
    assert shown["top"] and len(shown["top"]) == 10
    for code, v in shown["top"].items():
        assert from_api[code] == v == from_release[code], code
    # the cause table: the API's national cause cells
    causes = api(0, "group,cause")
    causes = causes[(causes.population_group == "idps") & (causes.unit == "individuals")]
    for cause, v in zip(causes.cause, causes.value, strict=True):
        if v == v:
            assert re.search(rf"<td>{cause.capitalize()}</td><td class=\"n\">{v:,.0f}</td>",
                             page), (cause, v)


@needs_chromium
def test_pdf_is_the_same_report_with_its_key_figures(release):
    from pypdf import PdfReader

    rel, _ = release
    pdf = rel.folder / "sitrep.pdf"
    assert rel.sitrep_pdf == pdf.resolve()
    assert pdf.read_bytes()[:5] == b"%PDF-"
    reader = PdfReader(pdf)
    assert len(reader.pages) >= 1
    text = _text(" ".join(p.extract_text() or "" for p in reader.pages))
    page = (rel.folder / "sitrep.html").read_text(encoding="utf-8")
    shown = _shown_numbers(page)
    assert len(shown) > 20
    missing = [n for n in shown if n not in text]
    assert not missing, missing[:10]
    for heading in ("Internal displacement — situation report", "Areas with the most IDPs",
                    "Trend: people in displacement", "Breakdowns at"):
        assert _text(heading) in text or heading.split(":")[0] in text, heading
    names = re.findall(r"<tr><td>([^<]+)</td><td>[A-Z]{2}\d+", page)
    assert names and all(_text(html.unescape(n)) in text for n in names)


@needs_chromium
def test_publish_pdf_choices(release, tmp_path, monkeypatch):
    from idpkit.publish.package import publish
    from idpkit.warehouse import connect

    _, db = release
    out = tmp_path / "r"
    out.mkdir()
    (out / "sitrep.pdf").write_bytes(b"%PDF-old")
    with connect(db) as wh:
        rel = publish(wh, out, pdf=False)
        assert rel.sitrep_pdf is None and not (out / "sitrep.pdf").exists()  # no stale PDF
        assert (out / "sitrep.html").exists()

        monkeypatch.setenv("IDPKIT_CHROMIUM", str(tmp_path / "no-such-chromium"))
        rel = publish(wh, out)  # default: only when Chromium is there
        assert rel.sitrep_pdf is None and any("Chromium" in n for n in rel.notes)
        with pytest.raises(PdfError, match="needs Chromium"):
            publish(wh, tmp_path / "required", pdf=True)
        assert not (tmp_path / "required").exists()  # refused before writing anything

    from frictionless import validate

    report = validate(str(out / "datapackage.json"))  # the PDF is not a data resource
    assert report.valid, report.flatten(["taskPath", "rowNumber", "fieldName", "note"])[:5]


@needs_chromium
def test_cli_pdf_required_without_chromium_is_a_clear_error(release, tmp_path):
    _, db = release
    env = {**os.environ, "IDPKIT_CHROMIUM": str(tmp_path / "none")}
    r = subprocess.run([sys.executable, "-c", "from idpkit.cli.app import main; main()",
                        "publish", "--db", db, "--out", str(tmp_path / "x"), "--pdf"],
                       capture_output=True, text=True, timeout=300, env=env)
    assert r.returncode == 1
    assert "Error:" in r.stderr + r.stdout and "Chromium" in r.stderr + r.stdout
    assert "Traceback" not in r.stderr


@pytest.mark.core
def test_line_chart_breaks_at_gaps_and_keeps_every_point():
    nan = float("nan")
    svg = _line_chart(["2025-01", "2025-02", "2025-03", "2025-04", "2025-05"],
                      {"IDPs": [100.0, 200.0, nan, 400.0, 500.0], "Returnees": [nan] * 5})
    idp_path = re.search(r'<path d="([^"]*)" fill="none" stroke="#a50f15"', svg).group(1)
    assert idp_path.count("M") == 2 and idp_path.count("L") == 2  # two runs: Jan-Feb, Apr-May
    assert svg.count("<circle") == 4 and "2025-03" in svg  # the gap month is on the axis
    assert "IDPs, 2025-04: 400" in svg and 'role="img"' in svg
    assert _line_chart([], {}) == "" and _line_chart(["2025-01"], {"IDPs": [nan]}) == ""


@pytest.mark.core
def test_bar_chart_lengths_are_proportional():
    svg = _bar_chart([("Conflict", 300.0), ("Disaster", 100.0), ("Other", math.nan)], "#c00",
                     "IDPs by cause")
    widths = [float(w) for w in re.findall(r'<rect [^>]*width="([\d.]+)"', svg)]
    assert widths[0] == pytest.approx(3 * widths[1], rel=1e-3) and widths[2] == 0
    assert ">300</text>" in svg and "–" in svg  # a missing value is shown as a dash
    assert _bar_chart([("Conflict", math.nan)], "#c00", "x") == ""
