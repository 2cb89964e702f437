// Settings: the platform switches and defaults (PUT /api/v1/settings merges what is sent), and the
// latest audit-log entries.
import { h, formatDate, formatValue } from "../dom.js";
import { api } from "../api.js";
import { pageHeader, dataTable, section, button, toast, showError, confirmAction, fill } from "../ui.js";

export const title = "Settings";

const FLAGS = [
  ["maintenance_mode", "Maintenance mode (the proxy refuses requests)"],
  ["enable_budget_enforcement", "Enforce budgets"],
  ["enable_cost_tracking", "Track cost"],
  ["enable_guardrails", "Run guardrails"],
  ["enable_routing_policies", "Apply routing policies"],
];
const NUMBERS = [
  ["global_rate_limit", "Global rate limit (requests per minute)"],
  ["default_key_rpm", "Default RPM for new keys"],
  ["default_key_tpm", "Default TPM for new keys"],
];

function form(settings, refresh) {
  const controls = [];
  const fields = [
    ...FLAGS.map(([name, label]) => {
      const input = h("input", { id: `setting-${name}`, name, type: "checkbox", checked: Boolean(settings[name]) });
      controls.push([name, () => input.checked]);
      return h("div", { class: "field field-checkbox" }, input, h("label", { for: `setting-${name}` }, label));
    }),
    ...NUMBERS.map(([name, label]) => {
      const input = h("input", { id: `setting-${name}`, name, type: "number", min: 1, step: 1, value: settings[name] ?? "" });
      controls.push([name, () => (input.value === "" ? undefined : Number(input.value))]);
      return h("div", { class: "field" }, h("label", { for: `setting-${name}` }, label), input);
    }),
    (() => {
      const input = h("input", { id: "setting-default_model", name: "default_model", value: settings.default_model ?? "" });
      controls.push(["default_model", () => input.value.trim() || null]);
      return h("div", { class: "field" }, h("label", { for: "setting-default_model" }, "Default model"), input);
    })(),
    (() => {
      const input = h("input", { id: "setting-mcp_allowed_hosts", name: "mcp_allowed_hosts", value: (settings.mcp_allowed_hosts ?? []).join(", ") });
      controls.push(["mcp_allowed_hosts", () => input.value.split(",").map((v) => v.trim()).filter(Boolean)]);
      return h("div", { class: "field" }, h("label", { for: "setting-mcp_allowed_hosts" }, "Internal hosts MCP servers may use"),
        input, h("small", { class: "help" }, "Comma-separated host names, IPs or CIDR blocks."));
    })(),
  ];
  const save = h("button", { type: "submit", class: "button button-primary" }, "Save settings");
  const element = h("form", { class: "form", id: "settings-form" }, fields, h("div", {}, save));
  element.addEventListener("submit", async (event) => {
    event.preventDefault();
    const changes = {};
    for (const [name, read] of controls) {
      const value = read();
      if (value !== undefined) changes[name] = value;
    }
    if (changes.maintenance_mode && !settings.maintenance_mode) {
      const confirmed = await confirmAction({ title: "Turn on maintenance mode?", confirmLabel: "Turn on",
        message: "Every node's proxy refuses all requests until maintenance mode is turned off again." });
      if (!confirmed) return;
    }
    save.disabled = true;
    try {
      await api.put("/settings", changes);
      toast("Settings saved");
      await refresh();
    } catch (error) {
      showError(error, "Saving settings failed");
    } finally {
      save.disabled = false;
    }
  });
  return element;
}

export async function render(main) {
  const body = h("div");
  const refresh = () => fill(body, async () => {
    const [settings, { entries }] = await Promise.all([api.get("/settings"), api.get("/audit-log", { limit: 30 })]);
    const known = new Set([...FLAGS, ...NUMBERS].map(([name]) => name).concat(["default_model", "mcp_allowed_hosts"]));
    const other = Object.entries(settings).filter(([name]) => !known.has(name));
    return h("div", {},
      section("Platform", form(settings, refresh),
        other.length ? h("dl", { class: "details" }, other.map(([name, value]) => [h("dt", {}, name), h("dd", {}, formatValue(value))])) : null),
      section("Audit log", dataTable({ caption: "Audit log", rows: entries,
        empty: "No changes recorded yet.",
        columns: [
          { label: "When", value: (e) => formatDate(e.at ?? e.created_at) },
          { label: "Who", value: (e) => e.actor },
          { label: "Action", value: (e) => e.action },
          { label: "Target", value: (e) => [e.target_type, e.target_id].filter(Boolean).join(" ") || "—" },
          { label: "Details", class: "wrap", value: (e) => (e.details && Object.keys(e.details).length ? formatValue(e.details) : "—") },
        ] })));
  });
  main.append(pageHeader(title, "Gateway-wide switches; every node applies them within a second.",
    button("Reload", () => refresh(), { id: "settings-reload" })), body);
  await refresh();
}
