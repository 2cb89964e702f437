// Models: the catalog with prices and limits, and the operator's overrides (prices, RPM/TPM, tier,
// active flag) through PUT /api/v1/models/{model}.
import { h, formatInteger } from "../dom.js";
import { api } from "../api.js";
import { pageHeader, dataTable, button, badge, saveDialog, fill, actionsColumn } from "../ui.js";

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

function healthBadge(state) {
  if (state === "closed") return badge("healthy", "ok");
  if (state === "open") return badge("cooling down", "danger");
  if (state === "half_open") return badge("probing", "warn");
  return badge(state || "unknown", "neutral");
}

function deploymentSummary(deployments) {
  const healthy = deployments.filter((d) => d.health === "closed").length;
  return deployments.length <= 1 ? String(deployments.length) : `${deployments.length} (${healthy} healthy)`;
}

export async function render(main) {
  const body = h("div");
  const refresh = () => fill(body, async () => {
    const { models } = await api.get("/models");
    const table = dataTable({ caption: "Models", rows: models, rowLabel: (m) => m.model_name,
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
        { label: "Deployments", class: "num", value: (m) => deploymentSummary(m.deployments || []) },
        { label: "State", value: (m) => (m.active ? badge("active", "ok") : badge("inactive", "warn")) },
        actionsColumn((m) => button("Edit", () => edit(m, refresh), { kind: "small", "aria-label": `Edit ${m.model_name}` })),
      ] });
    const deployments = models.flatMap((m) => m.deployments || []);
    const pools = dataTable({ caption: "Deployments and their health", rows: deployments, rowLabel: (d) => d.id,
      empty: "No deployments.",
      columns: [
        { label: "Deployment", value: (d) => h("code", {}, d.id) },
        { label: "Model", value: (d) => d.model_name },
        { label: "Provider", value: (d) => d.provider },
        { label: "Upstream model", value: (d) => h("code", {}, d.model) },
        { label: "Endpoint", value: (d) => d.api_base || "—" },
        { label: "Weight", class: "num", value: (d) => (d.weight == null ? "—" : String(d.weight)) },
        { label: "Priority", class: "num", value: (d) => String(d.priority) },
        { label: "RPM", class: "num", value: (d) => formatInteger(d.rpm) },
        { label: "TPM", class: "num", value: (d) => formatInteger(d.tpm) },
        { label: "Health", value: (d) => healthBadge(d.health) },
      ] });
    return h("div", {}, table, pools);
  });
  main.append(pageHeader(title, "Models from the catalog with the operator's overrides; each model's deployments and their circuit breakers."), body);
  await refresh();
}
