// Data-quality page: validation findings per dataset (counts for everyone; the findings themselves,
// with row, column and value, for analyst tokens, as the API decides).
import {get, getAll, ApiError, token} from "../api.js";
import {el, table, message, num, day} from "../format.js";
import {qualityTable} from "./area.js";

export default async function qualityPage() {
  const [quality, datasets] = await Promise.all([get("/api/quality"), getAll("/api/datasets")]);
  const sec = el("section", {}, el("h2", {}, "Data quality"));
  sec.append(el("p", {}, "Every imported file, how many rows it had and kept, and what validation found " +
    "(codes are explained in docs/issue-codes.md). Errors quarantine a row; warnings flag it."));
  sec.append(table("Imported datasets: rows read, accepted and quarantined", [
    {label: "File", value: (d) => d.file_name},
    {label: "Type", value: (d) => d.assessment_type},
    {label: "Round", value: (d) => d.round ?? "–"},
    {label: "Date", value: (d) => day(d.reporting_date)},
    {label: "Rows read", num: true, value: (d) => num(d.rows_read), attrs: () => ({"data-field": "rows_read"})},
    {label: "Accepted", num: true, value: (d) => num(d.rows_accepted), attrs: () => ({"data-field": "rows_accepted"})},
    {label: "Quarantined", num: true, value: (d) => num(d.rows_quarantined), attrs: () => ({"data-field": "rows_quarantined"})},
    {label: "Findings", value: (d) => findingsButton(d)},
  ], datasets.data, {class: "data", "data-testid": "datasets"}, (d) => ({"data-dataset": d.dataset_id})));
  sec.append(qualityTable(quality.data, "Validation findings per dataset (counts by code)", "quality-summary"));
  sec.append(el("div", {id: "findings", "aria-live": "polite"}));
  return sec;
}

function findingsButton(d) {
  if (!token()) return el("span", {class: "hint"}, "analyst token needed");
  return el("button", {type: "button", class: "link", "data-dataset": d.dataset_id,
    "aria-controls": "findings", onclick: () => showFindings(d)}, `Show findings of ${d.file_name}`);
}

async function showFindings(d) {
  const box = document.getElementById("findings");
  box.replaceChildren(el("p", {class: "loading"}, "Loading…"));
  try {
    const res = await getAll(`/api/datasets/${encodeURIComponent(d.dataset_id)}/issues`);
    box.replaceChildren(el("h3", {tabindex: -1}, `Findings in ${d.file_name} (${res.total})`),
      res.data.length ? table(`Validation findings in ${d.file_name}`, [
        {label: "Row", num: true, value: (r) => r.row ?? "–"},
        {label: "Sheet", value: (r) => r.sheet ?? ""},
        {label: "Column", value: (r) => r.column_name ?? ""},
        {label: "Value", value: (r) => r.value ?? ""},
        {label: "Code", value: (r) => r.code},
        {label: "Severity", value: (r) => r.severity},
        {label: "Message", value: (r) => r.message},
      ], res.data, {class: "data", "data-testid": "findings-table"}) : message("No findings: every row passed."));
    box.querySelector("h3").focus();
  } catch (e) {
    box.replaceChildren(message(e instanceof ApiError && e.status === 403
      ? "Findings need an analyst token." : `Could not load findings: ${e.message}`, "error"));
  }
}
