// Workflow executions: the list (filter by status), and one execution followed live step by step
// with each step's tokens, cost, duration and output; a running execution can be cancelled.
import { h, replace, formatDate, formatMoney, formatInteger, formatMilliseconds, formatValue } from "../dom.js";
import { api } from "../api.js";
import { pageHeader, dataTable, badge, confirmButton, section, loadError, every, fill, writeOnly } from "../ui.js";

export const title = "Executions";

const POLL_MS = 1500;
const STATUS_TONE = { completed: "ok", failed: "danger", cancelled: "warn", running: "info", pending: "neutral" };
const FINISHED = new Set(["completed", "failed", "cancelled"]);

function statusBadge(status) {
  return badge(status, STATUS_TONE[status] ?? "neutral");
}

function outputText(value) {
  if (value && typeof value === "object" && typeof value.output === "string") return value.output;
  return formatValue(value);
}

function stepItem(step) {
  return h("li", { dataset: { step: step.node_name, status: step.status } },
    h("div", { class: "step-head" }, h("strong", {}, `${step.step_order + 1}. ${step.node_name}`), statusBadge(step.status),
      h("span", { class: "muted" }, `${formatInteger(step.input_tokens)} in / ${formatInteger(step.output_tokens)} out · ${formatMoney(step.cost)} · ${formatMilliseconds(step.duration_ms)}`)),
    step.error ? h("p", { class: "form-error" }, step.error) : null,
    step.output_data != null ? h("pre", {}, outputText(step.output_data)) : null);
}

function stat(label, value, id) {
  return h("div", { class: "stat" }, h("dl", {}, h("dt", {}, label), h("dd", { id }, value)));
}

function progress(execution) {
  const done = (execution.steps ?? []).filter((step) => step.status === "completed").length;
  return `${execution.status}: ${done} step${done === 1 ? "" : "s"} completed, ${formatMoney(execution.total_cost)} so far`;
}

function view(execution, running) {
  return [
    h("div", { class: "stats" },
      stat("Status", statusBadge(execution.status), "execution-status"),
      stat("Workflow", execution.workflow_name),
      stat("Tokens", formatInteger(execution.total_tokens)),
      stat("Total cost", formatMoney(execution.total_cost), "execution-cost")),
    execution.error ? h("p", { class: "load-error", role: "alert" }, execution.error) : null,
    section("Steps", execution.steps?.length
      ? h("ol", { class: "steps", id: "execution-steps" }, execution.steps.map(stepItem))
      : h("p", { class: "muted" }, running ? "Waiting for the leader to start the first step…" : "No steps ran.")),
    section("Input and output", h("dl", { class: "details" },
      h("dt", {}, "Input"), h("dd", {}, h("code", {}, formatValue(execution.input_data))),
      h("dt", {}, "Output"), h("dd", {}, h("pre", {}, outputText(execution.output_data))),
      h("dt", {}, "Started"), h("dd", {}, formatDate(execution.started_at)),
      h("dt", {}, "Finished"), h("dd", {}, formatDate(execution.completed_at)))),
  ];
}

async function detail(main, id) {
  const path = `/workflow-executions/${encodeURIComponent(id)}`;
  const announcer = h("p", { class: "muted", role: "status", id: "execution-progress" });
  const body = h("div");
  const cancel = confirmButton("Cancel", "Cancel this execution", { title: "Cancel this execution?",
    confirmLabel: "Cancel execution", message: "Steps not yet started will not run.",
    run: () => api.post(`${path}/cancel`), announce: "Execution cancelled", refresh: async () => {} });
  cancel.id = "cancel-execution";
  main.append(pageHeader("Execution", `Execution ${id}`, h("a", { class: "button", href: "#/executions" }, "All executions"), writeOnly(cancel)),
    announcer, body);
  // Polls until the execution has finished; the status line changes only when progress does.
  return every(POLL_MS, async (stopped) => {
    try {
      const execution = await api.get(path);
      if (stopped()) return false;
      const running = !FINISHED.has(execution.status);
      cancel.hidden = !running;
      const text = progress(execution);
      if (announcer.textContent !== text) replace(announcer, text);
      replace(body, view(execution, running));
      return running;
    } catch (error) {
      if (!stopped()) replace(body, loadError(error));
      return false;
    }
  });
}

async function list(main) {
  const params = new URLSearchParams(location.hash.split("?")[1] ?? "");
  const status = h("select", { id: "execution-status-filter" },
    ["", "pending", "running", "completed", "failed", "cancelled"].map((value) =>
      h("option", { value, selected: value === (params.get("status") ?? "") }, value || "any")));
  const body = h("div");
  const refresh = () => fill(body, async () => {
    const { executions } = await api.get("/workflow-executions", { status: status.value, workflow_id: params.get("workflow"), limit: 100 });
    return dataTable({ caption: "Workflow executions", rows: executions, rowLabel: (e) => e.id,
      empty: "No executions match. Run a workflow from the Workflows page.",
      columns: [
        { label: "Execution", value: (e) => h("a", { href: `#/executions/${e.id}` }, e.id.slice(0, 8)) },
        { label: "Workflow", value: (e) => e.workflow_name },
        { label: "Status", value: (e) => statusBadge(e.status) },
        { label: "Current step", value: (e) => e.current_node ?? "—" },
        { label: "Tokens", class: "num", value: (e) => formatInteger(e.total_tokens) },
        { label: "Cost", class: "num", value: (e) => formatMoney(e.total_cost) },
        { label: "Created", value: (e) => formatDate(e.created_at) },
      ] });
  });
  status.addEventListener("change", refresh);
  replace(main, pageHeader(title, "Runs of every workflow, newest first.", h("a", { class: "button", href: "#/workflows" }, "Workflows")),
    h("div", { class: "toolbar" }, h("div", { class: "field" }, h("label", { for: "execution-status-filter" }, "Status"), status)), body);
  await refresh();
}

export async function render(main, [id]) {
  if (id) return detail(main, id);
  return list(main);
}
