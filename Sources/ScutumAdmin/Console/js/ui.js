// Shared widgets: toasts (announced through an aria-live region), confirmation and form dialogs
// (native <dialog>, so focus is trapped and Escape cancels), tables, empty states and badges.
import { h, replace } from "./dom.js";
import { ApiError } from "./api.js";
import { canWrite } from "./access.js";

/** Shows a short message; `kind` is "success" or "error". Errors stay until dismissed. */
export function toast(message, kind = "success") {
  const region = document.getElementById("toasts");
  const item = h("div", { class: `toast toast-${kind}`, role: kind === "error" ? "alert" : "status" },
    h("span", {}, message),
    h("button", { type: "button", class: "toast-close", "aria-label": "Dismiss", onClick: () => item.remove() }, "×"));
  region.append(item);
  // At most four at once: the oldest confirmation goes first (errors stay until dismissed).
  const confirmations = [...region.querySelectorAll(".toast-success")];
  if (region.children.length > 4 && confirmations.length) confirmations[0].remove();
  if (kind !== "error") setTimeout(() => item.remove(), 5000);
}

/** Reports a failed call with the API's own detail text. */
export function showError(error, action = "") {
  const text = error instanceof ApiError ? error.message : String(error?.message ?? error);
  toast(action ? `${action}: ${text}` : text, "error");
}

function modal(title, body, buttons, { labelled = "dialog-title" } = {}) {
  const dialog = h("dialog", { class: "dialog", "aria-labelledby": labelled },
    h("h2", { id: labelled }, title), body, h("div", { class: "dialog-buttons" }, buttons));
  document.body.append(dialog);
  dialog.addEventListener("close", () => dialog.remove());
  dialog.showModal();
  return dialog;
}

/**
 * Asks before a destructive action. Resolves true only when the user confirms; `run` (optional) is
 * awaited while the dialog stays open, and its error is shown in the dialog.
 */
export function confirmAction({ title, message, confirmLabel = "Delete", run }) {
  return new Promise((resolve) => {
    const error = h("p", { class: "form-error", role: "alert", hidden: true });
    const cancel = h("button", { type: "button", class: "button", onClick: () => dialog.close("cancel") }, "Cancel");
    const confirm = h("button", { type: "button", class: "button button-danger", onClick: async () => {
      confirm.disabled = true;
      try {
        if (run) await run();
        dialog.close("confirm");
      } catch (failure) {
        error.hidden = false;
        replace(error, failure instanceof ApiError ? failure.message : String(failure));
        confirm.disabled = false;
      }
    } }, confirmLabel);
    const dialog = modal(title, [h("p", {}, message), error], [cancel, confirm], { labelled: "confirm-title" });
    dialog.addEventListener("close", () => resolve(dialog.returnValue === "confirm"));
    cancel.focus();
  });
}

/**
 * A labelled input for one field of a form dialog. A field: `{name, label, type, value, required,
 * disabled, options, help, placeholder, min, step, rows, size, emptyAs, onChange(value, form)}`; type
 * "multiselect" reads as the list of the selected options' values.
 */
function fieldControl(field) {
  const id = `field-${field.name}`;
  const common = { id, name: field.name, required: field.required, disabled: field.disabled,
    "aria-describedby": field.help ? `${id}-help` : undefined };
  let control;
  switch (field.type) {
    case "checkbox":
      control = h("input", { ...common, type: "checkbox", checked: Boolean(field.value) });
      break;
    case "select":
      control = h("select", common, selectOptions(field.options, [field.value ?? ""]));
      break;
    case "multiselect":
      control = h("select", { ...common, multiple: true, size: field.size ?? 5 }, selectOptions(field.options, field.value ?? []));
      break;
    case "textarea":
    case "json":
      control = h("textarea", { ...common, rows: field.rows ?? (field.type === "json" ? 8 : 3), spellcheck: "false",
        value: field.type === "json" && field.value !== undefined && typeof field.value !== "string"
          ? JSON.stringify(field.value, null, 2) : field.value ?? "" });
      break;
    default:
      control = h("input", { ...common, type: field.type === "number" ? "number" : field.type ?? "text",
        step: field.step ?? (field.type === "number" ? "any" : undefined), min: field.min, placeholder: field.placeholder,
        autocomplete: "off",
        value: Array.isArray(field.value) ? field.value.join(", ") : field.value ?? "" });
  }
  if (field.onChange) control.addEventListener("change", () => field.onChange(control.value, control.form));
  const help = field.help ? h("small", { id: `${id}-help`, class: "help" }, field.help) : null;
  if (field.type === "checkbox") {
    return h("div", { class: "field field-checkbox" }, control, h("label", { for: id }, field.label), help);
  }
  return h("div", { class: "field" }, h("label", { for: id }, field.label, field.required ? " *" : ""), control, help);
}

