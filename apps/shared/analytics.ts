import type { ClickHouseClient } from "@clickhouse/client";
import { sqlIdentifier, sqlString } from "./clickhouseSql";
import { RETENTION_MONTHS, ROLLUP_RETENTION_YEARS } from "./events";

/** ClickHouse's DateTime64(3) text in UTC, from any ISO 8601 time. */
export function clickhouseTime(iso: string): string {
    return new Date(iso).toISOString().replace("T", " ").replace("Z", "");
}

/** A table of the analytics schema, as data: created plain on a single server, replicated and sharded on a cluster. */
interface TableDef {
    name: string;
    columns: string;
    engine: "ReplacingMergeTree" | "AggregatingMergeTree";
    /** The column whose highest value a ReplacingMergeTree keeps of rows with the same key. */
    version?: string;
    /** PARTITION BY, ORDER BY, TTL and SETTINGS. */
    layout: string;
}

/** A materialized view from the events table into one of the tables. */
interface ViewDef {
    name: string;
    to: string;
    select: string;
}

/**
 * The events table of seed 002 §3.4.2: partitioned by tenant and month, ordered for per-tenant scans. No TTL deletes
 * them: each (tenant, month) partition is dropped by the export app's archive once its 36 months are past and it is
 * archived (apps/export/archive.ts), so nothing is deleted before it is kept elsewhere.
 */
const EVENTS: TableDef = {
    name: "events",
    columns: `event_id UUID,
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
    _partition_date Date DEFAULT toDate(timestamp)`,
    engine: "ReplacingMergeTree",
    layout: `PARTITION BY (org_id, toYYYYMM(_partition_date))
ORDER BY (org_id, event_type, timestamp, event_id)`,
};

/**
 * Every stored event's (tenant, id), ordered by them, so the consumer finds which events of a batch are stored by
 * key, whatever their times and however the same id was sent again. Kept as long as the events.
 */
const EVENT_IDS: TableDef = {
    name: "event_ids",
    columns: "org_id String, event_id UUID, timestamp DateTime64(3)",
    engine: "ReplacingMergeTree",
    layout: `PARTITION BY toYYYYMM(timestamp) ORDER BY (org_id, event_id)
        TTL toDateTime(timestamp) + INTERVAL ${RETENTION_MONTHS} MONTH DELETE SETTINGS ttl_only_drop_parts = 1`,
};

/**
 * The (tenant, hour)s whose events changed, marked by a view as events are inserted. The rollups are computed from
 * them (rollups.ts), so a batch inserted twice, or half-inserted when ClickHouse stopped, is never counted twice.
 */
const ROLLUP_MARKS: TableDef = {
    name: "rollup_marks",
    columns: "org_id String, hour DateTime, marked_at DateTime64(3)",
    engine: "ReplacingMergeTree",
    version: "marked_at",
    layout: `PARTITION BY toYYYYMM(hour) ORDER BY (org_id, hour) TTL toDateTime(marked_at) + INTERVAL 30 DAY DELETE`,
};

const ROLLUP_TTL = (column: string) => `TTL ${column} + INTERVAL ${ROLLUP_RETENTION_YEARS} YEAR DELETE`;

/**
 * Seed 002 §3.3: events, unique users and unique sessions per tenant, bucket and type. Each row is computed whole
 * from the deduplicated events of its bucket, and the latest computation (`computed_at`) replaces the ones before.
 * Kept 3 years.
 */
const ROLLUPS: TableDef[] = ["hourly_metrics", "daily_metrics"].map((name) => ({
    name,
    columns: `org_id String, bucket DateTime, event_type LowCardinality(String),
    events UInt64, unique_users UInt64, unique_sessions UInt64, computed_at DateTime64(3)`,
    engine: "ReplacingMergeTree",
    version: "computed_at",
    layout: `PARTITION BY toYYYYMM(bucket) ORDER BY (org_id, bucket, event_type) ${ROLLUP_TTL("bucket")}`,
}));

/**
 * Seed 002 §3.3.1: one row per tenant and day with its totals, cost, error rate and session length, computed like the
 * rollups. Sessions are timed when they start and end on the same day.
 */
const DAILY_REPORTS: TableDef = {
    name: "daily_reports",
    columns: `org_id String, day Date, events UInt64, unique_users UInt64, unique_sessions UInt64, errors UInt64,
    error_rate Float64, cost_usd Float64, sessions_timed UInt64, avg_session_seconds Float64, computed_at DateTime64(3)`,
    engine: "ReplacingMergeTree",
    version: "computed_at",
    layout: `PARTITION BY toYYYYMM(day) ORDER BY (org_id, day) ${ROLLUP_TTL("day")}`,
};

/**
 * Every key a tenant's `metadata` has held, with the JSON types seen under it. Exports type their `attr_*` columns
 * from it without scanning the events, and a tenant's files keep one schema from day to day.
 */
const METADATA_KEYS: TableDef = {
    name: "metadata_keys",
    columns: "org_id String, key String, types SimpleAggregateFunction(groupUniqArrayArray, Array(String))",
    engine: "AggregatingMergeTree",
    layout: "ORDER BY (org_id, key)",
};

const VIEWS: ViewDef[] = [
    { name: "event_ids_mv", to: "event_ids", select: "SELECT org_id, event_id, timestamp FROM {events}" },
    {
        name: "rollup_marks_mv",
        to: "rollup_marks",
        select: "SELECT org_id, toStartOfHour(timestamp) AS hour, now64(3) AS marked_at FROM {events} GROUP BY org_id, hour",
    },
    {
        name: "metadata_keys_mv",
        to: "metadata_keys",
        select: "SELECT org_id, key, groupUniqArray(JSONType(metadata, key)) AS types FROM {events} ARRAY JOIN JSONExtractKeys(metadata) AS key GROUP BY org_id, key",
    },
];

