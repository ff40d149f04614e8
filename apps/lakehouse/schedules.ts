import type { Pool } from "pg";
import { nextRunOf } from "../shared/cron";
import { JOB_NAMES, LAKEHOUSE_JOBS, LAKEHOUSE_SCHEMA, type LakehouseJob } from "./jobs";

/**
 * Each job's schedule on a local cell, in its Postgres, as the export app keeps its tenants' schedules: the cron in
 * UTC, paused or not, and when it is next due. A cluster's Spark operator keeps its own (the jobs' defaults).
 */
export const JOB_SCHEDULES_DDL = [
    `CREATE TABLE IF NOT EXISTS ${LAKEHOUSE_SCHEMA}.job_schedules (
        job text PRIMARY KEY,
        cron text NOT NULL,
        paused boolean NOT NULL DEFAULT false,
        next_run_at timestamptz,
        updated_at timestamptz NOT NULL DEFAULT now()
    )`,
];

export interface JobSchedule {
    job: LakehouseJob;
    cron: string;
    paused: boolean;
    nextRunAt: Date | null;
}

/** A schedule change refused, naming the option, the value and the fix. */
export class ScheduleRefused extends Error {
    override name = "ScheduleRefused";
}

const COLUMNS = `job, cron, paused, next_run_at AS "nextRunAt"`;

/** Each job's schedule, its default where none was set, in the jobs' order. */
export async function jobSchedules(pool: Pool): Promise<JobSchedule[]> {
    const now = new Date();
    await pool.query(
        `INSERT INTO ${LAKEHOUSE_SCHEMA}.job_schedules (job, cron, next_run_at) SELECT * FROM unnest($1::text[], $2::text[], $3::timestamptz[])
         ON CONFLICT (job) DO NOTHING`,
        [LAKEHOUSE_JOBS.map((j) => j.name), LAKEHOUSE_JOBS.map((j) => j.schedule), LAKEHOUSE_JOBS.map((j) => nextRunOf(j.schedule, now))],
    );
    const { rows } = await pool.query<JobSchedule>(`SELECT ${COLUMNS} FROM ${LAKEHOUSE_SCHEMA}.job_schedules`);
    return JOB_NAMES.map((job) => rows.find((row) => row.job === job)!);
}

/** Sets a job's cron, or pauses or resumes it; the next run is the cron's next after now. */
export async function setSchedule(pool: Pool, job: LakehouseJob, change: { cron?: string; paused?: boolean }): Promise<JobSchedule> {
    const current = (await jobSchedules(pool)).find((s) => s.job === job)!;
    const cron = change.cron ?? current.cron;
    let next: Date | null;
    try {
        next = nextRunOf(cron, new Date());
    } catch (error) {
        throw new ScheduleRefused(
            `--cron: ${JSON.stringify(cron)} is not a cron expression (${(error as Error).message}); give five fields in UTC, such as "*/15 * * * *"`,
        );
    }
    if (!next) throw new ScheduleRefused(`--cron: ${JSON.stringify(cron)} never fires; give one that does, such as "*/15 * * * *"`);
    const { rows } = await pool.query<JobSchedule>(
        `UPDATE ${LAKEHOUSE_SCHEMA}.job_schedules SET cron = $2, paused = $3, next_run_at = $4, updated_at = now() WHERE job = $1
         RETURNING ${COLUMNS}`,
        [job, cron, change.paused ?? current.paused, next],
    );
    return rows[0];
}

/**
 * The jobs due at `now`, in the jobs' order, each claimed by moving its next run to its cron's next after `now`: a
 * cell that was down runs a missed job once, not once per missed time (each job takes up all that is new). Claimed
 * under row locks, so two schedulers never claim the same run. The schedules are there (`jobSchedules` made them).
 */
export async function claimDue(pool: Pool, now: Date): Promise<LakehouseJob[]> {
    const client = await pool.connect();
    try {
        await client.query("BEGIN");
        const { rows } = await client.query<JobSchedule>(
            `SELECT ${COLUMNS} FROM ${LAKEHOUSE_SCHEMA}.job_schedules WHERE NOT paused AND next_run_at <= $1 FOR UPDATE SKIP LOCKED`,
            [now],
        );
        for (const schedule of rows)
            await client.query(`UPDATE ${LAKEHOUSE_SCHEMA}.job_schedules SET next_run_at = $2 WHERE job = $1`, [
                schedule.job,
                nextRunOf(schedule.cron, now),
            ]);
        await client.query("COMMIT");
        return JOB_NAMES.filter((job) => rows.some((row) => row.job === job));
    } catch (error) {
        await client.query("ROLLBACK");
        throw error;
    } finally {
        client.release();
    }
}

/** Puts claimed jobs back as due now: their run could not start (another run held the cell's jobs). */
export async function releaseClaims(pool: Pool, jobs: LakehouseJob[], now: Date): Promise<void> {
    await pool.query(`UPDATE ${LAKEHOUSE_SCHEMA}.job_schedules SET next_run_at = $2 WHERE job = ANY($1::text[])`, [jobs, now]);
}