/** `<option>`s from `[value, label]` pairs (or plain values), those in `selected` selected. */
export function selectOptions(options, selected = []) {
  const chosen = new Set(selected.map(String));
  return (options ?? []).map((option) => {
    const [value, label] = Array.isArray(option) ? option : [option, option];
    return h("option", { value, selected: chosen.has(String(value)) }, label);
  });
}

/** Reads a form dialog's values: empty optional fields are left out so the API applies its defaults. */
function readValues(form, fields) {
  const values = {};
  for (const field of fields) {
    const control = form.elements.namedItem(field.name);
    if (field.type === "checkbox") {
      values[field.name] = control.checked;
      continue;
    }
    if (field.type === "multiselect") {
      const chosen = [...control.selectedOptions].map((option) => option.value);
      if (chosen.length || field.emptyAs !== undefined) values[field.name] = chosen.length ? chosen : field.emptyAs;
      continue;
    }
    const raw = control.value.trim();
    if (raw === "") {
      if (field.emptyAs !== undefined) values[field.name] = field.emptyAs;
      continue;
    }
    if (field.type === "number") values[field.name] = Number(raw);
    else if (field.type === "list") values[field.name] = raw.split(",").map((item) => item.trim()).filter(Boolean);
    else if (field.type === "json") {
      try {
        values[field.name] = JSON.parse(raw);
      } catch (error) {
        throw new Error(`${field.label}: not valid JSON (${error.message})`);
      }
    } else values[field.name] = raw;
  }
  return values;
}

/**
 * A form in a dialog. `submit(values)` is awaited with the dialog open; an error keeps it open and
 * shows the API's detail. Resolves to `submit`'s result, or null when cancelled.
 */
export function formDialog({ title, fields, submitLabel = "Save", submit, intro }) {
  return new Promise((resolve) => {
    let result = null;
    const error = h("p", { class: "form-error", role: "alert", hidden: true });
    const form = h("form", { class: "form", method: "dialog", novalidate: false },
      intro ? h("p", { class: "muted" }, intro) : null, fields.map(fieldControl), error);
    const save = h("button", { type: "submit", class: "button button-primary" }, submitLabel);
    form.append(h("div", { class: "dialog-buttons" },
      h("button", { type: "button", class: "button", onClick: () => dialog.close() }, "Cancel"), save));
    form.addEventListener("submit", async (event) => {
      event.preventDefault();
      if (!form.reportValidity()) return;
      save.disabled = true;
      error.hidden = true;
      try {
        result = await submit(readValues(form, fields));
        dialog.close("saved");
      } catch (failure) {
        error.hidden = false;
        replace(error, failure.message ?? String(failure));
        save.disabled = false;
      }
    });
    const dialog = h("dialog", { class: "dialog dialog-wide", "aria-labelledby": "form-title" },
      h("h2", { id: "form-title" }, title), form);
    document.body.append(dialog);
    dialog.addEventListener("close", () => {
      dialog.remove();
      resolve(dialog.returnValue === "saved" ? result : null);
    });
    dialog.showModal();
    form.querySelector("input, select, textarea")?.focus();
  });
}

/** Shows a secret once, with a copy button; resolves when the dialog is closed. */
export function secretDialog({ title, intro, secret }) {
  return new Promise((resolve) => {
    const status = h("p", { class: "muted", role: "status", "aria-live": "polite" });
    const output = h("output", { class: "secret", id: "secret-value", "aria-label": "New key" }, secret);
    const copy = h("button", { type: "button", class: "button button-primary", onClick: async () => {
      try {
        await navigator.clipboard.writeText(secret);
        replace(status, "Copied to the clipboard.");
      } catch {
        const range = document.createRange();
        range.selectNodeContents(output);
        getSelection().removeAllRanges();
        getSelection().addRange(range);
        replace(status, "Copying was refused by the browser: the key is selected, press Ctrl+C.");
      }
    } }, "Copy");
    const dialog = modal(title, [h("p", {}, intro), h("div", { class: "secret-row" }, output, copy), status],
      [h("button", { type: "button", class: "button", onClick: () => dialog.close() }, "Done")],
      { labelled: "secret-title" });
    dialog.addEventListener("close", () => resolve());
    copy.focus();
  });
}

/**
 * A table. `columns`: `{label, value(row) -> node|string, class?}`; an empty `rows` shows `empty`
 * (a sentence saying what to do) instead.
 */
