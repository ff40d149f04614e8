import type { ClickHouseClient } from "@clickhouse/client";
import type { Pool } from "pg";

/**
 * Seed 002 §3.3.1: a table of each tenant's day in Postgres. `cellplane.daily_reports` holds the days the cell's
 * ClickHouse computes (`analytics.daily_reports`); `lakehouse.daily_reports` those the gold job computes.
 */
export const dailyReportsDdl = (table: string) => `CREATE TABLE IF NOT EXISTS ${table} (
    org_id text NOT NULL,
    day date NOT NULL,
    events bigint NOT NULL,
    unique_users bigint NOT NULL,
    unique_sessions bigint NOT NULL,
    errors bigint NOT NULL,
    error_rate double precision NOT NULL,
    cost_usd double precision NOT NULL,
    sessions_timed bigint NOT NULL,
    avg_session_seconds double precision NOT NULL,
    computed_at timestamptz NOT NULL,
    PRIMARY KEY (org_id, day)
)`;

export const DAILY_REPORTS_DDL = dailyReportsDdl("cellplane.daily_reports");

const COLUMNS = [
    "org_id",
    "day",
    "events",
    "unique_users",
    "unique_sessions",
    "errors",
    "error_rate",
    "cost_usd",
    "sessions_timed",
    "avg_session_seconds",
] as const;

/**
 * Copies into Postgres every daily report ClickHouse computed since the last copy (a late event recomputes its day,
 * which is copied again), so the cell's reports are in its relational store each day. Returns the rows copied.
 */
export async function copyDailyReports(clickhouse: ClickHouseClient, pool: Pool): Promise<number> {
    const { rows: last } = await pool.query<{ since: string }>(
        "SELECT coalesce(floor(extract(epoch FROM max(computed_at)) * 1000), 0)::bigint AS since FROM cellplane.daily_reports",
    );
    // Milliseconds since the epoch on both sides, so neither store's time zone matters; a minute read again, so a round
    // that committed after a later one is still copied.
    const result = await clickhouse.query({
        query: `SELECT ${COLUMNS.map((c) => (c === "day" ? "toString(day) AS day" : c)).join(", ")}, toUnixTimestamp64Milli(computed_at) AS computed_ms
                FROM analytics.daily_reports FINAL WHERE toUnixTimestamp64Milli(computed_at) > {since:Int64} - 60000 ORDER BY computed_ms`,
        query_params: { since: last[0].since },
        format: "JSONEachRow",
    });
    const reports = await result.json<Record<(typeof COLUMNS)[number] | "computed_ms", string | number>>();
    if (reports.length === 0) return 0;
    const values = COLUMNS.map((c) => reports.map((r) => r[c]));
    await pool.query(
        `INSERT INTO cellplane.daily_reports (${COLUMNS.join(", ")}, computed_at)
         SELECT ${COLUMNS.join(", ")}, to_timestamp(ms / 1000.0) FROM unnest($1::text[], $2::date[], $3::bigint[], $4::bigint[], $5::bigint[], $6::bigint[],
                                                          $7::float8[], $8::float8[], $9::bigint[], $10::float8[], $11::bigint[]) AS r(${COLUMNS.join(", ")}, ms)
         ON CONFLICT (org_id, day) DO UPDATE SET ${COLUMNS.filter((c) => c !== "org_id" && c !== "day")
             .map((c) => `${c} = EXCLUDED.${c}`)
             .join(", ")}, computed_at = EXCLUDED.computed_at`,
        [...values, reports.map((r) => r.computed_ms)],
    );
    return reports.length;
}
