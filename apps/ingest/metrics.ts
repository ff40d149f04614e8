import { Counter, Gauge, Histogram, Registry } from "prom-client";

/** What the ingest API's `GET /metrics` exposes, in Prometheus's text format. */
export function apiMetrics() {
    const registry = new Registry();
    return {
        registry,
        accepted: new Counter({
            name: "ingest_events_accepted_total",
            help: "Events acknowledged by Kafka and answered 202",
            registers: [registry],
        }),
        rejected: new Counter({
            name: "ingest_events_rejected_total",
            help: "Events refused, by reason",
            labelNames: ["reason"],
            registers: [registry],
        }),
        refusedRequests: new Counter({
            name: "ingest_requests_refused_total",
            help: "Requests refused before their body was read, by reason",
            labelNames: ["reason"],
            registers: [registry],
        }),
    };
}

/** What the consumer's `GET /metrics` exposes. */
export function consumerMetrics() {
    const registry = new Registry();
    return {
        registry,
        stored: new Counter({ name: "ingest_events_stored_total", help: "Events inserted into ClickHouse", registers: [registry] }),
        duplicates: new Counter({
            name: "ingest_events_duplicate_total",
            help: "Redelivered or repeated events dropped before insert",
            registers: [registry],
        }),
        deadLetters: new Counter({
            name: "ingest_events_dead_lettered_total",
            help: "Events set aside on the cell's dead-letter topic, by reason",
            labelNames: ["reason"],
            registers: [registry],
        }),
        failedBatches: new Counter({
            name: "ingest_batches_failed_total",
            help: "Batches whose storing failed and will be redelivered",
            registers: [registry],
        }),
        lag: new Gauge({
            name: "ingest_consumer_lag",
            help: "Messages between the partition's high watermark and the group's committed offset",
            labelNames: ["partition"],
            registers: [registry],
        }),
        lagReadFailures: new Counter({
            name: "ingest_consumer_lag_read_failures_total",
            help: "Lag readings the brokers did not answer",
            registers: [registry],
        }),
        freshnessSeconds: new Histogram({
            name: "ingest_freshness_seconds",
            help: "From the API's 202 to the event stored in ClickHouse (seed 002: p99 at most 30 s)",
            buckets: [0.25, 0.5, 1, 2, 5, 10, 30, 60, 300],
            registers: [registry],
        }),
        refreshSeconds: new Histogram({
            name: "ingest_rollup_refresh_seconds",
            help: "One round computing the rollups and daily reports of the buckets marked since the round before",
            buckets: [0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30],
            registers: [registry],
        }),
        refreshFailures: new Counter({
            name: "ingest_rollup_refresh_failures_total",
            help: "Rounds of the rollups that failed; the next round computes what they missed",
            registers: [registry],
        }),
        insertSeconds: new Histogram({
            name: "ingest_clickhouse_insert_seconds",
            help: "ClickHouse insert latency per batch",
            buckets: [0.01, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5],
            registers: [registry],
        }),
    };
}

export type ApiMetrics = ReturnType<typeof apiMetrics>;
export type ConsumerMetrics = ReturnType<typeof consumerMetrics>;
