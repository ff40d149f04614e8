import type { ClickHouseClient } from "@clickhouse/client";
import { randomUUID } from "crypto";
import { nextRunOf } from "../shared/cron";
import type { Pool } from "pg";
import { ExportBucket, exportEvents, ExportResult, exportTable, PostgresSource } from "./parquet";
import type { ExportMetrics } from "./metrics";
import { JOB_LEASE_MS, JOB_RETRIES, type ExportStore, type Job, type Schedule } from "./store";

export const EVENTS_OBJECT = "events";
const TABLE_NAME = /^[a-z_][a-z0-9_]*\.[a-z_][a-z0-9_]*$/;
/** The service's own schema (API keys, schedules, jobs) is never exported. */
const INTERNAL_SCHEMA = "cellplane";

/** Why `object` cannot be exported, or undefined if it can: `events`, or a tenant-keyed Postgres table `schema.table`. */
export async function objectProblem(pool: Pool, object: string): Promise<string | undefined> {
    return object === EVENTS_OBJECT ? undefined : tableProblem(object, await columnsOf(pool, object));
}

function tableProblem(object: string, columns: readonly Column[]): string | undefined {
    if (!TABLE_NAME.test(object)) return `"${object}" is neither "events" nor a Postgres table as schema.table (lower case)`;
    if (object.startsWith(`${INTERNAL_SCHEMA}.`))
        return `"${object}" is in the service's own schema "${INTERNAL_SCHEMA}", which is never exported`;
    if (columns.length === 0) return `table "${object}" does not exist in the cell's Postgres`;
    if (!columns.some((c) => c.name === "tenant_id"))
        return `table "${object}" has no tenant_id column, so its rows cannot be scoped to one tenant`;
    return undefined;
}

interface Column {
    name: string;
    type: string;
}

async function columnsOf(pool: Pool, object: string): Promise<Column[]> {
    if (!TABLE_NAME.test(object)) return [];
    const [schema, table] = object.split(".");
    const { rows } = await pool.query<Column>(
        "SELECT column_name AS name, data_type AS type FROM information_schema.columns WHERE table_schema = $1 AND table_name = $2",
        [schema, table],
    );
    return rows;
}

const day = (date: Date) => date.toISOString().slice(0, 10);

/** The next run of a schedule after `now`, and the days a run firing at `now` exports. */
export function planRun(schedule: Pick<Schedule, "cron" | "params">, now: Date) {
    const from = new Date(now.getTime() - schedule.params.lookbackDays * 86_400_000);
    return { nextRunAt: nextRunOf(schedule.cron, now), from: day(from), to: day(now) };
}

/** A run's longest time unless configured: a month of a busy tenant's events is minutes of ClickHouse's time. */
const DEFAULT_TIME_LIMIT_MS = 30 * 60_000;

export interface RunnerDeps {
    store: ExportStore;
    pool: Pool;
    clickhouse: ClickHouseClient;
    bucket: ExportBucket;
    postgres: PostgresSource;
    metrics: ExportMetrics;
    /** This replica, as its leases name it. */
    owner?: string;
    /** The longest a run may take; ClickHouse stops its queries after it, and the run fails (and is tried again). */
    timeLimitMs?: number;
    retries?: typeof JOB_RETRIES;
    log?: (line: string) => void;
}

/**
 * Runs export jobs one at a time (ClickHouse does the heavy work, so running several would only compete for it),
 * taking tenants in turn so one tenant's many jobs never hold another's back. A job runs only under a lease in
 * Postgres, so however many replicas queued it, one runs it.
 */
export class ExportRunner {
    /** Each tenant's jobs in order; the map's order is the turn. */
    private readonly queues = new Map<string, Job[]>();
    private draining: Promise<void> | undefined;
    private readonly owner: string;

    constructor(private readonly deps: RunnerDeps) {
        this.owner = deps.owner ?? randomUUID();
    }

    enqueue(...jobs: Job[]): void {
        for (const job of jobs) {
            const queue = this.queues.get(job.tenant) ?? [];
            if (!queue.some((queued) => queued.id === job.id)) queue.push(job);
            this.queues.set(job.tenant, queue);
        }
        this.draining ??= this.drain().finally(() => (this.draining = undefined));
    }

    /** Resolves when every queue is empty. */
    async idle(): Promise<void> {
        while (this.draining) await this.draining;
    }

    private async drain(): Promise<void> {
        for (let job = this.next(); job; job = this.next()) {
            await this.run(job).catch((error: unknown) => this.deps.log?.(`job ${job.id} of ${job.tenant}: ${(error as Error).message}`));
        }
    }