const tableDdl = (t: TableDef) => `CREATE TABLE IF NOT EXISTS analytics.${t.name} (
    ${t.columns}
) ENGINE = ${t.engine}(${t.version ?? ""})
${t.layout}`;

export const EVENTS_TABLE = tableDdl(EVENTS);

/**
 * On a cluster each table is replicated through Keeper on every shard (`<name>_local`), and read and written
 * through a Distributed table of its own name that shards by tenant: a tenant's events, ids and rollups live on one
 * shard, so deduplication and the id index work there as on one server. The views run on each shard's own data.
 */
function clusterDdl(cluster: string): string[] {
    const on = `ON CLUSTER ${sqlIdentifier(cluster)}`;
    const replicated = (t: TableDef) => `CREATE TABLE IF NOT EXISTS analytics.${t.name}_local ${on} (
    ${t.columns}
) ENGINE = Replicated${t.engine}('/clickhouse/tables/{shard}/analytics/${t.name}', '{replica}'${t.version ? `, ${t.version}` : ""})
${t.layout}`;
    const distributed = (t: TableDef) =>
        `CREATE TABLE IF NOT EXISTS analytics.${t.name} ${on} AS analytics.${t.name}_local ENGINE = Distributed(${sqlString(cluster)}, analytics, ${t.name}_local, cityHash64(org_id))`;
    return [
        `CREATE DATABASE IF NOT EXISTS analytics ${on}`,
        ...TABLES.flatMap((t) => [replicated(t), distributed(t)]),
        ...VIEWS.map(
            (v) =>
                `CREATE MATERIALIZED VIEW IF NOT EXISTS analytics.${v.name} ${on} TO analytics.${v.to}_local AS ${v.select.replace("{events}", "analytics.events_local")}`,
        ),
    ];
}

const TABLES = [EVENTS, EVENT_IDS, ROLLUP_MARKS, ...ROLLUPS, DAILY_REPORTS, METADATA_KEYS];

/** The statements of the analytics schema, in order, for one server or for a cluster. */
export function analyticsDdl(cluster?: string): string[] {
    if (cluster) return clusterDdl(cluster);
    return [
        "CREATE DATABASE IF NOT EXISTS analytics",
        ...TABLES.map(tableDdl),
        ...VIEWS.map(
            (v) =>
                `CREATE MATERIALIZED VIEW IF NOT EXISTS analytics.${v.name} TO analytics.${v.to} AS ${v.select.replace("{events}", "analytics.events")}`,
        ),
    ];
}

/** The cell's analytics schema, created by the consumer where the cell's resources do not create it. */
export async function ensureAnalyticsSchema(clickhouse: ClickHouseClient, cluster?: string): Promise<void> {
    const [database, ...rest] = analyticsDdl(cluster);
    await clickhouse.command({ query: database });
    const existing = await enginesOf(clickhouse);
    for (const query of countingRollupsDropped(existing, cluster)) await clickhouse.command({ query });
    // Cells from before the archive deleted events by TTL; their archive deletes them now, each month once archived.
    const events = cluster ? "events_local" : "events";
    if (/\bTTL\b/.test(existing.get(events)?.full ?? ""))
        await clickhouse.command({
            query: `ALTER TABLE analytics.${events}${cluster ? ` ON CLUSTER ${sqlIdentifier(cluster)}` : ""} REMOVE TTL`,
        });
    for (const query of rest) await clickhouse.command({ query });
    // A cell upgraded from before the id index: the events already stored are indexed too, or a redelivery would count them twice.
    if (!existing.has("event_ids"))
        await clickhouse.command({ query: "INSERT INTO analytics.event_ids SELECT org_id, event_id, timestamp FROM analytics.events" });
    // A cell upgraded from before the marks: every hour it holds is marked, so the rollups are computed for all of it.
    if (!existing.has("rollup_marks"))
        await clickhouse.command({
            query: "INSERT INTO analytics.rollup_marks SELECT org_id, toStartOfHour(timestamp) AS hour, now64(3) FROM analytics.events GROUP BY org_id, hour",
        });
}

/** The analytics tables there are, each with its engine and its full engine clause (key, TTL, settings). */
async function enginesOf(clickhouse: ClickHouseClient): Promise<Map<string, { engine: string; full: string }>> {
    const result = await clickhouse.query({
        query: "SELECT name, engine, engine_full AS full FROM system.tables WHERE database = 'analytics'",
        format: "JSONEachRow",
    });
    return new Map((await result.json<{ name: string; engine: string; full: string }>()).map((t) => [t.name, t]));
}

/**
 * Drops the rollups of cells from before the marks, which summed counts as events were inserted (and so counted a
 * batch inserted twice twice); they are computed again from the events.
 */
function countingRollupsDropped(engines: Map<string, { engine: string }>, cluster?: string): string[] {
    const on = cluster ? ` ON CLUSTER ${sqlIdentifier(cluster)}` : "";
    return ["hourly_metrics", "daily_metrics"]
        .filter((name) => /SummingMergeTree/.test(engines.get(cluster ? `${name}_local` : name)?.engine ?? ""))
        .flatMap((name) => [
            `DROP VIEW IF EXISTS analytics.${name}_mv${on} SYNC`,
            `DROP TABLE IF EXISTS analytics.${name}${on} SYNC`,
            ...(cluster ? [`DROP TABLE IF EXISTS analytics.${name}_local${on} SYNC`] : []),
        ]);
}
