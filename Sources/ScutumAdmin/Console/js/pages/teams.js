// Teams: create, edit (models, budget, caps on the keys members make, blocked), members (add and
// remove, as team_admin or member) and delete; deleting a team deletes its keys, which the
// confirmation says. A team admin sees their teams and manages their members; others only read.
import { h, formatMoney, formatDate, formatInteger } from "../dom.js";
import { api, userEmails } from "../api.js";
import { pageHeader, dataTable, button, badge, saveDialog, confirmButton, fill, writeOnly, actionsColumn } from "../ui.js";
import { managesTeam } from "../access.js";

export const title = "Teams";

function teamFields(team = {}) {
  return [
    { name: "team_alias", label: "Name", required: true, value: team.team_alias },
    { name: "models", label: "Allowed models", type: "list", value: team.models, emptyAs: team.team_id ? [] : undefined,
      help: "Comma-separated; empty allows every model." },
    { name: "max_budget", label: "Max budget (USD)", type: "number", min: 0, value: team.max_budget },
    { name: "budget_duration", label: "Budget period", value: team.budget_duration, placeholder: "30d or monthly" },
    ...capFields(team),
    { name: "blocked", label: "Blocked (every key of the team is refused)", type: "checkbox", value: team.blocked },
  ];
}

/** The caps on each key a member makes; emptied on an edit they are lifted (null). */
function capFields(team) {
  const emptyAs = team.team_id ? null : undefined;
  return [
    { name: "key_max_budget", label: "Max budget of a member's key (USD)", type: "number", min: 0, value: team.key_max_budget, emptyAs,
      help: "Members' self-made keys may not exceed these; empty sets no cap." },
    { name: "key_rpm_limit", label: "Max requests per minute of a member's key", type: "number", min: 1, step: 1,
      value: team.key_rpm_limit, emptyAs },
    { name: "key_tpm_limit", label: "Max tokens per minute of a member's key", type: "number", min: 1, step: 1,
      value: team.key_tpm_limit, emptyAs },
  ];
}

/** "$5 · 100 RPM · 10,000 TPM", or "none". */
function caps(team) {
  const parts = [team.key_max_budget != null ? formatMoney(team.key_max_budget) : null,
    team.key_rpm_limit != null ? `${formatInteger(team.key_rpm_limit)} RPM` : null,
    team.key_tpm_limit != null ? `${formatInteger(team.key_tpm_limit)} TPM` : null].filter(Boolean);
  return parts.length ? parts.join(" · ") : h("span", { class: "muted" }, "none");
}

function teamPath(team) {
  return `/teams/${encodeURIComponent(team.team_id)}`;
}

/** Each member by e-mail where the caller may see the user (`emails`: user id to e-mail), else by id. */
function members(team, emails, refresh) {
  if (!team.members.length) return h("span", { class: "muted" }, "none");
  const manage = managesTeam(team.team_id);
  return h("ul", { class: "plain members" }, team.members.map((member) => {
    const who = emails.get(member.user_id) ?? member.user_id;
    return h("li", { dataset: { member: who } }, `${who} `, badge(member.role, member.role === "team_admin" ? "info" : "neutral"), " ",
      manage ? confirmButton("Remove", `Remove ${who} from ${team.team_alias}`, { title: "Remove this member?",
        message: `${who} leaves ${team.team_alias}; their keys of the team stop working.`, announce: "Member removed", refresh,
        run: () => api.delete(`${teamPath(team)}/members/${encodeURIComponent(member.user_id)}`) }) : null);
  }));
}

/** Adds a member by e-mail (a user is invited if none has it) or by user id. */
function addMember(team, refresh) {
  return saveDialog({ title: `Add a member to ${team.team_alias}`, submitLabel: "Add",
    fields: [
      { name: "user", label: "E-mail or user id", required: true, placeholder: "someone@example.com" },
      { name: "role", label: "Role in the team", type: "select", options: [["member", "member (own keys)"],
        ["team_admin", "team_admin (the team's keys, members and budgets)"]] },
    ],
    submit: ({ user, role }) => api.post(`${teamPath(team)}/members`, user.includes("@") ? { email: user, role } : { user_id: user, role }) },
  () => "Member added", refresh);
}

function actions(team, refresh) {
  return [
    managesTeam(team.team_id) ? button("Add member", () => addMember(team, refresh),
      { kind: "small", "aria-label": `Add a member to ${team.team_alias}` }) : null,
    writeOnly(button("Edit", () => saveDialog({ title: `Edit team ${team.team_alias}`, fields: teamFields(team),
      submit: (values) => api.put(teamPath(team), values) }, (saved) => `Team ${saved.team_alias} saved`, refresh),
    { kind: "small", "aria-label": `Edit team ${team.team_alias}` }),
    confirmButton("Delete", `Delete team ${team.team_alias}`, { title: "Delete this team?",
      message: `${team.team_alias} is deleted together with its keys and budgets. This cannot be undone.`,
      run: () => api.delete(teamPath(team)), announce: `Team ${team.team_alias} deleted`, refresh })),
  ];
}

export async function render(main) {
  const body = h("div");
  const refresh = () => fill(body, async () => {
    const [{ teams }, emails] = await Promise.all([api.get("/teams"), userEmails()]);
    const managing = teams.some((team) => managesTeam(team.team_id));
    return dataTable({ caption: "Teams", rows: teams, rowLabel: (t) => t.team_alias,
      empty: "No teams yet. Create one to group keys under shared models, budgets and guardrails.",
      columns: [
        { label: "Team", value: (t) => [h("strong", {}, t.team_alias), h("br"), h("code", { class: "muted" }, t.team_id)] },
        { label: "Models", value: (t) => (t.models.length ? t.models.join(", ") : "all") },
        { label: "Spend / budget", class: "num",
          value: (t) => (t.max_budget == null ? "no budget" : `${formatMoney(t.spend ?? 0)} / ${formatMoney(t.max_budget)}`) },
        { label: "Key caps", value: caps },
        { label: "Members", value: (t) => members(t, emails, refresh) },
        { label: "State", value: (t) => (t.blocked ? badge("blocked", "danger") : badge("active", "ok")) },
        { label: "Created", value: (t) => formatDate(t.created_at) },
        actionsColumn((t) => actions(t, refresh), managing),
      ] });
  });
  const create = () => saveDialog({ title: "Create a team", submitLabel: "Create",
    fields: [...teamFields(), { name: "team_id", label: "Team id", help: "Optional; generated when empty." }],
    submit: (values) => api.post("/teams", values) }, (team) => `Team ${team.team_alias} created`, refresh);
  main.append(pageHeader(title, "Teams share models, budgets and guardrails across their keys.",
    writeOnly(button("Create team", create, { kind: "primary", id: "create-team" }))), body);
  await refresh();
}
