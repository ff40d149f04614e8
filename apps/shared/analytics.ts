import type { ClickHouseClient } from "@clickhouse/client";
import { sqlIdentifier, sqlString } from "./clickhouseSql";
import { RETENTION_MONTHS } from "./events";

/** ClickHouse's DateTime64(3) text in UTC, from any ISO 8601 time. */
export function clickhouseTime(iso: string): string {
    return new Date(iso).toISOString().replace("T", " ").replace("Z", "");
}

/** A table of the analytics schema, as data: created plain on a single server, replicated and sharded on a cluster. */
interface TableDef {
    name: string;
    columns: string;
    engine: "ReplacingMergeTree" | "SummingMergeTree" | "AggregatingMergeTree";
    /** PARTITION BY, ORDER BY, TTL and SETTINGS. */
    layout: string;
}

/** A materialized view from the events table into one of the tables. */
interface ViewDef {
    name: string;
    to: string;
    select: string;
}

/** The events table of seed 002 §3.4.2: partitioned by tenant and month, ordered for per-tenant scans, 36-month TTL. */
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
ORDER BY (org_id, event_type, timestamp, event_id)
TTL toDateTime(timestamp) + INTERVAL ${RETENTION_MONTHS} MONTH DELETE`,
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
 * Seed 002 §3.3: hourly and daily event counts per tenant and type, kept by materialized views as events are
 * inserted. The consumer inserts each event once, so the sums are exact.
 */
const ROLLUPS = (["hour", "day"] as const).map((grain): [TableDef, ViewDef] => {
    const name = grain === "hour" ? "hourly_metrics" : "daily_metrics";
    const bucket = grain === "hour" ? "toStartOfHour(timestamp)" : "toStartOfDay(timestamp)";
    return [
        {
            name,
            columns: "org_id String, bucket DateTime, event_type LowCardinality(String), events UInt64",
            engine: "SummingMergeTree",
            layout: "ORDER BY (org_id, bucket, event_type)",
        },
        {
            name: `${name}_mv`,
            to: name,
            select: `SELECT org_id, ${bucket} AS bucket, event_type, count() AS events FROM {events} GROUP BY org_id, bucket, event_type`,
        },
    ];
});

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
    ...ROLLUPS.map(([, view]) => view),
    {
        name: "metadata_keys_mv",
        to: "metadata_keys",
        select: "SELECT org_id, key, groupUniqArray(JSONType(metadata, key)) AS types FROM {events} ARRAY JOIN JSONExtractKeys(metadata) AS key GROUP BY org_id, key",
    },
];

const tableDdl = (t: TableDef) => `CREATE TABLE IF NOT EXISTS analytics.${t.name} (
    ${t.columns}
) ENGINE = ${t.engine}
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
) ENGINE = Replicated${t.engine}('/clickhouse/tables/{shard}/analytics/${t.name}', '{replica}')
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

const TABLES = [EVENTS, EVENT_IDS, ...ROLLUPS.map(([table]) => table), METADATA_KEYS];

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
    const indexed = await (
        await clickhouse.query({ query: "EXISTS TABLE analytics.event_ids", format: "JSONEachRow" })
    ).json<{ result: number }>();
    for (const query of rest) await clickhouse.command({ query });
    // A cell upgraded from before the id index: the events already stored are indexed too, or a redelivery would count them twice.
    if (Number(indexed[0].result) === 0)
        await clickhouse.command({ query: "INSERT INTO analytics.event_ids SELECT org_id, event_id, timestamp FROM analytics.events" });
}
