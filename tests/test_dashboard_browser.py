"""The dashboard in headless Chromium (Debian's ``chromium``, driven by Playwright; never a
downloaded browser): click through map, area page, data-quality page and origin-destination view,
and check that every number shown is the API's own number for the same request.

The server is the real one (uvicorn on a free loopback port, in a thread) over a small demo
warehouse: two baseline rounds, the flow-monitoring file and a survey. Screenshots go to docs/img/.
Without chromium the tests are skipped locally and fail in CI (``CI`` set).
"""

from __future__ import annotations

import contextlib
import os
import re
import shutil
import socket
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

ROOT = Path(__file__).resolve().parent.parent
SHOTS = ROOT / "docs" / "img"
CHROMIUM = os.environ.get("IDPKIT_CHROMIUM") or shutil.which("chromium") or "/usr/bin/chromium"


def shown(row: dict | None) -> str:
    """What the dashboard must show for an API figure row (see static/js/format.js)."""
    if row is None:
        return "–"
    if row.get("suppressed"):
        return "suppressed"
    v = row.get("value")
    if v is None:
        return "–"
    return f"{v:,.2f}".rstrip("0").rstrip(".")


@pytest.fixture(scope="module")
def chromium_path() -> str:
    if not Path(CHROMIUM).is_file():
        msg = (f"chromium not found at {CHROMIUM}: run scripts/ensure-chromium.sh "
               "(installs Debian's chromium) or set IDPKIT_CHROMIUM")
        pytest.fail(msg)  # `make test` installs it; a missing browser is a failure, never a skip
    return CHROMIUM


@contextlib.contextmanager
def serve_on_loopback(db: str) -> Iterator[tuple[str, httpx.Client]]:
    """``create_app(db)`` under uvicorn on 127.0.0.1 (a free port), in a background thread:
    yields the base URL and an httpx client for the API's own answers."""
    import uvicorn

    from idpkit.api.app import create_app

    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    port = sock.getsockname()[1]
    srv = uvicorn.Server(uvicorn.Config(create_app(db), log_level="warning", access_log=False))
    thread = threading.Thread(target=srv.run, kwargs={"sockets": [sock]}, daemon=True)
    thread.start()
    deadline = time.monotonic() + 20
    while not srv.started:
        assert time.monotonic() < deadline and thread.is_alive(), "uvicorn did not start"
        time.sleep(0.05)
    base = f"http://127.0.0.1:{port}"
    try:
        with httpx.Client(base_url=base, timeout=30) as api:
            yield base, api
    finally:
        srv.should_exit = True
        thread.join(timeout=10)
        sock.close()


@pytest.fixture(scope="module")
def server(tmp_path_factory, demo_operation) -> Iterator[dict]:
    """A demo warehouse served by uvicorn on 127.0.0.1 (free port), plus an analyst token."""
    from idpkit.api.auth import create_token
    from idpkit.ingest.pipeline import ingest_file
    from idpkit.solutions.results import analyse
    from idpkit.solutions.store import SurveySpec, import_survey, load_survey
    from idpkit.testing.demo_survey import generate_survey
    from idpkit.warehouse import connect
    from idpkit.warehouse.areas import load_areas, read_boundaries_geojson, read_gazetteer_csv

    folder = tmp_path_factory.mktemp("dashboard")
    db = str(folder / "w.duckdb")
    with connect(db) as wh:
        load_areas(wh, read_gazetteer_csv(demo_operation.gazetteer_csv))
        for level, path in sorted(demo_operation.boundaries.items()):
            load_areas(wh, read_boundaries_geojson(path, level))
        files = demo_operation.all_assessment_files()
        for f in [files[0], files[2], *demo_operation.flow_files]:  # two baseline rounds, flows
            assert ingest_file(wh, f).status == "imported"
        demo = generate_survey(folder / "sv", ["ZD0101", "ZD0102"], psus_per_stratum=4,
                               households_per_psu=8)
        import_survey(wh, demo.households_csv, SurveySpec.from_yaml(demo.spec_yaml))
        analyse(wh, load_survey(wh, "demo_solutions"))
        token = create_token(wh, "browser-test", "analyst")

    with serve_on_loopback(db) as (base, api):
        yield {"base": base, "api": api, "token": token}


@pytest.fixture(scope="module")
def browser(chromium_path):
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        b = p.chromium.launch(executable_path=chromium_path, headless=True,
                              args=["--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage"])
        yield b
        b.close()


