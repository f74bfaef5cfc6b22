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
  return {dates: dates.data.map((d) => d.reference_date.slice(0, 10)), levels: levels.data,
    datasetsOn: new Map(dates.data.map((d) => [d.reference_date.slice(0, 10), d.datasets]))};
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

const PUBLIC_VIEW = "Public view: figures rounded, small numbers suppressed.";

/** The access line and the footer say which view the figures are: the API names the token's role
 * (GET /api/role), so the footer never says "public" to a signed-in analyst. */
async function showAccess() {
  const access = document.getElementById("access"), foot = document.getElementById("footer-view");
  if (!token()) {
    access.textContent = "Public view: figures are rounded and small numbers suppressed. Enter an analyst token for survey results and validation details.";
    foot.textContent = PUBLIC_VIEW;
    foot.dataset.role = "public";
    return;
  }
  const {role, public_rules: rounded} = await get("/api/role").catch(() => ({role: null}));
  if (!role) {
    access.textContent = "This API token is unknown or revoked: clear it to see the public view.";
    foot.textContent = "Token not accepted.";
    foot.dataset.role = "";
    return;
  }
  const view = rounded ? "figures rounded, small numbers suppressed" : "exact figures, not for publication";
  access.textContent = `Signed in as ${role}: ${view}.`;
  foot.textContent = `Signed in as ${role}: ${view}.`;
  foot.dataset.role = role;
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
