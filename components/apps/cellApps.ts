import * as pulumi from "@pulumi/pulumi";
import { postgresUrl } from "../../apps/shared/config";
import type { AppSpec, ClickHouseApp, ClickHouseCluster, KafkaCluster, ObjectStore, PostgresDatabase } from "../platform";
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
    /** Each app connects as its own ClickHouse user where the target has one. */
    const clickhouseOf = (app: ClickHouseApp) => {
        const { user, password } = clickhouse.appUsers?.[app] ?? clickhouse;
        return {
            env: { CELL_ID: input.cellId, CLICKHOUSE_URL: clickhouse.url, CLICKHOUSE_USER: user },
            secretEnv: { CLICKHOUSE_PASSWORD: password },
        };
    };
    const tenantsEnv = { TENANTS: JSON.stringify(input.directory.tenants), CELL_URLS: JSON.stringify(input.ingestUrls) };
    const kafkaEnv = { KAFKA_BOOTSTRAP: input.kafka.bootstrapServers };
    const postgresEnv = {
        POSTGRES_URL: pulumi.secret(
            pulumi
                .all([postgres.user, postgres.host, postgres.port, postgres.database, postgres.password])
                .apply(([user, host, port, database, password]) => postgresUrl({ user, host, port, database }, password)),
        ),
    };
    const keys = objectStore.accessKeys;
    const [consumer, ingest, exporter] = (["consumer", "ingest", "exporter"] as const).map(clickhouseOf);
    return {
        consumer: { bundle: bundleApp("ingest-consumer"), env: { ...consumer.env, ...kafkaEnv }, secretEnv: consumer.secretEnv },
        ingest: {
            bundle: bundleApp("ingest"),
            env: { ...ingest.env, ...tenantsEnv, ...kafkaEnv },
            secretEnv: { ...ingest.secretEnv, ...postgresEnv },
        },
        exporter: {
            bundle: bundleApp("export"),
            env: { ...exporter.env, ...tenantsEnv, S3_ENDPOINT: objectStore.endpoint, S3_BUCKET: objectStore.bucket },
            secretEnv: {
                ...exporter.secretEnv,
                ...postgresEnv,
                ...(keys ? { S3_ACCESS_KEY_ID: keys.accessKeyId, S3_SECRET_ACCESS_KEY: keys.secretAccessKey } : {}),
            },
        },
    };
}
