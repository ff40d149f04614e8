import * as pulumi from "@pulumi/pulumi";
import type { CellConfig } from "../model/config";
import type { ClickHouseConnection, KafkaConnection, ObjectStoreConnection, PostgresConnection } from "../model/connections";
import type { AppBundle, AppName } from "./apps/bundle";
import type { ColdDisk } from "./coldStorage";
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
    /**
     * The cell's ClickHouse, whose cold volume is a disk on the cell's object store; where the store holds a lake
     * (`lakeWarehouse`), each of `lake.tenants` gets its reader (`apps/lakehouse/lakeSql.ts`).
     */
    clickhouse(objectStore: ObjectStore, lake?: LakeReaders): ClickHouseCluster;
    objectStore(): ObjectStore;
    /** Absent on targets without Kubernetes, such as the local one. */
    streamOperators?(): StreamOperators;
    /**
     * Schedules the cell's lakehouse jobs (`apps/lakehouse`) where the cluster's operators run them; absent where
     * something else does (a local cell's own Spark, through `scripts/cellplane jobs run`).
     */
    lakehouseJobs?(stores: LakehouseStores, opts: AppOptions): void;
    /** Runs the streaming job (`apps/lakehouse/streaming.ts`) over the cell's events, with `kafka`'s principal. */
    streamingJob?(kafka: StoreAccess<KafkaConnection>, opts: AppOptions): void;
    /**
     * Runs the cell's metrics server, which scrapes its apps and servers once `after` exist. Absent on cluster targets,
     * whose monitoring stack scrapes them through ServiceMonitors and PodMonitors.
     */
    metrics?(after: pulumi.Resource[]): MetricsServer;
    /** Publishes the environment's tenant directory inside the cell. */
    tenantDirectory(directory: TenantDirectory): void;
    /** Runs one of the cell's apps; it answers at the target's `appUrl`. */
    app(spec: AppSpec, opts: AppOptions): AppService;
    /** A random secret of the cell (`bytes` of entropy), generated once and kept in the state as a Pulumi secret. */
    secret(name: string, bytes: number): pulumi.Output<string>;
}

/** An app to run in a cell: its bundle and its settings (environment variables). */
export interface AppSpec {
    bundle: AppBundle;
    env: Record<string, pulumi.Input<string>>;
    /** Settings from Pulumi secrets: they reach the app without appearing in a process list, pod spec or log. */
    secretEnv: Record<string, pulumi.Input<string>>;
    /** Settings from keys of Kubernetes Secrets that operators write (Strimzi's users and CA); cluster targets only. */
    secretRefs: Record<string, { name: pulumi.Input<string>; key: string }>;
    /**
     * Settings given as files: variable → the file's content. The app gets the file's path in the variable and may
     * re-read it while it runs: a new content replaces the file, never restarts the app.
     */
    fileEnv?: Record<string, pulumi.Input<string>>;
}

/** Where an app sits in the resource tree, and what must exist before it starts. */
export interface AppOptions {
    parent: pulumi.Resource;
    dependsOn: pulumi.Resource[];
}

export interface AppService extends pulumi.Resource {
    url: pulumi.Output<string>;
    /** The CA that signed the app's HTTPS certificate, where the app serves HTTPS itself (local cells). */
    ca?: pulumi.Output<string>;
}

/** A Prometheus-compatible server of the cell: its HTTP API answers at `url`. */
export interface MetricsServer extends pulumi.Resource {
    url: pulumi.Output<string>;
}

/** Everything a target needs to know about the cell it builds. */
export interface CellContext {
    cell: CellConfig;
    shape: CellShape;
    environment: string;
    /** Production safeguards (multi-AZ, deletion protection, 30-day backups, private endpoints). */
    production: boolean;
    /** Whether the cell hosts its residency's router, whose public name it then serves too. */
    hostsRouter: boolean;
    retentionDays: number;
    /** Networks that reach the cluster's API server publicly (`cellplane:adminCidrs`); none keeps it private in production. */
    adminCidrs: string[];
    /** IAM roles that administer the cell's EKS cluster (`cellplane:awsAdminRoleArns`); the program assumes the first. */
    awsAdminRoleArns: string[];
    /** The Helm repository every chart comes from (`cellplane:chartRepository`), else each chart's own. */
    chartRepository?: string;
    labels: CellLabels;
    /** Parent of everything the target creates. */
    parent: pulumi.ComponentResource;
}

/** A secret an app is given: a value Pulumi holds, or a key of a Kubernetes Secret that an operator writes. */
export type SecretSource = { value: pulumi.Input<string> } | { secretKeyRef: { name: pulumi.Input<string>; key: string } };

