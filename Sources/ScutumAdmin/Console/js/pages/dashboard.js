// Dashboard: the cluster-wide realtime figures (GET /api/v1/metrics/realtime), refreshed every
// few seconds: request rate, errors, latency, today's tokens and spend, the response cache (hits,
// hit rate, what it saved), per-model usage and the health of each provider deployment.
import { h, replace, formatInteger, formatNumber, formatMoney, formatPercent, formatMilliseconds, formatDate } from "../dom.js";
import { api } from "../api.js";
import { pageHeader, section, badge, dataTable, emptyState, loadError, every } from "../ui.js";
import { lineChart, barChart } from "../chart.js";

export const title = "Dashboard";

const REFRESH_MS = 5000;

function stat(label, value, id) {
  return h("div", { class: "stat" }, h("dl", {}, h("dt", {}, label), h("dd", { "data-stat": id }, value)));
}

function minuteLabel(iso) {
  const date = new Date(iso);
  return Number.isNaN(date.getTime()) ? iso : date.toLocaleTimeString([], { hour: "2-digit", minute: "2-digit" });
}

const stateTone = { closed: "ok", healthy: "ok", half_open: "warn", "half-open": "warn", open: "danger", unhealthy: "danger" };

function view(report) {
  const latency = report.latency_ms ?? {};
  const today = report.today ?? {};
  const cache = report.cache ?? {};
  const cacheToday = today.cache ?? {};
  const series = report.series ?? [];
  const models = [...(report.models ?? [])].sort((a, b) => (b.requests ?? 0) - (a.requests ?? 0));
  const stats = h("div", { class: "stats" },
    stat("Requests / min", formatNumber(report.requests_per_minute), "rpm"),
    stat("Error rate", formatPercent(report.error_rate), "error-rate"),
    stat("Latency p50", formatMilliseconds(latency.p50), "p50"),
    stat("Latency p95", formatMilliseconds(latency.p95), "p95"),
    stat("Requests today", formatInteger(today.requests), "requests-today"),
    stat("Tokens today", formatInteger((today.prompt_tokens ?? 0) + (today.completion_tokens ?? 0)), "tokens-today"),
    stat("Spend today", formatMoney(today.cost), "spend-today"),
    stat("Active keys (5 min)", formatInteger(report.active_keys), "active-keys"),
    // The hit rate counts hits over hits and misses: bypassed requests were never eligible.
    stat("Cache hits (5 min)", formatInteger(cache.hits), "cache-hits"),
    stat("Cache hit rate (5 min)", formatPercent(cache.hit_rate), "cache-hit-rate"),
    stat("Saved by cache today", formatMoney(cacheToday.saved_usd), "cache-saved-today"));
  const points = (field) => series.map((minute) => ({ label: minuteLabel(minute.minute), value: minute[field] ?? 0 }));
  const charts = h("div", { class: "grid-2" },
    section("Requests per minute", lineChart({ title: "Requests per minute", points: points("requests"), format: (v) => formatNumber(v, 2) })),
    section("Errors per minute", lineChart({ title: "Errors per minute", points: points("errors"), format: (v) => formatNumber(v, 2), tone: "danger" })),
    section("Tokens per minute", lineChart({ title: "Tokens per minute", points: points("tokens"), format: (v) => formatInteger(v) })),
    section("Spend per minute", lineChart({ title: "Spend per minute", points: points("cost"), format: formatMoney })),
    section("Cache hits per minute", lineChart({ title: "Cache hits per minute", points: points("cache_hits"), format: (v) => formatInteger(v) })));
  const usage = section("Usage by model today",
    models.length
      ? [barChart({ title: "Requests by model today", items: models.map((m) => ({ label: m.model, value: m.requests ?? 0 })), format: formatInteger }),
        dataTable({ caption: "Usage by model today", rowLabel: (m) => m.model, rows: models, columns: [
          { label: "Model", value: (m) => m.model },
          { label: "Requests", class: "num", value: (m) => formatInteger(m.requests ?? 0) },
          { label: "Errors", class: "num", value: (m) => formatInteger(m.errors ?? 0) },
          { label: "Tokens", class: "num", value: (m) => formatInteger(m.tokens ?? (m.prompt_tokens ?? 0) + (m.completion_tokens ?? 0)) },
          { label: "Spend", class: "num", value: (m) => formatMoney(m.cost ?? 0) },
        ] })]
      : emptyState("No requests today yet. Send one through the proxy on port 4000 with a key from API Keys."));
  // Deployments whose breaker is not closed first, then by name.
  const providers = [...(report.providers ?? [])].sort((a, b) =>
    Number(a.state === "closed") - Number(b.state === "closed") || a.deployment.localeCompare(b.deployment));
  const healthy = providers.filter((p) => p.state === "closed").length;
  const health = section("Provider health", providers.length
    ? [h("p", { class: "muted" }, `${healthy} of ${providers.length} deployments healthy (circuit breaker closed).`),
      h("ul", { class: "chips", "aria-label": "Deployments and their circuit breakers" }, providers.map((p) =>
        h("li", { dataset: { deployment: p.deployment } }, h("span", {}, p.deployment), badge(p.state, stateTone[p.state] ?? "neutral"))))]
    : emptyState("No deployments are configured: add models to the catalog."));
  return [stats, charts, h("div", { class: "grid-2" }, usage, health)];
}

export async function render(main) {
  const live = h("p", { class: "muted live" }, "");
  const body = h("div", { id: "dashboard-body" });
  main.append(pageHeader(title, `Cluster-wide traffic; refreshes every ${REFRESH_MS / 1000} s.`, live), body);
  return every(REFRESH_MS, async (stopped) => {
    try {
      const report = await api.get("/metrics/realtime");
      if (stopped()) return;
      replace(body, view(report));
      replace(live, `Updated ${formatDate(new Date().toISOString())}`);
    } catch (error) {
      if (!stopped()) replace(body, loadError(error));
    }
  });
}
