// Origin-destination view: a ranked table of the API's OD rows and arrows between area centres.
import {get, url} from "../api.js";
import {el, figure, table, message, causeLabel, num, sourceLine} from "../format.js";
import {choropleth} from "../map.js";

const d3 = window.d3;
const SHOWN = 100;

export default async function odPage(ctx) {
  const {dates, levels} = await ctx.meta();
  const sec = el("section", {}, el("h2", {}, "Origin–destination"));
  const usable = levels.filter((l) => l.admin_level >= 1);
  if (dates.length < 2 || !usable.length) return sec.append(message("Flows need at least two rounds and an admin level.")), sec;
  const p = ctx.params;
  const st = {
    level: usable.some((l) => l.admin_level === Number(p.level)) ? Number(p.level) : usable[0].admin_level,
    from: dates.includes(p.from) ? p.from : dates[0],
    to: dates.includes(p.to) ? p.to : dates[dates.length - 1],
  };
  if (st.to <= st.from) { st.from = dates[0]; st.to = dates[dates.length - 1]; }
  const levelSel = el("select", {id: "od-level"}, usable.map((l) =>
    el("option", {value: l.admin_level, selected: l.admin_level === st.level}, `Admin ${l.admin_level}`)));
  const fromSel = el("select", {id: "od-from"}, dates.slice(0, -1).map((d) => el("option", {value: d, selected: d === st.from}, d)));
  const toSel = el("select", {id: "od-to"}, dates.slice(1).map((d) => el("option", {value: d, selected: d === st.to}, d)));
  const body = el("div", {});
  sec.append(el("form", {class: "controls", "aria-label": "Period and level", onsubmit: (e) => e.preventDefault()},
    el("div", {}, el("label", {for: "od-level"}, "Admin level"), levelSel),
    el("div", {}, el("label", {for: "od-from"}, "From (after)"), fromSel),
    el("div", {}, el("label", {for: "od-to"}, "To (up to)"), toSel)), body);
  const update = async () => {
    ctx.setParams(st);
    if (st.to <= st.from) { body.replaceChildren(message("'To' must be after 'From'.", "error")); return; }
    const node = await draw(st).catch((e) => message(`Could not load flows: ${e.message}`, "error"));
    if (!ctx.stale()) { body.replaceChildren(node); sec.dataset.shown = `${st.level}|${st.from}|${st.to}`; }
  };
  levelSel.addEventListener("change", () => { st.level = Number(levelSel.value); update(); });
  fromSel.addEventListener("change", () => { st.from = fromSel.value; update(); });
  toSel.addEventListener("change", () => { st.to = toSel.value; update(); });
  await update();
  return sec;
}

/** What the arrows' widths mean: three sample widths with the number each stands for. */
function odLegend(top, w) {
  const ns = "http://www.w3.org/2000/svg";
  const sample = (v) => {
    const s = document.createElementNS(ns, "svg");
    s.setAttribute("width", "36"); s.setAttribute("height", "14"); s.setAttribute("aria-hidden", "true");
    const l = document.createElementNS(ns, "line");
    l.setAttribute("x1", 2); l.setAttribute("x2", 34); l.setAttribute("y1", 7); l.setAttribute("y2", 7);
    l.setAttribute("class", "od-line"); l.setAttribute("stroke-width", w(v));
    s.append(l);
    return el("li", {"data-width": v}, s, `${num(Math.round(v))} people`);
  };
  const circle = document.createElementNS(ns, "svg");
  circle.setAttribute("width", "18"); circle.setAttribute("height", "14"); circle.setAttribute("aria-hidden", "true");
  const c = document.createElementNS(ns, "circle");
  c.setAttribute("cx", 9); c.setAttribute("cy", 7); c.setAttribute("r", 6); c.setAttribute("class", "od-within");
  circle.append(c);
  return el("ul", {class: "legend", "aria-label": "Line widths", "data-testid": "od-legend"},
    [top, top / 2, top / 4].map(sample), el("li", {}, circle, "movements within an area (area ∝ people)"));
}

