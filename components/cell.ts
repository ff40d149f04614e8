import * as pulumi from "@pulumi/pulumi";
import type { CellConfig } from "../model/config";
import { cellLabels } from "../model/labels";
import { cellApps } from "./apps/cellApps";
import { type AppService, type AppSpec, type CellPlatform, type CellTarget, secretValueOf } from "./platform";
import { CELL_SHAPES } from "../model/sizing";
import type { TenantDirectory } from "../model/tenantDirectory";

export interface CellArgs {
    cell: CellConfig;
    /** The implementation of the cell's cloud, from `targets.ts`. */
    target: CellTarget;
    environment: string;
    production: boolean;
    /** Whether the cell hosts its residency's router. */
    hostsRouter: boolean;
    owner: string;
    costCenter: string;
    retentionDays: number;
    adminCidrs: string[];
    awsAdminRoleArns: string[];
    chartRepository?: string;
    /** The environment's tenant directory, published inside the cell. */
    directory: TenantDirectory;
    /** cell → URL of the router of its residency, from the router's host's target (`CellTarget.appUrl`). */
    routerUrls: Record<string, string>;
}

/** What the routing table and the apps need to reach a cell. Holds no secret. */
export interface CellEndpoints {
    /** `ca`: the CA bundle (PEM) to verify the server with, where it is not the system's roots or an operator's Secret. */
    postgres: { host: string; port: number; database: string; user: string; ca?: string };
    kafkaBootstrap: string;
    kafkaCa?: string;
    clickhouseUrl: string;
    clickhouseCa?: string;
    bucket: string;
    objectStoreEndpoint: string;
    objectStoreCa?: string;
    objectStoreProtocol: "s3" | "azblob";
    /** Where Flink and Spark jobs go; absent on cells without Kubernetes. */
    jobsNamespace?: string;
    ingestUrl: string;
    exportUrl: string;
    /** The CA of the apps' HTTPS, where they serve it themselves with a certificate no public root signs (local cells). */
    appCa?: string;
    /** The cell's Prometheus-compatible API (its certificate is of the apps' CA, `appCa`), where the program runs it (local cells). */
    metricsUrl?: string;
}

export interface CellCredentials {
    postgresPassword: string;
    clickhouseUser: string;
    clickhousePassword: string;
    objectStoreKeys?: { accessKeyId: string; secretAccessKey: string };
    /** The Blob account's shared key, where the store has one the program holds (Azurite). */
    objectStoreAccountKey?: string;
    /** SCRAM-SHA-512 over TLS, where the cell has an admin user. */
    kafkaAdmin?: { username: string; password: string };
    /** The key of its residency router's proof, without which the cell's APIs answer 401 (`apps/shared/routerProof.ts`). */
    routerKey: string;
}

/**
 * One residency-pinned unit: Postgres (metadata), Kafka (events), ClickHouse (analytics), object storage
 * (Parquet exports), the Flink and Spark operators, and the ingest and export apps. The target builds each part
 * for its cloud.
 */
export class Cell extends pulumi.ComponentResource {
    readonly endpoints: pulumi.Output<CellEndpoints>;
    /** Secret. */
    readonly credentials: pulumi.Output<CellCredentials>;
    /** Secret: the key its residency's router signs its proof with. */
    readonly routerKey: pulumi.Output<string>;
    /** The CA of the cell's apps, where they serve HTTPS themselves. */
    readonly appCa?: pulumi.Output<string>;
    private readonly platform: CellPlatform;

