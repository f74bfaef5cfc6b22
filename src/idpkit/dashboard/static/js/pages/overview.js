// Overview: choropleth of the stock by admin level with a date slider, its table alternative,
// national figures by group and by cause, and the monthly trend.
import {get, getAll} from "../api.js";
import {el, figure, table, message, groupLabel, causeLabel, day} from "../format.js";
import {choropleth} from "../map.js";
import {barChart, lineChart} from "../charts.js";

const GROUPS = ["idps", "returnees"];

export default async function overview(ctx) {
  const {dates, levels} = await ctx.meta();
  const h = el("h2", {}, "Displacement overview");
  if (!dates.length) return el("section", {}, h, message("The warehouse holds no stock figures yet: ingest assessments first."));
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
      el("span", {class: "hint"}, `${dates.length} rounds, ${dates[0]} to ${dates[dates.length - 1]}`)));
  const body = el("div", {class: "overview-body"});
  const section = el("section", {}, h, controls, body);

  let pending = 0;
  const update = async () => {
    const mine = ++pending;
    ctx.setParams({level: st.level, date: st.date, group: st.group});
    body.setAttribute("aria-busy", "true");
    const node = await draw(st, dates).catch((e) => message(`Could not load figures: ${e.message}`, "error"));
    if (mine !== pending || ctx.stale()) return;
    body.replaceChildren(node);
    body.removeAttribute("aria-busy");
    section.dataset.shown = `${st.level}|${st.date}|${st.group}`;
  };
  levelSel.addEventListener("change", () => { st.level = Number(levelSel.value); update(); });
  groupSel.addEventListener("change", () => { st.group = groupSel.value; update(); });
  slider.addEventListener("input", () => {
    st.date = dates[Number(slider.value)];
    shown.textContent = st.date;
    slider.setAttribute("aria-valuetext", st.date);
    update();
  });
  await update();
  return section;
}

async function draw(st, dates) {
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
    rowOf: (p) => ind.get(p), describe, testid: "overview-map",
    open: (p) => { location.hash = `#/area/${encodeURIComponent(p)}?date=${st.date}`; },
  });
  const names = new Map(areas.features.map((f) => [f.id, f.properties.name]));
  for (const r of stock.data) if (!names.has(r[code])) names.set(r[code], r[name]);
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
    key: `${r.adm0_pcode}|${r.population_group}`, row: r})), {testid: "by-group"});
  const causeRows = causes.data.filter((r) => r.unit === "individuals");
  const byCause = barChart(`${label} by cause on ${st.date} (individuals)`, causeRows.map((r) => ({
    label: multi ? `${r.adm0_pcode} ${causeLabel(r.cause)}` : causeLabel(r.cause),
    key: `${r.adm0_pcode}|${r.cause}`, row: r})), {testid: "by-cause"});
  let trend = message("One round only: no trend yet.");
  if (series) {
    const countries = [...new Set(series.data.map((r) => r.adm0_pcode))];
    trend = lineChart(`${label} per month, all areas (individuals)`, countries.map((c) => ({
      name: `${c} ${label}`,
      points: series.data.filter((r) => r.adm0_pcode === c && r.population_group === st.group && r.unit === "individuals")
        .map((r) => ({month: r.month, row: r})),
    })), {testid: "trend"});
  }
  return el("div", {class: "grid"},
    el("div", {class: "col-map"}, map.figure, el("details", {class: "table-alt", open: true},
      el("summary", {}, "Figures as a table"), tbl)),
    el("div", {class: "col-side"}, byGroup, byCause, trend));
}
