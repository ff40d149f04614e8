import type { ClickHouseClient } from "@clickhouse/client";
import { RETENTION_MONTHS } from "./events";

/** ClickHouse's DateTime64(3) text in UTC, from any ISO 8601 time. */
export function clickhouseTime(iso: string): string {
    return new Date(iso).toISOString().replace("T", " ").replace("Z", "");
}

/** The events table of seed 002 §3.4.2: partitioned by tenant and month, ordered for per-tenant scans, 36-month TTL. */
export const EVENTS_TABLE = `CREATE TABLE IF NOT EXISTS analytics.events (
    event_id UUID,
    org_id String,
    user_id String,
    session_id String,
    event_type LowCardinality(String),
    event_category LowCardinality(String),
    timestamp DateTime64(3),
    region LowCardinality(String),
    environment LowCardinality(String),
    metadata String,
    received_at DateTime64(3),
    _partition_date Date DEFAULT toDate(timestamp)
) ENGINE = ReplacingMergeTree
PARTITION BY (org_id, toYYYYMM(_partition_date))
ORDER BY (org_id, event_type, timestamp, event_id)
TTL toDateTime(timestamp) + INTERVAL ${RETENTION_MONTHS} MONTH DELETE`;

/**
 * Seed 002 §3.3: hourly and daily event counts per tenant and type, kept by materialized views as events are
 * inserted. The consumer inserts each event once, so the sums are exact.
 */
const ROLLUPS = (["hour", "day"] as const).flatMap((grain) => {
    const table = grain === "hour" ? "hourly_metrics" : "daily_metrics";
    const bucket = grain === "hour" ? "toStartOfHour(timestamp)" : "toStartOfDay(timestamp)";
    return [
        `CREATE TABLE IF NOT EXISTS analytics.${table} (org_id String, bucket DateTime, event_type LowCardinality(String), events UInt64)
            ENGINE = SummingMergeTree ORDER BY (org_id, bucket, event_type)`,
        `CREATE MATERIALIZED VIEW IF NOT EXISTS analytics.${table}_mv TO analytics.${table}
            AS SELECT org_id, ${bucket} AS bucket, event_type, count() AS events FROM analytics.events GROUP BY org_id, bucket, event_type`,
    ];
});

/**
 * Every key a tenant's `metadata` has held, with the JSON types seen under it. Exports type their `attr_*` columns
 * from it without scanning the events, and a tenant's files keep one schema from day to day.
 */
const METADATA_KEYS = [
    `CREATE TABLE IF NOT EXISTS analytics.metadata_keys (org_id String, key String, types SimpleAggregateFunction(groupUniqArrayArray, Array(String)))
        ENGINE = AggregatingMergeTree ORDER BY (org_id, key)`,
    `CREATE MATERIALIZED VIEW IF NOT EXISTS analytics.metadata_keys_mv TO analytics.metadata_keys
        AS SELECT org_id, key, groupUniqArray(JSONType(metadata, key)) AS types FROM analytics.events ARRAY JOIN JSONExtractKeys(metadata) AS key GROUP BY org_id, key`,
];

/**
 * Every stored event's (tenant, id), ordered by them, so the consumer finds which events of a batch are stored by
 * key, whatever their times and however the same id was sent again. Kept as long as the events.
 */
const EVENT_IDS = [
    `CREATE TABLE IF NOT EXISTS analytics.event_ids (org_id String, event_id UUID, timestamp DateTime64(3))
        ENGINE = ReplacingMergeTree PARTITION BY toYYYYMM(timestamp) ORDER BY (org_id, event_id)
        TTL toDateTime(timestamp) + INTERVAL ${RETENTION_MONTHS} MONTH DELETE SETTINGS ttl_only_drop_parts = 1`,
    `CREATE MATERIALIZED VIEW IF NOT EXISTS analytics.event_ids_mv TO analytics.event_ids
        AS SELECT org_id, event_id, timestamp FROM analytics.events`,
];

/** The cell's analytics schema, created by the ingest service where the cell's resources do not create it. */
export async function ensureAnalyticsSchema(clickhouse: ClickHouseClient): Promise<void> {
    for (const query of ["CREATE DATABASE IF NOT EXISTS analytics", EVENTS_TABLE]) await clickhouse.command({ query });
    const indexed = await (
        await clickhouse.query({ query: "EXISTS TABLE analytics.event_ids", format: "JSONEachRow" })
    ).json<{ result: number }>();
    for (const query of [...EVENT_IDS, ...ROLLUPS, ...METADATA_KEYS]) await clickhouse.command({ query });
    // A cell upgraded from before the id index: the events already stored are indexed too, or a redelivery would count them twice.
    if (Number(indexed[0].result) === 0)
        await clickhouse.command({ query: "INSERT INTO analytics.event_ids SELECT org_id, event_id, timestamp FROM analytics.events" });
}
