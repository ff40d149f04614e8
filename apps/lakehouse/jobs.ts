import type { KafkaConnection, PostgresConnection, S3Connection, TlsMode } from "../../model/connections";
import { EVENTS_TOPIC } from "../shared/topics";

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

/** What a job run is given (`LAKEHOUSE`, read by `spark/cellplane_lakehouse.py`); its secrets travel beside it. */
export interface LakehouseSettings {
    catalog: { jdbcUrl: string; user: string };
    /** `s3://<bucket>/warehouse`. */
    warehouse: string;
    /**
     * The lake's store: keys where it has them (SeaweedFS; the secret one in OBJECT_STORE_PASSWORD), else the pod's
     * identity (S3). Path-style requests for a store that serves no bucket host names.
     */
    objectStore: { endpoint?: string; region: string; accessKeyId?: string; pathStyle: boolean };
    kafka: {
        bootstrap: string;
        topic: string;
        tls: boolean;
        /** PEM bundle of the broker's CA, a file of the run. */
        caFile?: string;
        /** SCRAM's password is KAFKA_PASSWORD; MSK IAM signs with the pod's identity. */
        sasl?: { mechanism: "SCRAM-SHA-512"; username: string } | { mechanism: "AWS_MSK_IAM" };
    };
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
    stores: { postgres: PostgresConnection; kafka: KafkaConnection; lake: S3Connection },
    caFiles: CaFiles,
): LakehouseSettings {
    const { postgres, kafka, lake } = stores;
    return {
        catalog: { jdbcUrl: jdbcUrlOf(postgres, trustOf(postgres.tls, caFiles.postgres)), user: postgres.user },
        warehouse: `s3://${lake.bucket}/${WAREHOUSE_PREFIX}`,
        objectStore: {
            endpoint: lake.endpoint,
            region: lake.region,
            ...(lake.credentials.from === "keys" ? { accessKeyId: lake.credentials.accessKeyId, pathStyle: true } : { pathStyle: false }),
        },
        kafka: kafkaSettingsOf(kafka, caFiles.kafka),
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
            if (sasl.tokens.from === "aws-msk-iam") return { mechanism: "AWS_MSK_IAM" };
    }
    throw new Error(
        `kafka.sasl: the lakehouse jobs cannot sign in with ${JSON.stringify(sasl)}; they take SCRAM-SHA-512 or MSK IAM. Run the jobs on a cell whose Kafka offers one of those.`,
    );
}
