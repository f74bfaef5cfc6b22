// Needs page: the area phase (1–5) of a population group in a sector, as a map with a fixed phase
// legend and a table, next to the people in need and their confidence intervals. Phases and
// people in need are the stored results of `idpkit needs analyse` (/api/needs/severity, /pin).
import {get, getAll} from "../api.js";
import {el, table, message, count, groupLabel, emptyState, day} from "../format.js";
import {classedMap, select, sectorLabel, areaNames} from "./classed_map.js";

export const PHASES = [
  {key: "1", label: "1 none or minimal", colour: "#cdfacd"},
  {key: "2", label: "2 stress", colour: "#fae61e"},
  {key: "3", label: "3 severe", colour: "#e67800"},
  {key: "4", label: "4 extreme", colour: "#c80000"},
  {key: "5", label: "5 catastrophic", colour: "#640000"},
];

export default async function needsPage(ctx) {
  const h = el("h2", {}, "Needs: severity and people in need");
  // the sources first: without one, /api/needs/severity refuses (400, no needs source), and an
  // empty warehouse is a state to explain, not an error
  const sources = await get("/api/needs/sources");
  const severity = sources.data.length ? await getAll("/api/needs/severity") : {data: []};
  if (!severity.data.length) {
    return el("section", {}, h, emptyState(sources.data.length
      ? "The needs data set holds no severity results yet: import it again with the analysis on."
      : "No needs data yet: severity phases and people in need come from a household survey or " +
        "key-informant file and its needs spec.", "idpkit areas needs import NEEDS.csv --spec NEEDS.yml",
    " (it scores severity and people in need as it imports)."));
  }
  const rows = severity.data;
  const source = rows[0].source_id;
  const meta = sources.data.find((s) => s.source_id === source);
  const levels = [...new Set(rows.map((r) => r.admin_level))].sort();
  const sectors = [...new Set(rows.map((r) => r.sector))].sort((a, b) =>
    (a === "intersectoral" ? -1 : b === "intersectoral" ? 1 : a.localeCompare(b)));
  const groups = [...new Set(rows.map((r) => r.population_group))].sort();
  const p = ctx.params;
  const st = {
    level: levels.includes(Number(p.level)) ? Number(p.level) : levels[0],
    sector: sectors.includes(p.sector) ? p.sector : sectors[0],
    group: groups.includes(p.group) ? p.group : (groups.includes("idps") ? "idps" : groups[0]),
  };
  const controls = el("form", {class: "controls", "aria-label": "Needs settings", onsubmit: (e) => e.preventDefault()},
    select("needs-level", "Admin level", levels.map((l) => [l, `Admin ${l}`]), st.level),
    select("needs-sector", "Sector", sectors.map((s) => [s, sectorLabel(s)]), st.sector),
    select("needs-group", "Population group", groups.map((g) => [g, groupLabel(g)]), st.group));
  const body = el("div", {class: "needs-body"});
  const section = el("section", {}, h,
    el("p", {}, `Source: ${meta ? meta.title : source} (${source}). The phase of an area is the ` +
      "highest phase reached by the share of people its rule names; people in need are estimates " +
      "with the survey's confidence interval where its design gives one. “suppressed” marks a small " +
      "number the public view hides; – means no figure."),
    controls, body);

  let pending = 0;
  const update = async () => {
    const mine = ++pending;
    ctx.setParams(st);
    body.setAttribute("aria-busy", "true");
    const node = await draw(st, source, meta).catch((e) => message(`Could not load needs: ${e.message}`, "error"));
    if (mine !== pending || ctx.stale()) return;
    body.replaceChildren(node);
    body.removeAttribute("aria-busy");
    section.dataset.shown = `${st.level}|${st.sector}|${st.group}`;
  };
  for (const [id, key, cast] of [["needs-level", "level", Number], ["needs-sector", "sector", String], ["needs-group", "group", String]]) {
    controls.querySelector(`#${id}`).addEventListener("change", (ev) => { st[key] = cast(ev.target.value); update(); });
  }
  await update();
  return section;
}

async function draw(st, source, meta) {
  const q = {source, level: st.level, sector: st.sector, group: st.group};
  const [areas, sev, pin] = await Promise.all([
    get("/api/areas", {level: st.level}), getAll("/api/needs/severity", q), getAll("/api/needs/pin", q)]);
  const names = areaNames(areas);
  const phase = new Map(sev.data.map((r) => [r.area_pcode, r]));
  const pins = new Map(pin.data.map((r) => [r.area_pcode, r]));
  const what = `${groupLabel(st.group)}, ${sectorLabel(st.sector)}`;
  const phaseText = (r) => (r && r.phase !== null && r.phase !== undefined ? String(r.phase) : "–");
  const map = classedMap(areas.features, {
    title: `Severity phase by admin ${st.level} area: ${what}`, classes: PHASES, testid: "needs-map",
    source: `${meta ? meta.title : source} (${source})${meta && meta.reference_date ? `, reference date ${day(meta.reference_date)}` : ""}` +
      " (this server's /api/needs/severity).",
    classOf: (pc) => (phase.get(pc)?.phase ?? null) === null ? null : String(phase.get(pc).phase),
    describe: (f) => `${f.properties.name} (${f.id}): phase ${phaseText(phase.get(f.id))}, ` +
      `${count(pins.get(f.id), "people_in_need")} people in need`,
    open: (pc) => { location.hash = `#/area/${encodeURIComponent(pc)}`; },
  });
  const codes = [...new Set([...phase.keys(), ...pins.keys()])].sort((a, b) =>
    ((phase.get(b)?.phase ?? 0) - (phase.get(a)?.phase ?? 0)) ||
    ((pins.get(b)?.people_in_need ?? -1) - (pins.get(a)?.people_in_need ?? -1)) || a.localeCompare(b));
  const hasCi = (r) => r && r.ci_low !== undefined && (r.ci_low !== null || r.ci_high !== null ||
    (r.suppressed || []).some((c) => c === "ci_low" || c === "ci_high"));
  const ci = (r) => (hasCi(r) ? `${count(r, "ci_low")} – ${count(r, "ci_high")}` : "–");
  const tbl = table(`Severity and people in need by area: ${what} (table alternative to the map)`, [
    {label: "Area", value: (pc) => el("a", {href: `#/area/${encodeURIComponent(pc)}`}, names.get(pc) || pc)},
    {label: "P-code", value: (pc) => pc},
    {label: "Phase", num: true, value: (pc) => phaseText(phase.get(pc)), attrs: () => ({"data-field": "phase"})},
    {label: "People in need", num: true, value: (pc) => count(pins.get(pc), "people_in_need"), attrs: () => ({"data-field": "pin"})},
    {label: "Confidence interval", num: true, value: (pc) => ci(pins.get(pc)), attrs: () => ({"data-field": "ci"})},
    {label: "Population", num: true, value: (pc) => count(pins.get(pc), "population"), attrs: () => ({"data-field": "population"})},
    {label: "Rule", value: (pc) => phase.get(pc)?.rule ?? "–"},
  ], codes, {class: "data", "data-testid": "needs-table"}, (pc) => ({"data-pcode": pc}));
  return el("div", {class: "grid"},
    el("div", {class: "col-map"}, map.figure),
    el("div", {class: "col-side"}, el("details", {class: "table-alt", open: true},
      el("summary", {}, "Severity and people in need as a table"), tbl)));
}
