// How numbers are shown. The API decides rounding and suppression; we only add thousands
// separators, so a number on screen is the API's number (tests compare them digit for digit).

export const SUPPRESSED = "suppressed";
export const MISSING = "–";

const GROUP_LABELS = {
  idps: "IDPs", returnees: "Returnees", host_community: "Host community",
  refugees: "Refugees", migrants: "Migrants",
};
const CAUSE_LABELS = {conflict: "Conflict", disaster: "Disaster", other: "Other", unknown: "Unknown"};

export function groupLabel(g) { return GROUP_LABELS[g] || g; }
export function causeLabel(c) { return CAUSE_LABELS[c] || c || "all causes"; }

export function num(value) {
  if (value === null || value === undefined || Number.isNaN(value)) return MISSING;
  return value.toLocaleString("en-US", {maximumFractionDigits: 2});
}

/** A figure row's value as text: suppressed and missing cells are explicit, never 0. */
export function figure(row) {
  if (!row) return MISSING;
  if (row.suppressed) return SUPPRESSED;
  return num(row.value);
}

/** Whether the API suppressed `field` in an area-view row (its `suppressed` lists the columns). */
export function isSuppressed(row, field) {
  return Boolean(row && Array.isArray(row.suppressed) && row.suppressed.includes(field));
}

/** An area-view row's count as text: "suppressed" for a small number the public view hides,
 * "–" for no figure; `show` formats a present value (num by default). */
export function count(row, field, show = num) {
  if (isSuppressed(row, field)) return SUPPRESSED;
  return show(row ? row[field] : null);
}

export function pct(value) {
  if (value === null || value === undefined) return MISSING;
  return `${(value * 100).toFixed(1)}%`;
}

export function day(iso) { return iso ? String(iso).slice(0, 10) : MISSING; }

/** Build an element: el("td", {class: "n"}, "text", child…). Text is never parsed as HTML. */
export function el(tag, attrs = {}, ...children) {
  const node = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs)) {
    if (v === undefined || v === null || v === false) continue;
    if (k.startsWith("on")) node.addEventListener(k.slice(2), v);
    else node.setAttribute(k, v === true ? "" : v);
  }
  for (const c of children.flat(Infinity)) {
    if (c === null || c === undefined || c === false) continue;
    node.append(c instanceof Node ? c : document.createTextNode(String(c)));
  }
  return node;
}

/** A table from column specs [{label, value: row => text|node, num: bool, attrs: row => {}}];
 * the first column is the row header. It comes inside its own horizontal scroll box, so a wide
 * table scrolls by itself on a phone instead of making the whole page scroll sideways. */
export function table(caption, columns, rows, attrs = {}, rowAttrs = () => ({})) {
  return scrollBox(el("table", attrs,
    el("caption", {}, caption),
    el("thead", {}, el("tr", {}, columns.map((c) => el("th", {scope: "col", class: c.num ? "n" : null}, c.label)))),
    el("tbody", {}, rows.map((r) => el("tr", rowAttrs(r),
      columns.map((c, i) => el(i === 0 ? "th" : "td",
        {scope: i === 0 ? "row" : null, class: c.num ? "n" : null, ...(c.attrs ? c.attrs(r) : {})},
        c.value(r))))))));
}

/** A focusable, labelled box that scrolls `node` (a table) sideways when it is wider than the
 * screen (keyboard users scroll it with the arrow keys once it has focus). */
export function scrollBox(node) {
  const caption = node.querySelector("caption");
  return el("div", {class: "table-scroll", tabindex: 0, role: "region",
    "aria-label": caption ? caption.textContent : "Table"}, node);
}

/** What a page shows when the warehouse holds nothing for it yet: what is missing, and the real
 * command that imports it (tests run each command's --help, so a renamed command fails them). */
export function emptyState(text, command, after = "") {
  return el("div", {class: "empty", "data-testid": "empty-state"},
    el("p", {}, text),
    el("p", {}, "Import it with ", el("code", {}, command), after));
}

/** The line under a map or chart saying where its numbers come from and of when: a figure
 * copied into a report must carry its source and date with it. */
export function sourceLine(text) {
  return el("p", {class: "source", "data-testid": "source"}, `Source: ${text}`);
}

export function message(text, kind = "note") {
  return el("p", {class: kind, role: kind === "error" ? "alert" : null}, text);
}
