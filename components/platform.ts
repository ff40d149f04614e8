import * as pulumi from "@pulumi/pulumi";
import type { CellConfig } from "../stacks/config";
import type { CellLabels } from "./labels";
import type { CellShape } from "./sizing";
import type { TenantDirectory } from "./tenantDirectory";

/**
 * The one interface every target implements. A `Cell` asks its target's platform for each part and
 * never learns which cloud it is on; each part is a component of its own, parented to the cell.
 */
export interface CellTarget {
    /** Creates what the parts share (network, cluster, keys) and returns the factory of the parts. */
    platform(context: CellContext): CellPlatform;
}

export interface CellPlatform {
    postgres(): PostgresDatabase;
    kafka(): KafkaCluster;
    clickhouse(): ClickHouseCluster;
    objectStore(): ObjectStore;
    /** Absent on targets without Kubernetes, such as the local one. */
    streamOperators?(): StreamOperators;
    /** Publishes the environment's tenant directory inside the cell. */
    tenantDirectory(directory: TenantDirectory): void;
}

/** Everything a target needs to know about the cell it builds. */
export interface CellContext {
    cell: CellConfig;
    shape: CellShape;
    environment: string;
    /** Production safeguards (multi-AZ, deletion protection, 30-day backups, private endpoints). */
    production: boolean;
    retentionDays: number;
    /** The stack's folder for the data of servers on this machine (local cells). */
    stateDir: string;
    labels: CellLabels;
    /** Parent of everything the target creates. */
    parent: pulumi.ComponentResource;
}

export interface PostgresDatabase {
    host: pulumi.Output<string>;
    port: pulumi.Output<number>;
    database: pulumi.Output<string>;
    user: pulumi.Output<string>;
    /** A Pulumi secret. */
    password: pulumi.Output<string>;
}

export interface KafkaCluster {
    bootstrapServers: pulumi.Output<string>;
    /** Replication factor of the cell's topics. */
    replicationFactor: number;
}

export interface ClickHouseCluster {
    /** HTTP(S) interface, as `@clickhouse/client` takes it. */
    url: pulumi.Output<string>;
    user: pulumi.Output<string>;
    /** A Pulumi secret. */
    password: pulumi.Output<string>;
}

export interface ObjectStore {
    bucket: pulumi.Output<string>;
    /** S3 API endpoint, or the Blob endpoint on Azure. */
    endpoint: pulumi.Output<string>;
    /** Static S3 keys (a Pulumi secret) where the store has them (MinIO); cloud stores use the cell's identity. */
    accessKeys?: pulumi.Output<{ accessKeyId: string; secretAccessKey: string }>;
}

export interface StreamOperators {
    /** Namespace where FlinkDeployment and SparkApplication resources of the cell go. */
    jobsNamespace: pulumi.Output<string>;
}
