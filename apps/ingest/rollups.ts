import type { ClickHouseClient } from "@clickhouse/client";
import { clickhouseTime } from "./rows";

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

export async function ensureRollups(clickhouse: ClickHouseClient): Promise<void> {
    for (const query of ROLLUPS) await clickhouse.command({ query });
}

export interface MetricsQuery {
    org: string;
    from: string;
    to: string;
    granularity: "hour" | "day";
    eventType?: string;
}

/** Event counts of one tenant per bucket and type, in [from, to). Values are bound parameters, never spliced in. */
export async function queryMetrics(clickhouse: ClickHouseClient, q: MetricsQuery): Promise<{ bucket: string; event_type: string; events: number }[]> {
    const table = q.granularity === "hour" ? "hourly_metrics" : "daily_metrics";
    const result = await clickhouse.query({
        query: `SELECT toString(bucket) AS time, event_type, toUInt64(sum(events)) AS count FROM analytics.${table}
                WHERE org_id = {org:String} AND bucket >= {from:DateTime64(3)} AND bucket < {to:DateTime64(3)}
                  AND ({eventType:String} = '' OR event_type = {eventType:String})
                GROUP BY bucket, event_type ORDER BY bucket, event_type`,
        query_params: { org: q.org, from: clickhouseTime(q.from), to: clickhouseTime(q.to), eventType: q.eventType ?? "" },
        format: "JSONEachRow",
    });
    const rows = await result.json<{ time: string; event_type: string; count: string | number }>();
    return rows.map((r) => ({ bucket: r.time, event_type: r.event_type, events: Number(r.count) }));
}