@pytest.fixture
def page(browser, server):
    """A fresh page; afterwards, no request may have left the server and no script may have
    failed (the dashboard is offline and its errors are shown, not thrown)."""
    context = browser.new_context(viewport={"width": 1280, "height": 900})
    pg = context.new_page()
    # every wait is on a condition (data-ready, data-shown, a selector), so a generous limit costs
    # nothing when the machine is quick; area pages take up to ~10 s on a loaded 2-core machine
    # and the limit must hold at 3x slower (a fresh-clone run timed out at 15 s)
    pg.set_default_timeout(float(os.environ.get("IDPKIT_BROWSER_TIMEOUT_MS", 90_000)))
    outside: list[str] = []
    errors: list[str] = []
    pg.on("request", lambda r: None if r.url.startswith(server["base"]) or
          r.url.startswith("data:") else outside.append(r.url))
    pg.on("pageerror", lambda e: errors.append(str(e)))
    pg.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
    yield pg
    context.close()
    assert outside == [], f"requests to other origins: {outside}"
    assert errors == [], f"errors in the page: {errors}"


def open_page(pg, server, hash_: str, ready: str) -> None:
    pg.goto(f"{server['base']}/{hash_}")
    pg.wait_for_selector(f"main[data-ready='{ready}']")


def sign_in(pg, server, ready: str) -> None:
    pg.fill("#token-input", server["token"])
    pg.click("#token-apply")
    pg.wait_for_selector(f"main[data-ready='{ready}']")


def cell_texts(pg, selector: str, attr: str) -> dict[str, str]:
    """``{row attribute: cell text}`` for the cells a selector finds."""
    return pg.eval_on_selector_all(
        selector, f"els => Object.fromEntries(els.map(e => [e.closest('[{attr}]')"
                  f".getAttribute('{attr}'), e.textContent.trim()]))")


def overview_matches_api(pg, server, level: int, date: str, group: str = "idps") -> None:
    """The map's table and aria-labels against the API. Parameters in the dashboard's order, so
    the server answers from its ETag cache instead of computing the figure twice."""
    stock = server["api"].get("/api/figures/stock", params={
        "level": level, "date": date, "by": "group", "group": group, "limit": 10000}).json()
    assert stock["public_rules"] is True
    code = f"adm{level}_pcode"
    rows = {r[code]: r for r in stock["data"] if r["unit"] == "individuals"}
    want = {p: shown(r) for p, r in rows.items()}
    got = cell_texts(pg, "[data-testid=overview-table] tbody td[data-unit=individuals]",
                     "data-pcode")
    # only areas with a figure are listed (a global gazetteer has thousands without one)
    assert set(rows) <= set(got) <= {r[code] for r in stock["data"]}
    assert got == {p: shown(rows.get(p)) for p in got}
    labels = pg.eval_on_selector_all(
        "[data-testid=overview-map] path.area",
        "els => Object.fromEntries(els.map(e => [e.dataset.pcode, e.getAttribute('aria-label')]))")
    n_features = len(server["api"].get("/api/areas", params={"level": level}).json()["features"])
    assert len(labels) == n_features
    for p, text in want.items():
        assert f": {text} " in labels[p]


