import * as core from "@pulumi/kubernetes/core/v1";
import * as pulumi from "@pulumi/pulumi";
import { generatedPassword } from "../secrets";
import type { ObjectStoreConnection, S3Connection } from "../../model/connections";
import type { CellContext, ObjectStore, StoreAccess } from "../platform";
import { guaranteed, helmRelease, CHARTS } from "./charts";
import { podMonitor } from "./monitoring";
import { nonRootPod, RESTRICTED_CONTAINER } from "./nonRoot";
import { s3KeysAccess } from "../s3KeysAccess";
import { COLD_DISK_PREFIX, type ColdDisk } from "../coldStorage";
import { lifecycleTiers } from "../retention";
import { coldBucketOf, exportsBucketOf, lakeBucketOf } from "../bucketNames";
import { WAREHOUSE_PREFIX } from "../../apps/lakehouse/jobs";

export interface SeaweedfsObjectStoreArgs {
    context: CellContext;
    namespace: pulumi.Input<string>;
    /** The cluster's monitoring stack: its Prometheus scrapes each SeaweedFS server's metrics port. */
    monitoring: pulumi.Resource;
    /** Where tenants fetch their files from outside the cluster: the cell's public name, whose edge sends them here. */
    publicEndpoint: string;
}

/** Where each SeaweedFS server serves its Prometheus metrics (the chart's default, set here so the monitor can rely on it). */
const METRICS_PORT = 9327;

/** The uid of the `seaweed` user of SeaweedFS's image; the chart would otherwise run every pod as root. */
const SEAWEED_UID = 1000;
const S3_PORT = 8333;
const KEYS_SECRET = "seaweedfs-keys";
/** The chart's S3 gateway pods. */
const S3_POD_LABELS = { "app.kubernetes.io/name": "seaweedfs", "app.kubernetes.io/component": "s3" };

/** The name of the S3 admin's key (not a secret: its secret half is generated per cell). */
const ADMIN_ACCESS_KEY_ID = "cellplane";

/**
 * An S3-compatible store for clusters without a cloud one: SeaweedFS (master, volume and filer servers and the S3
 * gateway) with the cell's exports bucket, versioned. S3 keys and the SSE-S3 key come from the cell's Secret.
 */
export class SeaweedfsObjectStore extends pulumi.ComponentResource implements ObjectStore {
    readonly bucket: pulumi.Output<string>;
    readonly endpoint: pulumi.Output<string>;
    readonly accessKeys: pulumi.Output<{ accessKeyId: string; secretAccessKey: string }>;
    readonly access: StoreAccess<ObjectStoreConnection>;
    readonly lake: StoreAccess<S3Connection>;
    readonly coldDisk: pulumi.Output<ColdDisk>;
    readonly lakeWarehouse: pulumi.Output<string>;
    /** What the cell's edge publishes for tenants' downloads: the exports bucket, at the S3 gateway's Service. */
    readonly files: { bucket: string; service: string; port: number; podLabels: Record<string, string> };

