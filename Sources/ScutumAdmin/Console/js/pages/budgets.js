// Budgets: one card per budget with the current period's spend against its limit (a meter that
// turns amber past the soft budget and red at the limit); create, edit and delete. A team admin sees
// their teams' budgets and sets those of the teams' keys and members within the team's own (the
// team's budget itself is the admin's); a viewer only reads.
import { h, formatMoney, formatDate, formatPercent } from "../dom.js";
import { api } from "../api.js";
import { pageHeader, button, badge, saveDialog, confirmButton, emptyState, fill } from "../ui.js";
import { canWrite, isTeamScoped } from "../access.js";

/** The scopes the caller may create and change budgets for. */
function editableScopes() {
  if (canWrite()) return ["global", "team", "key", "user"];
  return isTeamScoped() ? ["key", "user"] : [];
}

export const title = "Budgets";

const SCOPES = { team: "Team", key: "Key", user: "User" };

/** "Global", or the scope and the name of its subject (a team's or key's alias when known). */
function subject(budget, names = new Map()) {
  if (budget.scope === "global") return "Global";
  return `${SCOPES[budget.scope] ?? budget.scope} ${names.get(`${budget.scope}:${budget.scope_id}`) ?? budget.scope_id}`;
}

function period(budget) {
  if (!budget.current_period_start) return "—";
  if (!budget.current_period_end) return `since ${formatDate(budget.current_period_start)}`;
  return `${formatDate(budget.current_period_start)} – ${formatDate(budget.current_period_end)}`;
}

function meter(budget) {
  const limit = budget.max_budget;
  const spend = budget.spend ?? 0;
  const ratio = limit > 0 ? Math.min(1, spend / limit) : 0;
  const tone = limit > 0 && spend >= limit ? "over" : budget.soft_budget != null && spend >= budget.soft_budget ? "warn" : "";
  const bar = h("svg:svg", { viewBox: "0 0 100 10", preserveAspectRatio: "none", "aria-hidden": "true" },
    h("svg:rect", { x: 0, y: 0, height: 10, width: (ratio * 100).toFixed(2), class: `meter-fill ${tone}` }));
  return h("div", { class: "meter", role: "meter", "aria-valuemin": "0", "aria-valuemax": String(limit ?? 0),
    "aria-valuenow": String(spend), "aria-label": "Spend against the limit" }, bar);
}

function budgetFields(budget = {}) {
  return [
    { name: "max_budget", label: "Max budget (USD)", type: "number", min: 0, value: budget.max_budget,
      help: "Requests are refused once the period's spend reaches it." },
    { name: "soft_budget", label: "Soft budget (USD)", type: "number", min: 0, value: budget.soft_budget, help: "An alert threshold." },
    { name: "budget_duration", label: "Period", value: budget.budget_duration, placeholder: "30d, 7d or monthly" },
  ];
}

function card(budget, names, refresh) {
  const limit = budget.max_budget;
  const name = subject(budget, names);
  return h("article", { class: "card budget", "aria-labelledby": `budget-${budget.id}`,
    dataset: { budget: `${budget.scope} ${budget.scope_id ?? ""}`.trim() } },
    h("h2", { id: `budget-${budget.id}` }, name),
    h("p", { class: "budget-figures" }, h("strong", {}, formatMoney(budget.spend ?? 0)), ` of ${limit == null ? "no limit" : formatMoney(limit)}`,
      limit > 0 ? ` (${formatPercent((budget.spend ?? 0) / limit)})` : ""),
    meter(budget),
    h("dl", { class: "details" },
      h("dt", {}, "Soft budget"), h("dd", {}, budget.soft_budget == null ? "—" : formatMoney(budget.soft_budget)),
      h("dt", {}, "Period"), h("dd", {}, budget.budget_duration ?? "none (lifetime)"),
      h("dt", {}, "Current period"), h("dd", {}, period(budget))),
    limit > 0 && (budget.spend ?? 0) >= limit ? h("p", {}, badge("limit reached", "danger")) : null,
    editableScopes().includes(budget.scope) && h("div", { class: "page-actions" },
      button("Edit", () => saveDialog({ title: `Edit budget: ${name}`, fields: budgetFields(budget),
        submit: (values) => api.put(`/budgets/${budget.id}`, values) }, () => "Budget saved", refresh),
      { kind: "small", "aria-label": `Edit budget ${name}` }),
      confirmButton("Delete", `Delete budget ${name}`, { title: "Delete this budget?",
        message: `${name} will no longer be limited by this budget.`, run: () => api.delete(`/budgets/${budget.id}`),
        announce: "Budget deleted", refresh })));
}

export async function render(main) {
  const body = h("div");
  const refresh = () => fill(body, async () => {
    const [{ budgets }, { teams }, { keys }] = await Promise.all([api.get("/budgets"), api.get("/teams"), api.get("/keys")]);
    const names = new Map([...teams.map((t) => [`team:${t.team_id}`, t.team_alias]),
      ...keys.filter((k) => k.key_alias).map((k) => [`key:${k.key_id}`, k.key_alias])]);
    return budgets.length
      ? h("div", { class: "grid" }, budgets.map((budget) => card(budget, names, refresh)))
      : emptyState("No budgets yet. Create one for the whole gateway, a team, a key or a user.");
  });
  const scopes = editableScopes();
  const create = () => saveDialog({ title: "Create a budget", submitLabel: "Create",
    fields: [
      { name: "scope", label: "Applies to", type: "select", options: scopes },
      { name: "scope_id", label: scopes.includes("team") ? "Team id, key id or user id" : "Key id or user id",
        help: scopes.includes("global") ? "Leave empty for a global budget." : "A key or member of your team." },
      ...budgetFields(),
    ],
    submit: (values) => api.post("/budgets", values) }, () => "Budget created", refresh);
  main.append(pageHeader(title, "Spend in the current period against each limit.",
    scopes.length ? button("Create budget", create, { kind: "primary", id: "create-budget" }) : null), body);
  await refresh();
}