def test_overview_slider_level_and_breakdowns_show_the_apis_numbers(page, server):
    api = server["api"]
    dates = [d["reference_date"][:10] for d in api.get("/api/figures/dates").json()["data"]]
    open_page(page, server, "", "overview")
    assert page.input_value("#date") == str(len(dates) - 1)
    overview_matches_api(page, server, 1, dates[-1])

    national = api.get("/api/figures/stock", params={"level": 0, "date": dates[-1],
                                                    "by": "group", "limit": 10000}).json()["data"]
    bars = cell_texts(page, "[data-testid=by-group] text.value", "data-key")
    assert bars == {f"{r['adm0_pcode']}|{r['population_group']}": shown(r)
                    for r in national if r["unit"] == "individuals"}
    causes = api.get("/api/figures/stock", params={"level": 0, "date": dates[-1], "by": "cause",
                                                  "group": "idps", "limit": 10000}).json()["data"]
    assert cell_texts(page, "[data-testid=by-cause] text.value", "data-key") == {
        f"{r['adm0_pcode']}|{r['cause']}": shown(r) for r in causes if r["unit"] == "individuals"}
    series = api.get("/api/figures/series", params={"level": 0, "from": dates[0],
                                                   "to": dates[-1]}).json()["data"]
    page.click("[data-testid=trend] summary")
    trend = page.eval_on_selector_all("[data-testid=trend-table] tbody tr",
                                      "rs => rs.map(r => [...r.cells].map(c => c.textContent))")
    assert trend == [[r["month"], shown(r)] for r in series
                     if r["population_group"] == "idps" and r["unit"] == "individuals"]
    page.screenshot(path=str(SHOTS / "dashboard-overview.png"), full_page=True)

    page.focus("#date")  # the slider is keyboard-operable: Home moves to the first round
    page.keyboard.press("Home")
    page.wait_for_selector(f"section[data-shown='1|{dates[0]}|idps']")
    assert page.text_content("#date-shown") == dates[0]
    assert page.get_attribute("#date", "aria-valuetext") == dates[0]
    overview_matches_api(page, server, 1, dates[0])
    assert f"date={dates[0]}" in page.url  # the view is a shareable URL

    page.select_option("#level", "3")
    page.wait_for_selector(f"section[data-shown='3|{dates[0]}|idps']")
    overview_matches_api(page, server, 3, dates[0])
    page.focus("#date")
    page.keyboard.press("End")
    page.wait_for_selector(f"section[data-shown='3|{dates[-1]}|idps']")
    overview_matches_api(page, server, 3, dates[-1])
    # small cells are suppressed for the public, and said so (never shown as 0 or left blank)
    assert page.locator("[data-testid=overview-table] td:text-is('suppressed')").count() > 0
    assert page.locator("[data-testid=overview-map] path.area[fill='url(#hatch)']").count() > 0


def test_map_is_keyboard_navigable(page, server):
    open_page(page, server, "#/?level=2", "overview")
    page.focus("#date")
    for _ in range(10):  # Tab from the last control reaches the first map area
        page.keyboard.press("Tab")
        if page.evaluate("document.activeElement.matches('path.area')"):
            break
    focused = page.evaluate("[document.activeElement.dataset.pcode, "
                            "document.activeElement.getAttribute('aria-label')]")
    assert focused[0] and re.match(rf"^.+ \({focused[0]}\): ", focused[1])
    page.keyboard.press("Tab")
    second = page.evaluate("document.activeElement.dataset.pcode")
    assert second and second != focused[0]
    page.keyboard.press("Shift+Tab")
    page.keyboard.press("Enter")
    page.wait_for_selector(f"section.area[data-pcode='{focused[0]}']")
    assert page.evaluate("document.activeElement.id") == "main"  # focus follows the page


def test_area_page_from_a_map_click_shows_the_apis_numbers(page, server):
    api = server["api"]
    dates = [d["reference_date"][:10] for d in api.get("/api/figures/dates").json()["data"]]
    open_page(page, server, "#/?level=2", "overview")
    page.click("[data-testid=overview-map] path.area[data-pcode='ZD0101']")
    page.wait_for_selector("main[data-ready='area'] section.area[data-pcode='ZD0101']")
    assert "Shaisa" in page.text_content("h2")

    stock = api.get("/api/figures/stock", params={"level": 2, "area": "ZD0101", "date": dates[-1],
                                                 "by": "group", "limit": 10000}).json()["data"]
    assert stock and cell_texts(page, "[data-testid=area-stock] td[data-key]", "data-key") == {
        f"{r['population_group']}|{r['unit']}": shown(r) for r in stock}
    causes = api.get("/api/figures/stock", params={"level": 2, "area": "ZD0101", "date": dates[-1],
                                                  "by": "cause", "limit": 10000}).json()["data"]
    assert cell_texts(page, "[data-testid=area-causes] td[data-key]", "data-key") == {
        f"{r['population_group']}|{r['cause']}": shown(r) for r in causes
        if r["unit"] == "individuals"}
    flows = api.get("/api/figures/flows", params={"level": 2, "from": dates[-2],
                                                 "to": dates[-1]}).json()["data"]
    want_flows = {f"{r['population_group']}|{r['flow']}|{r['cause']}|{str(r['derived']).lower()}":
                  shown(r) for r in flows if r["adm2_pcode"] == "ZD0101"}
    assert want_flows and cell_texts(page, "[data-testid=area-flows] td[data-key]",
                                     "data-key") == want_flows
    quality = api.get("/api/quality", params={"area": "ZD0101"}).json()["data"]
    shown_quality = cell_texts(page, "[data-testid=area-quality] td[data-severity=warning]",
                               "data-dataset")
    warnings = {}
    for r in quality:
        warnings[r["dataset_id"]] = warnings.get(r["dataset_id"], 0) + (
            r["issues"] if r["severity"] == "warning" else 0)
    assert shown_quality == {d: f"{n:,}" for d, n in warnings.items()}
    assert "analyst token" in page.text_content("section.area")  # gaps need a token

    sign_in(page, server, "area")
    gaps = api.get("/api/solutions/demo_solutions/gaps", params={"area": "ZD0101"},
                   headers={"Authorization": f"Bearer {server['token']}"}).json()["data"]
    assert gaps and cell_texts(page, "[data-testid=area-gaps] td[data-key]", "data-key") == {
        r["indicator"]: f"{r['gap']:.3f}" for r in gaps}
    page.screenshot(path=str(SHOTS / "dashboard-area.png"), full_page=True)


