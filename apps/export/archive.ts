import type { ClickHouseClient } from "@clickhouse/client";
import type { Pool, PoolClient } from "pg";
import { sqlIdentifier, sqlString } from "../shared/clickhouseSql";
import { RETENTION_MONTHS } from "../shared/events";
import { type ExportBucket, exportEvents } from "./parquet";

/** Seed 002: a month of a tenant's events, written to Parquet in its cell's own bucket before the month is deleted. */
export const ARCHIVE_OBJECT = "events_archive";

/** Each archived (tenant, month): what was written and verified, and when the month was dropped from ClickHouse. */
export const EVENT_ARCHIVES_DDL = `CREATE TABLE IF NOT EXISTS cellplane.event_archives (
    org_id text NOT NULL,
    month integer NOT NULL,
    rows bigint NOT NULL,
    files jsonb NOT NULL,
    archived_at timestamptz NOT NULL DEFAULT now(),
    dropped_at timestamptz,
    PRIMARY KEY (org_id, month)
)`;

export interface ArchiveDeps {
    clickhouse: ClickHouseClient;
    pool: Pool;
    bucket: ExportBucket;
    /** Where the events table is replicated per shard (`events_local`), its partitions are dropped `ON CLUSTER`. */
    cluster?: string;
    timeLimitSeconds: number;
    log: (line: string) => void;
}

/** One (tenant, month) partition of the events table. */
interface Month {
    org: string;
    /** YYYYMM. */
    month: number;
    rows: number;
}

const TENANT = /^[a-z0-9-]+$/;

/**
 * Archives, then deletes, every (tenant, month) of events whose whole month is past the retention (36 months): the
 * month is written to `tenant=<id>/object=events_archive/date=<day>/` in the cell's bucket, read back and counted,
 * recorded in Postgres, and only then is its partition dropped. A month whose archive fails or does not match stays,
 * and is tried again at the next run. Only one replica archives at a time (an advisory lock).
 */
export async function archiveExpiredMonths(deps: ArchiveDeps, now = new Date()): Promise<{ archived: number; dropped: number }> {
    // One connection throughout: the session's advisory lock is held on it, and a pool of one still has it to give.
    const db = await deps.pool.connect();
    try {
        const held = await db.query<{ held: boolean }>("SELECT pg_try_advisory_lock(hashtext('cellplane event archive')) AS held");
        if (!held.rows[0].held) return { archived: 0, dropped: 0 };
        try {
            const outcome = { archived: 0, dropped: 0 };
            for (const month of await expiredMonths(deps.clickhouse, now)) {
                if (!(await archived(db, month))) {
                    await archive(deps, db, month);
                    outcome.archived++;
                }
                await drop(deps, db, month);
                outcome.dropped++;
            }
            return outcome;
        } finally {
            await db.query("SELECT pg_advisory_unlock(hashtext('cellplane event archive'))");
        }
    } finally {
        db.release();
    }
}

/** The months whose every day is more than RETENTION_MONTHS old, with their row counts. */
async function expiredMonths(clickhouse: ClickHouseClient, now: Date): Promise<Month[]> {
    const result = await clickhouse.query({
        query: `SELECT org_id AS org, toYYYYMM(_partition_date) AS month, count() AS rows FROM analytics.events
                WHERE _partition_date < toStartOfMonth({today:Date} - INTERVAL ${RETENTION_MONTHS} MONTH)
                GROUP BY org, month ORDER BY org, month`,
        query_params: { today: now.toISOString().slice(0, 10) },
        format: "JSONEachRow",
    });
    return (await result.json<{ org: string; month: number; rows: string }>())
        .filter((m) => TENANT.test(m.org))
        .map((m) => ({ org: m.org, month: Number(m.month), rows: Number(m.rows) }));
}

/** Whether the month's archive is recorded with the rows the partition holds now. */
async function archived(db: PoolClient, { org, month, rows }: Month): Promise<boolean> {
    const { rows: found } = await db.query<{ rows: string }>("SELECT rows FROM cellplane.event_archives WHERE org_id = $1 AND month = $2", [
        org,
        month,
    ]);
    return found.length === 1 && Number(found[0].rows) === rows;
}

const firstDay = (month: number) => `${String(month).slice(0, 4)}-${String(month).slice(4)}-01`;
function lastDay(month: number): string {
    const [year, m] = [Math.floor(month / 100), month % 100];
    return new Date(Date.UTC(year, m, 0)).toISOString().slice(0, 10);
}

async function archive(deps: ArchiveDeps, db: PoolClient, m: Month): Promise<void> {
    const written = await exportEvents(deps.clickhouse, deps.bucket, {
        tenant: m.org,
        object: ARCHIVE_OBJECT,
        from: firstDay(m.month),
        to: lastDay(m.month),
        runKey: "platform-archive",
        timeLimitSeconds: deps.timeLimitSeconds,
    });
    if (written.rows !== m.rows)
        throw new Error(`the archive of ${m.org}'s ${m.month} holds ${written.rows} events, the month ${m.rows}: the month is kept`);
    await db.query(
        `INSERT INTO cellplane.event_archives (org_id, month, rows, files) VALUES ($1, $2, $3, $4)
         ON CONFLICT (org_id, month) DO UPDATE SET rows = EXCLUDED.rows, files = EXCLUDED.files, archived_at = now(), dropped_at = NULL`,
        [m.org, m.month, m.rows, JSON.stringify(written.files)],
    );
    deps.log(`archive: ${m.org} ${m.month}: ${m.rows} events in ${written.files.length} files, read back and counted`);
}

async function drop(deps: ArchiveDeps, db: PoolClient, m: Month): Promise<void> {
    const table = deps.cluster ? `analytics.events_local ON CLUSTER ${sqlIdentifier(deps.cluster)}` : "analytics.events";
    // A partition is named by its key's values; the tenant and month are checked above, so they are literals here.
    await deps.clickhouse.command({ query: `ALTER TABLE ${table} DROP PARTITION (${sqlString(m.org)}, ${m.month})` });
    await db.query("UPDATE cellplane.event_archives SET dropped_at = now() WHERE org_id = $1 AND month = $2", [m.org, m.month]);
    deps.log(`archive: ${m.org} ${m.month}: dropped from ClickHouse after its archive`);
}
