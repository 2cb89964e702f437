// MCP servers: register (stdio, streamable HTTP, SSE), test the connection (tools listed), preview
// the Agent Gateway configuration the leader writes, and sync it now.
import { h, replace, formatDate } from "../dom.js";
import { api } from "../api.js";
import { pageHeader, dataTable, button, badge, formDialog, confirmAction, toast, showError, section, loadError } from "../ui.js";

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

export async function render(main) {
  const body = h("div");
  const preview = h("div", {}, h("p", { class: "muted" }, "Preview shows the configuration the leader writes for Agent Gateway."));
  async function refresh() {
    try {
      const { servers } = await api.get("/mcp-servers");
      replace(body, dataTable({ caption: "MCP servers", rows: servers, rowLabel: (s) => s.name,
        empty: "No MCP servers yet. Register one to expose its tools through Agent Gateway and to workflows.",
        columns: [
          { label: "Name", value: (s) => h("strong", {}, s.name) },
          { label: "Transport", value: (s) => s.server_type },
          { label: "Target", value: (s) => h("code", {}, s.url ?? [s.command, ...(s.args ?? [])].join(" ")) },
          { label: "Tools", class: "num", value: (s) => String(s.tool_count) },
          { label: "Last test", value: (s) => (s.last_tested_at
            ? [s.last_test_error ? badge("failed", "danger") : badge("ok", "ok"), " ", formatDate(s.last_tested_at),
              s.last_test_error ? [h("br"), h("span", { class: "form-error" }, s.last_test_error)] : null]
            : "never") },
          { label: "State", value: (s) => (s.is_active ? badge("active", "ok") : badge("inactive", "warn")) },
          { label: "Actions", class: "actions", value: (s) => [
            button("Test", async (event) => {
              event.target.disabled = true;
              try {
                const result = await api.post(`/mcp-servers/${s.id}/test`);
                if (result.success) toast(`${s.name}: connected${result.tool_count !== undefined ? `, ${result.tool_count} tools` : ""}`);
                else toast(`${s.name}: ${result.error}`, "error");
              } catch (error) {
                showError(error, `Testing ${s.name} failed`);
              }
              await refresh();
            }, { kind: "small", "aria-label": `Test ${s.name}` }),
            button("Edit", async () => {
              const saved = await formDialog({ title: `Edit ${s.name}`, fields: serverFields(s),
                submit: (values) => api.put(`/mcp-servers/${s.id}`, values) });
              if (saved) {
                toast(`${saved.name} saved`);
                await refresh();
              }
            }, { kind: "small", "aria-label": `Edit ${s.name}` }),
            button("Delete", async () => {
              const done = await confirmAction({ title: "Delete this MCP server?",
                message: `${s.name} is removed from Agent Gateway at the next sync and from workflows that call it.`,
                run: () => api.delete(`/mcp-servers/${s.id}`) });
              if (done) {
                toast(`${s.name} deleted`);
                await refresh();
              }
            }, { kind: "small", "aria-label": `Delete ${s.name}` }),
          ] },
        ] }));
    } catch (error) {
      replace(body, loadError(error));
    }
  }
  const showPreview = async () => {
    try {
      const result = await api.get("/mcp-servers/sync/preview");
      replace(preview, h("p", {}, `${result.active_servers} active server(s); secrets are masked.`),
        h("pre", { class: "code", tabindex: "0", "aria-label": "Agent Gateway configuration" }, result.config_yaml));
    } catch (error) {
      showError(error, "Preview failed");
    }
  };
  const sync = async () => {
    const done = await confirmAction({ title: "Sync Agent Gateway now?", confirmLabel: "Sync",
      message: "The leader rewrites Agent Gateway's configuration from the active servers; it reloads it at once.",
      run: async () => {
        const result = await api.post("/mcp-servers/sync");
        toast(`Synced: ${JSON.stringify(result)}`);
      } });
    if (done) await showPreview();
  };
  const create = async () => {
    const saved = await formDialog({ title: "Register an MCP server", submitLabel: "Register", fields: serverFields(),
      submit: (values) => api.post("/mcp-servers", values) });
    if (saved) {
      toast(`${saved.name} registered`);
      await refresh();
    }
  };
  replace(main, pageHeader(title, "Tool servers for agents and workflows, deployed through Agent Gateway.",
    button("Preview config", showPreview, { id: "mcp-preview" }), button("Sync now", sync, { id: "mcp-sync" }),
    button("Register server", create, { kind: "primary", id: "create-mcp" })),
  body, section("Agent Gateway configuration", preview));
  await refresh();
}
