// API keys: list with team, limits, budget and state; generate (the secret is shown once, with a
// copy button); block/unblock and delete, each confirmed in a dialog.
import { h, formatDate, formatMoney, formatInteger } from "../dom.js";
import { api } from "../api.js";
import { pageHeader, dataTable, button, badge, formDialog, saveDialog, secretDialog, confirmButton, toast, showError, fill } from "../ui.js";

export const title = "API Keys";

function keyLabel(key) {
  return key.key_alias || key.key_name;
}

async function generate(teams, refresh) {
  const created = await formDialog({
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
  });
  if (!created) return;
  await refresh();
  await secretDialog({ title: "Your new key", secret: created.key,
    intro: `Copy the key for “${keyLabel(created)}” now: it is stored only as a hash and cannot be shown again.` });
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
  const refresh = () => fill(body, async () => {
    const [{ keys }, teamList] = await Promise.all([api.get("/keys"), api.get("/teams")]);
    teams = teamList.teams;
    const teamName = new Map(teams.map((team) => [team.team_id, team.team_alias]));
    return dataTable({ caption: "API keys", rows: keys, rowLabel: keyLabel,
      empty: "No keys yet. Generate one to let an application call the proxy.",
      columns: [
        { label: "Key", value: (k) => [h("strong", {}, k.key_alias ?? "(no alias)"), h("br"), h("code", { class: "muted" }, k.key_name)] },
        { label: "Team", value: (k) => (k.team_id ? teamName.get(k.team_id) ?? k.team_id : "—") },
        { label: "Role", value: (k) => k.role },
        { label: "Models", value: (k) => (k.models.length ? k.models.join(", ") : "all") },
        { label: "RPM / TPM", class: "num", value: (k) => `${formatInteger(k.rpm_limit)} / ${formatInteger(k.tpm_limit)}` },
        { label: "Spend / budget", class: "num",
          value: (k) => (k.max_budget == null ? "no budget" : `${formatMoney(k.spend ?? 0)} / ${formatMoney(k.max_budget)}`) },
        { label: "State", value: (k) => (k.blocked ? badge("blocked", "danger") : badge("active", "ok")) },
        { label: "Expires", value: (k) => (k.expires ? formatDate(k.expires) : "never") },
        { label: "Actions", class: "actions", value: (k) => actions(k, teams, refresh) },
      ] });
  });
  main.append(pageHeader(title, "Keys applications use with the proxy (port 4000).",
    button("Generate key", () => generate(teams, refresh), { kind: "primary", id: "generate-key" })), body);
  await refresh();
}
