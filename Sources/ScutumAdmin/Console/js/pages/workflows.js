// Workflows: definitions (from a built-in template or a graph written as JSON), runs with input
// data (the execution page then follows it step by step), and deletion.
import { h, formatDate } from "../dom.js";
import { api } from "../api.js";
import { pageHeader, dataTable, button, badge, formDialog, saveDialog, confirmButton, toast, fill, writeOnly } from "../ui.js";

export const title = "Workflows";

const EXAMPLE_GRAPH = {
  nodes: [
    { name: "draft", type: "llm", config: { model: "gpt-5-mini", prompt: "Write three lines about {{input.topic}}" } },
    { name: "review", type: "llm", config: { model: "gpt-5-mini", prompt: "Improve this: {{steps.draft.output}}" } },
  ],
  edges: [{ source: "draft", target: "review" }],
  entry_point: "draft",
  end_nodes: ["review"],
};

/** An example input from a workflow's input schema: every property, with an empty value. */
function exampleInput(workflow) {
  const properties = workflow.input_schema?.properties ?? {};
  const names = Object.keys(properties);
  if (!names.length) return { topic: "" };
  return Object.fromEntries(names.map((name) => [name, properties[name]?.type === "number" ? 0 : ""]));
}

async function run(workflow) {
  const execution = await formDialog({ title: `Run ${workflow.name}`, submitLabel: "Run",
    intro: "The leader node runs the steps; the next page follows them live.",
    fields: [{ name: "input_data", label: "Input (JSON)", type: "json", required: true, value: exampleInput(workflow), rows: 6 }],
    submit: (values) => api.post("/workflow-executions", { workflow_id: workflow.id, input_data: values.input_data }) });
  if (execution) {
    toast(`Execution of ${workflow.name} queued`);
    location.hash = `#/executions/${execution.id}`;
  }
}

function actions(workflow, refresh) {
  return [
    writeOnly(button("Run", () => run(workflow), { kind: "small", "aria-label": `Run ${workflow.name}` })),
    h("a", { class: "button button-small", href: `#/executions?workflow=${encodeURIComponent(workflow.id)}`,
      "aria-label": `Executions of ${workflow.name}` }, "Executions"),
    writeOnly(confirmButton("Delete", `Delete ${workflow.name}`, { title: "Delete this workflow?",
      message: `${workflow.name} is deleted; its past executions stay listed.`, run: () => api.delete(`/workflows/${workflow.id}`),
      announce: `${workflow.name} deleted`, refresh })),
  ];
}

function createDialog(templates, refresh) {
  return saveDialog({ title: "Create a workflow", submitLabel: "Create",
    intro: "Pick a built-in template, or choose “custom” and write the graph.",
    fields: [
      { name: "name", label: "Name", required: true },
      { name: "description", label: "Description" },
      { name: "template_type", label: "Template", type: "select",
        options: [["", "custom (graph below)"], ...templates.map((t) => [t.template_type, `${t.template_type}: ${t.description}`])] },
      { name: "graph_definition", label: "Graph (JSON, for custom)", type: "json", value: EXAMPLE_GRAPH, rows: 12,
        help: "nodes (llm, tool, condition...), edges, entry_point, end_nodes. Prompts may use {{input.x}} and {{steps.name.output}}." },
    ],
    submit: (values) => {
      const body = { ...values };
      if (body.template_type) delete body.graph_definition;
      return api.post("/workflows", body);
    } }, (saved) => `${saved.name} created`, refresh);
}

export async function render(main) {
  const body = h("div");
  let templates = [];
  const refresh = () => fill(body, async () => {
    const [{ workflows }, templateList] = await Promise.all([api.get("/workflows"), api.get("/workflows/templates")]);
    templates = templateList.templates;
    return dataTable({ caption: "Workflows", rows: workflows, rowLabel: (w) => w.name,
      empty: "No workflows yet. Create one from a template or write its graph.",
      columns: [
        { label: "Name", value: (w) => [h("strong", {}, w.name), w.description ? [h("br"), h("span", { class: "muted" }, w.description)] : null] },
        { label: "Steps", value: (w) => (w.graph_definition?.nodes ?? []).map((node) => node.name).join(" → ") },
        { label: "Template", value: (w) => w.template_type ?? "custom" },
        { label: "State", value: (w) => (w.is_active ? badge("active", "ok") : badge("inactive", "warn")) },
        { label: "Created", value: (w) => formatDate(w.created_at) },
        { label: "Actions", class: "actions", value: (w) => actions(w, refresh) },
      ] });
  });
  main.append(pageHeader(title, "Multi-step LLM and tool pipelines the leader node runs.",
    h("a", { class: "button", href: "#/executions" }, "All executions"),
    writeOnly(button("Create workflow", () => createDialog(templates, refresh), { kind: "primary", id: "create-workflow" }))), body);
  await refresh();
}
