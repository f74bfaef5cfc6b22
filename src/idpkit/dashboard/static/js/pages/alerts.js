// Early-warning page: the latest forecast run's alerts (area, month, forecast with its 80%
// interval, why, and the rule's backtest record), the backtest that chose each model — its verdict
// as the warehouse stores it (/api/forecasts/verdicts: the same sentences as the CLI and the
// report, never recomputed here) — and the forecasts of one area (/api/forecasts*).
import {get, getAll} from "../api.js";
import {el, table, message, num, groupLabel, emptyState} from "../format.js";
import {select} from "./classed_map.js";

const interval = (lo, hi) => (lo === null && hi === null ? "–" : `${num(lo)} – ${num(hi)}`);
const skill = (v) => (v === null || v === undefined ? "–" : v.toFixed(3));

export default async function alertsPage(ctx) {
  const h = el("h2", {}, "Early warning: forecasts and alerts");
  const [alerts, backtests, forecasts, verdicts] = await Promise.all([
    getAll("/api/forecasts/alerts"), getAll("/api/forecasts/backtests"), getAll("/api/forecasts"),
    getAll("/api/forecasts/verdicts")]);
  if (!forecasts.data.length && !alerts.data.length && !backtests.data.length) {
    return el("section", {}, h, emptyState("No forecast run yet: forecasts and alerts are computed from " +
      "the imported flows and stocks.", "idpkit forecast run", " (it backtests every model first)."));
  }
  const run = forecasts.run_id || alerts.run_id || backtests.run_id;
  const section = el("section", {}, h,
    el("p", {}, `Latest forecast run ${run}. Forecasts are estimates with intervals, not counts; ` +
      (forecasts.rounded ? "in the public view they are rounded." : "shown exactly for your role.")),
    el("h3", {}, `Alerts (${alerts.data.length})`),
    alerts.data.length ? table("Early-warning alerts of the latest run", [
      {label: "Area", value: (r) => r.area_name || r.area_pcode},
      {label: "P-code", value: (r) => r.area_pcode},
      {label: "Month", value: (r) => r.target_month},
      {label: "What", value: (r) => `${r.target} (${groupLabel(r.population_group)}, ${r.unit})`},
      {label: "Forecast", num: true, value: (r) => num(r.value), attrs: () => ({"data-field": "value"})},
      {label: "80% interval", num: true, value: (r) => interval(r.lo80, r.hi80), attrs: () => ({"data-field": "interval"})},
      {label: "Recent mean", num: true, value: (r) => num(r.recent_mean), attrs: () => ({"data-field": "recent_mean"})},
      {label: "Reason", value: (r) => r.reason, attrs: () => ({"data-field": "reason"})},
      {label: "Model", value: (r) => r.model},
      {label: "Rule's backtest record", value: (r) => r.caveat || "–", attrs: (r) => ({"data-field": "caveat", class: (r.caveat || "").startsWith("Unconfirmed") || (r.caveat || "").startsWith("Untested") ? "warn" : null})},
    ], alerts.data, {class: "data", "data-testid": "alerts-table"},
    (r) => ({"data-key": `${r.area_pcode}|${r.target_month}|${r.target}|${r.population_group}`}))
      : message("No alerts: no forecast crosses its rule in the latest run."),
    backtestSection(backtests.data, verdicts.data),
    forecastSection(ctx, forecasts.data));
  return section;
}

