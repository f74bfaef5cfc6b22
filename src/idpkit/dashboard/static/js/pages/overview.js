// Overview: choropleth of the stock by admin level with a date slider, its table alternative,
// national figures by group and by cause, and the monthly trend.
import {get, getAll} from "../api.js";
import {el, figure, table, message, groupLabel, causeLabel, day, emptyState} from "../format.js";
import {choropleth} from "../map.js";
import {barChart, lineChart} from "../charts.js";

const GROUPS = ["idps", "returnees"];
/** How long the controls wait for the user to pause before asking the API. */
const DEBOUNCE_MS = 250;

export default async function overview(ctx) {
  const {dates, levels, datasetsOn} = await ctx.meta();
  const h = el("h2", {}, "Displacement overview");
  if (!dates.length) {
    return el("section", {}, h, emptyState("The warehouse holds no stock figures yet: the map and tables " +
      "need DTM baseline or site assessments (CSV, XLSX with HXL rows, DTM API JSON).",
      "idpkit ingest ASSESSMENT.xlsx", "; load P-codes and boundaries with idpkit areas load."));
  }
  const mapLevels = levels.filter((l) => l.admin_level >= 1);
  const drawable = mapLevels.filter((l) => l.with_boundaries > 0);
  const p = ctx.params;
  const st = {
    level: Number(p.level) || (drawable[0] || mapLevels[0] || {admin_level: 1}).admin_level,
    date: dates.includes(p.date) ? p.date : dates[dates.length - 1],
    group: GROUPS.includes(p.group) ? p.group : "idps",
  };

  const levelSel = el("select", {id: "level", name: "level"},
    mapLevels.map((l) => el("option", {value: l.admin_level, selected: l.admin_level === st.level},
      `Admin ${l.admin_level} (${l.areas} areas${l.with_boundaries ? "" : ", no boundaries"})`)));
  const groupSel = el("select", {id: "group", name: "group"},
    GROUPS.map((g) => el("option", {value: g, selected: g === st.group}, groupLabel(g))));
  const slider = el("input", {id: "date", type: "range", min: 0, max: dates.length - 1, step: 1,
    value: dates.indexOf(st.date), "aria-valuetext": st.date, list: "date-ticks"});
  const shown = el("output", {id: "date-shown", for: "date"}, st.date);
  const ticks = el("datalist", {id: "date-ticks"}, dates.map((d, i) => el("option", {value: i, label: d})));
  const controls = el("form", {class: "controls", "aria-label": "Map settings", onsubmit: (e) => e.preventDefault()},
    el("div", {}, el("label", {for: "level"}, "Admin level"), levelSel),
    el("div", {}, el("label", {for: "group"}, "Population group"), groupSel),
    el("div", {class: "slider"}, el("label", {for: "date"}, "Reference date"), slider, shown, ticks,
      // reference dates, not "rounds": several operations' rounds can share a date, and one
      // round's files can carry different dates
      el("span", {class: "hint"}, `${dates.length} reference dates with figures, ${dates[0]} to ${dates[dates.length - 1]}`)));
  const busy = el("p", {class: "updating", role: "status", "data-testid": "updating", hidden: true}, "Updating…");
  const body = el("div", {class: "overview-body"});
  const section = el("section", {}, h, controls, busy, body);

  let pending = 0, timer = null;
  const update = async () => {
    clearTimeout(timer);
    const mine = ++pending;
    ctx.setParams({level: st.level, date: st.date, group: st.group});
    const node = await draw(st, dates, datasetsOn).catch((e) => message(`Could not load figures: ${e.message}`, "error"));
    if (mine !== pending || ctx.stale()) return;  // a later setting superseded this one
    body.replaceChildren(node);
    body.removeAttribute("aria-busy");
    busy.hidden = true;
    section.dataset.shown = `${st.level}|${st.date}|${st.group}`;
  };
  /** Mark what is shown as out of date at once, but ask the API only once the user pauses:
   * arrow keys held on the slider would otherwise send five requests per step. */
  const soon = () => {
    ++pending;  // answers still on their way are for a setting the user has left
    body.setAttribute("aria-busy", "true");
    busy.hidden = false;
    clearTimeout(timer);
    timer = setTimeout(update, DEBOUNCE_MS);
  };
  levelSel.addEventListener("change", () => { st.level = Number(levelSel.value); soon(); });
  groupSel.addEventListener("change", () => { st.group = groupSel.value; soon(); });
  slider.addEventListener("input", () => {
    st.date = dates[Number(slider.value)];
    shown.textContent = st.date;
    slider.setAttribute("aria-valuetext", st.date);
    soon();
  });
  await update();
  return section;
}

