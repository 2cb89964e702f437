// Teams: create, edit (models, budget, blocked), members (add and remove) and delete; deleting a
// team deletes its keys, which the confirmation says.
import { h, formatMoney, formatDate } from "../dom.js";
import { api } from "../api.js";
import { pageHeader, dataTable, button, badge, saveDialog, confirmButton, fill } from "../ui.js";

export const title = "Teams";

function teamFields(team = {}) {
  return [
    { name: "team_alias", label: "Name", required: true, value: team.team_alias },
    { name: "models", label: "Allowed models", type: "list", value: team.models, emptyAs: team.team_id ? [] : undefined,
      help: "Comma-separated; empty allows every model." },
    { name: "max_budget", label: "Max budget (USD)", type: "number", min: 0, value: team.max_budget },
    { name: "budget_duration", label: "Budget period", value: team.budget_duration, placeholder: "30d or monthly" },
    { name: "blocked", label: "Blocked (every key of the team is refused)", type: "checkbox", value: team.blocked },
  ];
}

function teamPath(team) {
  return `/teams/${encodeURIComponent(team.team_id)}`;
}

function members(team, refresh) {
  if (!team.members.length) return h("span", { class: "muted" }, "none");
  return h("ul", { class: "plain" }, team.members.map((member) => h("li", {}, `${member.user_id} (${member.role}) `,
    confirmButton("Remove", `Remove ${member.user_id} from ${team.team_alias}`, { title: "Remove this member?",
      message: `${member.user_id} leaves ${team.team_alias}.`, announce: "Member removed", refresh,
      run: () => api.delete(`${teamPath(team)}/members/${encodeURIComponent(member.user_id)}`) }))));
}

function actions(team, refresh) {
  return [
    button("Add member", () => saveDialog({ title: `Add a member to ${team.team_alias}`, submitLabel: "Add",
      fields: [
        { name: "user_id", label: "User id", required: true },
        { name: "role", label: "Role", type: "select", options: ["member", "admin"] },
      ],
      submit: (values) => api.post(`${teamPath(team)}/members`, values) }, () => "Member added", refresh),
    { kind: "small", "aria-label": `Add a member to ${team.team_alias}` }),
    button("Edit", () => saveDialog({ title: `Edit team ${team.team_alias}`, fields: teamFields(team),
      submit: (values) => api.put(teamPath(team), values) }, (saved) => `Team ${saved.team_alias} saved`, refresh),
    { kind: "small", "aria-label": `Edit team ${team.team_alias}` }),
    confirmButton("Delete", `Delete team ${team.team_alias}`, { title: "Delete this team?",
      message: `${team.team_alias} is deleted together with its keys and budgets. This cannot be undone.`,
      run: () => api.delete(teamPath(team)), announce: `Team ${team.team_alias} deleted`, refresh }),
  ];
}

export async function render(main) {
  const body = h("div");
  const refresh = () => fill(body, async () => {
    const { teams } = await api.get("/teams");
    return dataTable({ caption: "Teams", rows: teams, rowLabel: (t) => t.team_alias,
      empty: "No teams yet. Create one to group keys under shared models, budgets and guardrails.",
      columns: [
        { label: "Team", value: (t) => [h("strong", {}, t.team_alias), h("br"), h("code", { class: "muted" }, t.team_id)] },
        { label: "Models", value: (t) => (t.models.length ? t.models.join(", ") : "all") },
        { label: "Spend / budget", class: "num",
          value: (t) => (t.max_budget == null ? "no budget" : `${formatMoney(t.spend ?? 0)} / ${formatMoney(t.max_budget)}`) },
        { label: "Members", value: (t) => members(t, refresh) },
        { label: "State", value: (t) => (t.blocked ? badge("blocked", "danger") : badge("active", "ok")) },
        { label: "Created", value: (t) => formatDate(t.created_at) },
        { label: "Actions", class: "actions", value: (t) => actions(t, refresh) },
      ] });
  });
  const create = () => saveDialog({ title: "Create a team", submitLabel: "Create",
    fields: [...teamFields(), { name: "team_id", label: "Team id", help: "Optional; generated when empty." }],
    submit: (values) => api.post("/teams", values) }, (team) => `Team ${team.team_alias} created`, refresh);
  main.append(pageHeader(title, "Teams share models, budgets and guardrails across their keys.",
    button("Create team", create, { kind: "primary", id: "create-team" })), body);
  await refresh();
}
