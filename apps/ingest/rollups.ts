import type { ClickHouseClient } from "@clickhouse/client";
import { clickhouseTime } from "../shared/analytics";

/** Measures of each bucket and event type, from the hourly and daily rollups. */
export const TYPE_MEASURES = ["events", "unique_users", "unique_sessions"] as const;
/** Measures of each day, from the daily reports: they exist for a whole day only. */
export const DAY_MEASURES = ["error_rate", "cost_usd", "avg_session_seconds", "sessions_timed"] as const;
export const MEASURES = [...TYPE_MEASURES, ...DAY_MEASURES] as const;
export type Measure = (typeof MEASURES)[number];

export interface MetricsQuery {
    org: string;
    from: string;
    to: string;
    granularity: "hour" | "day";
    eventType?: string;
    measures: readonly Measure[];
}

export interface MetricsAnswer {
    rows: ({ bucket: string; event_type: string } & Partial<Record<(typeof TYPE_MEASURES)[number], number>>)[];
    /** Only when a day measure is asked for. */
    days?: ({ day: string } & Partial<Record<(typeof DAY_MEASURES)[number], number>>)[];
}

const isTypeMeasure = (m: Measure): m is (typeof TYPE_MEASURES)[number] => (TYPE_MEASURES as readonly string[]).includes(m);

/**
 * One tenant's measures in [from, to), read from the rollups as last computed (`FINAL`: the latest computation of
 * each bucket). Values are bound parameters; column names come from the lists above only.
 */
export async function queryMetrics(clickhouse: ClickHouseClient, q: MetricsQuery): Promise<MetricsAnswer> {
    const params = { org: q.org, from: clickhouseTime(q.from), to: clickhouseTime(q.to), eventType: q.eventType ?? "" };
    const typeMeasures = q.measures.filter(isTypeMeasure);
    const dayMeasures = q.measures.filter((m) => !isTypeMeasure(m));
    const table = q.granularity === "hour" ? "hourly_metrics" : "daily_metrics";
    const rows = await (
        await clickhouse.query({
            query: `SELECT toString(bucket) AS time, event_type${typeMeasures.map((m) => `, ${m}`).join("")} FROM analytics.${table} FINAL
                    WHERE org_id = {org:String} AND bucket >= {from:DateTime64(3)} AND bucket < {to:DateTime64(3)}
                      AND ({eventType:String} = '' OR event_type = {eventType:String})
                    ORDER BY bucket, event_type`,
            query_params: params,
            format: "JSONEachRow",
        })
    ).json<Record<string, string | number>>();
    const answer: MetricsAnswer = {
        rows: rows.map(({ time, ...r }) => ({ bucket: time, ...numbered(r, typeMeasures) }) as MetricsAnswer["rows"][number]),
    };
    if (dayMeasures.length === 0) return answer;
    const days = await (
        await clickhouse.query({
            query: `SELECT toString(day) AS date${dayMeasures.map((m) => `, ${m}`).join("")} FROM analytics.daily_reports FINAL
                    WHERE org_id = {org:String} AND toDateTime(day) >= {from:DateTime64(3)} AND toDateTime(day) < {to:DateTime64(3)}
                    ORDER BY day`,
            query_params: params,
            format: "JSONEachRow",
        })
    ).json<Record<string, string | number>>();
    return {
        ...answer,
        days: days.map(({ date, ...d }) => ({ day: date, ...numbered(d, dayMeasures) }) as NonNullable<MetricsAnswer["days"]>[number]),
    };
}

/** ClickHouse answers 64-bit integers as strings in JSON: the measures are numbers. */
function numbered(row: Record<string, string | number>, measures: readonly string[]): Record<string, string | number> {
    return Object.fromEntries(Object.entries(row).map(([k, v]) => [k, measures.includes(k) ? Number(v) : v]));
}

/**
 * Marks read again each round from this far before the last round began: an insert that started before the round
 * and committed after it read the marks is still computed.
 */
const MARK_OVERLAP_SECONDS = 60;
const MARKED_SINCE = `marked_at >= {since:DateTime64(3)} - INTERVAL ${MARK_OVERLAP_SECONDS} SECOND`;

/**
 * Each statement computes whole buckets from the deduplicated events (`FINAL`) of the (tenant, bucket)s marked since
 * the last round; the rows it writes replace the bucket's earlier ones. `GLOBAL IN` reads the marks once, on a single
 * server as on a cluster of shards.
 */
