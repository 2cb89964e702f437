// Building DOM safely (text is always text: no HTML strings anywhere, which the page's Trusted Types
// policy enforces) and formatting numbers, money and dates.

/**
 * Creates an element. `props`: attributes (strings), `class`, `dataset`, boolean attributes
 * (true/false), `on<Event>` listeners, and `value`/`checked` as properties. Children may be strings,
 * numbers, nodes, arrays or null.
 */
export function h(tag, props = {}, ...children) {
  const element = tag.includes(":")
    ? document.createElementNS("http://www.w3.org/2000/svg", tag.split(":")[1])
    : document.createElement(tag);
  for (const [name, value] of Object.entries(props ?? {})) {
    if (value === undefined || value === null || value === false) continue;
    if (name.startsWith("on") && typeof value === "function") {
      element.addEventListener(name.slice(2).toLowerCase(), value);
    } else if (name === "dataset") {
      Object.assign(element.dataset, value);
    } else if (name === "value" || name === "checked") {
      element[name] = value;
    } else {
      element.setAttribute(name, value === true ? "" : String(value));
    }
  }
  append(element, children);
  return element;
}

/** Appends children (strings become text nodes). */
export function append(parent, children) {
  for (const child of [children].flat(Infinity)) {
    if (child === null || child === undefined || child === false) continue;
    parent.append(child instanceof Node ? child : document.createTextNode(String(child)));
  }
  return parent;
}

/** Replaces an element's children. */
export function replace(parent, ...children) {
  parent.replaceChildren();
  return append(parent, children);
}

const integer = new Intl.NumberFormat("en-US", { maximumFractionDigits: 0 });
const decimal = new Intl.NumberFormat("en-US", { maximumFractionDigits: 2 });

/** 12,345 */
export function formatInteger(value) {
  return value === null || value === undefined ? "—" : integer.format(value);
}

/** 12.35 */
export function formatNumber(value, digits = 2) {
  if (value === null || value === undefined || Number.isNaN(value)) return "—";
  return digits === 2 ? decimal.format(value) : Number(value).toFixed(digits);
}

/** $1.2345 for small amounts, $1,234.56 for large ones. */
export function formatMoney(value) {
  if (value === null || value === undefined) return "—";
  const amount = Number(value);
  if (amount !== 0 && Math.abs(amount) < 1) return `$${amount.toFixed(6).replace(/0+$/, "").replace(/\.$/, ".0")}`;
  return `$${decimal.format(amount)}`;
}

/** 3.2% from a 0..1 ratio. */
export function formatPercent(ratio) {
  if (ratio === null || ratio === undefined) return "—";
  return `${(Number(ratio) * 100).toFixed(ratio > 0 && ratio < 0.01 ? 2 : 1)}%`;
}

/** A local date and time from an ISO timestamp. */
export function formatDate(iso) {
  if (!iso) return "—";
  const date = new Date(iso);
  return Number.isNaN(date.getTime()) ? String(iso) : date.toLocaleString();
}

/** 1.2 s, 340 ms */
export function formatMilliseconds(value) {
  if (value === null || value === undefined) return "—";
  return value >= 1000 ? `${(value / 1000).toFixed(2)} s` : `${Math.round(value)} ms`;
}

/** Text for any JSON value: strings as they are, the rest as compact JSON. */
export function formatValue(value) {
  if (value === null || value === undefined) return "—";
  if (typeof value === "string") return value;
  if (typeof value === "boolean") return value ? "yes" : "no";
  return JSON.stringify(value);
}
