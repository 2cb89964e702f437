// Guardrails: profiles (PII, secrets, prompt injection, invisible text, topics, URLs, size), their
// assignments to teams, and the latest guardrail events. A team admin sees only their teams' events
// (profiles are global); a viewer reads everything.
import { h, formatDate, formatValue } from "../dom.js";
import { api } from "../api.js";
import { pageHeader, dataTable, button, badge, saveDialog, confirmButton, toast, section, fill, writeOnly, actionsColumn } from "../ui.js";
import { isTeamScoped } from "../access.js";

export const title = "Guardrails";

const ACTIONS = ["block", "mask", "detect"];

function profileFields(profile = {}) {
  return [
    { name: "name", label: "Name", required: true, value: profile.name },
    { name: "description", label: "Description", value: profile.description },
    { name: "mode", label: "Applies to", type: "select", options: ["input", "output", "both"], value: profile.mode ?? "input" },
    { name: "on_fail", label: "On a finding", type: "select", options: [["block", "block the request"], ["log", "log only"]], value: profile.on_fail },
    { name: "enable_pii_detection", label: "Detect PII", type: "checkbox", value: profile.enable_pii_detection },
    { name: "pii_action", label: "PII action", type: "select", options: ACTIONS, value: profile.pii_action },
    { name: "pii_entities", label: "PII entities", type: "list", value: profile.pii_entities,
      help: "EMAIL_ADDRESS, PHONE_NUMBER, CREDIT_CARD, US_SSN, IBAN_CODE, IP_ADDRESS, PERSON" },
    { name: "enable_secrets_detection", label: "Detect secrets", type: "checkbox", value: profile.enable_secrets_detection },
    { name: "secrets_action", label: "Secrets action", type: "select", options: ACTIONS, value: profile.secrets_action },
    { name: "enable_prompt_injection", label: "Detect prompt injection", type: "checkbox", value: profile.enable_prompt_injection },
    { name: "prompt_injection_threshold", label: "Prompt-injection threshold (0–1)", type: "number", min: 0, value: profile.prompt_injection_threshold },
    { name: "enable_invisible_text", label: "Detect invisible text", type: "checkbox", value: profile.enable_invisible_text },
    { name: "banned_topics", label: "Banned topics", type: "list", value: profile.banned_topics, emptyAs: [] },
    { name: "enable_malicious_urls", label: "Detect malicious URLs", type: "checkbox", value: profile.enable_malicious_urls },
    { name: "blocked_hosts", label: "Blocked hosts", type: "list", value: profile.blocked_hosts, emptyAs: [] },
    { name: "max_input_tokens", label: "Max input tokens", type: "number", min: 1, step: 1, value: profile.max_input_tokens },
    { name: "is_active", label: "Active", type: "checkbox", value: profile.is_active ?? true },
    { name: "is_default", label: "Default for teams without an assignment", type: "checkbox", value: profile.is_default },
  ];
}

function enabledDetectors(profile) {
  const on = [];
  if (profile.enable_pii_detection) on.push(`PII (${profile.pii_action})`);
  if (profile.enable_secrets_detection) on.push(`secrets (${profile.secrets_action})`);
  if (profile.enable_prompt_injection) on.push(`injection ≥ ${profile.prompt_injection_threshold}`);
  if (profile.enable_invisible_text) on.push("invisible text");
  if (profile.banned_topics?.length) on.push(`topics: ${profile.banned_topics.join(", ")}`);
  if (profile.enable_malicious_urls) on.push("URLs");
  if (profile.max_input_tokens) on.push(`≤ ${profile.max_input_tokens} tokens`);
  return on.length ? on.join("; ") : "none";
}

function assign(profile, teams, refresh) {
  if (!teams.length) {
    toast("Create a team first: profiles are assigned to teams.", "error");
    return null;
  }
  return saveDialog({ title: `Assign ${profile.name}`, submitLabel: "Assign",
    fields: [
      { name: "team_id", label: "Team", type: "select", options: teams.map((t) => [t.team_id, t.team_alias]) },
      { name: "priority", label: "Priority", type: "number", step: 1, value: 0, help: "Lower runs first." },
    ],
    submit: ({ team_id: teamID, priority = 0 }) =>
      api.post(`/guardrails/${profile.id}/assign/${encodeURIComponent(teamID)}?priority=${encodeURIComponent(priority)}`) },
  () => `${profile.name} assigned`, refresh);
}

