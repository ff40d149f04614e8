import * as pulumi from "@pulumi/pulumi";
import { postgresUrl } from "../../apps/shared/config";
import type { AppSpec, ClickHouseCluster, KafkaCluster, ObjectStore, PostgresDatabase } from "../platform";
import type { TenantDirectory } from "../../model/tenantDirectory";
import { bundleApp } from "./bundle";

export interface CellAppsInput {
    cellId: string;
    directory: TenantDirectory;
    /** cell → URL of its ingest service, for the 421 answer to another cell's tenant. */
    ingestUrls: Record<string, string>;
    postgres: PostgresDatabase;
    kafka: KafkaCluster;
    clickhouse: ClickHouseCluster;
    objectStore: ObjectStore;
}

/** The apps of one cell, configured from its parts' outputs (see each app's `config.ts`). */
export function cellApps(input: CellAppsInput): { consumer: AppSpec; ingest: AppSpec; exporter: AppSpec } {
    const { postgres, clickhouse, objectStore } = input;
    const clickhouseEnv = { CELL_ID: input.cellId, CLICKHOUSE_URL: clickhouse.url, CLICKHOUSE_USER: clickhouse.user };
    const env = { ...clickhouseEnv, TENANTS: JSON.stringify(input.directory.tenants), CELL_URLS: JSON.stringify(input.ingestUrls) };
    const kafkaEnv = { KAFKA_BOOTSTRAP: input.kafka.bootstrapServers };
    const clickhouseSecrets = { CLICKHOUSE_PASSWORD: clickhouse.password };
    const secretEnv = {
        ...clickhouseSecrets,
        POSTGRES_URL: pulumi.secret(
            pulumi
                .all([postgres.user, postgres.host, postgres.port, postgres.database, postgres.password])
                .apply(([user, host, port, database, password]) => postgresUrl({ user, host, port, database }, password)),
        ),
    };
    const keys = objectStore.accessKeys;
    return {
        consumer: { bundle: bundleApp("ingest-consumer"), env: { ...clickhouseEnv, ...kafkaEnv }, secretEnv: clickhouseSecrets },
        ingest: { bundle: bundleApp("ingest"), env: { ...env, ...kafkaEnv }, secretEnv },
        exporter: {
            bundle: bundleApp("export"),
            env: { ...env, S3_ENDPOINT: objectStore.endpoint, S3_BUCKET: objectStore.bucket },
            secretEnv: keys ? { ...secretEnv, S3_ACCESS_KEY_ID: keys.accessKeyId, S3_SECRET_ACCESS_KEY: keys.secretAccessKey } : secretEnv,
        },
    };
}
