// Routing policies: fallback chains, model groups, strategies and conditional routes, edited as
// JSON configs (the API validates them and answers with the exact place of each problem).
import { h, formatDate } from "../dom.js";
import { api } from "../api.js";
import { pageHeader, dataTable, button, badge, saveDialog, confirmButton, fill, writeOnly, actionsColumn } from "../ui.js";

export const title = "Routing Policies";

/** A valid config for each policy type, offered when the type is picked. */
const EXAMPLES = {
  fallback: { model: "gpt-5", fallbacks: ["claude-sonnet-4.5", "gemini-3-pro"] },
  model_group: { alias: "team-fast", models: ["gpt-5-mini", "claude-haiku-4.5"] },
  routing_strategy: { strategy: "least-busy" },
  conditional: { condition: { team_id: "research" }, source_model: "gpt-5", redirect_to: "claude-opus-4.5" },
};

/** Replaces the config with the chosen type's example unless the user has edited it. */
function offerExample(type, form) {
  const config = form.elements.namedItem("config");
  const current = config.value.trim();
  const untouched = !current || Object.values(EXAMPLES).some((example) => JSON.stringify(example, null, 2) === current);
  if (untouched && EXAMPLES[type]) config.value = JSON.stringify(EXAMPLES[type], null, 2);
}

function policyFields(policy = {}) {
  return [
    { name: "name", label: "Name", required: true, value: policy.name },
    { name: "type", label: "Type", type: "select", options: Object.keys(EXAMPLES), value: policy.type, onChange: offerExample },
    { name: "config", label: "Config (JSON)", type: "json", required: true, value: policy.config ?? EXAMPLES.fallback,
      help: "fallback: model + fallbacks; model_group: alias + models; routing_strategy: strategy (simple-shuffle, cost-based, least-busy, latency-based); conditional: condition + source_model + redirect_to. The API names any problem." },
    { name: "priority", label: "Priority", type: "number", step: 1, value: policy.priority ?? 0 },
    { name: "enabled", label: "Enabled", type: "checkbox", value: policy.enabled ?? true },
  ];
}

function actions(policy, refresh) {
  return [
    button("Edit", () => saveDialog({ title: `Edit ${policy.name}`, fields: policyFields(policy),
      submit: (values) => api.put(`/routing-policies/${policy.id}`, values) }, (saved) => `${saved.name} saved`, refresh),
    { kind: "small", "aria-label": `Edit ${policy.name}` }),
    confirmButton("Delete", `Delete ${policy.name}`, { title: "Delete this policy?",
      message: `${policy.name} stops applying on every node.`, run: () => api.delete(`/routing-policies/${policy.id}`),
      announce: `${policy.name} deleted`, refresh }),
  ];
}

export async function render(main) {
  const body = h("div");
  const refresh = () => fill(body, async () => {
    const { policies } = await api.get("/routing-policies");
    return dataTable({ caption: "Routing policies", rows: policies, rowLabel: (p) => p.name,
      empty: "No routing policies. Requests use each model's own deployments; create a policy for fallbacks or groups.",
      columns: [
        { label: "Name", value: (p) => h("strong", {}, p.name) },
        { label: "Type", value: (p) => p.type },
        { label: "Config", class: "wrap", value: (p) => h("code", {}, JSON.stringify(p.config)) },
        { label: "Priority", class: "num", value: (p) => String(p.priority) },
        { label: "State", value: (p) => (p.enabled ? badge("enabled", "ok") : badge("disabled", "warn")) },
        { label: "Created", value: (p) => formatDate(p.created_at) },
        actionsColumn((p) => actions(p, refresh)),
      ] });
  });
  const create = () => saveDialog({ title: "Create a routing policy", submitLabel: "Create", fields: policyFields(),
    submit: (values) => api.post("/routing-policies", values) }, (saved) => `${saved.name} created`, refresh);
  main.append(pageHeader(title, "How requests pick deployments and where they fall back.",
    writeOnly(button("Create policy", create, { kind: "primary", id: "create-policy" }))), body);
  await refresh();
}
