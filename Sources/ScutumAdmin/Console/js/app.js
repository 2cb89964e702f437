// The console's shell: sign-in, the navigation, and a hash router that mounts one page module at a
// time (`#/keys`, `#/executions/<id>`...). Each page module exports `title` and
// `render(main, params)`, which may return a cleanup function (timers) run when the page is left.
import { h, replace } from "./dom.js";
import { login, session, endSession, onSessionEnd, request, ApiError } from "./api.js";
import { showError } from "./ui.js";

/** The pages in navigation order: route, label, module. */
const PAGES = [
  ["dashboard", "Dashboard", "./pages/dashboard.js"],
  ["models", "Models", "./pages/models.js"],
  ["keys", "API Keys", "./pages/keys.js"],
  ["teams", "Teams", "./pages/teams.js"],
  ["budgets", "Budgets", "./pages/budgets.js"],
  ["guardrails", "Guardrails", "./pages/guardrails.js"],
  ["routing", "Routing Policies", "./pages/routing.js"],
  ["mcp", "MCP Servers", "./pages/mcp.js"],
  ["workflows", "Workflows", "./pages/workflows.js"],
  ["executions", "Executions", "./pages/executions.js"],
  ["cluster", "Cluster", "./pages/cluster.js"],
  ["settings", "Settings", "./pages/settings.js"],
  ["spend", "Spend Logs", "./pages/spend.js"],
];

const loginView = document.getElementById("login-view");
const appView = document.getElementById("app-view");
const main = document.getElementById("main");
const nav = document.getElementById("nav");
const navToggle = document.getElementById("nav-toggle");
let cleanup = null;
let renderToken = 0;

function showLogin(reason = "") {
  if (cleanup) cleanup();
  cleanup = null;
  // A page still rendering is discarded (and its timers stopped) when it finishes.
  renderToken += 1;
  appView.hidden = true;
  loginView.hidden = false;
  replace(main);
  const error = document.getElementById("login-error");
  error.hidden = !reason;
  replace(error, reason);
  document.getElementById("login-key").focus();
}

/** Shows the console; `focusHeading` is false on a fresh page load, so Tab starts at the skip link. */
async function showApp(focusHeading = true) {
  loginView.hidden = true;
  appView.hidden = false;
  try {
    const me = await request("GET", "/auth/me");
    replace(document.getElementById("whoami"), `Signed in as ${me.sub} (${me.role})`);
  } catch (error) {
    // A 401 has already ended the session and shown the login screen with the reason.
    if (error instanceof ApiError && error.status === 401) return;
    showError(error);
  }
  await route(focusHeading);
}

function setNavOpen(open) {
  nav.classList.toggle("open", open);
  navToggle.setAttribute("aria-expanded", String(open));
}

function buildNav() {
  replace(document.getElementById("nav-list"), PAGES.map(([name, label]) =>
    h("li", {}, h("a", { href: `#/${name}`, dataset: { route: name }, onClick: (event) => {
      // The current page's link reloads it from the API (the hash would not change).
      if (location.hash === `#/${name}`) {
        event.preventDefault();
        route();
      }
    } }, label))));
}

/** Mounts the page the hash names and, after navigation, moves focus to its heading. */
async function route(focusHeading = true) {
  if (!session()) {
    if (loginView.hidden) showLogin();
    return;
  }
  const path = location.hash.replace(/^#\/?/, "").split("?")[0];
  const [name = "dashboard", ...rest] = path.split("/").filter(Boolean);
  const page = PAGES.find(([route]) => route === name) ?? PAGES[0];
  for (const link of nav.querySelectorAll("a")) {
    if (link.dataset.route === page[0]) link.setAttribute("aria-current", "page");
    else link.removeAttribute("aria-current");
  }
  setNavOpen(false);
  if (cleanup) cleanup();
  cleanup = null;
  const token = ++renderToken;
  replace(main, h("p", { class: "muted", role: "status" }, "Loading…"));
  try {
    const module = await import(page[2]);
    if (token !== renderToken) return;
    document.title = `${module.title} · Scutum console`;
    replace(main);
    const result = await module.render(main, rest.map(decodeURIComponent));
    if (token !== renderToken) {
      if (typeof result === "function") result();
      return;
    }
    cleanup = typeof result === "function" ? result : null;
    if (focusHeading) document.getElementById("page-title")?.focus({ preventScroll: true });
  } catch (error) {
    if (token !== renderToken) return;
    if (error instanceof ApiError && error.status === 401) return;
    replace(main, h("div", { class: "load-error", role: "alert" }, `This page failed: ${error.message ?? error}`));
  }
}

document.getElementById("login-form").addEventListener("submit", async (event) => {
  event.preventDefault();
  const input = document.getElementById("login-key");
  const error = document.getElementById("login-error");
  const submit = document.getElementById("login-submit");
  submit.disabled = true;
  error.hidden = true;
  try {
    await login(input.value.trim());
    input.value = "";
    if (!location.hash) location.hash = "#/dashboard";
    await showApp();
  } catch (failure) {
    error.hidden = false;
    replace(error, failure instanceof ApiError ? failure.message : String(failure));
    input.select();
  } finally {
    submit.disabled = false;
  }
});

document.getElementById("logout").addEventListener("click", () => endSession());
navToggle.addEventListener("click", () => setNavOpen(!nav.classList.contains("open")));
document.addEventListener("keydown", (event) => {
  if (event.key === "Escape" && nav.classList.contains("open")) {
    setNavOpen(false);
    navToggle.focus();
  }
});
window.addEventListener("hashchange", () => {
  if (session()) route();
});
onSessionEnd((reason) => showLogin(reason));

buildNav();
if (session()) showApp(false);
else showLogin();