async function draw(st, dates, datasetsOn) {
  const n = datasetsOn.get(st.date) || 0;
  const source = `${n} imported assessment${n === 1 ? "" : "s"} reporting on ${st.date} ` +
    "(this server's /api/figures/stock).";
  const code = `adm${st.level}_pcode`, name = `adm${st.level}_name`;
  const [areas, stock, national, causes, series] = await Promise.all([
    get("/api/areas", {level: st.level}),
    getAll("/api/figures/stock", {level: st.level, date: st.date, by: "group", group: st.group}),
    getAll("/api/figures/stock", {level: 0, date: st.date, by: "group"}),
    getAll("/api/figures/stock", {level: 0, date: st.date, by: "cause", group: st.group}),
    dates.length > 1 ? get("/api/figures/series", {level: 0, from: dates[0], to: dates[dates.length - 1]}) : null,
  ]);
  const ind = new Map(), hh = new Map();
  for (const r of stock.data) (r.unit === "individuals" ? ind : hh).set(r[code], r);
  const label = groupLabel(st.group);
  const describe = (f, r) => `${f.properties.name} (${f.id}): ${figure(r)} ${label} (individuals)`;
  const map = choropleth(areas.features, {
    title: `${label} (individuals) by admin ${st.level} area on ${st.date}`,
    rowOf: (p) => ind.get(p), describe, testid: "overview-map", source,
    open: (p) => { location.hash = `#/area/${encodeURIComponent(p)}?date=${st.date}`; },
  });
  // only areas with a figure: a global gazetteer has thousands of areas no assessment covers
  // (the map still draws them, grey); names come from the gazetteer, else from the figure row
  const gazetteer = new Map(areas.features.map((f) => [f.id, f.properties.name]));
  const names = new Map();
  for (const r of stock.data) if (r[code]) names.set(r[code], gazetteer.get(r[code]) || r[name] || null);
  const rows = [...names.keys()].sort((a, b) => ((ind.get(b)?.value ?? -1) - (ind.get(a)?.value ?? -1)) || a.localeCompare(b));
  const tbl = table(`${label} by admin ${st.level} area on ${st.date} (table alternative to the map)`, [
    {label: "Area", value: (p) => el("a", {href: `#/area/${encodeURIComponent(p)}?date=${st.date}`}, names.get(p) || p)},
    {label: "P-code", value: (p) => p},
    {label: "Individuals", num: true, value: (p) => figure(ind.get(p)), attrs: () => ({"data-unit": "individuals"})},
    {label: "Households", num: true, value: (p) => figure(hh.get(p)), attrs: () => ({"data-unit": "households"})},
    {label: "Source date", value: (p) => day(ind.get(p)?.source_date)},
    {label: "Coverage", num: true, value: (p) => (ind.get(p)?.coverage == null ? "–" : `${Math.round(ind.get(p).coverage * 100)}%`)},
  ], rows, {class: "data", "data-testid": "overview-table"}, (p) => ({"data-pcode": p}));

  const natInd = national.data.filter((r) => r.unit === "individuals");
  const multi = new Set(natInd.map((r) => r.adm0_pcode)).size > 1;
  const byGroup = barChart(`Population by group on ${st.date} (individuals)`, natInd.map((r) => ({
    label: multi ? `${r.adm0_pcode} ${groupLabel(r.population_group)}` : groupLabel(r.population_group),
    key: `${r.adm0_pcode}|${r.population_group}`, row: r})), {testid: "by-group", source});
  const causeRows = causes.data.filter((r) => r.unit === "individuals");
  const byCause = barChart(`${label} by cause on ${st.date} (individuals)`, causeRows.map((r) => ({
    label: multi ? `${r.adm0_pcode} ${causeLabel(r.cause)}` : causeLabel(r.cause),
    key: `${r.adm0_pcode}|${r.cause}`, row: r})), {testid: "by-cause", source});
  let trend = message("One round only: no trend yet.");
  if (series) {
    const countries = [...new Set(series.data.map((r) => r.adm0_pcode))];
    // one line per country, told apart by the key (a multi-country gazetteer: issue 21 item 5)
    trend = lineChart(`${label} per month, all areas (individuals)${countries.length > 1 ? ", one line per country" : ""}`, countries.map((c) => ({
      name: `${c} ${label}`,
      points: series.data.filter((r) => r.adm0_pcode === c && r.population_group === st.group && r.unit === "individuals")
        .map((r) => ({month: r.month, row: r})),
    })), {testid: "trend", source: `every round from ${dates[0]} to ${dates[dates.length - 1]}, ` +
      "month-end stocks (this server's /api/figures/series)."});
  }
  return el("div", {class: "grid"},
    el("div", {class: "col-map"}, map.figure, el("details", {class: "table-alt", open: true},
      el("summary", {}, "Figures as a table"), tbl)),
    el("div", {class: "col-side"}, byGroup, byCause, trend));
}
