"""The dashboard's area-view and early-warning pages in headless Chromium: needs severity and
people in need, site risk, 4W coverage and continuity, forecasts and alerts. Every number shown is
checked against the API's answer to the same request (public view, and analyst where it differs).

Reuses the browser, page and helpers of ``test_dashboard_browser.py``; its own server holds a demo
warehouse with two baseline and two site rounds, the flow-monitoring file, the demo's area-view
data (``idpkit demo``'s ``demo_areas``: needs survey and key informants, site conditions, 4W,
consultations) and one small forecast run (baselines and Croston on the four months the flows
give). Screenshots go to docs/img/.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest
import test_dashboard_browser as base
from test_dashboard_browser import SHOTS, cell_texts, open_page, sign_in

# the browser fixtures of test_dashboard_browser.py; `page` resolves `server` to this module's
chromium_path, browser, page = base.chromium_path, base.browser, base.page


def n(v: float | None) -> str:
    """What format.js ``num`` shows for a plain number (en-US, up to two decimals)."""
    if v is None:
        return "–"
    return f"{v:,.2f}".rstrip("0").rstrip(".")


def pct(v: float | None) -> str:
    """format.js ``pct``."""
    return "–" if v is None else f"{v * 100:.1f}%"


@pytest.fixture(scope="module")
def server(tmp_path_factory, demo_operation) -> Iterator[dict]:
    """uvicorn on a free loopback port over the area-view demo warehouse, plus an analyst token."""
    from idpkit.api.auth import create_token
    from idpkit.cli.area_view import demo_areas
    from idpkit.forecast.alerts import AlertRule
    from idpkit.forecast.backtest import BASELINES, BacktestConfig, backtest
    from idpkit.forecast.pipeline import load_panel
    from idpkit.forecast.run import run
    from idpkit.forecast.store import save, verdict_rows
    from idpkit.ingest.pipeline import ingest_file
    from idpkit.warehouse import connect
    from idpkit.warehouse.areas import (
        load_areas,
        read_boundaries_geojson,
        read_gazetteer_csv,
    )

    folder = tmp_path_factory.mktemp("dashboard-areas")
    db = str(folder / "w.duckdb")
    with connect(db) as wh:
        load_areas(wh, read_gazetteer_csv(demo_operation.gazetteer_csv))
        for level, path in sorted(demo_operation.boundaries.items()):
            load_areas(wh, read_boundaries_geojson(path, level))
        files = demo_operation.all_assessment_files()
        for f in [*files[:4], *demo_operation.flow_files]:  # rounds 1-2 with their site files
            assert ingest_file(wh, f).status == "imported"
    demo_areas(folder, demo_operation, db, 7)
    with connect(db) as wh:
        small_cells(wh)
    # a small real run: four months of arrivals only allow one scored origin
    cfg = BacktestConfig(horizons=2, origins=1, calibration=1, min_history=2,
                         models=(*BASELINES, "croston_sba"), seed=7)
    with connect(db) as wh:
        bt = backtest(load_panel(wh, "arrivals", 2), cfg)
        res = run(bt, 2, AlertRule())
        save(wh, forecasts=res.forecasts, alerts=res.alerts,
             backtests=bt.scores.assign(target="arrivals", admin_level=2),
             verdicts=verdict_rows(bt, "arrivals", 2))
        token = create_token(wh, "browser-test-areas", "analyst")

    with base.serve_on_loopback(db) as (url, api):
        yield {"base": url, "api": api, "token": token, "db": db}



def small_cells(wh) -> None:
    """Small numbers the public view must show as "suppressed" (the demo may have none): people
    in need of 3 in the lowest-phase area (inter-sectoral, IDPs, at the first level of the default
    needs source, the one the pages show) and in one WASH/IDPs area (its 4W coverage follows),
    and one site of 3 people."""
    from idpkit.areas.needs import load_source

    src = load_source(wh).source_id
    p = wh.table("need_pin")
    p = p.filter(p.source_id == src)
    sev = wh.table("need_severity")
    sev = sev.filter(sev.source_id == src)
    level = int(sev.admin_level.min().execute())
    low = sev.filter((sev.sector == "intersectoral") & (sev.population_group == "idps") &
                     (sev.admin_level == level)).order_by(["phase", "area_pcode"]).limit(1)
    wash = p.filter((p.sector == "wash") & (p.population_group == "idps") & (p.people_in_need > 0)
                    ).order_by("area_pcode").limit(1)
    site = wh.table("site_conditions").order_by("site_id").limit(1).site_id.execute().iloc[0]
    cell = ("UPDATE need_pin SET people_in_need = 3 WHERE source_id = '{src}' AND sector = '{s}' "
            "AND population_group = 'idps' AND area_pcode = '{a}'")
    wh.execute_atomically([
        cell.format(src=src, s="intersectoral", a=low.area_pcode.execute().iloc[0]),
        cell.format(src=src, s="wash", a=wash.area_pcode.execute().iloc[0]),
        f"UPDATE site_conditions SET individuals = 3 WHERE site_id = '{site}'"])


def shown(r: dict | None, field: str, fmt=None) -> str:
    """What format.js ``count`` shows for an area-view row's field."""
    if r is not None and field in (r.get("suppressed") or []):
        return "suppressed"
    return (fmt or n)(None if r is None else r.get(field))


