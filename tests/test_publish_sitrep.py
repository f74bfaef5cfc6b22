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

    stock = pd.read_csv(out / f"stock_adm{min(_levels(out))}.csv", skiprows=[1])
    idps = stock[(stock.population_group == "idps") & (stock.unit == "individuals")]
    # the cause bars add up to the key figure: both are sums of the release's own cells
    for cause, v in idps.groupby("cause").value.sum(min_count=1).items():
        label = cause.capitalize()
        assert re.search(rf"<td>{label}</td><td class=\"n\">{v:,.0f}</td>", page), (cause, v)
    assert f"<b>{idps.value.sum():,.0f}</b>" in page
    # the trend table holds the line's points, rounded like every public number
    months = re.findall(r"<tr><td>(\d{4}-\d{2})</td>", page)
    assert months == sorted(months) and len(months) >= 3
    assert months[-1] == rel.reference_date.isoformat()[:7]


def _levels(out: Path) -> list[int]:
    return [int(p.stem.removeprefix("stock_adm")) for p in out.glob("stock_adm*.csv")]


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
