import { JOB_NAMES, LAKEHOUSE_JOBS, type LakehouseJob } from "../../apps/lakehouse/jobs";
import { type JobSchedule, jobSchedules, ScheduleRefused, setSchedule } from "../../apps/lakehouse/schedules";
import { nextRunOf } from "../../apps/shared/cron";
import { type JobResult, JobsBusy, runJobs } from "../../apps/lakehouse/runner";
import { type JobRun, latestRuns, runsOf } from "../../apps/lakehouse/runs";
import { type LakehouseCell, localSpark, submitLocally } from "../../apps/lakehouse/sparkSubmit";
import { EVENTS_TOPIC } from "../../apps/shared/topics";
import { lakeBucketOf } from "../../components/bucketNames";
import { Pool } from "pg";
import { migrate } from "../../apps/shared/migrations";
import { deployedCell, postgresConfigOf, withCellPostgres } from "./cellClients";
import { Refusal } from "./environment";
import type { CellOutputs } from "./keys";

/** A job as `jobs list` shows it: what it does, when it runs next, and how its last run went. */
export interface JobView {
    job: LakehouseJob;
    schedule: string;
    paused: boolean;
    next: string;
    summary: string;
    last?: JobRun;
}

/** Where `jobs run` sends a cell's jobs: this machine's Spark, for a local cell. */
export function lakehouseOfCell(cellId: string, { endpoints, credentials }: CellOutputs): LakehouseCell {
    if (endpoints.jobsNamespace) {
        throw new Refusal(
            `--cell ${cellId}: its cluster's Spark operator runs its jobs on their schedules (\`kubectl get scheduledsparkapplications -n ${endpoints.jobsNamespace}\`); \`jobs run\` runs a local cell's jobs`,
        );
    }
    if (endpoints.objectStoreProtocol !== "s3" || !credentials.objectStoreKeys) {
        throw new Refusal(
            `--cell ${cellId}: its object store is Blob, and the lakehouse keeps its tables in S3 (SeaweedFS on a local cell)`,
        );
    }
    const { ca, ...postgres } = endpoints.postgres;
    return {
        postgres: { ...postgres, ca, password: credentials.postgresPassword },
        kafka: { bootstrap: endpoints.kafkaBootstrap, topic: EVENTS_TOPIC, ca: endpoints.kafkaCa, scram: credentials.kafkaAdmin },
        objectStore: {
            endpoint: endpoints.objectStoreEndpoint,
            region: "us-east-1",
            bucket: lakeBucketOf(cellId),
            ca: endpoints.objectStoreCa,
            ...credentials.objectStoreKeys,
        },
    };
}

/**
 * Each job with its schedule: a local cell's from its Postgres (its scheduler's), a cluster cell's the jobs' own,
 * which its ScheduledSparkApplications hold.
 */
export async function listJobs(projectDir: string, env: string, cell: string): Promise<JobView[]> {
    const outputs = await deployedCell(projectDir, env, cell);
    const local = !outputs.endpoints.jobsNamespace;
    const { last, schedules } = await withCellPostgres(outputs, async (pool) => ({
        last: await latestRuns(pool),
        schedules: local ? await jobSchedules(pool) : defaultSchedules(),
    }));
    return LAKEHOUSE_JOBS.map((job) => {
        const schedule = schedules.find((s) => s.job === job.name)!;
        return {
            job: job.name,
            schedule: schedule.cron,
            paused: schedule.paused,
            next: schedule.paused ? "paused" : (schedule.nextRunAt?.toISOString() ?? "never"),
            summary: job.summary,
            last: last.find((run) => run.job === job.name),
        };
    });
}

const defaultSchedules = (): JobSchedule[] =>
    LAKEHOUSE_JOBS.map((job) => ({ job: job.name, cron: job.schedule, paused: false, nextRunAt: nextRunOf(job.schedule, new Date()) }));

/** Changes a local cell's schedule of `job`: its cron, or paused or not. */
export async function scheduleJob(
    projectDir: string,
    env: string,
    cell: string,
    job: LakehouseJob,
    change: { cron?: string; paused?: boolean },
): Promise<JobSchedule> {
    const outputs = await deployedCell(projectDir, env, cell);
    if (outputs.endpoints.jobsNamespace)
        throw new Refusal(
            `--cell ${cell}: its ScheduledSparkApplications hold its schedules (\`kubectl get scheduledsparkapplications -n ${outputs.endpoints.jobsNamespace}\`); \`jobs schedule\` changes a local cell's`,
        );
    try {
        return await withCellPostgres(outputs, (pool) => setSchedule(pool, job, change));
    } catch (error) {
        if (error instanceof ScheduleRefused) throw new Refusal(error.message);
        throw error;
    }
}

export async function jobStatus(projectDir: string, env: string, cell: string, job: LakehouseJob): Promise<JobRun[]> {
    return withCellPostgres(await deployedCell(projectDir, env, cell), (pool) => runsOf(pool, job));
}

/** Runs `jobs` (every job, in order, when none is named) on a local cell now, with retries, each run recorded. */
export async function runCellJobs(
    projectDir: string,
    env: string,
    cell: string,
    jobs: LakehouseJob[],
    options: { attempts: number; backoffMs: number; log: (line: string) => void },
): Promise<JobResult[]> {
    const outputs = await deployedCell(projectDir, env, cell);
    const lakehouse = lakehouseOfCell(cell, outputs);
    const spark = localSpark();
    // Two connections: the run's lock holds one.
    const pool = new Pool({ ...postgresConfigOf(outputs), max: 2 });
    try {
        await migrate(pool);
        return await runJobs(pool, jobs.length > 0 ? jobs : [...JOB_NAMES], {
            trigger: "manual",
            ...options,
            submit: (pending) => submitLocally(spark, lakehouse, pending, options.log),
        });
    } catch (error) {
        if (error instanceof JobsBusy) throw new Refusal(`--cell ${cell}: ${error.message}`);
        throw error;
    } finally {
        await pool.end();
    }
}