/** A secret the program holds as a value; undefined for a Kubernetes Secret's reference, or none. */
export const secretValueOf = (source: SecretSource | undefined) => (source && "value" in source ? source.value : undefined);

/**
 * How one app reaches one store (`model/connections.ts`): the connection, the CA bundle when its `tls` is `ca`, and
 * its secret where it has one (a password, a connection string, an account key). Turned into the app's environment
 * in one place, `components/apps/connectionEnv.ts`.
 */
export interface StoreAccess<C> {
    connection: pulumi.Input<C>;
    ca?: SecretSource;
    password?: SecretSource;
}

export interface PostgresDatabase extends pulumi.Resource {
    host: pulumi.Output<string>;
    port: pulumi.Output<number>;
    database: pulumi.Output<string>;
    user: pulumi.Output<string>;
    /** A Pulumi secret. */
    password: pulumi.Output<string>;
    access: StoreAccess<PostgresConnection>;
}

/** The cell's apps that talk to Kafka: ingest produces events; the consumer reads them and sets bad ones aside. */
export type KafkaApp = "ingest" | "consumer";
/**
 * Who signs in to a cell's Kafka: its apps, the lakehouse's bronze job, which reads the events into the lake, and the
 * streaming job, which windows them.
 */
export type KafkaPrincipal = KafkaApp | "lakehouse" | "streaming";

export interface KafkaCluster extends pulumi.Resource {
    bootstrapServers: pulumi.Output<string>;
    /** Replication factor of the cell's topics. */
    replicationFactor: number;
    /** Each app's own principal, allowed what its app does and nothing more. */
    access: Record<KafkaApp, StoreAccess<KafkaConnection>>;
    /**
     * The lakehouse jobs' own principal, where the cluster runs them; a local cell's operator runs them as the admin
     * (a new user would replace the local broker and its data).
     */
    lakehouse?: StoreAccess<KafkaConnection>;
    /** The streaming job's principal: its own where the cluster runs it, the admin on a local cell (as `lakehouse`). */
    streaming?: StoreAccess<KafkaConnection>;
    /** A SASL user allowed everything, where the program holds one (local cells), for operators' tools. A Pulumi secret. */
    admin?: pulumi.Output<{ username: string; password: string }>;
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
    /** Each app's own user where the target has one; otherwise the apps share the admin's. */
    access: Record<ClickHouseApp, StoreAccess<ClickHouseConnection>>;
}

export interface ObjectStore extends pulumi.Resource {
    bucket: pulumi.Output<string>;
    /** S3 API endpoint, or the Blob endpoint on Azure. */
    endpoint: pulumi.Output<string>;
    /** Static S3 keys (a Pulumi secret) where the store has them (SeaweedFS); cloud stores use the cell's identity. */
    accessKeys?: pulumi.Output<{ accessKeyId: string; secretAccessKey: string }>;
    /** As the writer of exports (ClickHouse, on behalf of the export app) reaches the store. */
    access: StoreAccess<ObjectStoreConnection>;
    /** The CA of `endpoint`, where no public root signs it (local cells). */
    ca?: pulumi.Output<string>;
    /** A Blob account's shared key (a Pulumi secret), where the program holds one (Azurite). */
    accountKey?: pulumi.Output<string>;
    /** ClickHouse's cold volume: a bucket or container of this store of its own, which no lifecycle rule touches. */
    coldDisk: pulumi.Output<ColdDisk>;
    /**
     * The Iceberg warehouse of the cell's lakehouse jobs, as ClickHouse reads it: `https://…/<bucket>/warehouse`, or
     * on Azure `abfss://<container>@<account>.dfs.core.windows.net/warehouse`.
     */
    lakeWarehouse?: pulumi.Output<string>;
    /** The bucket or container of the cell's lake, as its jobs reach it; absent where the store holds no lake. */
    lake?: StoreAccess<ObjectStoreConnection>;
}

/** What the lakehouse jobs read and write: the events, the catalog (in the cell's Postgres) and the lake's bucket. */
export interface LakehouseStores {
    kafka: StoreAccess<KafkaConnection>;
    postgres: StoreAccess<PostgresConnection>;
    lake: StoreAccess<ObjectStoreConnection>;
}

/** The tenants of a cell, who query its lake, and the secret their readers' passwords derive from. */
export interface LakeReaders {
    tenants: string[];
    querySecret: pulumi.Output<string>;
}

export interface StreamOperators {
    /** Namespace where FlinkDeployment and SparkApplication resources of the cell go. */
    jobsNamespace: pulumi.Output<string>;
}
