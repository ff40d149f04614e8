import { notMoving } from "../shared/tenantMoves";
import type { Pool, PoolClient } from "pg";

/** Seed 000 §2.3: per-tenant schedules, and one job per run, in the cell's Postgres. */
export const EXPORT_DDL = `
CREATE TABLE IF NOT EXISTS cellplane.export_schedules (
    id uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    tenant_id text NOT NULL,
    name text NOT NULL,
    job_type text NOT NULL DEFAULT 'PARQUET_EXPORT',
    cron_expression text NOT NULL,
    job_params jsonb NOT NULL,
    paused boolean NOT NULL DEFAULT false,
    next_run_at timestamptz,
    created_at timestamptz NOT NULL DEFAULT now(),
    updated_at timestamptz NOT NULL DEFAULT now(),
    UNIQUE (tenant_id, name)
);
CREATE TABLE IF NOT EXISTS cellplane.export_jobs (
    id uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    tenant_id text NOT NULL,
    schedule_id uuid REFERENCES cellplane.export_schedules ON DELETE SET NULL,
    status text NOT NULL DEFAULT 'queued',
    from_date date NOT NULL,
    to_date date NOT NULL,
    objects text[] NOT NULL,
    rows bigint,
    files jsonb,
    duration_ms integer,
    error text,
    created_at timestamptz NOT NULL DEFAULT now(),
    started_at timestamptz,
    finished_at timestamptz
);
CREATE INDEX IF NOT EXISTS export_jobs_tenant ON cellplane.export_jobs (tenant_id, created_at DESC);
ALTER TABLE cellplane.export_jobs ADD COLUMN IF NOT EXISTS lease_owner text, ADD COLUMN IF NOT EXISTS lease_until timestamptz;`;

/**
 * Each job's tries, the wait before the next one, and what each file of a run holds: `retry_at` is when a failed
 * job may run again, `file_bytes` each file's size as the store reported it after the run wrote it.
 */
export const JOB_RETRIES_DDL = `ALTER TABLE cellplane.export_jobs
    ADD COLUMN IF NOT EXISTS attempts integer NOT NULL DEFAULT 0,
    ADD COLUMN IF NOT EXISTS retry_at timestamptz,
    ADD COLUMN IF NOT EXISTS file_bytes jsonb`;

/** How long a queued job waits for the replica that queued it before any replica takes it up. */
const ORPHAN_AFTER_MS = 30_000;

/** How many times a job runs before it is failed for good, and the first wait before a retry (doubled each time). */
export const JOB_RETRIES = { maxAttempts: 3, firstDelayMs: 30_000 };

/** How long a runner's claim on a job lasts without renewal: a replica that died lets another take its jobs after it. */
export const JOB_LEASE_MS = 60_000;

export interface ScheduleParams {
    /** `events`, or Postgres tables as `schema.table`. */
    objects: string[];
    /** A run exports the days from `lookbackDays` before the day it fires up to that day. */
    lookbackDays: number;
}

export interface Schedule {
    id: string;
    tenant: string;
    name: string;
    jobType: "PARQUET_EXPORT";
    cron: string;
    params: ScheduleParams;
    paused: boolean;
    nextRunAt: string | null;
    createdAt: string;
    updatedAt: string;
}

export interface Job {
    id: string;
    tenant: string;
    scheduleId: string | null;
    status: "queued" | "running" | "succeeded" | "failed";
    from: string;
    to: string;
    objects: string[];
    rows: number | null;
    files: string[] | null;
    /** Each file's size in bytes, as the store reported it once written. */
    fileBytes: Record<string, number> | null;
    /** Runs started so far; a failed run is tried again after a wait until JOB_RETRIES.maxAttempts. */
    attempts: number;
    /** When a job waiting to be tried again may run. */
    retryAt: string | null;
    durationMs: number | null;
    error: string | null;
    createdAt: string;
    startedAt: string | null;
    finishedAt: string | null;
}

/** A job no live runner holds and that may run now. */
const RUNNABLE = `((status = 'queued' AND (retry_at IS NULL OR retry_at <= now())) OR (status = 'running' AND (lease_until IS NULL OR lease_until < now())))`;

const SCHEDULE_COLUMNS = `id, tenant_id AS tenant, name, job_type AS "jobType", cron_expression AS cron, job_params AS params, paused,
    next_run_at AS "nextRunAt", created_at AS "createdAt", updated_at AS "updatedAt"`;
const JOB_COLUMNS = `id, tenant_id AS tenant, schedule_id AS "scheduleId", status, to_char(from_date, 'YYYY-MM-DD') AS "from",
    to_char(to_date, 'YYYY-MM-DD') AS "to", objects, rows::float8 AS rows, files, file_bytes AS "fileBytes", attempts, retry_at AS "retryAt", duration_ms AS "durationMs", error,
    created_at AS "createdAt", started_at AS "startedAt", finished_at AS "finishedAt"`;

