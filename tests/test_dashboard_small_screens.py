"""The dashboard on a real warehouse and on a phone (issue 21 item 5), in headless Chromium.

- At 400 px and 1,400 px wide no page scrolls sideways and every navigation link is on screen
  (wide tables scroll in their own box, maps scale to the width, the navigation wraps).
- The overview lists only areas with figures although the gazetteer holds a second country of
  areas no assessment covers (as a global gazetteer does), and a true 0 shows as "0".
- The date slider asks the API once after the user pauses, shows that it is updating, and
  ignores the answers for dates it has left.
- An empty warehouse's pages show what to import with a real command (its ``--help`` runs) and
  no request fails (a 400 shows up as a console error, which the page fixture refuses).
- The footer names the signed-in role.

Reuses the browser, page and server helpers of ``test_dashboard_browser.py``.
"""

from __future__ import annotations

import csv
import re
import shlex
from collections.abc import Iterator
from pathlib import Path

import pytest
import test_dashboard_browser as base
from test_dashboard_browser import open_page, shown

chromium_path, browser = base.chromium_path, base.browser

PAGES = [("", "overview"), ("#/area/ZD0101", "area"), ("#/quality", "quality"), ("#/od", "od"),
         ("#/needs", "needs"), ("#/sites", "sites"), ("#/activities", "activities"),
         ("#/alerts", "alerts")]
EXTRA_ADM1, EXTRA_ADM2_EACH = 40, 12  # 520 areas without any figure


def extra_gazetteer(path: Path) -> Path:
    """A second country (``ZXL``) in OCHA's P-code list format, with no data anywhere."""
    with path.open("w", newline="", encoding="utf-8") as f:
        w = csv.writer(f)
        w.writerow(["Location", "Admin Level", "P-Code", "Name", "Parent P-Code",
                    "Valid from date"])
        for i in range(1, EXTRA_ADM1 + 1):
            w.writerow(["ZXL", 1, f"ZX{i:02d}", f"Province {i}", "ZXL", "2020-01-01"])
            for j in range(1, EXTRA_ADM2_EACH + 1):
                w.writerow(["ZXL", 2, f"ZX{i:02d}{j:02d}", f"District {i}-{j}", f"ZX{i:02d}",
                            "2020-01-01"])
    return path


@pytest.fixture(scope="module")
def zero_area() -> str:
    """The admin 2 area whose IDP figures are set to a true 0 on the latest round."""
    return "ZD0102"


@pytest.fixture(scope="module")
def server(tmp_path_factory, demo_operation, zero_area) -> Iterator[dict]:
    """Every demo round, its flows and area-view data, the demo gazetteer plus a country of
    areas without data; one area's IDPs are a true 0 in the latest round."""
    from idpkit.api.auth import create_token
    from idpkit.cli.area_view import demo_areas
    from idpkit.ingest.pipeline import ingest_file
    from idpkit.warehouse import connect
    from idpkit.warehouse.areas import load_areas, read_boundaries_geojson, read_gazetteer_csv

    folder = tmp_path_factory.mktemp("dashboard-small")
    db = str(folder / "w.duckdb")
    with connect(db) as wh:
        load_areas(wh, read_gazetteer_csv(demo_operation.gazetteer_csv))
        load_areas(wh, read_gazetteer_csv(extra_gazetteer(folder / "zx.csv")))
        for level, path in sorted(demo_operation.boundaries.items()):
            load_areas(wh, read_boundaries_geojson(path, level))
        for f in demo_operation.all_assessment_files():
            assert ingest_file(wh, f).status == "imported"
    demo_areas(folder, demo_operation, db, 7)
    with connect(db) as wh:
        wh.execute_atomically([
            "UPDATE observations SET value = 0 WHERE metric = 'present_stock' AND "
            f"population_group = 'idps' AND adm2_pcode = '{zero_area}' AND reporting_date = "
            "(SELECT max(reporting_date) FROM observations WHERE metric = 'present_stock')"])
        token = create_token(wh, "browser-small", "analyst")
    with base.serve_on_loopback(db) as (url, api):
        yield {"base": url, "api": api, "token": token}


@pytest.fixture(scope="module")
def empty_server(tmp_path_factory, demo_operation) -> Iterator[dict]:
    """A warehouse with the gazetteer and boundaries only: nothing imported yet."""
    from idpkit.warehouse import connect
    from idpkit.warehouse.areas import load_areas, read_boundaries_geojson, read_gazetteer_csv

    db = str(tmp_path_factory.mktemp("dashboard-empty") / "w.duckdb")
    with connect(db) as wh:
        load_areas(wh, read_gazetteer_csv(demo_operation.gazetteer_csv))
        for level, path in sorted(demo_operation.boundaries.items()):
            load_areas(wh, read_boundaries_geojson(path, level))
    with base.serve_on_loopback(db) as (url, api):
        yield {"base": url, "api": api}


