// Area page: stock by group and cause, monthly trend, flows since the previous round, solutions
// gaps from surveys that cover the area, and the datasets and findings its numbers rest on.
import {get, getAll, ApiError, token} from "../api.js";
import {el, figure, table, message, groupLabel, causeLabel, day, num} from "../format.js";
import {lineChart} from "../charts.js";

export default async function areaPage(ctx, pcode) {
  const {dates} = await ctx.meta();
  const all = await get("/api/areas", {format: "json"});
  const area = all.data.find((a) => a.pcode === pcode);
  if (!area) return el("section", {}, el("h2", {}, pcode), message(`No area with P-code ${pcode} in the gazetteer.`, "error"));
  const L = area.admin_level, code = `adm${L}_pcode`;
  const date = dates.includes(ctx.params.date) ? ctx.params.date : dates[dates.length - 1];
  const prev = dates[dates.indexOf(date) - 1];
  const byCode = new Map(all.data.map((a) => [a.pcode, a]));
  const chain = [];
  for (let p = byCode.get(area.parent_pcode); p; p = byCode.get(p.parent_pcode)) chain.unshift(p);

  const [stock, causes, series, flows, quality, gaps] = await Promise.all([
    date ? getAll("/api/figures/stock", {level: L, area: pcode, date, by: "group"}) : null,
    date ? getAll("/api/figures/stock", {level: L, area: pcode, date, by: "cause"}) : null,
    dates.length > 1 ? get("/api/figures/series", {level: L, from: dates[0], to: dates[dates.length - 1]}) : null,
    prev ? get("/api/figures/flows", {level: L, from: prev, to: date}) : null,
    get("/api/quality", {area: pcode}),
    solutionGaps(pcode),
  ]);

  const sec = el("section", {class: "area", "data-pcode": pcode});
  sec.append(el("nav", {class: "crumbs", "aria-label": "Parent areas"}, el("a", {href: `#/?level=${L}&date=${date || ""}`}, "Overview"),
    chain.map((a) => [" › ", el("a", {href: `#/area/${encodeURIComponent(a.pcode)}?date=${date || ""}`}, a.name)])));
  sec.append(el("h2", {}, `${area.name} `, el("span", {class: "pcode"}, `${pcode} · admin ${L}`)));
  if (!date) return sec.append(message("No stock figures yet.")), sec;

  sec.append(el("h3", {}, `Population on ${date}`));
  const rows = stock.data.filter((r) => r[code] === pcode);
  sec.append(rows.length ? table(`Stock by population group on ${date}`, [
    {label: "Group", value: (r) => groupLabel(r.population_group)},
    {label: "Unit", value: (r) => r.unit},
    {label: "Figure", num: true, value: (r) => figure(r), attrs: (r) => ({"data-key": `${r.population_group}|${r.unit}`})},
    {label: "Source date", value: (r) => day(r.source_date)},
    {label: "Stale", value: (r) => (r.stale ? "yes" : "no")},
  ], rows, {class: "data", "data-testid": "area-stock"}) : message("No assessment reports on this area at this date."));
  const crows = causes.data.filter((r) => r[code] === pcode && r.unit === "individuals");
  if (crows.length) sec.append(table("By cause (individuals)", [
    {label: "Group", value: (r) => groupLabel(r.population_group)},
    {label: "Cause", value: (r) => causeLabel(r.cause)},
    {label: "Figure", num: true, value: (r) => figure(r), attrs: (r) => ({"data-key": `${r.population_group}|${r.cause}`})},
  ], crows, {class: "data", "data-testid": "area-causes"}));

  if (series) {
    const mine = series.data.filter((r) => r[code] === pcode && r.unit === "individuals");
    const groups = [...new Set(mine.map((r) => r.population_group))];
    sec.append(lineChart("Monthly stock (individuals)", groups.map((g) => ({
      name: groupLabel(g), points: mine.filter((r) => r.population_group === g).map((r) => ({month: r.month, row: r}))})),
    {testid: "area-trend", source: "month-end stocks of every imported round (this server's /api/figures/series)."}));
  }

  sec.append(el("h3", {}, prev ? `Flows from ${prev} to ${date}` : "Flows"));
  const frows = flows ? flows.data.filter((r) => r[code] === pcode) : [];
  sec.append(!prev ? message("This is the first round: no earlier round to measure flows from.")
    : frows.length ? table(`Flows from ${prev} to ${date}`, [
      {label: "Group", value: (r) => groupLabel(r.population_group)},
      {label: "Flow", value: (r) => r.flow},
      {label: "Cause", value: (r) => causeLabel(r.cause)},
      {label: "How known", value: (r) => (r.derived ? "derived (stock change)" : "reported")},
      {label: "People", num: true, value: (r) => figure(r), attrs: (r) => ({"data-key": `${r.population_group}|${r.flow}|${r.cause}|${r.derived}`})},
    ], frows, {class: "data", "data-testid": "area-flows"}) : message("No flows reported or derived for this area in this period."));

  sec.append(el("h3", {}, "Durable solutions: gaps between IDPs and comparison groups"));
  sec.append(gaps);

  sec.append(el("h3", {}, "Data quality"));
  sec.append(qualityTable(quality.data, "Datasets with figures for this area and their findings on its rows", "area-quality"));
  return sec;
}

