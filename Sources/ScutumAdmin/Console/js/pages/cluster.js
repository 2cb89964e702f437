// Cluster: the nodes that sent a heartbeat recently, which one leads (it runs workflows and MCP
// sync), and its lease. Refreshes every few seconds.
import { h, replace, formatDate } from "../dom.js";
import { api } from "../api.js";
import { pageHeader, dataTable, badge, section, loadError, every } from "../ui.js";

export const title = "Cluster";

const REFRESH_MS = 5000;

function view(cluster) {
  const leader = cluster.leader;
  return [
    section("Leader", leader
      ? h("dl", { class: "details", id: "cluster-leader" },
        h("dt", {}, "Node"), h("dd", {}, h("code", {}, leader.node_id)),
        h("dt", {}, "Fencing token"), h("dd", {}, String(leader.fencing_token)),
        h("dt", {}, "Lease expires"), h("dd", {}, formatDate(leader.lease_expires_at)))
      : h("p", { class: "muted" }, "No leader holds the lease right now: workflows and MCP sync wait until a node takes it.")),
    section("Nodes", dataTable({ caption: "Cluster nodes", rows: cluster.nodes ?? [], rowLabel: (n) => n.node_id,
      empty: "No node has reported a heartbeat. Nodes register within seconds of starting.",
      columns: [
        { label: "Node", value: (n) => [h("code", {}, n.node_id), n.node_id === cluster.this_node ? [" ", badge("this node", "info")] : null] },
        { label: "Role", value: (n) => (n.role === "leader" ? badge("leader", "ok") : badge("follower")) },
        { label: "Proxy", value: (n) => n.address },
        { label: "Admin", value: (n) => n.admin_address ?? "—" },
        { label: "Version", value: (n) => n.version },
        { label: "Started", value: (n) => formatDate(n.started_at) },
        { label: "Last heartbeat", value: (n) => formatDate(n.last_heartbeat) },
      ] })),
  ];
}

export async function render(main) {
  const body = h("div");
  main.append(pageHeader(title, "Gateway nodes sharing this PostgreSQL and Redis."), body);
  return every(REFRESH_MS, async (stopped) => {
    try {
      const cluster = await api.get("/cluster");
      if (!stopped()) replace(body, view(cluster));
    } catch (error) {
      if (!stopped()) replace(body, loadError(error));
    }
  });
}