def _page(browser, srv: dict, width: int) -> Iterator:
    """As test_dashboard_browser's ``page`` fixture, at a given width."""
    context = browser.new_context(viewport={"width": width, "height": 900})
    pg = context.new_page()
    pg.set_default_timeout(float(base.os.environ.get("IDPKIT_BROWSER_TIMEOUT_MS", 90_000)))
    outside: list[str] = []
    errors: list[str] = []
    pg.on("request", lambda r: None if r.url.startswith(srv["base"]) or
          r.url.startswith("data:") else outside.append(r.url))
    pg.on("pageerror", lambda e: errors.append(str(e)))
    pg.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
    yield pg
    context.close()
    assert outside == [], f"requests to other origins: {outside}"
    assert errors == [], f"errors in the page: {errors}"


@pytest.fixture
def page(browser, server):
    yield from _page(browser, server, 1280)


@pytest.fixture
def empty_page(browser, empty_server):
    yield from _page(browser, empty_server, 400)


@pytest.fixture(params=[400, 1400])
def sized_page(request, browser, server):
    yield from _page(browser, server, request.param)


def test_no_page_scrolls_sideways_and_every_nav_link_is_on_screen(sized_page, server):
    pg = sized_page
    for hash_, ready in PAGES:
        open_page(pg, server, hash_, ready)
        width = pg.evaluate("window.innerWidth")
        scroll = pg.evaluate("document.documentElement.scrollWidth")
        assert scroll <= width, f"{ready} at {width} px scrolls sideways ({scroll} px wide)"
        links = pg.eval_on_selector_all(
            "header nav a", "as => as.map(a => { const r = a.getBoundingClientRect(); "
                     "return [a.textContent, r.left, r.right, r.width]; })")
        assert len(links) == 7
        for text, left, right, w in links:
            assert w > 0 and left >= 0 and right <= width, f"{text} off screen on {ready}"
        # maps scale to the width; wide tables scroll inside their own box
        for box in pg.eval_on_selector_all(
                "svg.map-svg, .table-scroll", "els => els.map(e => e.getBoundingClientRect().right)"):
            assert box <= width
        if ready == "sites":  # the widest table: it scrolls by itself at 400 px
            assert pg.eval_on_selector("[data-testid=sites-table]", "t => t.closest('.table-scroll')"
                                       " !== null")


def test_overview_lists_only_areas_with_figures_and_a_zero_as_0(page, server, zero_area):
    api = server["api"]
    levels = {r["admin_level"]: r["areas"] for r in api.get("/api/areas/levels").json()["data"]}
    assert levels[1] >= EXTRA_ADM1 and levels[2] >= EXTRA_ADM1 * EXTRA_ADM2_EACH
    dates = [d["reference_date"][:10] for d in api.get("/api/figures/dates").json()["data"]]
    open_page(page, server, "#/?level=2", "overview")
    stock = api.get("/api/figures/stock", params={
        "level": 2, "date": dates[-1], "by": "group", "group": "idps", "limit": 10000}).json()
    with_data = {r["adm2_pcode"] for r in stock["data"]}
    listed = page.eval_on_selector_all("[data-testid=overview-table] tbody tr",
                                       "rs => rs.map(r => r.dataset.pcode)")
    assert set(listed) == with_data and len(listed) == len(with_data)
    assert not any(p.startswith("ZX") for p in listed)
    # names, not P-codes, in the first column
    names = page.eval_on_selector_all("[data-testid=overview-table] tbody th a",
                                      "as => as.map(a => a.textContent)")
    assert not any(re.fullmatch(r"Z[DX]\d+", n) for n in names)
    # a true 0 is "0", not "–" (which means "not assessed")
    zero = [r for r in stock["data"] if r["adm2_pcode"] == zero_area and r["unit"] == "individuals"]
    assert zero and zero[0]["value"] == 0 and shown(zero[0]) == "0"
    cell = page.text_content(f"[data-testid=overview-table] tr[data-pcode={zero_area}] "
                             "td[data-unit=individuals]")
    assert cell == "0"
    label = page.get_attribute(f"[data-testid=overview-map] path[data-pcode={zero_area}]",
                               "aria-label")
    assert ": 0 IDPs" in label
    assert "reference dates" in page.text_content(".controls .hint")