    constructor(name: string, args: CellArgs, opts?: pulumi.ComponentResourceOptions) {
        super("cellplane:index:Cell", name, {}, opts);

        const platform = (this.platform = args.target.platform({
            cell: args.cell,
            shape: CELL_SHAPES[args.cell.size],
            environment: args.environment,
            production: args.production,
            hostsRouter: args.hostsRouter,
            retentionDays: args.retentionDays,
            adminCidrs: args.adminCidrs,
            awsAdminRoleArns: args.awsAdminRoleArns,
            chartRepository: args.chartRepository,
            labels: cellLabels({
                cell: args.cell.id,
                residency: args.cell.residency,
                environment: args.environment,
                owner: args.owner,
                costCenter: args.costCenter,
            }),
            parent: this,
        }));
        const postgres = platform.postgres();
        const kafka = platform.kafka();
        const objectStore = platform.objectStore();
        // Where the store holds a lake, the cell's tenants query it, each as its own reader.
        const lake = objectStore.lakeWarehouse && {
            tenants: Object.entries(args.directory.tenants)
                .filter(([, tenant]) => tenant.cell === args.cell.id)
                .map(([id]) => id),
            querySecret: platform.secret("lake-query", 32),
        };
        const clickhouse = platform.clickhouse(objectStore, lake);
        const streamOperators = platform.streamOperators?.();
        platform.tenantDirectory(args.directory);
        this.routerKey = platform.secret("router-key", 32);
        const parts = [postgres, kafka, clickhouse, objectStore];
        const apps = cellApps({
            cellId: args.cell.id,
            directory: args.directory,
            routerUrls: args.routerUrls,
            routerKey: this.routerKey,
            lakeQuerySecret: lake?.querySecret,
            postgres,
            kafka,
            clickhouse,
            objectStore,
        });
        // The consumer creates the analytics schema: the rollups the ingest API reads and the key catalog exports read.
        const consumer = platform.app(apps.consumer, { parent: this, dependsOn: parts });
        const ingest = platform.app(apps.ingest, { parent: this, dependsOn: [...parts, consumer] });
        const exporter = platform.app(apps.exporter, { parent: this, dependsOn: [...parts, consumer] });
        this.appCa = ingest.ca;
        const metrics = platform.metrics?.([...parts, consumer, ingest, exporter]);
        // The consumer loads the windows, and made the analytics schema they go to.
        if (kafka.streaming) platform.streamingJob?.(kafka.streaming, { parent: this, dependsOn: [...parts, consumer] });
        // The apps' migrations make the catalog's schema first.
        if (objectStore.lake && kafka.lakehouse)
            platform.lakehouseJobs?.(
                { kafka: kafka.lakehouse, postgres: postgres.access, lake: objectStore.lake },
                { parent: this, dependsOn: [...parts, ingest, exporter] },
            );

        this.endpoints = pulumi.output({
            postgres: {
                host: postgres.host,
                port: postgres.port,
                database: postgres.database,
                user: postgres.user,
                ca: secretValueOf(postgres.access.ca),
            },
            kafkaBootstrap: kafka.bootstrapServers,
            kafkaCa: secretValueOf(kafka.access.consumer.ca),
            clickhouseUrl: clickhouse.url,
            clickhouseCa: secretValueOf(clickhouse.access.consumer.ca),
            bucket: objectStore.bucket,
            objectStoreEndpoint: objectStore.endpoint,
            objectStoreCa: objectStore.ca,
            objectStoreProtocol: pulumi.output(objectStore.access.connection).apply((c) => c.protocol),
            jobsNamespace: streamOperators?.jobsNamespace,
            ingestUrl: ingest.url,
            exportUrl: exporter.url,
            appCa: ingest.ca,
            metricsUrl: metrics?.url,
        });
        this.credentials = pulumi.secret({
            postgresPassword: postgres.password,
            clickhouseUser: clickhouse.user,
            clickhousePassword: clickhouse.password,
            objectStoreKeys: objectStore.accessKeys,
            objectStoreAccountKey: objectStore.accountKey,
            kafkaAdmin: kafka.admin,
            routerKey: this.routerKey,
        });
        this.registerOutputs({ endpoints: this.endpoints, credentials: this.credentials });
    }

    /** Runs an app of the environment (the router) in this cell, next to the cell's own apps. */
    host(app: AppSpec, parent: pulumi.Resource): AppService {
        return this.platform.app(app, { parent, dependsOn: [] });
    }
}
