// Settings: the platform switches and defaults (PUT /api/v1/settings merges what is sent), and the
// latest audit-log entries.
import { h, formatDate, formatValue } from "../dom.js";
import { api } from "../api.js";
import { pageHeader, dataTable, section, button, toast, showError, confirmAction, fill, writeOnly } from "../ui.js";
import { canWrite } from "../access.js";

export const title = "Settings";

// One control per setting of GET /api/v1/settings/schema (name, kind, default, label, summary): a
// checkbox for a flag, a number for a positive integer, a text field for a string (empty unsets it),
// a comma-separated field for a string list. A setting the gateway adds shows up here by itself.
// Saving sends only what was changed, so defaults are not written down and a value set in SQL
// outside a control's range (global_rate_limit 0) does not stop the others being saved.
function control(setting, value) {
  const { name, kind, label, summary } = setting;
  const id = `setting-${name}`;
  const help = h("small", { class: "help" }, summary);
  switch (kind) {
    case "flag": {
      const input = h("input", { id, name, type: "checkbox", checked: Boolean(value ?? setting.default) });
      return [() => input.checked, h("div", { class: "field field-checkbox" }, input, h("label", { for: id }, label), help)];
    }
    case "positive_integer": {
      const attributes = { id, name, type: "number", step: 1, value: value ?? "" };
      if (!(typeof value === "number" && value < 1)) attributes.min = 1;
      const input = h("input", attributes);
      return [() => (input.value === "" ? undefined : Number(input.value)),
        h("div", { class: "field" }, h("label", { for: id }, label), input, help)];
    }
    case "string_list": {
      const input = h("input", { id, name, value: (value ?? []).join(", ") });
      return [() => input.value.split(",").map((v) => v.trim()).filter(Boolean),
        h("div", { class: "field" }, h("label", { for: id }, label), input,
          h("small", { class: "help" }, `${summary} Comma-separated.`))];
    }
    default: {
      const input = h("input", { id, name, value: value ?? "" });
      return [() => input.value.trim() || null, h("div", { class: "field" }, h("label", { for: id }, label), input, help)];
    }
  }
}

function form(schema, settings, refresh) {
  const controls = [];
  const fields = schema.map((setting) => {
    const [read, element] = control(setting, settings[setting.name]);
    controls.push([setting.name, read, JSON.stringify(read())]);
    return element;
  });
  const save = h("button", { type: "submit", class: "button button-primary" }, "Save settings");
  // A viewer sees the values, read-only.
  const element = h("form", { class: "form", id: "settings-form" },
    h("fieldset", { class: "bare", disabled: !canWrite() }, h("legend", { class: "visually-hidden" }, "Platform settings"), fields),
    writeOnly(h("div", {}, save)));
  element.addEventListener("submit", async (event) => {
    event.preventDefault();
    const changes = {};
    for (const [name, read, initial] of controls) {
      const value = read();
      if (value !== undefined && JSON.stringify(value) !== initial) changes[name] = value;
    }
    if (Object.keys(changes).length === 0) {
      toast("Nothing changed");
      return;
    }
    if (changes.maintenance_mode && !settings.maintenance_mode) {
      const confirmed = await confirmAction({ title: "Turn on maintenance mode?", confirmLabel: "Turn on",
        message: "Every node's proxy refuses all requests until maintenance mode is turned off again." });
      if (!confirmed) return;
    }
    save.disabled = true;
    try {
      await api.put("/settings", changes);
      toast("Settings saved");
      await refresh();
    } catch (error) {
      showError(error, "Saving settings failed");
    } finally {
      save.disabled = false;
    }
  });
  return element;
}

export async function render(main) {
  const body = h("div");
  const refresh = () => fill(body, async () => {
    const [schema, settings, { entries }] = await Promise.all([api.get("/settings/schema"), api.get("/settings"),
      api.get("/audit-log", { limit: 30 })]);
    const known = new Set(schema.map((setting) => setting.name));
    const other = Object.entries(settings).filter(([name]) => !known.has(name));
    return h("div", {},
      section("Platform", form(schema, settings, refresh),
        other.length ? h("dl", { class: "details" }, other.map(([name, value]) => [h("dt", {}, name), h("dd", {}, formatValue(value))])) : null),
      section("Audit log", dataTable({ caption: "Audit log", rows: entries,
        empty: "No changes recorded yet.",
        columns: [
          { label: "When", value: (e) => formatDate(e.at ?? e.created_at) },
          { label: "Who", value: (e) => e.actor },
          { label: "Action", value: (e) => e.action },
          { label: "Target", value: (e) => [e.target_type, e.target_id].filter(Boolean).join(" ") || "—" },
          { label: "Details", class: "wrap", value: (e) => (e.details && Object.keys(e.details).length ? formatValue(e.details) : "—") },
        ] })));
  });
  main.append(pageHeader(title, "Gateway-wide switches; every node applies them within a second.",
    button("Reload", () => refresh(), { id: "settings-reload" })), body);
  await refresh();
}
