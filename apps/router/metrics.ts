import { Counter, Gauge, Registry } from "prom-client";

/** What the router's `GET /metrics` exposes, beside its answers by status class and its certificate's expiry. */
export function routerMetrics(read: { refused: Record<"misdirected" | "quarantined", number>; tableSerial: () => number }) {
    const registry = new Registry();
    // A counter read from the router's own tallies, which `/healthz` reports too.
    new Counter({
        name: "router_requests_refused_total",
        help: "Requests refused before any cell saw them: misdirected (another residency's tenant) or quarantined",
        labelNames: ["reason"],
        registers: [registry],
        collect() {
            this.reset();
            for (const [reason, count] of Object.entries(read.refused)) this.inc({ reason }, count);
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