    constructor(name: string, args: SeaweedfsObjectStoreArgs, opts?: pulumi.ComponentResourceOptions) {
        super("cellplane:kubernetes:SeaweedfsObjectStore", name, {}, opts);
        const { cell, shape, production, labels, retentionDays } = args.context;
        const bucket = exportsBucketOf(cell.id);
        const coldBucket = coldBucketOf(cell.id);
        const secretAccessKey = generatedPassword(`${name}-secret-access-key`, this, 40);
        const keys = new core.Secret(
            `${name}-keys`,
            {
                metadata: { name: KEYS_SECRET, namespace: args.namespace, labels: labels.kubernetes },
                // SeaweedFS derives each object's SSE-S3 key from `sseKey` (WEED_S3_SSE_KEY, through HKDF).
                stringData: {
                    accessKeyId: ADMIN_ACCESS_KEY_ID,
                    secretAccessKey,
                    sseKey: generatedPassword(`${name}-sse-key`, this, 64),
                    // `weed admin` (4.46 and later) refuses to listen beyond loopback without a password.
                    adminUser: "admin",
                    adminPassword: generatedPassword(`${name}-admin-password`, this, 24),
                },
            },
            { parent: this },
        );
        const secretName = keys.metadata.name;
        const pods = {
            podSecurityContext: { enabled: true, ...nonRootPod(SEAWEED_UID) },
            containerSecurityContext: { enabled: true, ...RESTRICTED_CONTAINER },
        };
        // Production keeps each volume on two of its three servers (placement 001: one more copy, another server).
        const servers = production ? 3 : 1;
        const storageClass = cell.storageClass ? { storageClass: cell.storageClass } : {};
        const component = (cpu: string, memory: string, data?: string) => ({
            ...pods,
            resources: guaranteed({ cpu, memory }),
            podLabels: labels.kubernetes,
            logs: { type: "emptyDir" },
            ...(data ? { data: { type: "persistentVolumeClaim", size: data, ...storageClass } } : {}),
        });

        helmRelease(
            `${name}-seaweedfs`,
            {
                chart: "seaweedfs",
                repository: args.context.chartRepository,
                namespace: args.namespace,
                values: {
                    master: {
                        ...component("500m", "512Mi", "1Gi"),
                        replicas: production ? 3 : 1,
                        defaultReplication: production ? "001" : "000",
                    },
                    volume: {
                        ...component("1", "2Gi"),
                        metricsPort: METRICS_PORT,
                        replicas: servers,
                        dataDirs: [
                            {
                                name: "data",
                                type: "persistentVolumeClaim",
                                size: `${shape.clickhouseStorageGb}Gi`,
                                maxVolumes: 0,
                                ...storageClass,
                            },
                        ],
                    },
                    filer: { ...component("500m", "1Gi", "10Gi"), replicas: production ? 2 : 1, metricsPort: METRICS_PORT },
                    s3: {
                        ...component("500m", "1Gi"),
                        metricsPort: METRICS_PORT,
                        enabled: true,
                        replicas: production ? 2 : 1,
                        port: S3_PORT,
                        enableAuth: true,
                        credentials: {
                            admin: { existingSecret: secretName, accessKeyKey: "accessKeyId", secretKeyKey: "secretAccessKey" },
                        },
                        extraEnvironmentVars: { WEED_S3_SSE_KEY: { secretKeyRef: { name: secretName, key: "sseKey" } } },
                        // The cold volume's parts are ClickHouse's alone to write and remove, and the lake's files
                        // Iceberg's, whose snapshots are its versions: neither is versioned.
                        createBuckets: [{ name: bucket, versioning: "Enabled" }, { name: coldBucket }, { name: lakeBucketOf(cell.id) }],
                    },
                    // The admin and its worker carry out lifecycle rules and vacuum deleted data.
                    admin: {
                        ...component("250m", "512Mi"),
                        enabled: true,
                        secret: { existingSecret: secretName, userKey: "adminUser", pwKey: "adminPassword" },
                    },
                    worker: { ...component("500m", "512Mi"), enabled: true },
                },
            },
            { parent: this },
        );

        // The volume servers, filers and S3 gateways name their `METRICS_PORT` `metrics`; the masters only with the
        // chart's own monitoring (its ServiceMonitors and dashboards), which would scrape them a second time.
        podMonitor(
            `${name}-monitor`,
            {
                context: args.context,
                namespace: args.namespace,
                job: "object-store",
                selector: { "app.kubernetes.io/name": "seaweedfs" },
                port: "metrics",
                monitoring: args.monitoring,
            },
            { parent: this },
        );

        this.bucket = pulumi.output(bucket);
        // The chart names its S3 Service after the release, which helmRelease names after the chart.
        this.endpoint = pulumi.interpolate`http://${CHARTS.seaweedfs.chart}-s3.${args.namespace}.svc.cluster.local:${S3_PORT}`;
        // ClickHouse reads the keys from the cell's Secret, through its environment.
        const fromKeys = (key: string) => ({ secret: { name: KEYS_SECRET, key } });
        this.coldDisk = this.endpoint.apply((endpoint): ColdDisk => ({
            kind: "s3",
            endpoint: `${endpoint}/${coldBucket}/${COLD_DISK_PREFIX}`,
            region: "us-east-1",
            keys: { accessKeyId: fromKeys("accessKeyId"), secretAccessKey: fromKeys("secretAccessKey") },
        }));
        // The admin's keys, whichever of the cell's buckets they reach.
        const adminKeys = { accessKeyId: ADMIN_ACCESS_KEY_ID, secretAccessKey };
        this.accessKeys = pulumi.secret(pulumi.output(adminKeys));
        // The chart sets no lifecycle rules, and the program cannot reach the store: the export app keeps the expiry,
        // which the chart's admin and worker carry out. SeaweedFS has no storage classes, so no tiers.
        const { expireAfterDays, tempExpireAfterDays } = lifecycleTiers(retentionDays);
        this.access = s3KeysAccess(this.endpoint, bucket, adminKeys, {
            expiry: { expireAfterDays, tempExpireAfterDays },
            publicEndpoint: args.publicEndpoint,
        });
        this.lake = s3KeysAccess(this.endpoint, lakeBucketOf(cell.id), adminKeys);
        this.lakeWarehouse = pulumi.interpolate`${this.endpoint}/${lakeBucketOf(cell.id)}/${WAREHOUSE_PREFIX}`;
        this.files = { bucket, service: `${CHARTS.seaweedfs.chart}-s3`, port: S3_PORT, podLabels: S3_POD_LABELS };
        this.registerOutputs({ bucket: this.bucket, endpoint: this.endpoint });
    }
}
