// Routing policies: fallback chains, model groups, strategies and conditional routes, edited as
// JSON configs (the API validates them and answers with the exact place of each problem).
import { h, replace, formatDate } from "../dom.js";
import { api } from "../api.js";
import { pageHeader, dataTable, button, badge, formDialog, confirmAction, toast, loadError } from "../ui.js";

export const title = "Routing Policies";

const EXAMPLES = {
  fallback: { model: "gpt-5", fallbacks: ["claude-sonnet-4.5"] },
  model_group: { name: "fast", models: ["gpt-5-mini"] },
  routing_strategy: { strategy: "least-busy" },
  conditional: { conditions: [] },
};

function policyFields(policy = {}) {
  return [
    { name: "name", label: "Name", required: true, value: policy.name },
    { name: "type", label: "Type", type: "select", options: Object.keys(EXAMPLES), value: policy.type },
    { name: "config", label: "Config (JSON)", type: "json", required: true, value: policy.config ?? EXAMPLES.fallback,
      help: "The API checks the config for the chosen type and names any problem." },
    { name: "priority", label: "Priority", type: "number", step: 1, value: policy.priority ?? 0 },
    { name: "enabled", label: "Enabled", type: "checkbox", value: policy.enabled ?? true },
  ];
}

export async function render(main) {
  const body = h("div");
  async function refresh() {
    try {
      const { policies } = await api.get("/routing-policies");
      replace(body, dataTable({ caption: "Routing policies", rows: policies, rowLabel: (p) => p.name,
        empty: "No routing policies. Requests use each model's own deployments; create a policy for fallbacks or groups.",
        columns: [
          { label: "Name", value: (p) => h("strong", {}, p.name) },
          { label: "Type", value: (p) => p.type },
          { label: "Config", value: (p) => h("code", {}, JSON.stringify(p.config)) },
          { label: "Priority", class: "num", value: (p) => String(p.priority) },
          { label: "State", value: (p) => (p.enabled ? badge("enabled", "ok") : badge("disabled", "warn")) },
          { label: "Created", value: (p) => formatDate(p.created_at) },
          { label: "Actions", class: "actions", value: (p) => [
            button("Edit", async () => {
              const saved = await formDialog({ title: `Edit ${p.name}`, fields: policyFields(p),
                submit: (values) => api.put(`/routing-policies/${p.id}`, values) });
              if (saved) {
                toast(`${saved.name} saved`);
                await refresh();
              }
            }, { kind: "small", "aria-label": `Edit ${p.name}` }),
            button("Delete", async () => {
              const done = await confirmAction({ title: "Delete this policy?", message: `${p.name} stops applying on every node.`,
                run: () => api.delete(`/routing-policies/${p.id}`) });
              if (done) {
                toast(`${p.name} deleted`);
                await refresh();
              }
            }, { kind: "small", "aria-label": `Delete ${p.name}` }),
          ] },
        ] }));
    } catch (error) {
      replace(body, loadError(error));
    }
  }
  const create = async () => {
    const saved = await formDialog({ title: "Create a routing policy", submitLabel: "Create", fields: policyFields(),
      submit: (values) => api.post("/routing-policies", values) });
    if (saved) {
      toast(`${saved.name} created`);
      await refresh();
    }
  };
  replace(main, pageHeader(title, "How requests pick deployments and where they fall back.",
    button("Create policy", create, { kind: "primary", id: "create-policy" })), body);
  await refresh();
}
