// 4W page: who reaches how many of the people in need (coverage = reached ÷ people in need per
// area, sector and group, /api/activities/coverage) as a map and the gaps and overlaps behind it,
// and where humanitarian activities end with nothing after them (/api/activities/continuity).
import {get, getAll} from "../api.js";
import {el, table, message, num, count, isSuppressed, pct, groupLabel, day, emptyState} from "../format.js";
import {classedMap, select, sectorLabel, areaNames} from "./classed_map.js";

export const BANDS = [
  {key: "0", label: "under 25% reached", colour: "#b2182b", test: (v) => v < 0.25},
  {key: "1", label: "25% to under 50%", colour: "#ef8a62", test: (v) => v < 0.5},
  {key: "2", label: "50% to under 75%", colour: "#d1e5f0", test: (v) => v < 0.75},
  {key: "3", label: "75% to under 100%", colour: "#67a9cf", test: (v) => v < 1},
  {key: "4", label: "100% or more", colour: "#2166ac", test: () => true},
];
export function band(coverage) {
  if (coverage === null || coverage === undefined) return null;
  return BANDS.find((b) => b.test(coverage)).key;
}
const STATUS = {gap: "gap (nobody reached)", low: "low coverage", covered: "covered",
  no_need: "no need (nobody in need, nobody reached)", no_need_data: "no needs data", humanitarian_only: "humanitarian only", continued: "continued"};

export default async function activitiesPage(ctx) {
  const h = el("h2", {}, "Who does what where (4W)");
  // coverage divides by people in need: without a needs source the API refuses it (400), which
  // is a state to explain here, not an error
  const [needs, cont] = await Promise.all([get("/api/needs/sources"), getAll("/api/activities/continuity")]);
  const cov = needs.data.length ? await getAll("/api/activities/coverage") : {data: []};
  if (!cov.data.length && !cont.data.length) {
    return el("section", {}, h, emptyState("No 4W activity reports yet: coverage and continuity need " +
      "who-does-what-where files (organisation, area, sector, people reached).",
      "idpkit areas activities import 4W.xlsx", "; coverage also needs needs data (see the Needs page)."));
  }
  if (!cov.data.length) {
    const areas = await get("/api/areas", {level: await guessLevel(cont.data)});
    return el("section", {}, h, emptyState("No coverage yet: coverage is people reached ÷ people in " +
      "need, and no needs data set is imported.", "idpkit areas needs import NEEDS.csv --spec NEEDS.yml"),
    continuitySection(cont.data, areaNames(areas)));
  }
  const sectors = [...new Set(cov.data.map((r) => r.sector))].sort();
  const groups = [...new Set(cov.data.map((r) => r.population_group))].sort();
  const p = ctx.params;
  const st = {
    sector: sectors.includes(p.sector) ? p.sector : sectors[0],
    group: groups.includes(p.group) ? p.group : (groups.includes("idps") ? "idps" : groups[0]),
  };
  const level = await guessLevel(cov.data);
  const controls = el("form", {class: "controls", "aria-label": "Coverage settings", onsubmit: (e) => e.preventDefault()},
    select("cov-sector", "Sector", sectors.map((s) => [s, sectorLabel(s)]), st.sector),
    select("cov-group", "Population group", groups.map((g) => [g, groupLabel(g)]), st.group));
  const body = el("div", {});
  const areas = await get("/api/areas", {level});
  const names = areaNames(areas);
  const section = el("section", {}, h,
    el("p", {}, "Coverage is people reached ÷ people in need, per area, sector and population group. " +
      "A gap is an area with people in need and nobody reached; an overlap, several organisations " +
      "doing the same there. “suppressed” marks a small number the public view hides (and a coverage " +
      "that would give it back; hatched on the map); – means no figure."),
    controls, body, continuitySection(cont.data, names));

  const update = () => {
    ctx.setParams(st);
    body.replaceChildren(draw(st, cov.data, areas, names, level));
    section.dataset.shown = `${st.sector}|${st.group}`;
  };
  controls.querySelector("#cov-sector").addEventListener("change", (ev) => { st.sector = ev.target.value; update(); });
  controls.querySelector("#cov-group").addEventListener("change", (ev) => { st.group = ev.target.value; update(); });
  update();
  return section;
}

/** The rows' admin level (the API gives it); older servers without it: the level whose
 * gazetteer holds their P-codes. */
async function guessLevel(rows) {
  if (rows[0] && Number.isInteger(rows[0].admin_level)) return rows[0].admin_level;
  const {data} = await get("/api/areas/levels");
  for (const l of data) {
    const a = await get("/api/areas", {level: l.admin_level});
    if (a.features.some((f) => f.id === rows[0]?.area_pcode)) return l.admin_level;
  }
  return 2;
}