def test_data_quality_page_shows_each_datasets_findings(page, server):
    api = server["api"]
    open_page(page, server, "", "overview")
    page.click("nav >> text=Data quality")
    page.wait_for_selector("main[data-ready='quality']")
    datasets = api.get("/api/datasets").json()["data"]
    for field in ("rows_read", "rows_accepted", "rows_quarantined"):
        assert cell_texts(page, f"[data-testid=datasets] td[data-field={field}]",
                          "data-dataset") == {d["dataset_id"]: f"{d[field]:,}" for d in datasets}
    quality = api.get("/api/quality").json()["data"]
    errors: dict[str, int] = {}
    for r in quality:
        errors[r["dataset_id"]] = errors.get(r["dataset_id"], 0) + (
            r["issues"] if r["severity"] == "error" else 0)
    assert cell_texts(page, "[data-testid=quality-summary] td[data-severity=error]",
                      "data-dataset") == {d: f"{n:,}" for d, n in errors.items()}
    assert page.locator("button[data-dataset]").count() == 0  # findings need a token

    sign_in(page, server, "quality")
    worst = max(datasets, key=lambda d: errors.get(d["dataset_id"], 0))
    page.click(f"button[data-dataset='{worst['dataset_id']}']")
    page.wait_for_selector("[data-testid=findings-table]")
    issues = api.get(f"/api/datasets/{worst['dataset_id']}/issues", params={"limit": 10000},
                     headers={"Authorization": f"Bearer {server['token']}"}).json()
    rows = page.eval_on_selector_all("[data-testid=findings-table] tbody tr",
                                     "rs => rs.map(r => [r.cells[0].textContent, "
                                     "r.cells[4].textContent])")
    assert rows == [[str(i["row"]) if i["row"] is not None else "–", i["code"]]
                    for i in issues["data"]] and len(rows) == issues["total"] > 0
    page.screenshot(path=str(SHOTS / "dashboard-quality.png"), full_page=True)


def test_origin_destination_view_ranks_the_apis_flows(page, server):
    api = server["api"]
    dates = [d["reference_date"][:10] for d in api.get("/api/figures/dates").json()["data"]]
    open_page(page, server, "#/od", "od")
    od = api.get("/api/figures/od", params={"level": 1, "from": dates[0],
                                           "to": dates[-1]}).json()["data"]
    got = cell_texts(page, "[data-testid=od-table] td[data-key]", "data-key")
    want = {f"{r['origin_adm1_pcode'] or ''}|{r['adm1_pcode']}|{r['flow']}|{r['cause']}": shown(r)
            for r in od}
    assert got == want and len(got) > 3
    values = [float(t.replace(",", "")) for t in page.eval_on_selector_all(
        "[data-testid=od-table] td[data-key]", "els => els.map(e => e.textContent)")
        if t not in ("suppressed", "–")]
    assert values == sorted(values, reverse=True)  # ranked
    assert page.locator("[data-testid=od-map] path.od-line").count() > 0
    page.screenshot(path=str(SHOTS / "dashboard-od.png"), full_page=True)
    page.select_option("#od-level", "2")
    page.wait_for_selector(f"section[data-shown='2|{dates[0]}|{dates[-1]}']")
    od2 = api.get("/api/figures/od", params={"level": 2, "from": dates[0],
                                            "to": dates[-1]}).json()["data"]
    ranked = sorted(od2, key=lambda r: -1 if r["suppressed"] else (r["value"] or -1),
                    reverse=True)[:100]
    got2 = cell_texts(page, "[data-testid=od-table] td[data-key]", "data-key")
    assert len(got2) == len(ranked)
    for r in ranked:
        key = f"{r['origin_adm2_pcode'] or ''}|{r['adm2_pcode']}|{r['flow']}|{r['cause']}"
        assert got2[key] == shown(r)