def ci(r: dict) -> str:
    hidden = {"ci_low", "ci_high"} & set(r.get("suppressed") or [])
    if r.get("ci_low") is None and r.get("ci_high") is None and not hidden:
        return "–"
    return f"{shown(r, 'ci_low')} – {shown(r, 'ci_high')}"


def needs_match_api(pg, api, source: str, level: int, sector: str, group: str) -> None:
    q = {"source": source, "level": level, "sector": sector, "group": group, "limit": 10000}
    sev = api.get("/api/needs/severity", params=q).json()["data"]
    pin = api.get("/api/needs/pin", params=q).json()["data"]
    assert sev and pin
    assert cell_texts(pg, "[data-testid=needs-table] td[data-field=phase]", "data-pcode") == {
        r["area_pcode"]: str(r["phase"]) if r["phase"] is not None else "–" for r in sev}
    assert cell_texts(pg, "[data-testid=needs-table] td[data-field=pin]", "data-pcode") == {
        r["area_pcode"]: shown(r, "people_in_need") for r in pin}
    assert cell_texts(pg, "[data-testid=needs-table] td[data-field=population]",
                      "data-pcode") == {r["area_pcode"]: shown(r, "population") for r in pin}
    return pin
    assert cell_texts(pg, "[data-testid=needs-table] td[data-field=ci]", "data-pcode") == {
        r["area_pcode"]: ci(r) for r in pin}
    classes = pg.eval_on_selector_all(
        "[data-testid=needs-map] path.area",
        "els => Object.fromEntries(els.map(e => [e.dataset.pcode, e.dataset.class]))")
    assert classes  # the demo loads boundaries for every level
    for r in sev:
        assert classes[r["area_pcode"]] == str(r["phase"])


def test_needs_page_shows_the_apis_phases_and_people_in_need(page, server):
    api = server["api"]
    open_page(page, server, "", "overview")
    page.click("nav >> text=Needs")
    page.wait_for_selector("main[data-ready='needs']")
    sev = api.get("/api/needs/severity", params={"limit": 10000}).json()["data"]
    source, level = sev[0]["source_id"], min(r["admin_level"] for r in sev)
    assert page.input_value("#needs-sector") == "intersectoral"
    assert page.locator("#needs-sector option[value=intersectoral]").count() == 1
    pin = needs_match_api(page, api, source, level, "intersectoral", "idps")
    # a suppressed small number reads "suppressed", a cell with no figure "–"
    hidden = [r["area_pcode"] for r in pin if "people_in_need" in r["suppressed"]]
    assert hidden and all(pr["people_in_need"] is None for pr in pin
                          if pr["area_pcode"] in hidden)
    texts = cell_texts(page, "[data-testid=needs-table] td[data-field=pin]", "data-pcode")
    assert {texts[a] for a in hidden} == {"suppressed"}
    assert all(texts[r["area_pcode"]] == "–" for r in pin
               if r["people_in_need"] is None and r["area_pcode"] not in hidden)
    assert page.locator("[data-testid=needs-map] .legend li").count() == 6  # phases 1-5, no data
    # the public view rounds people in need: the page shows the rounded numbers, not exact ones
    assert page.locator("[data-testid=needs-table] td[data-field=pin]").first.text_content() \
        .endswith("00")
    page.screenshot(path=str(SHOTS / "dashboard-needs.png"), full_page=True)

    page.select_option("#needs-sector", "wash")
    page.wait_for_selector(f"section[data-shown='{level}|wash|idps']")
    page.select_option("#needs-group", "host_community")
    page.wait_for_selector(f"section[data-shown='{level}|wash|host_community']")
    needs_match_api(page, api, source, level, "wash", "host_community")
    assert "sector=wash" in page.url and "group=host_community" in page.url


