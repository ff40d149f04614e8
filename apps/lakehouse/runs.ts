import type { Pool } from "pg";
import { dailyReportsDdl } from "../export/dailyReports";
import { LAKEHOUSE_SCHEMA, type LakehouseJob } from "./jobs";

/** The lakehouse schema of the cell's Postgres: job runs and gold's daily reports (Iceberg's catalog makes its own tables). */
export const LAKEHOUSE_DDL = [
    `CREATE SCHEMA IF NOT EXISTS ${LAKEHOUSE_SCHEMA}`,
    `CREATE TABLE IF NOT EXISTS ${LAKEHOUSE_SCHEMA}.job_runs (
        id bigserial PRIMARY KEY,
        job text NOT NULL,
        attempt int NOT NULL CHECK (attempt >= 1),
        trigger text NOT NULL CHECK (trigger IN ('schedule', 'manual')),
        state text NOT NULL CHECK (state IN ('running', 'succeeded', 'failed')),
        started_at timestamptz NOT NULL DEFAULT now(),
        finished_at timestamptz,
        rows_written bigint,
        error text,
        retry_at timestamptz
    )`,
    `CREATE INDEX IF NOT EXISTS job_runs_by_job ON ${LAKEHOUSE_SCHEMA}.job_runs (job, started_at DESC)`,
    dailyReportsDdl(`${LAKEHOUSE_SCHEMA}.daily_reports`),
];

/**
 * A cluster's run is a SparkApplication of the operator's, which the job records itself (`ClusterRuns` in the
 * script); its name ties the attempts of one run together and finds it with kubectl.
 */
export const JOB_RUN_APPLICATION_DDL = [`ALTER TABLE ${LAKEHOUSE_SCHEMA}.job_runs ADD COLUMN IF NOT EXISTS application text`];

export type RunTrigger = "schedule" | "manual";

export interface JobRun {
    id: number;
    job: LakehouseJob;
    attempt: number;
    trigger: RunTrigger;
    state: "running" | "succeeded" | "failed";
    startedAt: Date;
    finishedAt: Date | null;
    rows: number | null;
    error: string | null;
    retryAt: Date | null;
    /** The operator's SparkApplication on a cluster cell; none on a local cell. */
    application: string | null;
}

const COLUMNS = `id::int, job, attempt, trigger, state, started_at AS "startedAt", finished_at AS "finishedAt",
    rows_written::float8 AS rows, error, retry_at AS "retryAt", application`;

export async function startRun(pool: Pool, job: LakehouseJob, attempt: number, trigger: RunTrigger): Promise<number> {
    const { rows } = await pool.query<{ id: number }>(
        `INSERT INTO ${LAKEHOUSE_SCHEMA}.job_runs (job, attempt, trigger, state) VALUES ($1, $2, $3, 'running') RETURNING id::int`,
        [job, attempt, trigger],
    );
    return rows[0].id;
}

export async function finishRun(pool: Pool, id: number, outcome: { rows: number } | { error: string; retryAt?: Date }): Promise<void> {
    await pool.query(
        `UPDATE ${LAKEHOUSE_SCHEMA}.job_runs SET finished_at = now(), state = $2, rows_written = $3, error = $4, retry_at = $5
         WHERE id = $1`,
        "rows" in outcome ? [id, "succeeded", outcome.rows, null, null] : [id, "failed", null, outcome.error, outcome.retryAt ?? null],
    );
}

/** Each job's newest run. */
export async function latestRuns(pool: Pool): Promise<JobRun[]> {
    const { rows } = await pool.query<JobRun>(
        `SELECT DISTINCT ON (job) ${COLUMNS} FROM ${LAKEHOUSE_SCHEMA}.job_runs ORDER BY job, started_at DESC, id DESC`,
    );
    return rows;
}

/** A job's runs, newest first. */
export async function runsOf(pool: Pool, job: LakehouseJob, limit = 20): Promise<JobRun[]> {
    const { rows } = await pool.query<JobRun>(
        `SELECT ${COLUMNS} FROM ${LAKEHOUSE_SCHEMA}.job_runs WHERE job = $1 ORDER BY started_at DESC, id DESC LIMIT $2`,
        [job, limit],
    );
    return rows;
}