export interface NewSchedule {
    name: string;
    cron: string;
    params: ScheduleParams;
    paused: boolean;
    nextRunAt: Date | null;
}

/** Schedules and jobs. Every read and write names the tenant, so one tenant never reaches another's. */
export class ExportStore {
    constructor(private readonly pool: Pool) {}

    async createSchedule(tenant: string, s: NewSchedule): Promise<Schedule> {
        const { rows } = await this.pool.query<Schedule>(
            `INSERT INTO cellplane.export_schedules (tenant_id, name, cron_expression, job_params, paused, next_run_at)
             VALUES ($1, $2, $3, $4, $5, $6) RETURNING ${SCHEDULE_COLUMNS}`,
            [tenant, s.name, s.cron, s.params, s.paused, s.nextRunAt],
        );
        return rows[0];
    }

    async schedules(tenant: string): Promise<Schedule[]> {
        return (
            await this.pool.query<Schedule>(
                `SELECT ${SCHEDULE_COLUMNS} FROM cellplane.export_schedules WHERE tenant_id = $1 ORDER BY name`,
                [tenant],
            )
        ).rows;
    }

    async schedule(tenant: string, id: string): Promise<Schedule | undefined> {
        return (
            await this.pool.query<Schedule>(`SELECT ${SCHEDULE_COLUMNS} FROM cellplane.export_schedules WHERE tenant_id = $1 AND id = $2`, [
                tenant,
                id,
            ])
        ).rows[0];
    }

    async updateSchedule(tenant: string, id: string, s: NewSchedule): Promise<Schedule | undefined> {
        const { rows } = await this.pool.query<Schedule>(
            `UPDATE cellplane.export_schedules SET name = $3, cron_expression = $4, job_params = $5, paused = $6, next_run_at = $7, updated_at = now()
             WHERE tenant_id = $1 AND id = $2 RETURNING ${SCHEDULE_COLUMNS}`,
            [tenant, id, s.name, s.cron, s.params, s.paused, s.nextRunAt],
        );
        return rows[0];
    }

    async deleteSchedule(tenant: string, id: string): Promise<boolean> {
        return (
            (await this.pool.query("DELETE FROM cellplane.export_schedules WHERE tenant_id = $1 AND id = $2", [tenant, id])).rowCount === 1
        );
    }

    /**
     * Claims the schedules due at `now`: each gets its next run time and a queued job, in one transaction that
     * skips rows another replica holds, so a run is claimed once.
     */
    async claimDue(now: Date, plan: (s: Schedule) => { nextRunAt: Date | null; from: string; to: string }): Promise<Job[]> {
        return this.transaction(async (client) => {
            const { rows } = await client.query<Schedule>(
                `SELECT ${SCHEDULE_COLUMNS} FROM cellplane.export_schedules WHERE NOT paused AND next_run_at <= $1 AND ${notMoving("tenant_id")} FOR UPDATE SKIP LOCKED`,
                [now],
            );
            const jobs: Job[] = [];
            for (const schedule of rows) {
                const { nextRunAt, from, to } = plan(schedule);
                await client.query("UPDATE cellplane.export_schedules SET next_run_at = $2 WHERE id = $1", [schedule.id, nextRunAt]);
                jobs.push(await this.insertJob(client, schedule.tenant, schedule.id, from, to, schedule.params.objects));
            }
            return jobs;
        });
    }

    createJob(tenant: string, scheduleId: string | null, from: string, to: string, objects: string[]): Promise<Job> {
        return this.insertJob(this.pool, tenant, scheduleId, from, to, objects);
    }

    async jobs(tenant: string, scheduleId?: string): Promise<Job[]> {
        const { rows } = await this.pool.query<Job>(
            `SELECT ${JOB_COLUMNS} FROM cellplane.export_jobs WHERE tenant_id = $1 AND ($2::uuid IS NULL OR schedule_id = $2) ORDER BY created_at DESC LIMIT 100`,
            [tenant, scheduleId ?? null],
        );
        return rows;
    }

    async job(tenant: string, id: string): Promise<Job | undefined> {
        return (
            await this.pool.query<Job>(`SELECT ${JOB_COLUMNS} FROM cellplane.export_jobs WHERE tenant_id = $1 AND id = $2`, [tenant, id])
        ).rows[0];
    }

