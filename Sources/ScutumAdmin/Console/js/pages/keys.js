// API keys: list with team, limits, budget and state; generate (the secret is shown once, with a
// copy button); block/unblock and delete, each confirmed in a dialog. Team members and team admins
// (SSO callers with team access) create their own keys within a team's models and key caps, and
// revoke them; a viewer only reads.
import { h, replace, formatDate, formatMoney, formatInteger } from "../dom.js";
import { api, userEmails } from "../api.js";
import { pageHeader, dataTable, button, badge, formDialog, saveDialog, secretDialog, confirmButton, toast, showError, fill,
  selectOptions, writeOnly, actionsColumn, afterLoad } from "../ui.js";
import { currentCaller, isTeamScoped, managesTeam } from "../access.js";

export const title = "API Keys";

function keyLabel(key) {
  return key.key_alias || key.key_name;
}

/** Opens a key form; once a key is made, refreshes the list and shows its secret once. */
async function createAndShow(options, refresh) {
  const created = await formDialog(options);
  if (!created) return;
  await refresh();
  await secretDialog({ title: "Your new key", secret: created.key,
    intro: `Copy the key for “${keyLabel(created)}” now: it is stored only as a hash and cannot be shown again.` });
}

function generate(teams, refresh) {
  return createAndShow({
    title: "Generate a key",
    submitLabel: "Generate",
    intro: "The key is shown once after it is created. Empty fields take the gateway's defaults.",
    fields: [
      { name: "key_alias", label: "Alias", required: true, placeholder: "my-service" },
      { name: "team_id", label: "Team", type: "select", options: [["", "No team"], ...teams.map((t) => [t.team_id, t.team_alias])] },
      { name: "models", label: "Allowed models", type: "list", help: "Comma-separated; empty allows every model." },
      { name: "max_budget", label: "Max budget (USD)", type: "number", min: 0 },
      { name: "budget_duration", label: "Budget period", placeholder: "30d or monthly" },
      { name: "rpm_limit", label: "Requests per minute", type: "number", min: 1, step: 1 },
      { name: "tpm_limit", label: "Tokens per minute", type: "number", min: 1, step: 1 },
      { name: "duration", label: "Expires after", placeholder: "90d; empty never expires" },
      { name: "role", label: "Role", type: "select", options: [["user", "user (proxy only)"], ["admin", "admin (can sign in here)"]] },
    ],
    submit: (values) => api.post("/keys/generate", values),
  }, refresh);
}

/** The hint under a limit: the team's cap for its members' keys (which an empty field takes), or none. */
function capHint(cap, format) {
  return cap == null ? "The team sets no cap; empty takes the gateway's default."
    : `At most ${format(cap)}, the team's cap for a key; empty takes the cap.`;
}

/** The tightest of the values given (null when none is). */
const tightest = (...values) => (values.some((v) => v != null) ? Math.min(...values.filter((v) => v != null)) : null);

/** The self-serve limits, each with the team's cap on it: a key's budget stays within the team's own too. */
const CAPS = [
  { name: "max_budget", cap: (t) => tightest(t?.key_max_budget, t?.max_budget), label: "Max budget (USD)", format: formatMoney, min: 0 },
  { name: "rpm_limit", cap: (t) => t?.key_rpm_limit, label: "Requests per minute", format: formatInteger, min: 1, step: 1 },
  { name: "tpm_limit", cap: (t) => t?.key_tpm_limit, label: "Tokens per minute", format: formatInteger, min: 1, step: 1 },
];

/** Shows the chosen team's models and caps in the self-serve form. */
function showTeam(team, form) {
  const models = form.elements.namedItem("models");
  replace(models, selectOptions(team?.models ?? []));
  models.disabled = !team?.models?.length;
  replace(form.querySelector("#field-models-help"), modelsHint(team));
  for (const { name, cap, format } of CAPS) replace(form.querySelector(`#field-${name}-help`), capHint(cap(team), format));
}

function modelsHint(team) {
  return team?.models?.length
    ? "Pick the models the key may call (Ctrl or Shift for several); none selected allows all of the team's."
    : "The team allows every model the gateway serves, and so does the key.";
}

/**
 * The self-serve form of a team member or team admin: one of their teams (from `/auth/me`), and the
 * key's models and limits within that team's (`teams`: the team records, with models and key caps).
 */
function createOwnKey(teams, refresh) {
  const details = new Map(teams.map((team) => [team.team_id, team]));
  const mine = currentCaller().teams;
  const first = details.get(mine[0]?.team_id);
  return createAndShow({
    title: "Create a key",
    submitLabel: "Create key",
    intro: "The key is yours, within the team's models and caps. It is shown once after it is created.",
    fields: [
      { name: "team_id", label: "Team", type: "select", required: true, value: mine[0]?.team_id,
        options: mine.map((team) => [team.team_id, team.team_alias ?? details.get(team.team_id)?.team_alias ?? team.team_id]),
        onChange: (teamID, form) => showTeam(details.get(teamID), form) },
      { name: "key_alias", label: "Alias", placeholder: "my-notebook" },
      { name: "models", label: "Models", type: "multiselect", options: first?.models ?? [], disabled: !first?.models?.length,
        help: modelsHint(first) },
      ...CAPS.map(({ name, cap, label, format, min, step }) =>
        ({ name, label, type: "number", min, step, help: capHint(cap(first), format) })),
      { name: "duration", label: "Expires after", placeholder: "90d; empty never expires" },
    ],
    submit: (values) => api.post("/keys/generate", values),
  }, refresh);
}

