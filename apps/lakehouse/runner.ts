import type { Pool } from "pg";
import type { LakehouseJob } from "./jobs";
import { finishRun, type RunTrigger, startRun } from "./runs";
import type { JobOutcome } from "./sparkSubmit";

export interface RunOptions {
    trigger: RunTrigger;
    /** Tries per job, the first included. */
    attempts: number;
    /** The wait before the second try; each later wait doubles it. */
    backoffMs: number;
    /** Runs jobs, in order, on the cell's engine. */
    submit: (jobs: LakehouseJob[]) => Promise<JobOutcome[]>;
    log: (line: string) => void;
    sleep?: (ms: number) => Promise<void>;
}

/** A job's last try: what it wrote, or why it failed after every attempt. */
export type JobResult = { job: LakehouseJob; attempts: number } & ({ rows: number } | { error: string });

/** One run of a cell's jobs at a time, whoever starts it (the scheduler, an operator, a replica). */
const RUN_LOCK = "hashtext('cellplane lakehouse jobs')";

export class JobsBusy extends Error {
    override name = "JobsBusy";
}

/**
 * Runs `jobs` in order, each recorded in the cell's Postgres as it starts and ends. A failed job is tried again after
 * a backoff (doubling), with the jobs after it; those before it are not repeated.
 */
export async function runJobs(pool: Pool, jobs: LakehouseJob[], options: RunOptions): Promise<JobResult[]> {
    const lock = await pool.connect();
    try {
        const { rows } = await lock.query<{ locked: boolean }>(`SELECT pg_try_advisory_lock(${RUN_LOCK}) AS locked`);
        if (!rows[0].locked) throw new JobsBusy("another run of this cell's lakehouse jobs is in progress; see `cellplane jobs status`");
        try {
            return await runWithRetries(pool, jobs, options);
        } finally {
            await lock.query(`SELECT pg_advisory_unlock(${RUN_LOCK})`);
        }
    } finally {
        lock.release();
    }
}

async function runWithRetries(pool: Pool, jobs: LakehouseJob[], options: RunOptions): Promise<JobResult[]> {
    const sleep = options.sleep ?? ((ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms)));
    const results = new Map<LakehouseJob, JobResult>();
    let remaining = jobs;
    for (let attempt = 1; remaining.length > 0; attempt++) {
        const last = attempt >= options.attempts;
        const backoffMs = options.backoffMs * 2 ** (attempt - 1);
        const ids = new Map<LakehouseJob, number>();
        for (const job of remaining) ids.set(job, await startRun(pool, job, attempt, options.trigger));
        options.log(`${remaining.join(" → ")}: attempt ${attempt} of ${options.attempts}`);
        const outcomes = await options.submit(remaining);
        for (const outcome of outcomes) {
            const id = ids.get(outcome.job)!;
            if ("rows" in outcome) {
                await finishRun(pool, id, { rows: outcome.rows });
                options.log(`${outcome.job}: succeeded, ${outcome.rows} rows`);
            } else {
                await finishRun(pool, id, { error: outcome.error, retryAt: last ? undefined : new Date(Date.now() + backoffMs) });
                options.log(`${outcome.job}: failed: ${outcome.error}${last ? "" : ` (again in ${backoffMs / 1000} s)`}`);
            }
            results.set(outcome.job, { ...outcome, attempts: attempt });
        }
        remaining = remaining.filter((job) => "error" in results.get(job)!);
        if (remaining.length > 0 && last) break;
        if (remaining.length > 0) await sleep(backoffMs);
    }
    return jobs.map((job) => results.get(job)!);
}