function backtestSection(rows, verdictRows) {
  const box = el("section", {class: "backtests"}, el("h3", {}, "How good are the forecasts? (backtest)"));
  if (!rows.length) return (box.append(message("This run stored no backtest scores.")), box);
  const verdicts = verdictRows.map((v) => el("li", {
    "data-key": `${v.target}|${v.admin_level}|${v.horizon ?? ""}`,
    "data-beats": v.horizon === null ? "" : (v.candidate_beats_baselines ? "yes" : "no"),
    class: v.horizon !== null && !v.candidate_beats_baselines ? "warn" : null},
    `${v.target}, admin ${v.admin_level}: ${v.sentence}`));
  if (!verdicts.length) verdicts.push(el("li", {}, "This run stored no verdict (made by an older idpkit): run idpkit forecast backtest again."));
  box.append(el("p", {}, "Skill against the expanding mean is 1 − MAE(model) ÷ MAE(expanding mean): " +
      "above 0 the model did better than simply averaging the past; 0 or below, it did not."),
    el("ul", {"data-testid": "backtest-verdicts"}, verdicts),
    table("Backtest scores per model and horizon", [
      {label: "Model", value: (r) => r.model},
      {label: "Target", value: (r) => `${r.target}, admin ${r.admin_level}`},
      {label: "Horizon", num: true, value: (r) => num(r.horizon)},
      {label: "Forecasts scored", num: true, value: (r) => num(r.n)},
      {label: "MAE", num: true, value: (r) => num(r.mae), attrs: () => ({"data-field": "mae"})},
      {label: "Skill vs mean", num: true, value: (r) => skill(r.skill_vs_mean), attrs: () => ({"data-field": "skill_vs_mean"})},
      {label: "Skill vs naive", num: true, value: (r) => skill(r.skill_vs_naive), attrs: () => ({"data-field": "skill_vs_naive"})},
      {label: "80% coverage", num: true, value: (r) => (r.coverage80 === null ? "–" : `${Math.round(r.coverage80 * 100)}%`), attrs: () => ({"data-field": "coverage80"})},
    ], rows, {class: "data", "data-testid": "backtest-table"},
    (r) => ({"data-key": `${r.target}|${r.admin_level}|${r.horizon}|${r.model}`})));
  return box;
}

function forecastSection(ctx, rows) {
  const box = el("section", {class: "forecasts"}, el("h3", {}, "Forecasts per area"));
  if (!rows.length) return (box.append(message("This run stored no forecasts.")), box);
  const areas = [...new Map(rows.map((r) => [r.area_pcode, r.area_name || r.area_pcode])).entries()]
    .sort((a, b) => a[0].localeCompare(b[0]));
  const codes = areas.map(([c]) => c);
  let area = codes.includes(ctx.params.area) ? ctx.params.area : codes[0];
  const ctl = select("fc-area", "Area", areas.map(([c, name]) => [c, `${name} (${c})`]), area);
  const holder = el("div", {"aria-live": "polite"});
  const draw = async () => {
    const res = await get("/api/forecasts", {area});
    holder.replaceChildren(table(`Forecasts for ${area}`, [
      {label: "Month", value: (r) => r.target_month},
      {label: "What", value: (r) => `${r.target} (${groupLabel(r.population_group)}, ${r.unit})`},
      {label: "Horizon", num: true, value: (r) => num(r.horizon)},
      {label: "Forecast", num: true, value: (r) => num(r.value), attrs: () => ({"data-field": "value"})},
      {label: "80% interval", num: true, value: (r) => interval(r.lo80, r.hi80), attrs: () => ({"data-field": "i80"})},
      {label: "95% interval", num: true, value: (r) => interval(r.lo95, r.hi95), attrs: () => ({"data-field": "i95"})},
      {label: "Model", value: (r) => `${r.model}${r.reconciled ? " (reconciled)" : ""}`},
    ], res.data, {class: "data", "data-testid": "forecast-table"},
    (r) => ({"data-key": `${r.target}|${r.population_group}|${r.target_month}`})));
    box.dataset.shown = area;
  };
  ctl.querySelector("select").addEventListener("change", (ev) => {
    area = ev.target.value; ctx.setParams({area});
    draw().catch((e) => holder.replaceChildren(message(`Could not load forecasts: ${e.message}`, "error")));
  });
  box.append(el("form", {class: "controls", "aria-label": "Forecast area", onsubmit: (e) => e.preventDefault()}, ctl), holder);
  draw().catch((e) => holder.replaceChildren(message(`Could not load forecasts: ${e.message}`, "error")));
  return box;
}
