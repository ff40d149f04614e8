import type { ClickHouseClient } from "@clickhouse/client";
import { Cron } from "croner";
import type { Pool } from "pg";
import { ExportBucket, exportEvents, ExportResult, exportTable, PostgresSource } from "./parquet";
import type { ExportStore, Job, Schedule } from "./store";

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
    if (object.startsWith(`${INTERNAL_SCHEMA}.`)) return `"${object}" is in the service's own schema "${INTERNAL_SCHEMA}", which is never exported`;
    if (columns.length === 0) return `table "${object}" does not exist in the cell's Postgres`;
    if (!columns.some((c) => c.name === "tenant_id")) return `table "${object}" has no tenant_id column, so its rows cannot be scoped to one tenant`;
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

/** Throws croner's own message for an invalid expression. Expressions are UTC; six fields add seconds. */
export function nextRunOf(cron: string, after: Date): Date | null {
    return new Cron(cron, { timezone: "UTC", paused: true }).nextRun(after);
}

export interface RunnerDeps {
    store: ExportStore;
    pool: Pool;
    clickhouse: ClickHouseClient;
    bucket: ExportBucket;
    postgres: PostgresSource;
    log?: (line: string) => void;
}

/** Runs export jobs one at a time: ClickHouse does the heavy work, so running several would only compete for it. */
export class ExportRunner {
    private readonly queue: Job[] = [];
    private draining: Promise<void> | undefined;

    constructor(private readonly deps: RunnerDeps) {}

    enqueue(...jobs: Job[]): void {
        this.queue.push(...jobs);
        this.draining ??= this.drain().finally(() => (this.draining = undefined));
    }

    /** Resolves when the queue is empty. */
    async idle(): Promise<void> {
        while (this.draining) await this.draining;
    }

    private async drain(): Promise<void> {
        for (let job = this.queue.shift(); job; job = this.queue.shift()) await this.run(job);
    }

    private async run(job: Job): Promise<void> {
        const { store, log } = this.deps;
        const started = Date.now();
        await store.markRunning(job.id);
        try {
            const results = [];
            for (const object of job.objects) results.push(await this.exportObject(job, object));
            const outcome = { rows: results.reduce((n, r) => n + r.rows, 0), files: results.flatMap((r) => r.files), durationMs: Date.now() - started };
            await store.markFinished(job.id, outcome);
            log?.(`job ${job.id} of ${job.tenant}: ${outcome.rows} rows in ${outcome.files.length} files, ${outcome.durationMs} ms`);
        } catch (error) {
            const message = error instanceof Error ? error.message : String(error);
            await store.markFinished(job.id, { error: message, durationMs: Date.now() - started });
            log?.(`job ${job.id} of ${job.tenant} failed: ${message}`);
        }
    }

    private async exportObject(job: Job, object: string): Promise<ExportResult> {
        const { pool, clickhouse, bucket, postgres } = this.deps;
        // The schedule's run key names the files, so a schedule's rerun of a day replaces that day's file.
        const target = { tenant: job.tenant, object, from: job.from, to: job.to, runKey: job.scheduleId ?? "on-demand" };
        if (object === EVENTS_OBJECT) return exportEvents(clickhouse, bucket, target);
        const columns = await columnsOf(pool, object);
        const problem = tableProblem(object, columns);
        if (problem) throw new Error(problem);
        // Only plainly named JSON columns are flattened (their names go into SQL); every column is exported as it is.
        const json = columns.filter((c) => (c.type === "json" || c.type === "jsonb") && /^[a-z_][a-z0-9_]*$/.test(c.name)).map((c) => c.name);
        return exportTable(clickhouse, bucket, postgres, target, json);
    }
}

/** Looks for due schedules every `intervalMs` and queues their jobs. */
export function startScheduler(store: ExportStore, runner: ExportRunner, intervalMs: number, onError: (error: unknown) => void) {
    const tick = async () => {
        try {
            const jobs = await store.claimDue(new Date(), (s) => planRun(s, new Date()));
            if (jobs.length > 0) runner.enqueue(...jobs);
        } catch (error) {
            onError(error);
        }
    };
    const timer = setInterval(tick, intervalMs);
    return { stop: () => clearInterval(timer) };
}
