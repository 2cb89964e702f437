// Users: the people who sign in (through single sign-on, or invited ahead of their first sign-in),
// with their global role (admin, viewer or none), their team memberships and status. Admins invite,
// change roles, memberships and status, and remove users; a viewer reads the list.
import { h, formatDate } from "../dom.js";
import { api } from "../api.js";
import { pageHeader, dataTable, button, badge, saveDialog, confirmButton, fill, writeOnly, actionsColumn, afterLoad } from "../ui.js";

export const title = "Users";

const ROLES = [["", "none (team access only)"], ["viewer", "viewer (reads everything)"], ["admin", "admin (everything)"]];
const TEAM_ROLES = [["", "not a member"], ["member", "member"], ["team_admin", "team_admin"]];
const TEAM_FIELD = "team:";

function userPath(user) {
  return `/users/${encodeURIComponent(user.user_id)}`;
}

/** One select per team for the user's role in it; read back into `teams: [{team_id, role}]`. */
function membershipFields(teams, user = {}) {
  const roleIn = new Map((user.teams ?? []).map((team) => [team.team_id, team.role]));
  return teams.map((team) => ({ name: `${TEAM_FIELD}${team.team_id}`, label: `Role in ${team.team_alias}`, type: "select",
    options: TEAM_ROLES, value: roleIn.get(team.team_id) ?? "" }));
}

/** The form's values as the API takes them: the role (null for none) and the memberships as a list. */
function body(values) {
  const result = { role: null, teams: [] };
  for (const [name, value] of Object.entries(values)) {
    if (name.startsWith(TEAM_FIELD)) result.teams.push({ team_id: name.slice(TEAM_FIELD.length), role: value });
    else result[name] = value;
  }
  return result;
}

const SSO_NOTE = "For a user who signs in with SSO, the groups the identity provider sends (scutum-admins, scutum-viewers, "
  + "scutum-team:<team id>:<role>) replace the role and memberships at each sign-in.";

function invite(teams, refresh) {
  return saveDialog({ title: "Invite a user", submitLabel: "Invite", intro: SSO_NOTE,
    fields: [
      { name: "email", label: "E-mail", type: "email", required: true, placeholder: "someone@example.com" },
      { name: "name", label: "Name" },
      { name: "role", label: "Role", type: "select", options: ROLES, value: "" },
      ...membershipFields(teams),
    ],
    submit: (values) => api.post("/users", body(values)) }, (user) => `${user.email} invited`, refresh);
}

function edit(user, teams, refresh) {
  return saveDialog({ title: `Edit ${user.email}`, intro: user.source === "sso" ? SSO_NOTE : undefined,
    fields: [
      { name: "name", label: "Name", value: user.name },
      { name: "role", label: "Role", type: "select", options: ROLES, value: user.role ?? "" },
      { name: "status", label: "Status", type: "select", value: user.status,
        options: [["active", "active"], ["disabled", "disabled (cannot sign in)"]] },
      ...membershipFields(teams, user),
    ],
    submit: (values) => api.put(userPath(user), body(values)) }, (saved) => `${saved.email} saved`, refresh);
}

function actions(user, teams, refresh) {
  return [
    button("Edit", () => edit(user, teams, refresh), { kind: "small", "aria-label": `Edit ${user.email}` }),
    confirmButton("Remove", `Remove ${user.email}`, { title: "Remove this user?",
      message: `${user.email} loses access to the console and leaves every team; their keys stop working.`,
      run: () => api.delete(userPath(user)), announce: `${user.email} removed`, refresh }),
  ];
}

function memberships(user) {
  if (!user.teams?.length) return h("span", { class: "muted" }, "none");
  return h("ul", { class: "plain" }, user.teams.map((team) => h("li", {}, `${team.team_alias ?? team.team_id} `,
    badge(team.role, team.role === "team_admin" ? "info" : "neutral"))));
}

export async function render(main) {
  const body = h("div");
  let teams = [];
  const refresh = () => fill(body, async () => {
    const [{ users }, teamList] = await Promise.all([api.get("/users"), api.get("/teams")]);
    teams = teamList.teams;
    return dataTable({ caption: "Users", rows: users, rowLabel: (u) => u.email,
      empty: "No users yet. They appear when they first sign in with SSO, or invite them here.",
      columns: [
        { label: "User", value: (u) => [h("strong", {}, u.email), u.name ? [h("br"), h("span", { class: "muted" }, u.name)] : null] },
        { label: "Role", value: (u) => (u.role ? badge(u.role, u.role === "admin" ? "info" : "neutral") : h("span", { class: "muted" }, "none")) },
        { label: "Teams", value: memberships },
        { label: "Source", value: (u) => (u.source === "sso" ? "SSO" : "invited") },
        { label: "Status", value: (u) => (u.status === "active" ? badge("active", "ok") : badge(u.status, "danger")) },
        { label: "Last sign-in", value: (u) => (u.last_login_at ? formatDate(u.last_login_at) : "never") },
        { label: "Created", value: (u) => formatDate(u.created_at) },
        actionsColumn((u) => actions(u, teams, refresh)),
      ] });
  });
  // The invite form offers the teams the first load brings.
  const loaded = refresh();
  main.append(pageHeader(title, "People who sign in with single sign-on, their roles and their teams.",
    writeOnly(button("Invite user", afterLoad(loaded, () => invite(teams, refresh)), { kind: "primary", id: "invite-user" }))), body);
  await loaded;
}
