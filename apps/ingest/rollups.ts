import type { ClickHouseClient } from "@clickhouse/client";
import { clickhouseTime } from "../shared/analytics";

export interface MetricsQuery {
    org: string;
    from: string;
    to: string;
    granularity: "hour" | "day";
    eventType?: string;
}

/** Event counts of one tenant per bucket and type, in [from, to). Values are bound parameters, never spliced in. */
export async function queryMetrics(
    clickhouse: ClickHouseClient,
    q: MetricsQuery,
): Promise<{ bucket: string; event_type: string; events: number }[]> {
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
