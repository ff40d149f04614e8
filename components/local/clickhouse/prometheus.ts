import type { Engine } from "./engine";

/**
 * The engine's `system.metrics` (gauges) and `system.events` (counters) in Prometheus's text format, under the names
 * ClickHouse's own Prometheus endpoint gives them (`ClickHouseMetrics_*`, `ClickHouseProfileEvents_*`), so the same
 * queries and dashboards read a local cell and a ClickHouse server.
 */
export function prometheusText(engine: Engine): string {
    const rows = engine.ask(
        "SELECT 'ClickHouseMetrics_' || metric, 'gauge', value FROM system.metrics " +
            "UNION ALL SELECT 'ClickHouseProfileEvents_' || event, 'counter', value FROM system.events",
    );
    return rows
        .split("\n")
        .filter(Boolean)
        .map((row) => {
            const [name, type, value] = row.split("\t");
            return `# TYPE ${name} ${type}\n${name} ${value}\n`;
        })
        .join("");
}