/** Revoking a key (deleting it): its owner or the team's admin, after a confirmation. */
function revoke(key, refresh) {
  return confirmButton("Revoke", `Revoke key ${keyLabel(key)}`, { title: "Revoke this key?",
    message: `“${keyLabel(key)}” (${key.key_name}) stops working on every node within a second. This cannot be undone.`,
    run: () => api.post("/keys/delete", { key_ids: [key.key_id] }), announce: `Key ${keyLabel(key)} revoked`, refresh });
}

/** Who a key belongs to: "you", a user's e-mail (or id), or "—" for keys made for applications. */
function owner(key, emails) {
  if (!key.user_id) return "—";
  return key.user_id === currentCaller().user?.user_id ? "you" : emails.get(key.user_id) ?? key.user_id;
}

function mayRevoke(key) {
  const me = currentCaller().user?.user_id;
  return managesTeam(key.team_id) || (me !== undefined && key.user_id === me);
}

function edit(key, teams, refresh) {
  return saveDialog({ title: `Edit key ${keyLabel(key)}`,
    intro: "Changes apply on every node within a second. Empty limits keep their current value.",
    fields: [
      { name: "key_alias", label: "Alias", value: key.key_alias },
      { name: "team_id", label: "Team", type: "select", value: key.team_id ?? "",
        options: [["", "No team"], ...teams.map((t) => [t.team_id, t.team_alias])], emptyAs: null },
      { name: "models", label: "Allowed models", type: "list", value: key.models, emptyAs: [], help: "Comma-separated; empty allows every model." },
      { name: "max_budget", label: "Max budget (USD)", type: "number", min: 0, value: key.max_budget },
      { name: "budget_duration", label: "Budget period", value: key.budget_duration, placeholder: "30d or monthly" },
      { name: "rpm_limit", label: "Requests per minute", type: "number", min: 1, step: 1, value: key.rpm_limit },
      { name: "tpm_limit", label: "Tokens per minute", type: "number", min: 1, step: 1, value: key.tpm_limit },
    ],
    submit: (values) => api.post("/keys/update", { key_id: key.key_id, ...values }) },
  () => `Key ${keyLabel(key)} saved`, refresh);
}

function actions(key, teams, refresh) {
  const block = key.blocked
    ? button("Unblock", async () => {
      try {
        await api.post("/keys/unblock", { key_id: key.key_id });
        toast(`Key ${keyLabel(key)} unblocked`);
        await refresh();
      } catch (error) {
        showError(error, "Unblock failed");
      }
    }, { kind: "small", "aria-label": `Unblock key ${keyLabel(key)}` })
    : confirmButton("Block", `Block key ${keyLabel(key)}`, { title: "Block this key?",
      message: `Requests with “${keyLabel(key)}” (${key.key_name}) will be refused on every node within a second.`,
      run: () => api.post("/keys/block", { key_id: key.key_id }), announce: `Key ${keyLabel(key)} blocked`, refresh });
  const remove = confirmButton("Delete", `Delete key ${keyLabel(key)}`, { title: "Delete this key?",
    message: `“${keyLabel(key)}” (${key.key_name}) and its budget are deleted for good. Applications using it stop working.`,
    run: () => api.post("/keys/delete", { key_ids: [key.key_id] }), announce: `Key ${keyLabel(key)} deleted`, refresh });
  const change = button("Edit", () => edit(key, teams, refresh), { kind: "small", "aria-label": `Edit key ${keyLabel(key)}` });
  return [change, block, remove];
}

export async function render(main) {
  const body = h("div");
  let teams = [];
  const team = isTeamScoped();
  const refresh = () => fill(body, async () => {
    const [{ keys }, teamList, emails] = await Promise.all([api.get("/keys"), api.get("/teams"), userEmails()]);
    teams = teamList.teams;
    const teamName = new Map(teams.map((t) => [t.team_id, t.team_alias]));
    return dataTable({ caption: "API keys", rows: keys, rowLabel: keyLabel,
      empty: team ? "You have no keys yet. Create one to call the proxy with your team's models."
        : "No keys yet. Generate one to let an application call the proxy.",
      columns: [
        { label: "Key", value: (k) => [h("strong", {}, k.key_alias ?? "(no alias)"), h("br"), h("code", { class: "muted" }, k.key_name)] },
        { label: "Team", value: (k) => (k.team_id ? teamName.get(k.team_id) ?? k.team_id : "—") },
        { label: "Owner", value: (k) => owner(k, emails) },
        team ? null : { label: "Role", value: (k) => k.role },
        { label: "Models", value: (k) => (k.models.length ? k.models.join(", ") : "all") },
        { label: "RPM / TPM", class: "num", value: (k) => `${formatInteger(k.rpm_limit)} / ${formatInteger(k.tpm_limit)}` },
        { label: "Spend / budget", class: "num",
          value: (k) => (k.max_budget == null ? "no budget" : `${formatMoney(k.spend ?? 0)} / ${formatMoney(k.max_budget)}`) },
        { label: "State", value: (k) => (k.blocked ? badge("blocked", "danger") : badge("active", "ok")) },
        { label: "Expires", value: (k) => (k.expires ? formatDate(k.expires) : "never") },
        team ? actionsColumn((k) => (mayRevoke(k) ? revoke(k, refresh) : null), true)
          : actionsColumn((k) => actions(k, teams, refresh)),
      ] });
  });
  // The key forms offer the teams (their models and caps) the first load brings.
  const loaded = refresh();
  main.append(pageHeader(title, "Keys applications use with the proxy (port 4000).",
    team && currentCaller().teams.length
      ? button("Create key", afterLoad(loaded, () => createOwnKey(teams, refresh)), { kind: "primary", id: "create-key" })
      : writeOnly(button("Generate key", afterLoad(loaded, () => generate(teams, refresh)), { kind: "primary", id: "generate-key" }))),
  body);
  await loaded;
}
