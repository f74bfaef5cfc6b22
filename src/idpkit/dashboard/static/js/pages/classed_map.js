// A choropleth with fixed classes (needs phases 1–5, coverage bands) rather than the quantile
// classes of map.js: a phase or a coverage band means the same colour on every page and every
// day, so the shared map is drawn and then recoloured, and its legend replaced by the classes'.
import {el, SUPPRESSED} from "../format.js";
import {choropleth} from "../map.js";

/**
 * classes: [{key, label, colour}]; classOf(pcode) → a class key, or null (no data);
 * suppressedOf(pcode) → true when the public view suppressed the area's figure: hatched as on the
 * figure maps (map.js), class "suppressed", and a legend entry.
 * Other options as map.js choropleth (title, describe, open, testid).
 */
export function classedMap(features, {classes, classOf, suppressedOf, ...opts}) {
  const colours = new Map(classes.map((c) => [c.key, c.colour]));
  const map = choropleth(features, {...opts, rowOf: () => undefined});
  if (!map.svg) return map;
  const hidden = (pc) => Boolean(suppressedOf && suppressedOf(pc));
  map.svg.selectAll("path.area")
    .attr("fill", (f) => (hidden(f.id) ? "url(#hatch)" : colours.get(classOf(f.id)) || "#dcdcdc"))
    .attr("data-class", (f) => (hidden(f.id) ? "suppressed" : classOf(f.id) ?? "none"));
  const old = map.figure.querySelector("ul.legend");
  if (old) old.remove();
  map.figure.append(el("ul", {class: "legend", "aria-label": "Legend"},
    [...classes, ...(suppressedOf ? [{key: "suppressed", label: `${SUPPRESSED} (small number)`, hatched: true}] : []),
      {key: "none", label: "no data", colour: "#dcdcdc"}].map((c) =>
      el("li", {"data-class": c.key}, swatch(c.colour, c.hatched), c.label))));
  const src = map.figure.querySelector("p.source");
  if (src) map.figure.append(src);
  return map;
}

function swatch(fill, hatched = false) {
  const ns = "http://www.w3.org/2000/svg";
  const s = document.createElementNS(ns, "svg");
  s.setAttribute("width", "18"); s.setAttribute("height", "14"); s.setAttribute("aria-hidden", "true");
  const r = document.createElementNS(ns, "rect");
  r.setAttribute("width", "18"); r.setAttribute("height", "14"); r.setAttribute("stroke", "#555");
  r.setAttribute("fill", hatched ? "#f2f2f2" : fill);
  s.append(r);
  if (hatched) { // the figure maps' hatch (map.js), drawn here as lines: a legend has no <defs>
    for (const x of [2, 8, 14]) {
      const l = document.createElementNS(ns, "line");
      l.setAttribute("x1", x); l.setAttribute("y1", 14); l.setAttribute("x2", x + 6); l.setAttribute("y2", 0);
      l.setAttribute("stroke", "#666"); l.setAttribute("stroke-width", "2"); s.append(l);
    }
  }
  return s;
}

/** A labelled <select> in a div, as the other pages lay out their controls. */
export function select(id, label, options, value) {
  return el("div", {}, el("label", {for: id}, label),
    el("select", {id, name: id}, options.map(([v, text]) =>
      el("option", {value: v, selected: String(v) === String(value)}, text))));
}

const SECTOR_LABELS = {intersectoral: "Inter-sectoral", food_security: "Food security",
  wash: "WASH", health: "Health", shelter: "Shelter", protection: "Protection",
  education: "Education", livelihoods: "Livelihoods"};
export function sectorLabel(s) { return SECTOR_LABELS[s] || s; }

/** Area names for a level, from the boundaries/gazetteer the API serves. */
export function areaNames(areas) {
  return new Map(areas.features.map((f) => [f.id, f.properties.name]));
}