    /**
     * Jobs no live runner holds: running under a lease that expired (its runner stopped), or queued for ORPHAN_AFTER_MS
     * (or that long past their retry time) without a runner taking them up. A replica runs the jobs it queues at once;
     * the others leave them that long, so replicas do not race for every new job. Reruns are idempotent.
     */
    async unclaimedJobs(): Promise<Job[]> {
        return (
            await this.pool.query<Job>(
                `SELECT ${JOB_COLUMNS} FROM cellplane.export_jobs
                 WHERE ${RUNNABLE} AND (status = 'running' OR coalesce(retry_at, created_at) < now() - make_interval(secs => $1))
                   AND ${notMoving("tenant_id")} ORDER BY created_at`,
                [ORPHAN_AFTER_MS / 1000],
            )
        ).rows;
    }

    /** How many of a tenant's jobs are queued or running. */
    async unfinishedJobCount(tenant: string): Promise<number> {
        const { rows } = await this.pool.query<{ n: number }>(
            "SELECT count(*)::int AS n FROM cellplane.export_jobs WHERE tenant_id = $1 AND status IN ('queued', 'running')",
            [tenant],
        );
        return rows[0].n;
    }

    async scheduleCount(tenant: string): Promise<number> {
        const { rows } = await this.pool.query<{ n: number }>(
            "SELECT count(*)::int AS n FROM cellplane.export_schedules WHERE tenant_id = $1",
            [tenant],
        );
        return rows[0].n;
    }

    /**
     * Takes job `id` for runner `owner` for JOB_LEASE_MS, if no live runner holds it and it may run now, and answers
     * which attempt this is; undefined when another runner holds it, so a job runs once however many replicas queued it.
     */
    async claim(id: string, owner: string): Promise<number | undefined> {
        const { rows } = await this.pool.query<{ attempts: number }>(
            `UPDATE cellplane.export_jobs SET status = 'running', started_at = now(), attempts = attempts + 1, retry_at = NULL,
                    lease_owner = $2, lease_until = now() + make_interval(secs => $3)
             WHERE id = $1 AND ${RUNNABLE} AND ${notMoving("tenant_id")} RETURNING attempts`,
            [id, owner, JOB_LEASE_MS / 1000],
        );
        return rows[0]?.attempts;
    }

    /** Extends `owner`'s lease on a job it is running; false once another runner has taken the job. */
    async renew(id: string, owner: string): Promise<boolean> {
        const { rowCount } = await this.pool.query(
            "UPDATE cellplane.export_jobs SET lease_until = now() + make_interval(secs => $3) WHERE id = $1 AND lease_owner = $2 AND status = 'running'",
            [id, owner, JOB_LEASE_MS / 1000],
        );
        return rowCount === 1;
    }

    /** Records the outcome of `owner`'s run, unless another runner has taken the job meanwhile (its outcome stands). */
    async markFinished(
        id: string,
        owner: string,
        outcome: { rows: number; files: { key: string; bytes: number }[]; durationMs: number } | { error: string; durationMs: number },
    ): Promise<void> {
        const failed = "error" in outcome;
        await this.pool.query(
            `UPDATE cellplane.export_jobs SET status = $3, rows = $4, files = $5, file_bytes = $6, duration_ms = $7, error = $8, finished_at = now()
             WHERE id = $1 AND lease_owner = $2`,
            [
                id,
                owner,
                failed ? "failed" : "succeeded",
                failed ? null : outcome.rows,
                failed ? null : JSON.stringify(outcome.files.map((f) => f.key)),
                failed ? null : JSON.stringify(Object.fromEntries(outcome.files.map((f) => [f.key, f.bytes]))),
                outcome.durationMs,
                failed ? outcome.error : null,
            ],
        );
    }

    /** Puts `owner`'s failed run back in the queue, to be tried again after `delayMs`; its error stays visible meanwhile. */
    async retryLater(id: string, owner: string, error: string, delayMs: number): Promise<void> {
        await this.pool.query(
            `UPDATE cellplane.export_jobs SET status = 'queued', error = $3, retry_at = now() + make_interval(secs => $4), lease_owner = NULL, lease_until = NULL
             WHERE id = $1 AND lease_owner = $2`,
            [id, owner, error, delayMs / 1000],
        );
    }

    private async insertJob(
        client: Pool | PoolClient,
        tenant: string,
        scheduleId: string | null,
        from: string,
        to: string,
        objects: string[],
    ): Promise<Job> {
        const { rows } = await client.query<Job>(
            `INSERT INTO cellplane.export_jobs (tenant_id, schedule_id, from_date, to_date, objects) VALUES ($1, $2, $3, $4, $5) RETURNING ${JOB_COLUMNS}`,
            [tenant, scheduleId, from, to, objects],
        );
        return rows[0];
    }

    private async transaction<T>(fn: (client: PoolClient) => Promise<T>): Promise<T> {
        const client = await this.pool.connect();
        try {
            await client.query("BEGIN");
            const result = await fn(client);
            await client.query("COMMIT");
            return result;
        } catch (error) {
            await client.query("ROLLBACK");
            throw error;
        } finally {
            client.release();
        }
    }
}