    /** The first job of the tenant whose turn it is; that tenant then goes to the back. */
    private next(): Job | undefined {
        const [tenant, queue] = this.queues.entries().next().value ?? [];
        if (tenant === undefined || queue === undefined) return undefined;
        this.queues.delete(tenant);
        const job = queue.shift();
        if (queue.length > 0) this.queues.set(tenant, queue);
        return job;
    }

    private async run(job: Job): Promise<void> {
        const { store, log, metrics, retries = JOB_RETRIES } = this.deps;
        const attempt = await store.claim(job.id, this.owner);
        if (attempt === undefined) return;
        const started = Date.now();
        const renewal = setInterval(() => {
            store.renew(job.id, this.owner).then(
                (held) =>
                    held || log?.(`job ${job.id} of ${job.tenant}: another runner took it over; this run's outcome will not be recorded`),
                () => undefined,
            );
        }, JOB_LEASE_MS / 3);
        try {
            const results = [];
            for (const object of job.objects) results.push(await this.exportObject(job, object));
            const outcome = {
                rows: results.reduce((n, r) => n + r.rows, 0),
                files: results.flatMap((r) => r.files),
                durationMs: Date.now() - started,
            };
            await store.markFinished(job.id, this.owner, outcome);
            metrics.jobsFinished.inc({ outcome: "succeeded" });
            log?.(`job ${job.id} of ${job.tenant}: ${outcome.rows} rows in ${outcome.files.length} files, ${outcome.durationMs} ms`);
        } catch (error) {
            const reason = error instanceof Error ? error.message : String(error);
            // The tenant sees what it can act on; the store's own words, which may name internals, go to the log.
            const message =
                error instanceof ExportRefusal
                    ? error.message
                    : `the export failed inside the cell; quote job ${job.id} to the cell's operators`;
            if (!(error instanceof ExportRefusal) && attempt < retries.maxAttempts) {
                const delayMs = retries.firstDelayMs * 2 ** (attempt - 1);
                await store.retryLater(
                    job.id,
                    this.owner,
                    `${message} (attempt ${attempt} of ${retries.maxAttempts}; tried again in ${delayMs / 1000} s)`,
                    delayMs,
                );
                metrics.jobsRetried.inc();
                log?.(`job ${job.id} of ${job.tenant}: attempt ${attempt} failed, trying again in ${delayMs} ms: ${reason}`);
                return;
            }
            await store.markFinished(job.id, this.owner, { error: message, durationMs: Date.now() - started });
            metrics.jobsFinished.inc({ outcome: "failed" });
            log?.(`job ${job.id} of ${job.tenant} failed: ${reason}`);
        } finally {
            clearInterval(renewal);
        }
    }

    private async exportObject(job: Job, object: string): Promise<ExportResult> {
        const { pool, clickhouse, bucket, postgres } = this.deps;
        // A schedule's rerun of a day replaces that day's file; an on-demand job's files are its own, so two jobs of the
        // same days, run at once by two replicas, never write one object.
        const timeLimitSeconds = Math.ceil((this.deps.timeLimitMs ?? DEFAULT_TIME_LIMIT_MS) / 1000);
        const target = { tenant: job.tenant, object, from: job.from, to: job.to, runKey: job.scheduleId ?? job.id, timeLimitSeconds };
        if (object === EVENTS_OBJECT) return exportEvents(clickhouse, bucket, target);
        const columns = await columnsOf(pool, object);
        const problem = tableProblem(object, columns);
        if (problem) throw new ExportRefusal(problem);
        // Only plainly named JSON columns are flattened (their names go into SQL); every column is exported as it is.
        const json = columns
            .filter((c) => (c.type === "json" || c.type === "jsonb") && /^[a-z_][a-z0-9_]*$/.test(c.name))
            .map((c) => c.name);
        return exportTable(clickhouse, bucket, postgres, target, json);
    }
}

/** A reason a job cannot run that the tenant can fix, told to it as it is. */
class ExportRefusal extends Error {}

/**
 * Every `intervalMs`, queues the jobs of due schedules it claimed, and any job no live runner holds that its own
 * replica has not taken up for a while (queued by a replica that stopped, left running by one, or due to be retried).
 */
export function startScheduler(store: ExportStore, runner: ExportRunner, intervalMs: number, onError: (error: unknown) => void) {
    const tick = async () => {
        try {
            runner.enqueue(...(await store.claimDue(new Date(), (s) => planRun(s, new Date()))), ...(await store.unclaimedJobs()));
        } catch (error) {
            onError(error);
        }
    };
    const timer = setInterval(() => void tick(), intervalMs);
    void tick();
    return { stop: () => clearInterval(timer) };
}