function profileActions(profile, teams, refresh) {
  return [
    button("Assign", () => assign(profile, teams, refresh), { kind: "small", "aria-label": `Assign ${profile.name} to a team` }),
    button("Edit", () => saveDialog({ title: `Edit ${profile.name}`, fields: profileFields(profile),
      submit: (values) => api.put(`/guardrails/${profile.id}`, values) }, (saved) => `${saved.name} saved`, refresh),
    { kind: "small", "aria-label": `Edit ${profile.name}` }),
    confirmButton("Delete", `Delete ${profile.name}`, { title: "Delete this profile?",
      message: `${profile.name} and its team assignments are deleted; those teams stop being checked by it.`,
      run: () => api.delete(`/guardrails/${profile.id}`), announce: `${profile.name} deleted`, refresh }),
  ];
}

function profilesTable(profiles, teams, refresh) {
  return dataTable({ caption: "Guardrail profiles", rows: profiles, rowLabel: (p) => p.name,
    empty: "No guardrail profiles yet. Create one, then assign it to a team.",
    columns: [
      { label: "Profile", value: (p) => [h("strong", {}, p.name), p.description ? [h("br"), h("span", { class: "muted" }, p.description)] : null] },
      { label: "Mode", value: (p) => `${p.mode}, ${p.on_fail}` },
      { label: "Detectors", value: enabledDetectors },
      { label: "State", value: (p) => [p.is_active ? badge("active", "ok") : badge("inactive", "warn"), p.is_default ? [" ", badge("default", "info")] : null] },
      actionsColumn((p) => profileActions(p, teams, refresh)),
    ] });
}

function assignmentsTable(assignments, refresh) {
  return dataTable({ caption: "Assignments", rows: assignments, rowLabel: (a) => `${a.config_name} ${a.team_name}`,
    empty: "No assignments. Use Assign on a profile to apply it to a team's keys.",
    columns: [
      { label: "Profile", value: (a) => a.config_name },
      { label: "Team", value: (a) => a.team_name },
      { label: "Priority", class: "num", value: (a) => String(a.priority) },
      { label: "Since", value: (a) => formatDate(a.created_at) },
      actionsColumn((a) => confirmButton("Unassign", `Unassign ${a.config_name} from ${a.team_name}`, {
        title: "Remove this assignment?", message: `${a.team_name} will no longer be checked by ${a.config_name}.`,
        run: () => api.delete(`/guardrails/${a.guardrail_config_id}/assign/${encodeURIComponent(a.team_id)}`),
        announce: "Assignment removed", refresh })),
    ] });
}

function eventsTable(events) {
  return dataTable({ caption: "Recent guardrail events", rows: events,
    empty: "No guardrail events yet: nothing has been blocked, masked or detected.",
    columns: [
      { label: "When", value: (e) => formatDate(e.at) },
      { label: "Profile", value: (e) => e.config_name ?? "—" },
      { label: "Scanner", value: (e) => `${e.scanner}${e.rule ? ` / ${e.rule}` : ""}` },
      { label: "Type", value: (e) => e.event_type },
      { label: "Action", value: (e) => badge(e.action, e.action === "block" ? "danger" : "warn") },
      { label: "Team", value: (e) => e.team_id ?? "—" },
      { label: "Model", value: (e) => e.model ?? "—" },
      { label: "Details", class: "wrap", value: (e) => formatValue(e.details) },
    ] });
}

export async function render(main) {
  const body = h("div");
  if (isTeamScoped()) {
    main.append(pageHeader(title, "What the guardrails blocked, masked or detected in your teams' requests."), body);
    await fill(body, async () => section("Recent events", eventsTable((await api.get("/guardrail-events", { limit: 50 })).events)));
    return;
  }
  const refresh = () => fill(body, async () => {
    const [{ guardrails }, { teams }, { assignments }, { events }] = await Promise.all([
      api.get("/guardrails"), api.get("/teams"), api.get("/guardrail-assignments"), api.get("/guardrail-events", { limit: 25 })]);
    return [section("Profiles", profilesTable(guardrails, teams, refresh)),
      section("Team assignments", assignmentsTable(assignments, refresh)), section("Recent events", eventsTable(events))];
  });
  const create = () => saveDialog({ title: "Create a guardrail profile", submitLabel: "Create", fields: profileFields(),
    submit: (values) => api.post("/guardrails", values) }, (saved) => `${saved.name} created`, refresh);
  main.append(pageHeader(title, "Content checks on requests and answers, per team.",
    writeOnly(button("Create profile", create, { kind: "primary", id: "create-guardrail" }))), body);
  await refresh();
}
