// Models: the catalog with prices and limits, and the operator's overrides (prices, RPM/TPM, tier,
// active flag) through PUT /api/v1/models/{model}.
import { h, formatInteger } from "../dom.js";
import { api } from "../api.js";
import { pageHeader, dataTable, button, badge, saveDialog, fill } from "../ui.js";

export const title = "Models";

const perMillion = (perToken) => (perToken == null ? "—" : `$${(perToken * 1e6).toFixed(2)}`);

function edit(model, refresh) {
  return saveDialog({ title: `Edit ${model.model_name}`,
    intro: "Overrides apply on every node within a second. Prices are per token.",
    fields: [
      { name: "input_cost_per_token", label: "Input cost per token (USD)", type: "number", min: 0, value: model.input_cost_per_token },
      { name: "output_cost_per_token", label: "Output cost per token (USD)", type: "number", min: 0, value: model.output_cost_per_token },
      { name: "rpm", label: "Requests per minute", type: "number", min: 1, step: 1, value: model.rpm },
      { name: "tpm", label: "Tokens per minute", type: "number", min: 1, step: 1, value: model.tpm },
      { name: "tier", label: "Tier", value: model.tier },
      { name: "active", label: "Active (served by the proxy)", type: "checkbox", value: model.active },
    ],
    submit: (values) => api.put(`/models/${encodeURIComponent(model.model_name)}`, values) },
  () => `${model.model_name} saved`, refresh);
}

export async function render(main) {
  const body = h("div");
  const refresh = () => fill(body, async () => {
    const { models } = await api.get("/models");
    return dataTable({ caption: "Models", rows: models, rowLabel: (m) => m.model_name,
      empty: "The catalog is empty. Add deployments to config/models.yaml and restart the gateway.",
      columns: [
        { label: "Model", value: (m) => h("strong", {}, m.model_name) },
        { label: "Provider", value: (m) => m.provider },
        { label: "Upstream model", value: (m) => h("code", {}, m.model) },
        { label: "Mode", value: (m) => m.mode },
        { label: "Input / 1M", class: "num", value: (m) => perMillion(m.input_cost_per_token) },
        { label: "Output / 1M", class: "num", value: (m) => perMillion(m.output_cost_per_token) },
        { label: "RPM", class: "num", value: (m) => formatInteger(m.rpm) },
        { label: "TPM", class: "num", value: (m) => formatInteger(m.tpm) },
        { label: "Context", class: "num", value: (m) => formatInteger(m.context_window) },
        { label: "State", value: (m) => (m.active ? badge("active", "ok") : badge("inactive", "warn")) },
        { label: "Actions", class: "actions", value: (m) => button("Edit", () => edit(m, refresh),
          { kind: "small", "aria-label": `Edit ${m.model_name}` }) },
      ] });
  });
  main.append(pageHeader(title, "Deployments from the catalog with the operator's overrides."), body);
  await refresh();
}
