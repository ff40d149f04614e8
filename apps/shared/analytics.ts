import type { ClickHouseClient } from "@clickhouse/client";
import { sqlIdentifier, sqlString } from "./clickhouseSql";
import { COLD_AFTER_MONTHS, RETENTION_MONTHS, ROLLUP_RETENTION_YEARS } from "./events";

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
 * The storage policy of a cell's ClickHouse servers: the servers' own disks (`default`, the name a table's first
 * policy has, so a table made before the cold tier can change to this one) and the `cold` volume, a disk on the cell's
 * own object storage (components/coldStorage.ts).
 */
export const STORAGE_POLICY = "tiered";
export const COLD_VOLUME = "cold";

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

/**
 * The streaming job's windows (seed 002 §3.2.2): events and unique users per tenant, type and 10 seconds of arrival.
 * A window the job sends again after a restart replaces the one before. Kept 30 days: the rollups keep the history.
 */
const EVENT_WINDOWS: TableDef = {
    name: "event_windows",
    columns: `org_id String, event_type LowCardinality(String), window_start DateTime64(3), window_end DateTime64(3),
    events UInt64, unique_users UInt64, loaded_at DateTime64(3) DEFAULT now64(3)`,
    engine: "ReplacingMergeTree",
    version: "loaded_at",
    layout: "PARTITION BY toYYYYMMDD(window_start) ORDER BY (org_id, window_start, event_type) TTL toDateTime(window_start) + INTERVAL 30 DAY DELETE",
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

/** Where a server keeps its events past 13 months: the cold volume, on servers whose configuration has one. */
const COLD_TIER = `TTL toDateTime(_partition_date) + INTERVAL ${COLD_AFTER_MONTHS} MONTH TO VOLUME '${COLD_VOLUME}'`;
const COLD_SETTINGS = `SETTINGS storage_policy = '${STORAGE_POLICY}'`;
const tiered = (t: TableDef): TableDef => ({ ...t, layout: `${t.layout}\n${COLD_TIER}\n${COLD_SETTINGS}` });

const tableDdl = (t: TableDef) => `CREATE TABLE IF NOT EXISTS analytics.${t.name} (
    ${t.columns}
) ENGINE = ${t.engine}(${t.version ?? ""})
${t.layout}`;

/** The events table of a server with the cold volume: every local cell's. */
export const TIERED_EVENTS_TABLE = tableDdl(tiered(EVENTS));

/**
 * On a cluster each table is replicated through Keeper on every shard (`<name>_local`), and read and written
 * through a Distributed table of its own name that shards by tenant: a tenant's events, ids and rollups live on one
 * shard, so deduplication and the id index work there as on one server. The views run on each shard's own data.
 */
function clusterDdl(tables: TableDef[], cluster: string): string[] {
    const on = `ON CLUSTER ${sqlIdentifier(cluster)}`;
    const replicated = (t: TableDef) => `CREATE TABLE IF NOT EXISTS analytics.${t.name}_local ${on} (
    ${t.columns}
) ENGINE = Replicated${t.engine}('/clickhouse/tables/{shard}/analytics/${t.name}', '{replica}'${t.version ? `, ${t.version}` : ""})
${t.layout}`;
    const distributed = (t: TableDef) =>
        `CREATE TABLE IF NOT EXISTS analytics.${t.name} ${on} AS analytics.${t.name}_local ENGINE = Distributed(${sqlString(cluster)}, analytics, ${t.name}_local, cityHash64(org_id))`;
    return [
        `CREATE DATABASE IF NOT EXISTS analytics ${on}`,
        ...tables.flatMap((t) => [replicated(t), distributed(t)]),
        ...VIEWS.map(
            (v) =>
                `CREATE MATERIALIZED VIEW IF NOT EXISTS analytics.${v.name} ${on} TO analytics.${v.to}_local AS ${v.select.replace("{events}", "analytics.events_local")}`,
        ),
    ];
}

const tablesOf = (cold: boolean) => [
    cold ? tiered(EVENTS) : EVENTS,
    EVENT_IDS,
    ROLLUP_MARKS,
    ...ROLLUPS,
    DAILY_REPORTS,
    METADATA_KEYS,
    EVENT_WINDOWS,
];

/**
 * The statements of the analytics schema, in order, for one server or for a cluster, whose servers have the cold
 * volume or not.
 */
export function analyticsDdl(options: { cluster?: string; cold: boolean }): string[] {
    const tables = tablesOf(options.cold);
    if (options.cluster) return clusterDdl(tables, options.cluster);
    return [
        "CREATE DATABASE IF NOT EXISTS analytics",
        ...tables.map(tableDdl),
        ...VIEWS.map(
            (v) =>
                `CREATE MATERIALIZED VIEW IF NOT EXISTS analytics.${v.name} TO analytics.${v.to} AS ${v.select.replace("{events}", "analytics.events")}`,
        ),
    ];
}

/** The cell's analytics schema, created by the consumer where the cell's resources do not create it. */
export async function ensureAnalyticsSchema(clickhouse: ClickHouseClient, cluster?: string): Promise<void> {
    const cold = await hasColdVolume(clickhouse);
    const [database, ...rest] = analyticsDdl({ cluster, cold });
    await clickhouse.command({ query: database });
    const existing = await enginesOf(clickhouse);
    for (const query of countingRollupsDropped(existing, cluster)) await clickhouse.command({ query });
    for (const query of eventsTableUpgrades(existing, { cluster, cold })) await clickhouse.command({ query });
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

/** Whether the server's configuration has the tiered storage policy, with its cold volume. */
async function hasColdVolume(clickhouse: ClickHouseClient): Promise<boolean> {
    const result = await clickhouse.query({
        query: "SELECT count() AS volumes FROM system.storage_policies WHERE policy_name = {policy:String} AND volume_name = {volume:String}",
        query_params: { policy: STORAGE_POLICY, volume: COLD_VOLUME },
        format: "JSONEachRow",
    });
    const [{ volumes }] = await result.json<{ volumes: string }>();
    return Number(volumes) > 0;
}

/**
 * What brings an events table made by an older cell to this one's layout: cells from before the archive deleted
 * events by TTL (their archive deletes them now, each month once archived); cells from before the cold tier kept
 * every event on the servers' disks.
 */
function eventsTableUpgrades(engines: Map<string, { full: string }>, options: { cluster?: string; cold: boolean }): string[] {
    const table = `analytics.${options.cluster ? "events_local" : "events"}`;
    const full = engines.get(options.cluster ? "events_local" : "events")?.full;
    if (full === undefined) return [];
    const alter = `ALTER TABLE ${table}${options.cluster ? ` ON CLUSTER ${sqlIdentifier(options.cluster)}` : ""}`;
    const statements = /\bDELETE\b/.test(full) ? [`${alter} REMOVE TTL`] : [];
    if (options.cold && !full.includes(`storage_policy = '${STORAGE_POLICY}'`))
        statements.push(`${alter} MODIFY SETTING storage_policy = '${STORAGE_POLICY}'`, `${alter} MODIFY ${COLD_TIER}`);
    return statements;
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
