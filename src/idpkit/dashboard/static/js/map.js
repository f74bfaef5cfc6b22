// SVG maps from the API's GeoJSON boundaries: no basemap, no tiles. Every area is a focusable
// link (Enter or Space opens its page) with an aria-label that states its figure.
import {el, figure, num, SUPPRESSED, sourceLine} from "./format.js";

const d3 = window.d3;
const WIDTH = 640, HEIGHT = 480;

/** Class breaks: quantiles of the shown values, rounded to two significant digits. */
export function classBreaks(values, classes = 5) {
  const v = values.filter((x) => x !== null && x !== undefined).sort(d3.ascending);
  if (!v.length) return [];
  const round2 = (x) => { if (x <= 0) return 0; const p = 10 ** (Math.floor(Math.log10(x)) - 1); return Math.round(x / p) * p; };
  const breaks = [];
  for (let i = 1; i < classes; i++) {
    const b = round2(d3.quantile(v, i / classes));
    if (b > 0 && (!breaks.length || b > breaks[breaks.length - 1])) breaks.push(b);
  }
  return breaks;
}

/**
 * A map of `features`; `rowOf(pcode)` gives the API row whose value colours the area (undefined:
 * no data). Returns the figure element and helpers for overlays (centroids, the SVG layer).
 */
export function choropleth(features, {title, rowOf, describe, open, testid, plain = false, source}) {
  const fig = el("figure", {class: "map", "data-testid": testid});
  fig.append(el("figcaption", {}, title));
  const drawn = features.filter((f) => f.geometry).map(rewind);
  if (!drawn.length) {
    fig.append(el("p", {class: "note"}, "No boundaries are loaded for this level (idpkit areas load " +
      "BOUNDARIES.geojson --level N); the table below lists every figure."));
    if (source) fig.append(sourceLine(source));
    return {figure: fig, centroid: () => null, layer: null};
  }
  const fc = {type: "FeatureCollection", features: drawn};
  const projection = d3.geoMercator().fitExtent([[8, 8], [WIDTH - 8, HEIGHT - 8]], fc);
  const path = d3.geoPath(projection);
  const values = drawn.map((f) => rowOf(f.id)).filter((r) => r && !r.suppressed).map((r) => r.value);
  const breaks = classBreaks(values, Math.min(5, Math.max(2, values.length)));
  const colours = d3.schemeYlOrRd[Math.max(3, breaks.length + 1)].slice(0, breaks.length + 1);
  const colour = d3.scaleThreshold().domain(breaks).range(colours);

  const svg = d3.select(fig).append("svg").attr("viewBox", `0 0 ${WIDTH} ${HEIGHT}`)
    .attr("class", "map-svg").attr("role", "group").attr("aria-label", `${title}. Tab to an area, Enter opens it.`);
  const defs = svg.append("defs");
  defs.append("pattern").attr("id", "hatch").attr("patternUnits", "userSpaceOnUse")
    .attr("width", 6).attr("height", 6).attr("patternTransform", "rotate(45)")
    .call((p) => { p.append("rect").attr("width", 6).attr("height", 6).attr("fill", "#f2f2f2");
      p.append("line").attr("x1", 0).attr("y1", 0).attr("x2", 0).attr("y2", 6).attr("stroke", "#666").attr("stroke-width", 2); });
  const fillOf = (f) => {
    if (plain) return "#eef1f4";
    const r = rowOf(f.id);
    if (!r || r.value === null && !r.suppressed) return "#dcdcdc";
    if (r.suppressed) return "url(#hatch)";
    return colour(r.value);
  };
  svg.append("g").attr("class", "areas").selectAll("path").data(drawn).join("path")
    .attr("d", path).attr("fill", fillOf).attr("class", "area")
    .attr("data-pcode", (f) => f.id).attr("tabindex", 0).attr("role", "link")
    .attr("aria-label", (f) => describe(f, rowOf(f.id)))
    .on("click", (ev, f) => open(f.id))
    .on("keydown", (ev, f) => { if (ev.key === "Enter" || ev.key === " ") { ev.preventDefault(); open(f.id); } })
    .append("title").text((f) => describe(f, rowOf(f.id)));
  const layer = svg.append("g").attr("class", "overlay");

  if (!plain) fig.append(legend(breaks, colours));
  if (source) fig.append(sourceLine(source));
  const centres = new Map(drawn.map((f) => [f.id, path.centroid(f)]));
  return {figure: fig, centroid: (p) => centres.get(p) || null, layer, svg};
}

/**
 * d3-geo is spherical: it takes a polygon's exterior ring to run clockwise, and reads a
 * counter-clockwise one (the RFC 7946 order most GeoJSON files use) as "the whole globe except
 * this area". Rewinding every ring (exterior clockwise, holes counter-clockwise) makes both
 * conventions draw the same map.
 */
function rewind(feature) {
  const clockwise = (ring) => {
    let s = 0;
    for (let i = 0, n = ring.length, j = n - 1; i < n; j = i++) s += (ring[i][0] - ring[j][0]) * (ring[i][1] + ring[j][1]);
    return s > 0;
  };
  const fix = (rings) => rings.map((r, i) => (clockwise(r) === (i === 0) ? r : [...r].reverse()));
  const g = feature.geometry;
  const geometry = g.type === "Polygon" ? {...g, coordinates: fix(g.coordinates)}
    : g.type === "MultiPolygon" ? {...g, coordinates: g.coordinates.map(fix)} : g;
  return {...feature, geometry};
}

function legend(breaks, colours) {
  const items = colours.map((c, i) => {
    const lo = i === 0 ? null : breaks[i - 1], hi = i < breaks.length ? breaks[i] : null;
    const text = lo === null ? `under ${num(hi)}` : hi === null ? `${num(lo)} and more` : `${num(lo)} to under ${num(hi)}`;
    return {cls: `c${i}`, colour: c, text};
  });
  const ul = el("ul", {class: "legend", "aria-label": "Legend"});
  for (const it of items) {
    const sw = swatch(it.colour);
    ul.append(el("li", {}, sw, it.text));
  }
  ul.append(el("li", {}, swatch("url(#hatch)", true), `${SUPPRESSED} (small number)`));
  ul.append(el("li", {}, swatch("#dcdcdc"), "no data"));
  return ul;
}

function swatch(fill, hatched = false) {
  const s = document.createElementNS("http://www.w3.org/2000/svg", "svg");
  s.setAttribute("width", "18"); s.setAttribute("height", "14"); s.setAttribute("aria-hidden", "true");
  const r = document.createElementNS("http://www.w3.org/2000/svg", "rect");
  r.setAttribute("width", "18"); r.setAttribute("height", "14"); r.setAttribute("stroke", "#555");
  r.setAttribute("fill", hatched ? "#f2f2f2" : fill);
  s.append(r);
  if (hatched) {
    for (const x of [2, 8, 14]) {
      const l = document.createElementNS("http://www.w3.org/2000/svg", "line");
      l.setAttribute("x1", x); l.setAttribute("y1", 14); l.setAttribute("x2", x + 6); l.setAttribute("y2", 0);
      l.setAttribute("stroke", "#666"); l.setAttribute("stroke-width", "2"); s.append(l);
    }
  }
  return s;
}

export {figure};
