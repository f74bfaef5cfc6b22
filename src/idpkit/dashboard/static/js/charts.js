// Small SVG charts drawn with the vendored d3 subset. Each chart has a text alternative: bars carry
// their value as a visible label; line charts come with a data table in a <details> element.
import {el, figure, table, num, sourceLine} from "./format.js";

const d3 = window.d3;
/** Line colours in app.css (.s0 … .s5). */
const PALETTE = 6;

/** Horizontal bars; items: [{label, row}] where row is an API figure row (value, suppressed). */
export function barChart(title, items, {testid, source} = {}) {
  const width = 420, bar = 22, gap = 8, left = 130, right = 90;
  const height = items.length * (bar + gap) + gap;
  const max = d3.max(items, (d) => (d.row && !d.row.suppressed ? d.row.value : 0)) || 1;
  const x = d3.scaleLinear().domain([0, max]).range([0, width - left - right]);
  const fig = el("figure", {class: "chart", "data-testid": testid});
  fig.append(el("figcaption", {}, title));
  const svg = d3.select(fig).append("svg").attr("viewBox", `0 0 ${width} ${height}`)
    .attr("role", "img").attr("aria-label", `${title}: ` +
      items.map((d) => `${d.label} ${figure(d.row)}`).join("; "));
  const g = svg.selectAll("g").data(items).join("g")
    .attr("transform", (d, i) => `translate(0,${gap + i * (bar + gap)})`);
  g.append("text").attr("class", "label").attr("x", left - 6).attr("y", bar / 2)
    .attr("dy", "0.35em").attr("text-anchor", "end").text((d) => d.label);
  g.append("rect").attr("x", left).attr("height", bar).attr("class", "bar")
    .attr("width", (d) => (d.row && !d.row.suppressed && d.row.value ? Math.max(1, x(d.row.value)) : 0));
  g.append("text").attr("class", "value").attr("y", bar / 2).attr("dy", "0.35em")
    .attr("x", (d) => left + (d.row && !d.row.suppressed && d.row.value ? x(d.row.value) : 0) + 6)
    .attr("data-key", (d) => d.key || d.label)
    .text((d) => figure(d.row));
  if (source) fig.append(sourceLine(source));
  return fig;
}

/**
 * Monthly lines; series: [{name, points: [{month, row}]}]. A month without a value (a gap in the
 * API's series, or suppressed) breaks the line instead of dropping to zero.
 */
export function lineChart(title, series, {testid, source} = {}) {
  const width = 560, height = 220, m = {top: 12, right: 16, bottom: 28, left: 70};
  const months = [...new Set(series.flatMap((s) => s.points.map((p) => p.month)))].sort();
  const vals = series.flatMap((s) => s.points.map((p) => usable(p.row))).filter((v) => v !== null);
  const fig = el("figure", {class: "chart", "data-testid": testid});
  fig.append(el("figcaption", {}, title));
  if (!months.length || !vals.length) {
    fig.append(el("p", {class: "note"}, "No monthly figures for this period."));
    if (source) fig.append(sourceLine(source));
    return fig;
  }
  const x = d3.scalePoint().domain(months).range([m.left, width - m.right]).padding(0.3);
  const y = d3.scaleLinear().domain([0, d3.max(vals)]).nice().range([height - m.bottom, m.top]);
  const svg = d3.select(fig).append("svg").attr("viewBox", `0 0 ${width} ${height}`)
    .attr("role", "img").attr("aria-label", `${title} (the table below lists the values)`);
  const ticks = y.ticks(4);
  svg.append("g").selectAll("line").data(ticks).join("line").attr("class", "gridline")
    .attr("x1", m.left).attr("x2", width - m.right).attr("y1", y).attr("y2", y);
  svg.append("g").selectAll("text").data(ticks).join("text").attr("class", "axis")
    .attr("x", m.left - 6).attr("y", y).attr("dy", "0.35em").attr("text-anchor", "end")
    .text((v) => num(v));
  const step = Math.ceil(months.length / 8);
  svg.append("g").selectAll("text").data(months.filter((_, i) => i % step === 0)).join("text")
    .attr("class", "axis").attr("x", x).attr("y", height - 8).attr("text-anchor", "middle").text((d) => d);
  series.forEach((s, i) => {
    const cls = `series s${i % PALETTE}`;
    let path = "", pen = false;
    for (const p of s.points) {
      const v = usable(p.row);
      if (v === null) { pen = false; continue; }
      path += `${pen ? "L" : "M"}${x(p.month)},${y(v)}`;
      pen = true;
    }
    svg.append("path").attr("class", cls).attr("d", path);
    svg.append("g").selectAll("circle").data(s.points.filter((p) => usable(p.row) !== null)).join("circle")
      .attr("class", cls).attr("r", 3).attr("cx", (p) => x(p.month)).attr("cy", (p) => y(usable(p.row)))
      .append("title").text((p) => `${s.name} ${p.month}: ${figure(p.row)}`);
  });
  // the key is drawn whenever lines must be told apart (one line per country on a multi-country
  // warehouse); app.css colours PALETTE classes, so a fourth country no longer draws uncoloured
  if (series.length > 1) {
    fig.append(el("ul", {class: "key", "data-testid": testid ? `${testid}-key` : null},
      series.map((s, i) => el("li", {class: `s${i % PALETTE}`}, s.name))));
  }
  if (source) fig.append(sourceLine(source));
  const cols = [{label: "Month", value: (mo) => mo},
    ...series.map((s) => ({label: s.name, num: true,
      value: (mo) => figure(s.points.find((p) => p.month === mo)?.row)}))];
  fig.append(el("details", {}, el("summary", {}, "Show the values as a table"),
    table(title, cols, months, {class: "data", "data-testid": testid ? `${testid}-table` : null})));
  return fig;
}

function usable(row) {
  if (!row || row.suppressed || row.value === null || row.value === undefined) return null;
  return row.value;
}