async function draw(st) {
  const params = {level: st.level, from: st.from, to: st.to};
  const [areas, od] = await Promise.all([get("/api/areas", {level: st.level}), get("/api/figures/od", params)]);
  const L = st.level, o = `origin_adm${L}_pcode`, on = `origin_adm${L}_name`, d = `adm${L}_pcode`, dn = `adm${L}_name`;
  const ranked = [...od.data].sort((a, b) => (b.suppressed ? -1 : b.value ?? -1) - (a.suppressed ? -1 : a.value ?? -1));
  const map = choropleth(areas.features, {
    title: `Movements between and within admin ${L} areas, ${st.from} to ${st.to}`, rowOf: () => undefined, testid: "od-map", plain: true,
    describe: (f) => `${f.properties.name} (${f.id})`,
    open: (pc) => { location.hash = `#/area/${encodeURIComponent(pc)}?date=${st.to}`; },
  });
  // movements whose origin and destination are the same area have no arrow to draw, yet they
  // can be the largest flow: a circle at the area's centre shows them (and a list names them)
  const within = new Map();
  for (const r of od.data) {
    if (!r[o] || r[o] !== r[d] || r.suppressed || !r.value) continue;
    within.set(r[d], (within.get(r[d]) || 0) + r.value);
  }
  const nameOf = (pc) => (od.data.find((r) => r[d] === pc)?.[dn]) || pc;
  if (map.layer) {
    // One arrow per origin-destination pair; its width shows the pair's size (the numbers are in the table).
    const sums = new Map();
    for (const r of od.data) {
      if (!r[o] || r[o] === r[d] || r.suppressed || !r.value) continue;
      const k = `${r[o]}>${r[d]}`;
      sums.set(k, (sums.get(k) || 0) + r.value);
    }
    const top = d3.max([...sums.values()]) || 1;
    const w = d3.scaleLinear().domain([0, top]).range([1, 9]);
    // circle area proportional to people (the vendored d3 subset has no scaleSqrt)
    const most = d3.max([...within.values()]) || 1;
    const rad = (v) => 22 * Math.sqrt(v / most);
    for (const [pc, v] of [...within.entries()].sort((a, b) => b[1] - a[1])) {
      const c = map.centroid(pc);
      if (!c) continue;
      map.layer.append("circle").attr("class", "od-within").attr("cx", c[0]).attr("cy", c[1])
        .attr("r", Math.max(3, rad(v))).attr("data-pcode", pc).attr("aria-hidden", "true")
        .append("title").text(`${nameOf(pc)} (${pc}): ${num(v)} people moved within the area`);
    }
    const defs = map.svg.select("defs");
    defs.append("marker").attr("id", "arrow").attr("viewBox", "0 0 10 10").attr("refX", 9).attr("refY", 5)
      .attr("markerUnits", "userSpaceOnUse").attr("markerWidth", 12).attr("markerHeight", 12).attr("orient", "auto-start-reverse")
      .append("path").attr("d", "M0,0L10,5L0,10z").attr("class", "arrowhead");
    for (const [k, v] of [...sums.entries()].sort((a, b) => a[1] - b[1])) {
      const [a, b] = k.split(">").map(map.centroid);
      if (!a || !b) continue;
      const mx = (a[0] + b[0]) / 2 - (b[1] - a[1]) * 0.2, my = (a[1] + b[1]) / 2 + (b[0] - a[0]) * 0.2;
      map.layer.append("path").attr("class", "od-line").attr("d", `M${a}Q${mx},${my} ${b}`)
        .attr("stroke-width", w(v)).attr("marker-end", "url(#arrow)").attr("aria-hidden", "true");
    }
    map.figure.append(odLegend(top, w));
  }
  if (within.size) {
    map.figure.append(el("div", {class: "within", "data-testid": "od-within"},
      el("p", {class: "note"}, "Within-area movements (origin and destination the same area; circles on the map):"),
      el("ul", {}, [...within.entries()].sort((a, b) => b[1] - a[1]).map(([pc, v]) =>
        el("li", {"data-pcode": pc}, `${nameOf(pc)} (${pc}): `, el("span", {class: "n"}, num(v)))))));
  }
  map.figure.append(sourceLine(`flow monitoring and the change between rounds ${st.from} and ${st.to} ` +
    "(this server's /api/figures/od); suppressed pairs are not drawn."));
  const shown = ranked.slice(0, SHOWN);
  const tbl = table(`Movements ranked by size, ${st.from} to ${st.to}`, [
    {label: "Rank", num: true, value: (r) => ranked.indexOf(r) + 1},
    {label: "Origin", value: (r) => (r[o] ? `${r[on] || r[o]} (${r[o]})` : "origin not placed")},
    {label: "Destination", value: (r) => el("a", {href: `#/area/${encodeURIComponent(r[d])}?date=${st.to}`}, `${r[dn] || r[d]} (${r[d]})`)},
    {label: "Flow", value: (r) => r.flow},
    {label: "Cause", value: (r) => causeLabel(r.cause)},
    {label: "People", num: true, value: (r) => figure(r),
      attrs: (r) => ({"data-key": `${r[o] ?? ""}|${r[d]}|${r.flow}|${r.cause}`})},
  ], shown, {class: "data", "data-testid": "od-table"});
  const more = ranked.length > SHOWN
    ? el("p", {class: "note"}, `${ranked.length - SHOWN} smaller rows not shown: `,
      el("a", {href: url("/api/figures/od", {...params, format: "csv"})}, "download all as CSV"))
    : el("p", {class: "note"}, el("a", {href: url("/api/figures/od", {...params, format: "hxl"})}, "Download as HXL-tagged CSV"));
  return el("div", {class: "grid"}, el("div", {class: "col-map"}, map.figure), el("div", {class: "col-side"}, tbl, more));
}