const REFRESH_STATEMENTS = [
    `INSERT INTO analytics.hourly_metrics
     SELECT org_id, toDateTime(toStartOfHour(timestamp)) AS bucket, event_type,
            count(), uniqExact(user_id), uniqExact(session_id), now64(3)
     FROM analytics.events FINAL
     WHERE (org_id, toDateTime(toStartOfHour(timestamp))) GLOBAL IN (SELECT org_id, hour FROM analytics.rollup_marks WHERE ${MARKED_SINCE})
     GROUP BY org_id, bucket, event_type`,
    `INSERT INTO analytics.daily_metrics
     SELECT org_id, toDateTime(toStartOfDay(timestamp)) AS bucket, event_type,
            count(), uniqExact(user_id), uniqExact(session_id), now64(3)
     FROM analytics.events FINAL
     WHERE (org_id, toDate(timestamp)) GLOBAL IN (SELECT org_id, toDate(hour) FROM analytics.rollup_marks WHERE ${MARKED_SINCE})
     GROUP BY org_id, bucket, event_type`,
    // Per session first, then per day: a session is timed from its first start to its last end when both fall on the day.
    `INSERT INTO analytics.daily_reports
     SELECT org_id, day, sum(n) AS events, uniqExactArray(users) AS unique_users, count() AS unique_sessions,
            sum(failed) AS errors, errors / events AS error_rate, sum(usd) AS cost_usd,
            countIf(timed) AS sessions_timed, if(sessions_timed = 0, 0, avgIf(seconds, timed)) AS avg_session_seconds, now64(3)
     FROM (
         SELECT org_id, toDate(timestamp) AS day, session_id, count() AS n, groupUniqArray(user_id) AS users,
                countIf(event_type = 'error') AS failed,
                sumIf(JSONExtractFloat(metadata, 'usd'), event_type = 'cost_incurred') AS usd,
                dateDiff('millisecond', minIf(timestamp, event_type = 'session_start'), maxIf(timestamp, event_type = 'session_end')) / 1000 AS seconds,
                countIf(event_type = 'session_start') > 0 AND countIf(event_type = 'session_end') > 0 AND seconds >= 0 AS timed
         FROM analytics.events FINAL
         WHERE (org_id, toDate(timestamp)) GLOBAL IN (SELECT org_id, toDate(hour) FROM analytics.rollup_marks WHERE ${MARKED_SINCE})
         GROUP BY org_id, day, session_id
     )
     GROUP BY org_id, day`,
];

export interface RefreshMetrics {
    refreshSeconds: { startTimer(): () => number };
    refreshFailures: { inc(): void };
}

/**
 * Keeps the rollups and daily reports computed from the events: each round recomputes the buckets marked since the
 * round before. Rows are computed whole, never summed up, so a batch stored twice, or an insert that half-landed when
 * ClickHouse stopped, is counted once; two refreshers (one per consumer) only repeat each other's work.
 */
export class RollupRefresher {
    /** ClickHouse's clock when the last successful round began. */
    private since?: string;
    private timer?: NodeJS.Timeout;
    private round?: Promise<void>;

    constructor(
        private readonly clickhouse: ClickHouseClient,
        private readonly metrics?: RefreshMetrics,
    ) {}

    async refresh(): Promise<void> {
        const startedAt = await this.scalar("SELECT toString(now64(3)) AS v");
        const since = this.since ?? (await this.lastComputed());
        for (const query of REFRESH_STATEMENTS) await this.clickhouse.command({ query, query_params: { since } });
        this.since = startedAt;
    }

    /** Refreshes every `intervalMs` until stopped; a failed round is counted and the next one covers its marks. */
    start(intervalMs: number): void {
        const tick = () => {
            const stop = this.metrics?.refreshSeconds.startTimer();
            this.round = this.refresh()
                .then(() => void stop?.())
                .catch((error: unknown) => {
                    this.metrics?.refreshFailures.inc();
                    console.error(`rollups: ${(error as Error).message}; the next round computes what this one missed`);
                })
                .finally(() => {
                    if (this.round) this.timer = setTimeout(tick, intervalMs);
                });
        };
        tick();
    }

    async stop(): Promise<void> {
        const round = this.round;
        this.round = undefined;
        clearTimeout(this.timer);
        await round;
    }

    /** Where a new refresher starts: the oldest of the tables' last computations, so none misses what a crash left. */
    private lastComputed(): Promise<string> {
        return this.scalar(
            `SELECT toString(least((SELECT max(computed_at) FROM analytics.hourly_metrics), (SELECT max(computed_at) FROM analytics.daily_metrics),
                                   (SELECT max(computed_at) FROM analytics.daily_reports))) AS v`,
        );
    }

    private async scalar(query: string): Promise<string> {
        return (await (await this.clickhouse.query({ query, format: "JSONEachRow" })).json<{ v: string }>())[0].v;
    }
}
