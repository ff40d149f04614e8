/**
 * The cell's lakehouse jobs (seeds 001, 002, 004), defined once for every target: a local cell runs them with its
 * own Spark, a cluster cell as SparkApplications of its jobs namespace. Each reads what is new since its last commit,
 * so a run on schedule, by hand, or again after a failure does the same thing.
 */
export const LAKEHOUSE_JOBS = [
    {
        name: "bronze",
        schedule: "*/15 * * * *",
        summary: "the events topic into bronze.events (by tenant and day), from the offsets its last commit recorded",
    },
    {
        name: "silver",
        schedule: "5-59/15 * * * *",
        summary: "bronze's new rows deduplicated into silver.events; the sessions they touch recomputed in silver.sessions",
    },
    {
        name: "gold",
        schedule: "10 * * * *",
        summary: "each (tenant, day) silver changed recomputed in gold: daily metrics, events by type, and Postgres's daily reports",
    },
] as const;

export type LakehouseJob = (typeof LAKEHOUSE_JOBS)[number]["name"];

export const JOB_NAMES: readonly LakehouseJob[] = LAKEHOUSE_JOBS.map((j) => j.name);

/** The Postgres schema of the lake's catalog (Iceberg's JDBC catalog), its job runs, and gold's daily reports. */
export const LAKEHOUSE_SCHEMA = "lakehouse";

/** The Iceberg warehouse in a bucket of the cell's own. */
export const WAREHOUSE_PREFIX = "warehouse";

/** What a job run is given (`LAKEHOUSE`, read by `spark/cellplane_lakehouse.py`); its secrets travel beside it. */
export interface LakehouseSettings {
    catalog: { jdbcUrl: string; user: string };
    /** `s3://<bucket>/warehouse`. */
    warehouse: string;
    objectStore: { endpoint?: string; region: string; accessKeyId?: string };
    kafka: {
        bootstrap: string;
        topic: string;
        tls: boolean;
        /** PEM bundle of the broker's CA, a file of the run. */
        caFile?: string;
        sasl?: { mechanism: "SCRAM-SHA-512"; username: string };
    };
}
