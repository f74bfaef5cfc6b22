// Sites page: the site-risk list of the latest round (/api/sites/risk): tier, the thresholds each
// site breaches, and the trend since its previous round; flagged sites first. Every column sorts
// (header buttons, aria-sort), so a coordinator can reorder by people, points or area.
import {getAll} from "../api.js";
import {el, num, count, day, scrollBox, emptyState} from "../format.js";

const TIER_ORDER = {high: 0, medium: 1, low: 2};
const COLUMNS = [
  {key: "site_name", label: "Site", text: (r) => r.site_name || r.site_id},
  {key: "site_id", label: "Site ID", text: (r) => r.site_id},
  {key: "area_pcode", label: "Area P-code", text: (r) => r.area_pcode},
  {key: "site_type", label: "Type", text: (r) => (r.site_type || "–").replaceAll("_", " ")},
  {key: "individuals", label: "Individuals", num: true, text: (r) => count(r, "individuals")},
  {key: "tier", label: "Risk tier", text: (r) => r.tier || "–", sort: (r) => TIER_ORDER[r.tier] ?? 3},
  {key: "points", label: "Points", num: true, text: (r) => num(r.points)},
  {key: "reasons", label: "Thresholds breached", text: (r) => (r.reasons ? r.reasons.split(",").join(", ") : "none")},
  {key: "missing", label: "Not measured", text: (r) => (r.missing ? r.missing.split(",").join(", ") : "")},
  {key: "trend", label: "Trend", text: (r) => trendText(r)},
  {key: "flagged", label: "Flagged", text: (r) => (r.flagged ? "yes" : "no"), sort: (r) => (r.flagged ? 0 : 1)},
  {key: "assessment_date", label: "Assessed", text: (r) => `${day(r.assessment_date)} (${r.round ?? "–"})`},
];

function trendText(r) {
  if (!r.trend) return "first round";
  return r.previous_tier ? `${r.trend} (was ${r.previous_tier}, ${num(r.previous_points)} points)` : r.trend;
}

export default async function sitesPage(ctx) {
  const h = el("h2", {}, "Sites at risk");
  const risk = await getAll("/api/sites/risk");
  if (!risk.data.length) {
    return el("section", {}, h, emptyState("No site measurements yet: the risk list needs site conditions " +
      "(people, covered area, water, latrines… per site and round).", "idpkit areas sites import SITES.csv",
      " (CSV or XLSX; several files at once are fine)."));
  }
  // flagged first, then the API's order (worst tier, most points)
  const base = risk.data.map((r, i) => ({...r, _i: i}))
    .sort((a, b) => (a.flagged === b.flagged ? a._i - b._i : a.flagged ? -1 : 1));
  const st = {key: COLUMNS.some((c) => c.key === ctx.params.sort) ? ctx.params.sort : null,
    desc: ctx.params.dir === "desc"};
  const flagged = base.filter((r) => r.flagged).length;
  const holder = el("div", {});
  const status = el("p", {class: "hint", role: "status", "aria-live": "polite"});
  const section = el("section", {}, h,
    el("p", {}, `${flagged} of ${base.length} sites flagged in their latest round. A site is scored ` +
      "against the minimum standards in the risk configuration (covered space, water, latrines…); " +
      "the tier follows its points, the trend compares with its previous round. “suppressed” marks " +
      "a small number of people the public view hides; – means no figure."),
    status, holder);

  const render = () => {
    let rows = base;
    if (st.key) {
      const c = COLUMNS.find((x) => x.key === st.key);
      const keyOf = c.sort || ((r) => r[c.key]);
      rows = [...base].sort((a, b) => {
        const x = keyOf(a), y = keyOf(b);
        const cmp = x === y ? 0 : x === null || x === undefined ? 1 : y === null || y === undefined ? -1
          : typeof x === "number" ? x - y : String(x).localeCompare(String(y));
        return (st.desc ? -cmp : cmp) || a._i - b._i;
      });
    }
    holder.replaceChildren(sitesTable(rows, st, (key) => {
      st.desc = st.key === key ? !st.desc : false;
      st.key = key;
      ctx.setParams({sort: st.key, dir: st.desc ? "desc" : "asc"});
      render();
      status.textContent = `Sorted by ${COLUMNS.find((c) => c.key === key).label}, ${st.desc ? "descending" : "ascending"}.`;
      holder.querySelector(`th[data-key='${key}'] button`).focus();
    }));
    section.dataset.shown = `${st.key || ""}|${st.desc ? "desc" : "asc"}`;
  };
  render();
  return section;
}

function sitesTable(rows, st, sortBy) {
  return scrollBox(el("table", {class: "data", "data-testid": "sites-table"},
    el("caption", {}, "Site risk, latest round per site (flagged first; the column buttons sort)"),
    el("thead", {}, el("tr", {}, COLUMNS.map((c) => el("th", {
      scope: "col", class: c.num ? "n" : null, "data-key": c.key,
      "aria-sort": st.key === c.key ? (st.desc ? "descending" : "ascending") : null,
    }, el("button", {type: "button", class: "link", onclick: () => sortBy(c.key)}, c.label))))),
    el("tbody", {}, rows.map((r) => el("tr", {"data-site": r.site_id, class: r.flagged ? "flagged" : null},
      COLUMNS.map((c, i) => el(i === 0 ? "th" : "td",
        {scope: i === 0 ? "row" : null, class: c.num ? "n" : null, "data-field": c.key}, c.text(r))))))));
}