def test_sites_page_lists_flagged_sites_first_and_sorts(page, server):
    api = server["api"]
    open_page(page, server, "#/sites", "sites")
    risk = api.get("/api/sites/risk", params={"limit": 10000}).json()["data"]
    assert len(risk) > 3 and any(r["flagged"] for r in risk)
    assert cell_texts(page, "[data-testid=sites-table] td[data-field=tier]", "data-site") == {
        r["site_id"]: r["tier"] for r in risk}
    assert cell_texts(page, "[data-testid=sites-table] td[data-field=individuals]",
                      "data-site") == {r["site_id"]: shown(r, "individuals") for r in risk}
    assert any("individuals" in r["suppressed"] for r in risk)
    assert cell_texts(page, "[data-testid=sites-table] td[data-field=reasons]", "data-site") == {
        r["site_id"]: ", ".join(r["reasons"].split(",")) if r["reasons"] else "none"
        for r in risk}
    order = page.eval_on_selector_all("[data-testid=sites-table] tbody tr",
                                      "rs => rs.map(r => r.dataset.site)")
    flagged = [r["site_id"] for r in risk if r["flagged"]]
    assert order == flagged + [r["site_id"] for r in risk if not r["flagged"]]
    page.screenshot(path=str(SHOTS / "dashboard-sites.png"), full_page=True)

    page.click("th[data-key=individuals] button")
    page.click("th[data-key=individuals] button")  # second click: descending
    page.wait_for_selector("section[data-shown='individuals|desc']")
    assert page.get_attribute("th[data-key=individuals]", "aria-sort") == "descending"
    assert page.evaluate("document.activeElement.closest('th').dataset.key") == "individuals"
    shown_people = page.eval_on_selector_all(
        "[data-testid=sites-table] td[data-field=individuals]",
        "els => els.map(e => e.textContent)")
    values = [float(t.replace(",", "")) for t in shown_people if t not in ("–", "suppressed")]
    assert values == sorted(values, reverse=True) and len(values) == sum(
        r["individuals"] is not None for r in risk)


def test_activities_page_shows_coverage_gaps_and_continuity(page, server):
    api = server["api"]
    open_page(page, server, "#/activities?sector=wash&group=idps", "activities")
    cov = [r for r in api.get("/api/activities/coverage", params={"limit": 10000}).json()["data"]
           if r["sector"] == "wash" and r["population_group"] == "idps"]
    assert cov
    for field, fmt in (("coverage", pct), ("people_in_need", n), ("reached", n)):
        assert cell_texts(page, f"[data-testid=coverage-table] td[data-field={field}]",
                          "data-pcode") == {r["area_pcode"]: shown(r, field, fmt) for r in cov}
    hidden = [r for r in cov if "coverage" in r["suppressed"]]
    assert hidden and all(r["coverage"] is None for r in hidden)
    bands = page.eval_on_selector_all(
        "[data-testid=coverage-map] path.area",
        "els => Object.fromEntries(els.map(e => [e.dataset.pcode, e.dataset.class]))")
    edges = [0.25, 0.5, 0.75, 1.0]
    for r in cov:
        want = ("suppressed" if "coverage" in r["suppressed"] else "none" if r["coverage"] is None
                else str(sum(r["coverage"] >= e for e in edges)))
        assert bands[r["area_pcode"]] == want
    fills = page.eval_on_selector_all(
        "[data-testid=coverage-map] path.area",
        "els => Object.fromEntries(els.map(e => [e.dataset.pcode, e.getAttribute('fill')]))")
    assert all(fills[r["area_pcode"]] == "url(#hatch)" for r in hidden)  # as the figure maps
    assert page.locator("[data-testid=coverage-map] .legend li[data-class=suppressed]").count() == 1
    all_cov = api.get("/api/activities/coverage", params={"limit": 10000}).json()["data"]
    gaps = {f"{r['area_pcode']}|{r['population_group']}": shown(r, "people_in_need")
            for r in all_cov if r["sector"] == "wash" and (r["status"] == "gap" or r["overlap"])}
    assert gaps and cell_texts(page, "[data-testid=gaps-table] td[data-field=people_in_need]",
                               "data-key") == gaps
    cont = api.get("/api/activities/continuity", params={"limit": 10000}).json()["data"]
    shown_status = cell_texts(page, "[data-testid=continuity-table] td[data-field=status]",
                              "data-key")
    assert set(shown_status) == {f"{r['area_pcode']}|{r['period']}" for r in cont}
    assert cell_texts(page, "[data-testid=continuity-table] td[data-field=ending_activities]",
                      "data-key") == {f"{r['area_pcode']}|{r['period']}": n(r["ending_activities"])
                                      for r in cont}
    first = page.eval_on_selector_all("[data-testid=continuity-table] tbody tr",
                                      "rs => rs.map(r => r.dataset.key)")
    n_gaps = sum(r["status"] == "gap" for r in cont)
    assert n_gaps and all(shown_status[k].startswith("gap") for k in first[:n_gaps])
    page.screenshot(path=str(SHOTS / "dashboard-activities.png"), full_page=True)


