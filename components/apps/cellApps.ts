import type * as pulumi from "@pulumi/pulumi";
import type { AppSpec, ClickHouseCluster, KafkaCluster, ObjectStore, PostgresDatabase } from "../platform";
import type { TenantDirectory } from "../../model/tenantDirectory";
import { bundleApp } from "./bundle";
import { connectionEnv, mergeEnvironments, plainEnv } from "./connectionEnv";

export interface CellAppsInput {
    cellId: string;
    directory: TenantDirectory;
    /** cell → URL of the router of its residency, for the 421 answer to another cell's tenant. */
    routerUrls: Record<string, string>;
    /** The key of the residency router's proof (a secret): the tenant APIs answer nothing else. */
    routerKey: pulumi.Input<string>;
    /** What the lake's tenant readers' passwords derive from (a secret), where the cell has a lake: the export app connects as them. */
    lakeQuerySecret?: pulumi.Input<string>;
    postgres: PostgresDatabase;
    kafka: KafkaCluster;
    clickhouse: ClickHouseCluster;
    objectStore: ObjectStore;
}

/**
 * The apps of one cell, each given its own access to the stores it uses and nothing else (see each app's
 * `config.ts`): the consumer reads Kafka and writes ClickHouse; ingest writes Kafka and reads Postgres and
 * ClickHouse; export reads Postgres and ClickHouse, whose export writes the bucket.
 */
export function cellApps(input: CellAppsInput): { consumer: AppSpec; ingest: AppSpec; exporter: AppSpec } {
    const { postgres, kafka, clickhouse, objectStore } = input;
    const cell = plainEnv({ CELL_ID: input.cellId });
    const tenants = plainEnv({ TENANTS: JSON.stringify(input.directory.tenants), ROUTER_URLS: JSON.stringify(input.routerUrls) });
    const routerOnly = { env: {}, secretEnv: { ROUTER_KEY: input.routerKey }, secretRefs: {} };
    const metadata = connectionEnv("postgres", postgres.access);
    const lake =
        objectStore.lakeWarehouse && input.lakeQuerySecret
            ? {
                  env: { LAKE_WAREHOUSE: objectStore.lakeWarehouse },
                  secretEnv: { LAKE_QUERY_SECRET: input.lakeQuerySecret },
                  secretRefs: {},
              }
            : plainEnv({});
    return {
        consumer: {
            bundle: bundleApp("ingest-consumer"),
            ...mergeEnvironments(
                cell,
                connectionEnv("kafka", kafka.access.consumer),
                connectionEnv("clickhouse", clickhouse.access.consumer),
            ),
        },
        ingest: {
            bundle: bundleApp("ingest"),
            ...mergeEnvironments(
                cell,
                tenants,
                routerOnly,
                metadata,
                connectionEnv("kafka", kafka.access.ingest),
                connectionEnv("clickhouse", clickhouse.access.ingest),
            ),
        },
        exporter: {
            bundle: bundleApp("export"),
            ...mergeEnvironments(
                cell,
                tenants,
                routerOnly,
                metadata,
                connectionEnv("clickhouse", clickhouse.access.exporter),
                connectionEnv("objectStore", objectStore.access),
                lake,
            ),
        },
    };
}
