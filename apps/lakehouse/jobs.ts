import type { KafkaConnection, ObjectStoreConnection, PostgresConnection, TlsMode } from "../../model/connections";
import { EVENTS_TOPIC } from "../shared/topics";
import { KAFKA_TOKEN_FILE } from "./entraToken";

/**
 * The cell's lakehouse jobs (seeds 001, 002, 004), defined once for every target: a local cell runs them with its
 * own Spark, a cluster cell as ScheduledSparkApplications of its jobs namespace. Each reads what is new since its
 * last commit, so a run on schedule, by hand, or again after a failure does the same thing.
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
    {
        name: "cdc",
        schedule: "2-59/15 * * * *",
        summary: "the metadata tables' changes since its last run, decoded from the cell's Postgres, into their silver mirrors",
    },
] as const;

export type LakehouseJob = (typeof LAKEHOUSE_JOBS)[number]["name"];

export const JOB_NAMES: readonly LakehouseJob[] = LAKEHOUSE_JOBS.map((j) => j.name);

/** The Postgres schema of the lake's catalog (Iceberg's JDBC catalog), its job runs, and gold's daily reports. */
export const LAKEHOUSE_SCHEMA = "lakehouse";

/** The Iceberg warehouse in a bucket of the cell's own. */
export const WAREHOUSE_PREFIX = "warehouse";

/**
 * The warehouse as Iceberg names it: `s3://<bucket>/warehouse`, or on Azure the container of a Data Lake Storage
 * account, `abfss://<container>@<account>.dfs.core.windows.net/warehouse` (Iceberg's ADLSFileIO speaks the DFS API).
 */
export function warehouseOf(lake: ObjectStoreConnection): string {
    if (lake.protocol === "s3") return `s3://${lake.bucket}/${WAREHOUSE_PREFIX}`;
    const dfsHost = new URL(lake.endpoint).host.replace(".blob.", ".dfs.");
    return `abfss://${lake.container}@${dfsHost}/${WAREHOUSE_PREFIX}`;
}

/** What a job run is given (`LAKEHOUSE`, read by `spark/cellplane_lakehouse.py`); its secrets travel beside it. */
export interface LakehouseSettings {
    catalog: { jdbcUrl: string; user: string };
    /** `warehouseOf` the lake. */
    warehouse: string;
    /**
     * The lake's store. S3: keys where it has them (SeaweedFS; the secret one in OBJECT_STORE_PASSWORD), else the
     * pod's identity; path-style requests for a store that serves no bucket host names. ADLS: always the pod's
     * workload identity (the account takes no shared key).
     */
    objectStore: { kind: "s3"; endpoint?: string; region: string; accessKeyId?: string; pathStyle: boolean } | { kind: "adls" };
    kafka: {
        bootstrap: string;
        topic: string;
        tls: boolean;
        /** PEM bundle of the broker's CA, a file of the run. */
        caFile?: string;
        /**
         * SCRAM's password is KAFKA_PASSWORD; MSK IAM signs with the pod's identity; on Event Hubs, Kafka's own
         * OAUTHBEARER login reads the Entra ID token a sidecar keeps in `tokenFile` (`entraToken.ts`).
         */
        sasl?:
            | { mechanism: "SCRAM-SHA-512"; username: string }
            | { mechanism: "AWS_MSK_IAM" }
            | { mechanism: "OAUTHBEARER"; tokenFile: string };
    };
    /**
     * On a cluster, where the operator runs and retries the jobs, its retry policy: the script then records each
     * attempt in `job_runs` itself. A local cell's runner records its own runs and gives none.
     */
    runs?: { retries: number; retryIntervalSeconds: number };
}

/**
 * The catalog's JDBC URL: the cell's database and the lakehouse schema, over TLS verified in full against a CA file
 * or Java's own roots (the JDBC driver's default is a file in the user's home).
 */
export function jdbcUrlOf(postgres: { host: string; port: number; database: string }, trust?: { caFile: string } | "system"): string {
    const params = new URLSearchParams({ currentSchema: LAKEHOUSE_SCHEMA });
    if (trust) params.set("sslmode", "verify-full");
    if (trust === "system") params.set("sslfactory", "org.postgresql.ssl.DefaultJavaSSLFactory");
    else if (trust) params.set("sslrootcert", trust.caFile);
    return `jdbc:postgresql://${postgres.host}:${postgres.port}/${postgres.database}?${params}`;
}

/** Where a run finds the CA bundles of its stores, where their `tls` is `ca`: files the runner mounts or writes. */
export interface CaFiles {
    postgres: string;
    kafka: string;
}

/**
 * A run's settings from the connections every app takes (`model/connections.ts`), as a cluster's jobs get them. Fails
 * on a Kafka sign-in the Spark job cannot do, naming it.
 */
export function settingsOfConnections(
    stores: { postgres: PostgresConnection; kafka: KafkaConnection; lake: ObjectStoreConnection },
    caFiles: CaFiles,
): LakehouseSettings {
    const { postgres, kafka, lake } = stores;
    return {
        catalog: { jdbcUrl: jdbcUrlOf(postgres, trustOf(postgres.tls, caFiles.postgres)), user: postgres.user },
        warehouse: warehouseOf(lake),
        objectStore: lakeStoreOf(lake),
        kafka: kafkaSettingsOf(kafka, caFiles.kafka),
    };
}

function lakeStoreOf(lake: ObjectStoreConnection): LakehouseSettings["objectStore"] {
    if (lake.protocol === "azblob") {
        if (lake.credentials.from === "key")
            throw new Error(
                `lake.credentials: the lakehouse jobs reach a Blob account with their workload identity, not its shared key (account ${lake.account}); turn shared keys off and grant the jobs' identity the container.`,
            );
        return { kind: "adls" };
    }
    return {
        kind: "s3",
        endpoint: lake.endpoint,
        region: lake.region,
        ...(lake.credentials.from === "keys" ? { accessKeyId: lake.credentials.accessKeyId, pathStyle: true } : { pathStyle: false }),
    };
}

export function kafkaSettingsOf(kafka: KafkaConnection, caFile: string): LakehouseSettings["kafka"] {
    return {
        bootstrap: kafka.brokers.join(","),
        topic: EVENTS_TOPIC,
        tls: kafka.tls !== "off",
        caFile: kafka.tls === "ca" ? caFile : undefined,
        sasl: saslOf(kafka.sasl),
    };
}

function trustOf(tls: TlsMode, caFile: string): { caFile: string } | "system" | undefined {
    if (tls === "off") return undefined;
    return tls === "ca" ? { caFile } : "system";
}

function saslOf(sasl: KafkaConnection["sasl"]): LakehouseSettings["kafka"]["sasl"] {
    switch (sasl.mechanism) {
        case "none":
            return undefined;
        case "scram-sha-512":
            return { mechanism: "SCRAM-SHA-512", username: sasl.username };
        case "oauthbearer":
            return sasl.tokens.from === "aws-msk-iam"
                ? { mechanism: "AWS_MSK_IAM" }
                : { mechanism: "OAUTHBEARER", tokenFile: KAFKA_TOKEN_FILE };
    }
    throw new Error(
        `kafka.sasl: the lakehouse jobs cannot sign in with ${JSON.stringify(sasl)}; they take SCRAM-SHA-512, MSK IAM or Entra ID. Run the jobs on a cell whose Kafka offers one of those.`,
    );
}
