import type { Pool } from "pg";
import { EVENT_ARCHIVES_DDL } from "../export/archive";
import { DAILY_REPORTS_DDL } from "../export/dailyReports";
import { EXPORT_DDL, JOB_RETRIES_DDL } from "../export/store";
import { API_KEYS_DDL } from "./apiKeys";
import { QUOTAS_DDL } from "./quotas";
import { TENANT_MOVES_DDL } from "./tenantMoves";
import { JOB_RUN_APPLICATION_DDL, LAKEHOUSE_DDL } from "../lakehouse/runs";
import { JOB_SCHEDULES_DDL } from "../lakehouse/schedules";

/** One step of the cell's Postgres schema; applied once, in order, and never edited once released. */
export interface Migration {
    id: string;
    statements: string[];
}

/** The `cellplane` schema of a cell's Postgres, in the order it grew. Append; never rewrite. */
export const MIGRATIONS: Migration[] = [
    { id: "0001_api_keys", statements: [API_KEYS_DDL] },
    { id: "0002_quotas", statements: QUOTAS_DDL },
    { id: "0003_exports", statements: [EXPORT_DDL] },
    { id: "0004_tenant_moves", statements: [TENANT_MOVES_DDL] },
    { id: "0005_job_retries_and_file_sizes", statements: [JOB_RETRIES_DDL] },
    { id: "0006_event_archives", statements: [EVENT_ARCHIVES_DDL] },
    { id: "0007_daily_reports", statements: [DAILY_REPORTS_DDL] },
    { id: "0008_lakehouse_jobs", statements: LAKEHOUSE_DDL },
    { id: "0009_lakehouse_schedules", statements: JOB_SCHEDULES_DDL },
    { id: "0010_cluster_job_runs", statements: JOB_RUN_APPLICATION_DDL },
];

const HISTORY = `CREATE TABLE IF NOT EXISTS cellplane.schema_migrations (
    id text PRIMARY KEY,
    applied_at timestamptz NOT NULL DEFAULT now()
)`;

/**
 * Brings the cell's schema up to date: the migrations not applied yet, in one transaction, under an advisory lock,
 * so replicas of every app can start together and each step runs once. Returns the ids it applied.
 */
export async function migrate(pool: Pool, migrations: Migration[] = MIGRATIONS): Promise<string[]> {
    const client = await pool.connect();
    try {
        await client.query("BEGIN");
        await client.query("SELECT pg_advisory_xact_lock(hashtext('cellplane schema'))");
        await client.query(HISTORY);
        const done = new Set((await client.query<{ id: string }>("SELECT id FROM cellplane.schema_migrations")).rows.map((r) => r.id));
        const pending = migrations.filter((m) => !done.has(m.id));
        for (const migration of pending) {
            for (const statement of migration.statements) await client.query(statement);
            await client.query("INSERT INTO cellplane.schema_migrations (id) VALUES ($1)", [migration.id]);
        }
        await client.query("COMMIT");
        return pending.map((m) => m.id);
    } catch (error) {
        await client.query("ROLLBACK");
        throw error;
    } finally {
        client.release();
    }
}