function draw(st, all, areas, names, level) {
  const rows = all.filter((r) => r.sector === st.sector && r.population_group === st.group);
  const byArea = new Map(rows.map((r) => [r.area_pcode, r]));
  const what = `${sectorLabel(st.sector)}, ${groupLabel(st.group)}`;
  const map = classedMap(areas.features, {
    title: `Share of people in need reached by admin ${level} area: ${what}`, classes: BANDS,
    testid: "coverage-map", classOf: (pc) => band(byArea.get(pc)?.coverage),
    source: "the imported 4W reports (people reached) over the latest needs data set's people in need " +
      "(this server's /api/activities/coverage).",
    suppressedOf: (pc) => isSuppressed(byArea.get(pc), "coverage"),
    describe: (f) => { const r = byArea.get(f.id);
      return `${f.properties.name} (${f.id}): ${count(r, "coverage", pct)} reached, ` +
        `${count(r, "reached")} of ${count(r, "people_in_need")} in need`; },
    open: (pc) => { location.hash = `#/area/${encodeURIComponent(pc)}`; },
  });
  const order = [...rows].sort((a, b) => (a.coverage ?? 2) - (b.coverage ?? 2) || a.area_pcode.localeCompare(b.area_pcode));
  const cols = [
    {label: "Area", value: (r) => names.get(r.area_pcode) || r.area_pcode},
    {label: "P-code", value: (r) => r.area_pcode},
    {label: "People in need", num: true, value: (r) => count(r, "people_in_need"), attrs: () => ({"data-field": "people_in_need"})},
    {label: "Reached", num: true, value: (r) => count(r, "reached"), attrs: () => ({"data-field": "reached"})},
    {label: "Coverage", num: true, value: (r) => count(r, "coverage", pct), attrs: () => ({"data-field": "coverage"})},
    {label: "Organisations", num: true, value: (r) => num(r.organisations), attrs: () => ({"data-field": "organisations"})},
    {label: "Status", value: (r) => `${STATUS[r.status] || r.status}${r.overlap ? "; overlap" : ""}`, attrs: () => ({"data-field": "status"})},
  ];
  const all_ = table(`Coverage by area: ${what} (table alternative to the map)`, cols, order,
    {class: "data", "data-testid": "coverage-table"}, (r) => ({"data-pcode": r.area_pcode}));
  const gaps = all.filter((r) => r.sector === st.sector && (r.status === "gap" || r.overlap))
    .sort((a, b) => a.area_pcode.localeCompare(b.area_pcode) || a.population_group.localeCompare(b.population_group));
  const gapTable = gaps.length ? table(`Gaps and overlaps in ${sectorLabel(st.sector)}, every group`, [
    {label: "Area", value: (r) => names.get(r.area_pcode) || r.area_pcode},
    {label: "P-code", value: (r) => r.area_pcode},
    {label: "Group", value: (r) => groupLabel(r.population_group)},
    {label: "People in need", num: true, value: (r) => count(r, "people_in_need"), attrs: () => ({"data-field": "people_in_need"})},
    {label: "Organisations", num: true, value: (r) => num(r.organisations), attrs: () => ({"data-field": "organisations"})},
    {label: "Finding", value: (r) => (r.status === "gap" ? (r.overlap ? "gap; overlap" : "gap") : "overlap"), attrs: () => ({"data-field": "finding"})},
  ], gaps, {class: "data", "data-testid": "gaps-table"}, (r) => ({"data-key": `${r.area_pcode}|${r.population_group}`}))
    : message(`No gaps or overlaps in ${sectorLabel(st.sector)}.`);
  return el("div", {class: "grid"},
    el("div", {class: "col-map"}, map.figure, el("details", {class: "table-alt"},
      el("summary", {}, "Coverage as a table"), all_)),
    el("div", {class: "col-side"}, el("h3", {}, "Gaps and overlaps"), gapTable));
}

function continuitySection(rows, names) {
  const order = [...rows].sort((a, b) => ((a.status === "gap" ? 0 : 1) - (b.status === "gap" ? 0 : 1)) ||
    a.area_pcode.localeCompare(b.area_pcode) || a.period.localeCompare(b.period));
  const n = rows.filter((r) => r.status === "gap").length;
  return el("section", {class: "continuity"}, el("h3", {}, "Continuity: what follows humanitarian activities"),
    el("p", {}, `${n} area-quarter(s) where humanitarian activities end with nothing after them (gaps first); ` +
      "“humanitarian only” means more relief follows but no transition, recovery or development work."),
    rows.length ? table("Humanitarian activities ending per area and quarter, and what follows", [
      {label: "Area", value: (r) => names.get(r.area_pcode) || r.area_pcode},
      {label: "P-code", value: (r) => r.area_pcode},
      {label: "Quarter", value: (r) => r.period},
      {label: "Ending activities", num: true, value: (r) => num(r.ending_activities), attrs: () => ({"data-field": "ending_activities"})},
      {label: "Last end date", value: (r) => day(r.last_end_date)},
      {label: "Humanitarian after", num: true, value: (r) => num(r.following_humanitarian), attrs: () => ({"data-field": "following_humanitarian"})},
      {label: "Longer-term after", num: true, value: (r) => num(r.following_long_term), attrs: () => ({"data-field": "following_long_term"})},
      {label: "Status", value: (r) => STATUS[r.status] || r.status, attrs: () => ({"data-field": "status"})},
    ], order, {class: "data", "data-testid": "continuity-table"}, (r) => ({"data-key": `${r.area_pcode}|${r.period}`}))
      : message("No humanitarian activity has ended yet."));
}
