import { Gauge, Registry } from "prom-client";

/** What the router's `GET /metrics` exposes, beside its answers by status class and its certificate's expiry. */
export function routerMetrics(read: { refused: Record<"misdirected" | "quarantined", number>; tableSerial: () => number }) {
    const registry = new Registry();
    new Gauge({
        name: "router_requests_refused_total",
        help: "Requests refused before any cell saw them: misdirected (another residency's tenant) or quarantined",
        labelNames: ["reason"],
        registers: [registry],
        collect() {
            for (const [reason, count] of Object.entries(read.refused)) this.set({ reason }, count);
        },
    });
    new Gauge({
        name: "router_routing_table_serial",
        help: "The serial of the routing table the router serves",
        registers: [registry],
        collect() {
            this.set(read.tableSerial());
        },
    });
    return registry;
}
