// Small SVG charts drawn by the page itself: a line chart for per-minute series and horizontal bars
// for per-model figures. Each chart has a text alternative (role="img" with a label) and a table
// fallback is left to the caller.
import { h } from "./dom.js";

const WIDTH = 560;
const HEIGHT = 180;
const PAD = { top: 12, right: 12, bottom: 26, left: 72 };

/** A rounded upper bound for an axis. */
function niceMax(value) {
  if (!(value > 0)) return 1;
  const power = 10 ** Math.floor(Math.log10(value));
  for (const step of [1, 2, 2.5, 5, 10]) if (step * power >= value) return step * power;
  return 10 * power;
}

/**
 * A line chart. `points`: `[{label, value}]` in order; `format(value)` labels the axis and the
 * summary. Returns an <svg> with role="img" and a label naming the latest and highest values.
 */
export function lineChart({ title, points, format = String, tone = "primary" }) {
  const values = points.map((point) => Number(point.value) || 0);
  const max = niceMax(Math.max(0, ...values));
  const innerWidth = WIDTH - PAD.left - PAD.right;
  const innerHeight = HEIGHT - PAD.top - PAD.bottom;
  const x = (index) => PAD.left + (points.length <= 1 ? innerWidth : (index / (points.length - 1)) * innerWidth);
  const y = (value) => PAD.top + innerHeight - (value / max) * innerHeight;
  const latest = values.length ? values[values.length - 1] : 0;
  const label = `${title}: latest ${format(latest)}, highest ${format(Math.max(0, ...values))} over ${points.length} minutes`;
  const svg = h("svg:svg", { viewBox: `0 0 ${WIDTH} ${HEIGHT}`, role: "img", "aria-label": label, class: `chart chart-${tone}`,
    preserveAspectRatio: "none" });
  svg.append(h("svg:title", {}, label));
  for (const fraction of [0, 0.5, 1]) {
    const value = max * fraction;
    svg.append(h("svg:line", { x1: PAD.left, x2: WIDTH - PAD.right, y1: y(value), y2: y(value), class: "chart-grid" }));
    svg.append(h("svg:text", { x: PAD.left - 6, y: y(value) + 4, "text-anchor": "end", class: "chart-axis" }, format(value)));
  }
  if (points.length) {
    const first = points[0].label;
    const last = points[points.length - 1].label;
    svg.append(h("svg:text", { x: PAD.left, y: HEIGHT - 6, class: "chart-axis" }, first));
    svg.append(h("svg:text", { x: WIDTH - PAD.right, y: HEIGHT - 6, "text-anchor": "end", class: "chart-axis" }, last));
    const path = values.map((value, index) => `${index ? "L" : "M"}${x(index).toFixed(1)},${y(value).toFixed(1)}`).join(" ");
    const area = `${path} L${x(values.length - 1).toFixed(1)},${y(0)} L${x(0).toFixed(1)},${y(0)} Z`;
    svg.append(h("svg:path", { d: area, class: "chart-area" }));
    svg.append(h("svg:path", { d: path, class: "chart-line" }));
    values.forEach((value, index) => {
      const dot = h("svg:circle", { cx: x(index), cy: y(value), r: 2.5, class: "chart-dot" });
      dot.append(h("svg:title", {}, `${points[index].label}: ${format(value)}`));
      svg.append(dot);
    });
  }
  return svg;
}

/**
 * Horizontal bars, one per item `{label, value}`, longest first as given. Each bar is labelled with
 * its formatted value.
 */
export function barChart({ title, items, format = String }) {
  const rowHeight = 26;
  const labelWidth = 150;
  const height = Math.max(1, items.length) * rowHeight + 8;
  const max = Math.max(0, ...items.map((item) => Number(item.value) || 0)) || 1;
  const svg = h("svg:svg", { viewBox: `0 0 ${WIDTH} ${height}`, role: "img", class: "chart chart-bars",
    "aria-label": `${title}: ${items.map((item) => `${item.label} ${format(item.value)}`).join(", ")}` });
  svg.append(h("svg:title", {}, title));
  items.forEach((item, index) => {
    const top = 4 + index * rowHeight;
    const width = ((Number(item.value) || 0) / max) * (WIDTH - labelWidth - 90);
    svg.append(h("svg:text", { x: labelWidth - 8, y: top + 16, "text-anchor": "end", class: "chart-label" },
      item.label.length > 22 ? `${item.label.slice(0, 21)}…` : item.label));
    svg.append(h("svg:rect", { x: labelWidth, y: top + 4, width: Math.max(1, width), height: rowHeight - 10, rx: 3, class: "chart-bar" }));
    svg.append(h("svg:text", { x: labelWidth + Math.max(1, width) + 6, y: top + 16, class: "chart-value" }, format(item.value)));
  });
  return svg;
}