def test_date_slider_asks_the_api_once_after_the_user_pauses(page, server):
    api = server["api"]
    dates = [d["reference_date"][:10] for d in api.get("/api/figures/dates").json()["data"]]
    assert len(dates) >= 4
    open_page(page, server, "", "overview")
    page.wait_for_selector(f"section[data-shown='1|{dates[-1]}|idps']")
    # record whether the "Updating…" sign became visible while the figures were out of date
    page.evaluate("""() => { window.__busySeen = false;
      const sign = document.querySelector('[data-testid=updating]');
      new MutationObserver(() => { if (!sign.hidden) window.__busySeen = true; })
        .observe(sign, {attributes: true}); }""")
    asked: list[str] = []
    page.on("request", lambda r: asked.append(r.url) if "/api/" in r.url else None)
    page.focus("#date")
    for _ in range(3):  # three dates never shown before (nothing cached for them)
        page.keyboard.press("ArrowLeft")
    page.wait_for_selector(f"section[data-shown='1|{dates[-4]}|idps']")
    assert page.evaluate("window.__busySeen")
    stock_dates = {m.group(1) for u in asked if "/api/figures/stock" in u
                   for m in [re.search(r"date=([0-9-]+)", u)] if m}
    assert stock_dates == {dates[-4]}, f"requests for dates the user only passed: {stock_dates}"
    assert len([u for u in asked if "/api/figures/stock" in u]) == 3  # one burst: map + 2 charts
    assert page.get_attribute(".overview-body", "aria-busy") is None
    assert page.is_hidden("[data-testid=updating]")


def test_footer_names_the_signed_in_role(page, server):
    open_page(page, server, "", "overview")
    assert "Public view" in page.text_content("#footer-view")
    page.fill("#token-input", server["token"])
    page.click("#token-apply")
    page.wait_for_selector("#footer-view[data-role=analyst]")
    assert "Public view" not in page.text_content("footer")
    assert "analyst" in page.text_content("#footer-view")
    assert "analyst" in page.text_content("#access")


def cli_command_exists(command: str) -> None:
    """``command`` (as the page shows it) names a real idpkit command and real options."""
    from typer.testing import CliRunner

    from idpkit.cli.app import app

    words = shlex.split(command)
    assert words[0] == "idpkit"
    path = []
    for w in words[1:]:
        if w.startswith("-") or not re.fullmatch(r"[a-z][a-z0-9-]*", w):
            break
        path.append(w)
    res = CliRunner().invoke(app, [*path, "--help"], terminal_width=200)
    assert res.exit_code == 0, f"{command}: {res.output}"
    assert "Usage:" in res.output and f" {' '.join(path)} " in res.output
    for option in (w for w in words if w.startswith("--")):
        assert option in res.output, f"{command}: no option {option}"


@pytest.mark.parametrize("hash_, ready", [("", "overview"), ("#/needs", "needs"),
                                          ("#/sites", "sites"), ("#/activities", "activities"),
                                          ("#/alerts", "alerts")])
def test_empty_warehouse_pages_say_what_to_import(empty_page, empty_server, hash_, ready):
    open_page(empty_page, empty_server, hash_, ready)
    assert empty_page.locator("[role=alert], .error").count() == 0
    commands = empty_page.eval_on_selector_all("[data-testid=empty-state] code",
                                               "cs => cs.map(c => c.textContent)")
    assert commands
    for command in commands:
        cli_command_exists(command)
    assert empty_page.evaluate("document.documentElement.scrollWidth <= window.innerWidth")


def test_every_map_and_chart_says_its_source_and_date(page, server):
    for hash_, ready in [("", "overview"), ("#/area/ZD0101", "area"), ("#/od", "od"),
                         ("#/needs", "needs"), ("#/activities", "activities")]:
        open_page(page, server, hash_, ready)
        figures = page.eval_on_selector_all(
            "figure.map, figure.chart",
            "fs => fs.map(f => [f.dataset.testid, f.querySelector('[data-testid=source]')"
            "?.textContent || ''])")
        assert figures, ready
        for testid, source in figures:
            assert source.startswith("Source: "), f"{ready}: {testid} has no source line"
            if ready in ("overview", "od"):
                assert re.search(r"\d{4}-\d{2}-\d{2}", source), f"{ready}: {testid} has no date"


def test_od_map_shows_within_area_movements_and_a_width_legend(page, server):
    api = server["api"]
    dates = [d["reference_date"][:10] for d in api.get("/api/figures/dates").json()["data"]]
    open_page(page, server, "#/od", "od")
    od = api.get("/api/figures/od", params={"level": 1, "from": dates[0],
                                           "to": dates[-1]}).json()["data"]
    within: dict[str, float] = {}
    for r in od:
        if r["origin_adm1_pcode"] and r["origin_adm1_pcode"] == r["adm1_pcode"] \
                and not r["suppressed"] and r["value"]:
            within[r["adm1_pcode"]] = within.get(r["adm1_pcode"], 0) + r["value"]
    assert within  # the demo's largest flow stays within its area
    shown_within = page.eval_on_selector_all(
        "[data-testid=od-within] li", "ls => ls.map(l => [l.dataset.pcode, "
        "l.querySelector('.n').textContent])")
    assert dict(shown_within) == {p: shown({"value": v}) for p, v in within.items()}
    assert page.locator("[data-testid=od-map] svg.map-svg circle.od-within").count() == len(within)
    widths = page.eval_on_selector_all("[data-testid=od-legend] li[data-width]",
                                       "ls => ls.map(l => l.textContent)")
    assert len(widths) == 3 and all(w.endswith(" people") for w in widths)
