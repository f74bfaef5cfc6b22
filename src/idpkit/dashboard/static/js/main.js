// Hash router and the shared page frame: which page, which token, what the slider can offer.
import {get, token, setToken} from "./api.js";
import {el, message} from "./format.js";
import overview from "./pages/overview.js";
import areaPage from "./pages/area.js";
import qualityPage from "./pages/quality.js";
import odPage from "./pages/od.js";
import needsPage from "./pages/needs.js";
import sitesPage from "./pages/sites.js";
import activitiesPage from "./pages/activities.js";
import alertsPage from "./pages/alerts.js";

const ROUTES = [
  [/^\/?$/, "overview", overview],
  [/^\/area\/([^/]+)$/, "area", areaPage],
  [/^\/quality$/, "quality", qualityPage],
  [/^\/od$/, "od", odPage],
  [/^\/needs$/, "needs", needsPage],
  [/^\/sites$/, "sites", sitesPage],
  [/^\/activities$/, "activities", activitiesPage],
  [/^\/alerts$/, "alerts", alertsPage],
];

const main = document.getElementById("main");
let generation = 0;

export function parseHash() {
  const raw = decodeURIComponent(location.hash.replace(/^#/, "")) || "/";
  const [path, query = ""] = raw.split("?");
  return {path, params: Object.fromEntries(new URLSearchParams(query))};
}

/** Update the hash's query without a reload (so URLs can be shared), keeping focus in place. */
function setParams(path, params) {
  const q = new URLSearchParams(Object.entries(params).filter(([, v]) => v !== undefined && v !== null && v !== ""));
  history.replaceState(null, "", `#${path}${q.toString() ? `?${q}` : ""}`);
}

/** Reference dates with stock figures and admin levels: what the controls can offer. */
async function meta() {
  const [dates, levels] = await Promise.all([get("/api/figures/dates"), get("/api/areas/levels")]);
  return {dates: dates.data.map((d) => d.reference_date.slice(0, 10)), levels: levels.data};
}

async function render() {
  const mine = ++generation;
  const {path, params} = parseHash();
  const hit = ROUTES.find(([re]) => re.test(path));
  main.removeAttribute("data-ready");
  for (const a of document.querySelectorAll("[data-nav]")) {
    a.toggleAttribute("aria-current", hit && a.dataset.nav === hit[1]);
    if (hit && a.dataset.nav === hit[1]) a.setAttribute("aria-current", "page");
  }
  if (!hit) {
    main.replaceChildren(message(`No page ${path}.`, "error"));
    main.dataset.ready = "error";
    return;
  }
  const [re, name, page] = hit;
  const args = path.match(re).slice(1);
  main.replaceChildren(el("p", {class: "loading"}, "Loading…"));
  let node;
  try {
    node = await page({params, meta, setParams: (p) => setParams(path, p), stale: () => mine !== generation}, ...args);
  } catch (e) {
    node = message(`Could not load this page: ${e.message}${e.code ? ` (${e.code})` : ""}`, "error");
  }
  if (mine !== generation) return;
  main.replaceChildren(node);
  const h = main.querySelector("h2");
  document.title = `${h ? h.textContent : name} · idpkit`;
  main.dataset.ready = name;
}

function showAccess() {
  document.getElementById("access").textContent = token()
    ? "Signed in with an API token: figures as your role allows."
    : "Public view: figures are rounded and small numbers suppressed. Enter an analyst token for survey results and validation details.";
}

document.getElementById("token-form").addEventListener("submit", (ev) => {
  ev.preventDefault();
  const input = document.getElementById("token-input");
  setToken(input.value.trim());
  input.value = "";
  showAccess();
  render();
});
document.getElementById("token-clear").addEventListener("click", () => { setToken(""); showAccess(); render(); });

let lastPath = null;
window.addEventListener("hashchange", () => {
  const {path} = parseHash();
  const moved = path !== lastPath;
  lastPath = path;
  render().then(() => { if (moved) main.focus(); });
});
lastPath = parseHash().path;
showAccess();
render();
