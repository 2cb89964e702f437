// The console's shell: sign-in (an API key, or single sign-on through the gateway's identity
// provider), the navigation the caller's access allows, and a hash router that mounts one page
// module at a time (`#/keys`, `#/executions/<id>`...). Each page module exports `title` and
// `render(main, params)`, which may return a cleanup function (timers) run when the page is left.
import { h, replace } from "./dom.js";
import { login, session, endSession, onSessionEnd, request, ssoStatus, takeSsoFragment, ApiError } from "./api.js";
import { setCaller, mayOpen, describeCaller } from "./access.js";
import { showError, accessDenied } from "./ui.js";

/**
 * The pages in navigation order: route, label, module, and who sees it (access.js `mayOpen`): team
 * callers see only the "all" pages, and team admins the "team_admin" ones too.
 */
const PAGES = [
  ["dashboard", "Dashboard", "./pages/dashboard.js", "staff"],
  ["models", "Models", "./pages/models.js", "staff"],
  ["keys", "API Keys", "./pages/keys.js", "all"],
  ["teams", "Teams", "./pages/teams.js", "all"],
  ["users", "Users", "./pages/users.js", "staff"],
  ["budgets", "Budgets", "./pages/budgets.js", "team_admin"],
  ["guardrails", "Guardrails", "./pages/guardrails.js", "team_admin"],
  ["routing", "Routing Policies", "./pages/routing.js", "staff"],
  ["mcp", "MCP Servers", "./pages/mcp.js", "staff"],
  ["workflows", "Workflows", "./pages/workflows.js", "staff"],
  ["executions", "Executions", "./pages/executions.js", "staff"],
  ["cluster", "Cluster", "./pages/cluster.js", "staff"],
  ["settings", "Settings", "./pages/settings.js", "staff"],
  ["spend", "Spend Logs", "./pages/spend.js", "all"],
];

/** The pages the signed-in caller may open. */
const openPages = () => PAGES.filter((page) => mayOpen(page[3]));

const loginView = document.getElementById("login-view");
const appView = document.getElementById("app-view");
const main = document.getElementById("main");
const nav = document.getElementById("nav");
const navToggle = document.getElementById("nav-toggle");
let cleanup = null;
let renderToken = 0;

/**
 * Offers what the gateway allows (`GET /auth/sso`): "Sign in with SSO" when single sign-on is
 * configured. The API-key form stays either way: with master-key sign-in turned off
 * (`master_key_login` false) the gateway still signs admin keys in and refuses only the master key,
 * so the form remains and its note says so instead of offering the master key.
 */
async function offerSignIn() {
  const { enabled, master_key_login: masterKey } = await ssoStatus();
  document.getElementById("sso-login").hidden = !enabled;
  document.getElementById("key-login-note").hidden = masterKey === false;
  document.getElementById("master-key-off").hidden = masterKey !== false;
}

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
  offerSignIn();
}

/** Shows the console; `focusHeading` is false on a fresh page load, so Tab starts at the skip link. */
async function showApp(focusHeading = true) {
  loginView.hidden = true;
  appView.hidden = false;
  try {
    setCaller(await request("GET", "/auth/me"));
  } catch (error) {
    // A 401 has already ended the session and shown the login screen with the reason.
    if (error instanceof ApiError && error.status === 401) return;
    setCaller({});
    showError(error);
  }
  replace(document.getElementById("whoami"), `Signed in as ${describeCaller()}`);
  buildNav();
  await route(focusHeading);
}

function setNavOpen(open) {
  nav.classList.toggle("open", open);
  navToggle.setAttribute("aria-expanded", String(open));
}

/** The navigation: the pages the caller may open; the brand links to the first of them. */
function buildNav() {
  const pages = openPages();
  document.querySelector(".brand").setAttribute("href", `#/${pages[0][0]}`);
  replace(document.getElementById("nav-list"), pages.map(([name, label]) =>
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
  const pages = openPages();
  const [name = pages[0][0], ...rest] = path.split("/").filter(Boolean);
  const page = PAGES.find(([route]) => route === name) ?? pages[0];
  for (const link of nav.querySelectorAll("a")) {
    if (link.dataset.route === page[0]) link.setAttribute("aria-current", "page");
    else link.removeAttribute("aria-current");
  }
  setNavOpen(false);
  if (cleanup) cleanup();
  cleanup = null;
  const token = ++renderToken;
  if (!mayOpen(page[3])) {
    document.title = "No access · Scutum console";
    replace(main, accessDenied());
    if (focusHeading) document.getElementById("page-title")?.focus({ preventScroll: true });
    return;
  }
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
    if (error instanceof ApiError && error.status === 403) replace(main, accessDenied(error));
    else replace(main, h("div", { class: "load-error", role: "alert" }, `This page failed: ${error.message ?? error}`));
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

// Back from single sign-on: the fragment carries the session or the reason it failed.
const sso = takeSsoFragment();
if (session()) {
  showApp(false);
  // A failed SSO attempt while still signed in (with a key, or as someone else) is said, not dropped.
  if (sso?.error) showError(`Single sign-on failed: ${sso.error}`);
} else showLogin(sso?.error ?? "");