export function dataTable({ caption, columns: given, rows, empty, rowLabel }) {
  if (!rows.length) return emptyState(empty);
  // A column may be left out (null), as the actions are for callers who cannot change anything.
  const columns = given.filter(Boolean);
  return h("div", { class: "table-wrap", tabindex: "0", role: "region", "aria-label": caption },
    h("table", {},
      h("caption", { class: "visually-hidden" }, caption),
      h("thead", {}, h("tr", {}, columns.map((column) => h("th", { scope: "col", class: column.class }, column.label)))),
      h("tbody", {}, rows.map((row) => h("tr", { dataset: rowLabel ? { row: rowLabel(row) } : {} },
        columns.map((column) => h("td", { class: column.class, "data-label": column.label }, column.value(row))))))));
}

/** What an empty list means and what to do about it. */
export function emptyState(text) {
  return h("div", { class: "empty" }, h("p", {}, text));
}

/** A page's heading with its actions. */
export function pageHeader(title, description, ...actions) {
  return h("header", { class: "page-header" },
    h("div", {}, h("h1", { id: "page-title", tabindex: "-1" }, title), description ? h("p", { class: "muted" }, description) : null),
    h("div", { class: "page-actions" }, actions));
}

/**
 * A click handler that first waits for `loaded` (a page's first load, whose data a dialog offers),
 * so a click made while the page still loads opens the dialog with that data, not without it.
 */
export function afterLoad(loaded, action) {
  return async () => {
    await loaded;
    await action();
  };
}

/** A primary or plain button. */
export function button(label, onClick, { kind = "", ...rest } = {}) {
  return h("button", { type: "button", class: `button ${kind ? `button-${kind}` : ""}`, onClick, ...rest }, label);
}

/** A small coloured label. */
export function badge(text, tone = "neutral") {
  return h("span", { class: `badge badge-${tone}` }, text);
}

function noAccess(detail) {
  return h("div", { class: "load-error no-access", role: "alert" }, h("strong", {}, "You don't have access to this page. "), detail);
}

/** A region that shows a failure to load, with its detail text (a 403 says the caller has no access). */
export function loadError(error) {
  if (error instanceof ApiError && error.status === 403) return noAccess(error.message);
  return h("div", { class: "load-error", role: "alert" }, h("strong", {}, "Could not load this page: "),
    error instanceof ApiError ? error.message : String(error?.message ?? error));
}

/** A whole page for a caller whose access does not include it (the API's 403 detail when there is one). */
export function accessDenied(error = null) {
  return [pageHeader("No access", "Your role does not include this page."),
    noAccess(error ? error.message : "The pages you can use are in the navigation.")];
}

/** `controls` for a caller who may change things (access.js `canWrite`); nothing for a viewer. */
export function writeOnly(...controls) {
  return canWrite() ? controls : null;
}

/** An actions column, or null (left out) for a caller who may not change anything. */
export function actionsColumn(value, allowed = canWrite()) {
  return allowed ? { label: "Actions", class: "actions", value } : null;
}

/** A titled section of a page. */
export function section(title, ...children) {
  const id = `section-${title.toLowerCase().replace(/[^a-z0-9]+/g, "-")}`;
  return h("section", { class: "card", "aria-labelledby": id }, h("h2", { id }, title), children);
}

/** Fills `container` with what `build()` returns, or with the failure's detail text. */
export async function fill(container, build) {
  try {
    replace(container, await build());
  } catch (error) {
    replace(container, loadError(error));
  }
}

/**
 * After a refresh replaced the control that had focus, moves focus to the page's heading so keyboard
 * users are not dropped at the top of the document.
 */
function restoreFocus() {
  const active = document.activeElement;
  if (!active || active === document.body || !active.isConnected) document.getElementById("page-title")?.focus();
}

/** Opens a form dialog; once saved, announces `announce(result)` and awaits `refresh()`. */
export async function saveDialog(options, announce, refresh) {
  const saved = await formDialog(options);
  if (saved) {
    toast(announce(saved));
    await refresh();
    restoreFocus();
  }
  return saved;
}

/**
 * A small button for a destructive action: asks in a dialog (`title`, `message`), runs `run` there,
 * then announces `announce` and awaits `refresh()`.
 */
export function confirmButton(label, ariaLabel, { title, message, confirmLabel = label, run, announce, refresh }) {
  return button(label, async () => {
    if (await confirmAction({ title, message, confirmLabel, run })) {
      toast(announce);
      await refresh();
      restoreFocus();
    }
  }, { kind: "small", "aria-label": ariaLabel });
}

/**
 * Runs `tick(isStopped)` now and again `interval` ms after each run ends, until it returns false.
 * Resolves, after the first run, to the function that stops it (a page's cleanup).
 */
export async function every(interval, tick) {
  let timer = null;
  let stopped = false;
  const run = async () => {
    const again = await tick(() => stopped);
    if (!stopped && again !== false) timer = setTimeout(run, interval);
  };
  await run();
  return () => {
    stopped = true;
    clearTimeout(timer);
  };
}