async function solutionGaps(pcode) {
  if (!token()) return message("Survey results need an analyst token (enter it above).");
  let surveys;
  try {
    surveys = (await get("/api/solutions")).data;
  } catch (e) {
    if (e instanceof ApiError && (e.status === 403 || e.status === 401)) {
      return message("Survey results need an analyst token (enter it above).");
    }
    throw e;
  }
  const parts = [];
  for (const s of surveys) {
    const g = await getAll(`/api/solutions/${encodeURIComponent(s.survey_id)}/gaps`, {area: pcode}).catch(() => ({data: []}));
    if (!g.data.length) continue;
    parts.push(table(`${s.title || s.survey_id} (${day(s.reference_date)})`, [
      {label: "Indicator", value: (r) => r.indicator},
      {label: "Criterion", value: (r) => r.criterion},
      {label: `${groupLabel(g.data[0].focal)}`, num: true, value: (r) => est(r.focal_estimate)},
      {label: "Comparison", num: true, value: (r) => est(r.comparison_estimate)},
      {label: "Gap", num: true, value: (r) => est(r.gap), attrs: (r) => ({"data-key": r.indicator})},
      {label: "95% CI", num: true, value: (r) => `${est(r.gap_ci_low)} to ${est(r.gap_ci_high)}`},
      {label: "Status", value: (r) => r.status},
    ], g.data, {class: "data", "data-testid": "area-gaps"}));
  }
  return parts.length ? el("div", {}, parts) : message("No survey covers this area.");
}

function est(v) { return v === null || v === undefined ? "–" : Number(v).toFixed(3); }

/** Rows of /api/quality (one per dataset, code, severity) as one row per dataset. */
export function qualityTable(rows, caption, testid) {
  const byDs = new Map();
  for (const r of rows) {
    if (!byDs.has(r.dataset_id)) byDs.set(r.dataset_id, {...r, findings: [], error: 0, warning: 0, info: 0});
    const d = byDs.get(r.dataset_id);
    if (r.code) { d.findings.push(r); d[r.severity] = (d[r.severity] || 0) + r.issues; }
  }
  const ds = [...byDs.values()];
  if (!ds.length) return message("No dataset has figures for this area.");
  return table(caption, [
    {label: "File", value: (d) => d.file_name},
    {label: "Type", value: (d) => d.assessment_type},
    {label: "Date", value: (d) => day(d.reporting_date)},
    {label: "Observations", num: true, value: (d) => num(d.observations)},
    {label: "Errors", num: true, value: (d) => num(d.error), attrs: () => ({"data-severity": "error"})},
    {label: "Warnings", num: true, value: (d) => num(d.warning), attrs: () => ({"data-severity": "warning"})},
    {label: "Findings", value: (d) => (d.findings.length ? d.findings.map((f) => `${f.code} ×${f.issues}`).join(", ") : "none")},
  ], ds, {class: "data", "data-testid": testid}, (d) => ({"data-dataset": d.dataset_id}));
}
