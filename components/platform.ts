import * as pulumi from "@pulumi/pulumi";
import type { CellConfig } from "../model/config";
import type { AppBundle, AppName } from "./apps/bundle";
import type { CellLabels } from "../model/labels";
import type { CellShape } from "../model/sizing";
import type { TenantDirectory } from "../model/tenantDirectory";

/**
 * The one interface every target implements. A `Cell` asks its target's platform for each part and
 * never learns which cloud it is on; each part is a component of its own, parented to the cell.
 */
export interface CellTarget {
    /** Creates what the parts share (network, cluster, keys) and returns the factory of the parts. */
    platform(context: CellContext): CellPlatform;
    /** Where the cell's app will answer, known before anything exists, so every cell can name every other. */
    appUrl(cell: CellConfig, app: AppName): string;
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
    /** Runs one of the cell's apps; it answers at the target's `appUrl`. */
    app(spec: AppSpec, opts: AppOptions): AppService;
}

/** An app to run in a cell: its bundle and its settings (environment variables). */
export interface AppSpec {
    bundle: AppBundle;
    env: Record<string, pulumi.Input<string>>;
    /** Settings from Pulumi secrets: they reach the app without appearing in a process list, pod spec or log. */
    secretEnv: Record<string, pulumi.Input<string>>;
}

/** Where an app sits in the resource tree, and what must exist before it starts. */
export interface AppOptions {
    parent: pulumi.Resource;
    dependsOn: pulumi.Resource[];
}

export interface AppService extends pulumi.Resource {
    url: pulumi.Output<string>;
}

/** Everything a target needs to know about the cell it builds. */
export interface CellContext {
    cell: CellConfig;
    shape: CellShape;
    environment: string;
    /** Production safeguards (multi-AZ, deletion protection, 30-day backups, private endpoints). */
    production: boolean;
    retentionDays: number;
    labels: CellLabels;
    /** Parent of everything the target creates. */
    parent: pulumi.ComponentResource;
}

export interface PostgresDatabase extends pulumi.Resource {
    host: pulumi.Output<string>;
    port: pulumi.Output<number>;
    database: pulumi.Output<string>;
    user: pulumi.Output<string>;
    /** A Pulumi secret. */
    password: pulumi.Output<string>;
}

export interface KafkaCluster extends pulumi.Resource {
    bootstrapServers: pulumi.Output<string>;
    /** Replication factor of the cell's topics. */
    replicationFactor: number;
}

/** The cell's apps that talk to ClickHouse. */
export type ClickHouseApp = "ingest" | "consumer" | "exporter";

export interface ClickHouseCredentials {
    user: pulumi.Output<string>;
    /** A Pulumi secret. */
    password: pulumi.Output<string>;
}

export interface ClickHouseCluster extends pulumi.Resource, ClickHouseCredentials {
    /** HTTP(S) interface, as `@clickhouse/client` takes it. */
    url: pulumi.Output<string>;
    /** Each app's own least-privilege user, where the target has them; otherwise the apps share `user`. */
    appUsers?: Record<ClickHouseApp, ClickHouseCredentials>;
}

export interface ObjectStore extends pulumi.Resource {
    bucket: pulumi.Output<string>;
    /** S3 API endpoint, or the Blob endpoint on Azure. */
    endpoint: pulumi.Output<string>;
    /** Static S3 keys (a Pulumi secret) where the store has them (SeaweedFS); cloud stores use the cell's identity. */
    accessKeys?: pulumi.Output<{ accessKeyId: string; secretAccessKey: string }>;
}

export interface StreamOperators extends pulumi.Resource {
    /** Namespace where FlinkDeployment and SparkApplication resources of the cell go. */
    jobsNamespace: pulumi.Output<string>;
}
