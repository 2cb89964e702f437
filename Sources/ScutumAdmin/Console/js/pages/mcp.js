// MCP servers: register (stdio, streamable HTTP, SSE), test the connection (tools listed), preview
// the Agent Gateway configuration the leader writes, and sync it now.
import { h, formatDate } from "../dom.js";
import { api } from "../api.js";
import { pageHeader, dataTable, button, badge, saveDialog, confirmAction, confirmButton, toast, showError, section, fill, writeOnly,
  actionsColumn } from "../ui.js";

export const title = "MCP Servers";

function serverFields(server = {}) {
  return [
    { name: "name", label: "Name", required: true, value: server.name, help: "Letters, digits and dashes (no underscore)." },
    { name: "server_type", label: "Transport", type: "select", options: [["http", "streamable HTTP"], ["sse", "SSE (legacy)"], ["stdio", "stdio"]], value: server.server_type },
    { name: "url", label: "URL (http and sse)", type: "url", value: server.url },
    { name: "command", label: "Command (stdio)", value: server.command },
    { name: "args", label: "Arguments (stdio)", type: "list", value: server.args, emptyAs: server.id ? [] : undefined },
    { name: "is_active", label: "Active (included in the Agent Gateway config)", type: "checkbox", value: server.is_active ?? true },
  ];
}

async function test(server, refresh) {
  try {
    const result = await api.post(`/mcp-servers/${server.id}/test`);
    if (result.success) toast(`${server.name}: connected${result.tool_count !== undefined ? `, ${result.tool_count} tools` : ""}`);
    else toast(`${server.name}: ${result.error}`, "error");
  } catch (error) {
    showError(error, `Testing ${server.name} failed`);
  }
  await refresh();
}

function lastTest(server) {
  if (!server.last_tested_at) return "never";
  return [server.last_test_error ? badge("failed", "danger") : badge("ok", "ok"), " ", formatDate(server.last_tested_at),
    server.last_test_error ? [h("br"), h("span", { class: "form-error" }, server.last_test_error)] : null];
}

function actions(server, refresh) {
  return [
    button("Test", (event) => {
      event.target.disabled = true;
      return test(server, refresh);
    }, { kind: "small", "aria-label": `Test ${server.name}` }),
    button("Edit", () => saveDialog({ title: `Edit ${server.name}`, fields: serverFields(server),
      submit: (values) => api.put(`/mcp-servers/${server.id}`, values) }, (saved) => `${saved.name} saved`, refresh),
    { kind: "small", "aria-label": `Edit ${server.name}` }),
    confirmButton("Delete", `Delete ${server.name}`, { title: "Delete this MCP server?",
      message: `${server.name} is removed from Agent Gateway at the next sync and from workflows that call it.`,
      run: () => api.delete(`/mcp-servers/${server.id}`), announce: `${server.name} deleted`, refresh }),
  ];
}

export async function render(main) {
  const body = h("div");
  const preview = h("div", {}, h("p", { class: "muted" }, "Preview shows the configuration the leader writes for Agent Gateway."));
  const refresh = () => fill(body, async () => {
    const { servers } = await api.get("/mcp-servers");
    return dataTable({ caption: "MCP servers", rows: servers, rowLabel: (s) => s.name,
      empty: "No MCP servers yet. Register one to expose its tools through Agent Gateway and to workflows.",
      columns: [
        { label: "Name", value: (s) => h("strong", {}, s.name) },
        { label: "Transport", value: (s) => s.server_type },
        { label: "Target", value: (s) => h("code", {}, s.url ?? [s.command, ...(s.args ?? [])].join(" ")) },
        { label: "Tools", class: "num", value: (s) => String(s.tool_count) },
        { label: "Last test", value: lastTest },
        { label: "State", value: (s) => (s.is_active ? badge("active", "ok") : badge("inactive", "warn")) },
        actionsColumn((s) => actions(s, refresh)),
      ] });
  });
  const showPreview = () => fill(preview, async () => {
    const result = await api.get("/mcp-servers/sync/preview");
    return [h("p", {}, `${result.active_servers} active server(s); secrets are masked.`),
      h("pre", { class: "code", tabindex: "0", "aria-label": "Agent Gateway configuration" }, result.config_yaml)];
  });
  const sync = async () => {
    const done = await confirmAction({ title: "Sync Agent Gateway now?", confirmLabel: "Sync",
      message: "The leader rewrites Agent Gateway's configuration from the active servers; it reloads it at once.",
      run: async () => {
        const result = await api.post("/mcp-servers/sync");
        toast(`Synced ${result.active_servers ?? 0} server(s)`);
      } });
    if (done) await showPreview();
  };
  const create = () => saveDialog({ title: "Register an MCP server", submitLabel: "Register", fields: serverFields(),
    submit: (values) => api.post("/mcp-servers", values) }, (saved) => `${saved.name} registered`, refresh);
  main.append(pageHeader(title, "Tool servers for agents and workflows, deployed through Agent Gateway.",
    button("Preview config", showPreview, { id: "mcp-preview" }), writeOnly(button("Sync now", sync, { id: "mcp-sync" }),
      button("Register server", create, { kind: "primary", id: "create-mcp" }))),
  body, section("Agent Gateway configuration", preview));
  await refresh();
}