def test_alerts_page_shows_alerts_backtests_and_forecasts(page, server):
    api = server["api"]
    open_page(page, server, "#/alerts", "alerts")
    alerts = api.get("/api/forecasts/alerts", params={"limit": 10000}).json()["data"]
    key = "{area_pcode}|{target_month}|{target}|{population_group}"
    assert alerts and cell_texts(page, "[data-testid=alerts-table] td[data-field=interval]",
                                 "data-key") == {
        key.format(**r): f"{n(r['lo80'])} – {n(r['hi80'])}" for r in alerts}
    assert cell_texts(page, "[data-testid=alerts-table] td[data-field=value]", "data-key") == {
        key.format(**r): n(r["value"]) for r in alerts}
    assert cell_texts(page, "[data-testid=alerts-table] td[data-field=reason]", "data-key") == {
        key.format(**r): r["reason"] for r in alerts}

    bt = api.get("/api/forecasts/backtests", params={"limit": 10000}).json()["data"]
    assert cell_texts(page, "[data-testid=backtest-table] td[data-field=skill_vs_mean]",
                      "data-key") == {
        f"{r['target']}|{r['admin_level']}|{r['horizon']}|{r['model']}":
            "–" if r["skill_vs_mean"] is None else f"{r['skill_vs_mean']:.3f}" for r in bt}
    # one story: the page shows the verdict the warehouse stores (the CLI's and the report's
    # sentences), and says "beats" exactly where the best candidate's MAE is below every
    # baseline's in the backtest scores
    stored = api.get("/api/forecasts/verdicts").json()["data"]
    shown = page.eval_on_selector_all(
        "[data-testid=backtest-verdicts] li",
        "els => els.map(e => [e.dataset.key, e.dataset.beats, e.textContent])")
    assert [t for _, _, t in shown] == [
        f"{v['target']}, admin {v['admin_level']}: {v['sentence']}" for v in stored]
    baselines = {"naive", "seasonal_naive", "expanding_mean", "moving_average"}
    for vkey, beats, _ in shown:
        target, level, horizon = vkey.split("|")
        if not horizon:
            continue
        g = [r for r in bt if (r["target"], str(r["admin_level"]), str(r["horizon"])) ==
             (target, level, horizon)]
        cand = min((r["mae"] for r in g if r["model"] not in baselines), default=None)
        base = min(r["mae"] for r in g if r["model"] in baselines)
        assert beats == ("yes" if cand is not None and cand < base else "no")
    assert shown
    assert cell_texts(page, "[data-testid=alerts-table] td[data-field=caveat]", "data-key") == {
        key.format(**r): r["caveat"] for r in alerts}

    fc = api.get("/api/forecasts", params={"limit": 10000}).json()["data"]
    areas = sorted({r["area_pcode"] for r in fc})
    for area in (areas[0], areas[-1]):
        if area != areas[0]:
            page.select_option("#fc-area", area)
        page.wait_for_selector(f"section.forecasts[data-shown='{area}']")
        rows = api.get("/api/forecasts", params={"area": area}).json()["data"]
        assert rows and cell_texts(page, "[data-testid=forecast-table] td[data-field=i80]",
                                   "data-key") == {
            f"{r['target']}|{r['population_group']}|{r['target_month']}":
                f"{n(r['lo80'])} – {n(r['hi80'])}" if r["lo80"] is not None or
                r["hi80"] is not None else "–" for r in rows}
    page.screenshot(path=str(SHOTS / "dashboard-alerts.png"), full_page=True)

    sign_in(page, server, "alerts")  # analysts get exact forecasts
    exact = api.get("/api/forecasts/alerts", params={"limit": 10000},
                    headers={"Authorization": f"Bearer {server['token']}"}).json()["data"]
    assert cell_texts(page, "[data-testid=alerts-table] td[data-field=value]", "data-key") == {
        key.format(**r): n(r["value"]) for r in exact}
