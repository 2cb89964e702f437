// Spend logs: every recorded request with its front door, tokens and cost, filterable by key, team, model and
// date range, with totals per model for the same range.
import { h, replace, formatDate, formatMoney, formatInteger, formatMilliseconds } from "../dom.js";
import { api } from "../api.js";
import { pageHeader, dataTable, section, badge, fill } from "../ui.js";
import { barChart } from "../chart.js";

export const title = "Spend Logs";

const FILTERS = [
  ["key_id", "Key id", "text"],
  ["team_id", "Team id", "text"],
  ["model", "Model", "text"],
  ["start", "From", "date"],
  ["end", "To", "date"],
];

export async function render(main) {
  const inputs = Object.fromEntries(FILTERS.map(([name, , type]) => [name, h("input", { id: `filter-${name}`, name, type })]));
  const form = h("form", { class: "toolbar", id: "spend-filters", role: "search", "aria-label": "Filter spend logs" },
    FILTERS.map(([name, label]) => h("div", { class: "field" }, h("label", { for: `filter-${name}` }, label), inputs[name])),
    h("button", { type: "submit", class: "button button-primary" }, "Apply"),
    h("button", { type: "reset", class: "button" }, "Clear"));
  const totals = h("div");
  const body = h("div");
  async function refresh() {
    const query = Object.fromEntries(FILTERS.map(([name]) => [name, inputs[name].value.trim()]));
    await fill(body, async () => {
      const [{ logs }, byModel] = await Promise.all([
        api.get("/spend/logs", { ...query, limit: 200 }),
        api.get("/spend/models", { start: query.start, end: query.end, key_id: query.key_id, team_id: query.team_id })]);
      const models = byModel.totals.filter((total) => !query.model || total.model === query.model);
      replace(totals, models.length
        ? barChart({ title: "Spend by model", items: models.map((t) => ({ label: t.model ?? "unknown", value: t.total_cost })), format: formatMoney })
        : h("p", { class: "muted" }, "No spend in this range."));
      return dataTable({ caption: "Spend logs", rows: logs, rowLabel: (l) => l.request_id ?? "",
        empty: "No requests match. Widen the filters, or send traffic through the proxy.",
        columns: [
          { label: "When", value: (l) => formatDate(l.at) },
          { label: "Request", value: (l) => h("code", {}, l.request_id ?? "—") },
          { label: "Model", value: (l) => l.model_served && l.model_served !== l.model_requested
            ? `${l.model_requested} → ${l.model_served}` : l.model_requested ?? l.model_served ?? "—" },
          { label: "Endpoint", value: (l) => l.endpoint ? h("code", {}, l.endpoint) : "—" },
          { label: "Provider", value: (l) => l.provider ?? "—" },
          { label: "Deployment", value: (l) => l.deployment_id ? h("code", {}, l.deployment_id) : "—" },
          { label: "Key", value: (l) => l.key_alias ?? (l.key_id ? h("code", {}, l.key_id.slice(0, 8)) : "—") },
          { label: "Team", value: (l) => l.team_id ?? "—" },
          { label: "Latency", class: "num", value: (l) => formatMilliseconds(l.latency_ms) },
          { label: "Tokens in / out", class: "num", value: (l) => `${formatInteger(l.prompt_tokens)} / ${formatInteger(l.completion_tokens)}` },
          { label: "Cache read / write", class: "num", value: (l) => `${formatInteger(l.cached_tokens ?? 0)} / ${formatInteger(l.cache_write_tokens ?? 0)}` },
          { label: "Reasoning", class: "num", value: (l) => formatInteger(l.reasoning_tokens ?? 0) },
          { label: "Cost", class: "num", value: (l) => l.cache_hit
            ? h("span", {}, formatMoney(l.cost), " ", badge("cache hit", "info"), ` saved ${formatMoney(l.saved_cost ?? 0)}`)
            : formatMoney(l.cost) },
          { label: "Input / output / cache read / cache write", class: "num", value: (l) => l.cost_parts
            ? [l.cost_parts.input, l.cost_parts.output, l.cost_parts.cache_read, l.cost_parts.cache_write].map(formatMoney).join(" / ")
            : "—" },
          { label: "Status", value: (l) => badge(String(l.status ?? "—"), l.status >= 400 ? "danger" : "ok") },
        ] });
    });
  }
  form.addEventListener("submit", (event) => {
    event.preventDefault();
    refresh();
  });
  form.addEventListener("reset", () => setTimeout(refresh));
  replace(main, pageHeader(title, "Recorded requests, newest first (up to 200)."), form, section("Spend by model", totals), section("Requests", body));
  await refresh();
}
