import { CustomResource } from "@pulumi/kubernetes/apiextensions";
import * as core from "@pulumi/kubernetes/core/v1";
import * as pulumi from "@pulumi/pulumi";
import { generatedPassword } from "../secrets";
import type { ClickHouseConnection } from "../../model/connections";
import type { CellContext, ClickHouseApp, ClickHouseCluster, LakeReaders, StoreAccess } from "../platform";
import { sqlIdentifier } from "../../apps/shared/clickhouseSql";
import { LAKE_DATABASE, lakeReaderOf, lakeReaderPassword, readerSettings, tenantDatabaseOf } from "../../apps/lakehouse/lakeSql";
import { guaranteed, IMAGES, zoneSpread } from "./charts";
import { podMonitor } from "./monitoring";
import { nonRootPod, RESTRICTED_CONTAINER } from "./nonRoot";
import { ServerCertificate } from "./serverCertificate";
import { type ColdDisk, storageConfiguration } from "../coldStorage";

export interface ClickHouseOnKubernetesArgs {
    context: CellContext;
    namespace: pulumi.Input<string>;
    /** The cluster's Altinity operator, which the cell's installations wait for. */
    operator: pulumi.Resource;
    /** The cluster's monitoring stack: its Prometheus scrapes each server's own metrics endpoint. */
    monitoring: pulumi.Resource;
    /** How the cloud binds an identity to the servers: their ServiceAccount's annotations and their pods' labels. */
    identity?: PodIdentityBinding;
    /** The cold volume's disk, on the cell's object store. */
    coldDisk: pulumi.Output<ColdDisk>;
    /** Each tenant's reader of the lake, where the cell has one. */
    lakeReaders?: LakeReaders;
}

export interface PodIdentityBinding {
    annotations: Record<string, pulumi.Input<string>>;
    podLabels: Record<string, string>;
}

export const CLICKHOUSE_USER = "cellplane";
const CLICKHOUSE_APPS = ["ingest", "consumer", "exporter"] as const;
const clickhouseUserOf = (app: ClickHouseApp) => `cellplane_${app}`;

/**
 * What each app's ClickHouse user may do, as `GRANT` statements of its users.xml entry: ingest reads the analytics;
 * the consumer creates the schema (on the cluster) and inserts the events; the exporter reads the analytics and
 * writes the exports through `s3()` or `azureBlobStorage()`, reading the cell's Postgres through `postgresql()`; it
 * also makes the lake's tables and each tenant's views of them (`apps/export/lakeQueries.ts`), whose definer it is.
 */
export const CLICKHOUSE_GRANTS: Record<ClickHouseApp, string[]> = {
    // The storage meter reads each shard's parts through `cluster()`.
    ingest: ["GRANT SELECT ON analytics.*", "GRANT SELECT ON system.parts", "GRANT REMOTE ON *.*"],
    consumer: ["GRANT SELECT, INSERT, CREATE DATABASE, CREATE TABLE, CREATE VIEW ON analytics.*", "GRANT CLUSTER ON *.*"],
    // The archive drops a month's partition of the events once it is archived (DROP PARTITION is ALTER DELETE).
    exporter: [
        "GRANT SELECT ON analytics.*",
        "GRANT ALTER DELETE ON analytics.events_local",
        "GRANT CLUSTER ON *.*",
        "GRANT S3, AZURE, POSTGRES ON *.*",
        `GRANT SELECT, CREATE DATABASE, CREATE TABLE ON ${LAKE_DATABASE}.*`,
        `GRANT SELECT, CREATE DATABASE, CREATE VIEW ON ${tenantDatabaseOf("*")}.*`,
    ],
};

/** The settings profile of the tenants' lake readers: read-only, bounded in time and rows (`QUERY_GUARDRAILS`). */
export const LAKE_READER_PROFILE = "lake_reader";

/** The ServiceAccount of the ClickHouse servers, which write the exports. */
export const CLICKHOUSE_SERVICE_ACCOUNT = "cellplane-clickhouse";
const INSTALLATION = "analytics";
/** The label the operator puts on every ClickHouse server pod of the cell. */
export const CLICKHOUSE_POD_LABELS = { "clickhouse.altinity.com/chi": INSTALLATION };
/** Clients speak HTTPS and native TLS; the plain ports stay for the operator and the servers among themselves. */
export const CLICKHOUSE_TLS_PORTS = { https: 8443, nativeTls: 9440 };
const PLAIN_PORTS = { http: 8123, native: 9000 };
/** ClickHouse's own Prometheus endpoint, as its documentation configures it. */
const METRICS_PORT = 9363;
const TLS_DIR = "/etc/clickhouse-server/tls";
/** The installation's cluster, which a replicated schema is created `ON CLUSTER`. */
const CLUSTER = "cell";
const KEEPER = "keeper";
const CLICKHOUSE_UID = 101;

/**
 * ClickHouse by the Altinity operator: a `ClickHouseInstallation` with shards and replicas from the cell
 * size, coordinated by a `ClickHouseKeeperInstallation`.
 */
export class ClickHouseOnKubernetes extends pulumi.ComponentResource implements ClickHouseCluster {
    readonly url: pulumi.Output<string>;
    readonly user: pulumi.Output<string>;
    readonly password: pulumi.Output<string>;
    readonly access: Record<ClickHouseApp, StoreAccess<ClickHouseConnection>>;

    constructor(name: string, args: ClickHouseOnKubernetesArgs, opts?: pulumi.ComponentResourceOptions) {
        super("cellplane:kubernetes:ClickHouse", name, {}, opts);
        const { cell, shape, labels } = args.context;
        const metadata = (resourceName: string) => ({ name: resourceName, namespace: args.namespace, labels: labels.kubernetes });

        const { operator } = args;
        const service = pulumi.interpolate`clickhouse-${INSTALLATION}.${args.namespace}.svc`;
        const certificate = new ServerCertificate(
            `${name}-tls`,
            {
                secretName: "clickhouse-tls",
                namespace: args.namespace,
                dnsNames: [pulumi.interpolate`${service}.cluster.local`, service],
                labels: labels.kubernetes,
                owner: `${cell.id} ClickHouse`,
            },
            { parent: this },
        );
        const password = generatedPassword(`${name}-password`, this);
        const appPasswords = Object.fromEntries(
            CLICKHOUSE_APPS.map((app) => [app, generatedPassword(`${name}-${app}-password`, this)]),
        ) as Record<ClickHouseApp, pulumi.Output<string>>;
        // A tenant's reader's password derives from the cell's query secret, as the export app derives it to connect.
        const readers = args.lakeReaders?.tenants ?? [];
        const readerPasswords = Object.fromEntries(
            readers.map((tenant) => [
                lakeReaderOf(tenant),
                pulumi.secret(args.lakeReaders!.querySecret.apply((secret) => lakeReaderPassword(secret, tenant))),
            ]),
        );
        const credentials = new core.Secret(
            `${name}-credentials`,
            {
                metadata: metadata("clickhouse-credentials"),
                stringData: { user: CLICKHOUSE_USER, password: password, ...appPasswords, ...readerPasswords },
            },
            { parent: this },
        );
        const networks = ["10.0.0.0/8", "172.16.0.0/12", "192.168.0.0/16"];
        const user = (userName: string, secretKey: string, settings: Record<string, unknown>) =>
            Object.fromEntries([
                [`${userName}/k8s_secret_password`, pulumi.interpolate`${args.namespace}/clickhouse-credentials/${secretKey}`],
                [`${userName}/networks/ip`, networks],
                ...Object.entries(settings).map(([key, value]) => [`${userName}/${key}`, value]),
            ]);

        // The servers' own identity, which a cloud binds the exports' writes to (the export runs inside ClickHouse).
        new core.ServiceAccount(
            `${name}-service-account`,
            {
                metadata: { ...metadata(CLICKHOUSE_SERVICE_ACCOUNT), annotations: args.identity?.annotations },
                automountServiceAccountToken: false,
            },
            { parent: this },
        );
        // The operator labels each pod with its installation, whose replicas spread over the cluster's zones.
        const podSpec = (
            container: string,
            image: string,
            pod: { cpu: string; memory: string },
            installation: Record<string, string>,
            serviceAccountName?: string,
            tlsVolume?: pulumi.Input<string>,
            ports?: { name: string; containerPort: number }[],
            env?: pulumi.Input<object[]>,
        ) => ({
            serviceAccountName,
            // The key is readable by the pod's group (fsGroup), which the server's user is in, and by no one else.
            volumes: tlsVolume ? [{ name: "tls", secret: { secretName: tlsVolume, defaultMode: 0o440 } }] : undefined,
            // Neither server calls the Kubernetes API; a cloud identity comes through its own projected token.
            automountServiceAccountToken: false,
            securityContext: nonRootPod(CLICKHOUSE_UID),
            topologySpreadConstraints: [zoneSpread(installation)],
            containers: [
                {
                    name: container,
                    image,
                    resources: guaranteed(pod),
                    securityContext: RESTRICTED_CONTAINER,
                    volumeMounts: tlsVolume ? [{ name: "tls", mountPath: TLS_DIR, readOnly: true }] : undefined,
                    ports,
                    env,
                },
            ],
        });
        const dataVolume = (size: number) => ({
            name: "data",
            spec: {
                accessModes: ["ReadWriteOnce"],
                resources: { requests: { storage: `${size}Gi` } },
                ...(cell.storageClass ? { storageClassName: cell.storageClass } : {}),
            },
        });

        // The cold volume's configuration names no secret: keys, where the store has them, come from their Secret.
        const storage = args.coldDisk.apply(storageConfiguration);
        const storageEnv = storage.apply(({ env }) =>
            Object.entries(env).map(([variable, secretKeyRef]) => ({ name: variable, valueFrom: { secretKeyRef } })),
        );

        const keeper = new CustomResource(
            `${name}-keeper`,
            {
                apiVersion: "clickhouse-keeper.altinity.com/v1",
                kind: "ClickHouseKeeperInstallation",
                metadata: metadata(KEEPER),
                spec: {
                    configuration: { clusters: [{ name: KEEPER, layout: { replicasCount: shape.keeperReplicas } }] },
                    defaults: { templates: { podTemplate: "keeper", dataVolumeClaimTemplate: "data" } },
                    templates: {
                        podTemplates: [
                            {
                                name: "keeper",
                                spec: podSpec(
                                    "clickhouse-keeper",
                                    IMAGES.keeper,
                                    { cpu: "500m", memory: "1Gi" },
                                    { "clickhouse-keeper.altinity.com/chk": KEEPER },
                                ),
                            },
                        ],
                        volumeClaimTemplates: [dataVolume(10)],
                    },
                },
            },
            { parent: this, dependsOn: [operator] },
        );

        new CustomResource(
            `${name}-installation`,
            {
                apiVersion: "clickhouse.altinity.com/v1",
                kind: "ClickHouseInstallation",
                metadata: metadata(INSTALLATION),
                spec: {
                    configuration: {
                        // Clients prove who they are with a password, not a certificate: the server asks for none.
                        settings: {
                            https_port: CLICKHOUSE_TLS_PORTS.https,
                            tcp_port_secure: CLICKHOUSE_TLS_PORTS.nativeTls,
                            "openSSL/server/certificateFile": `${TLS_DIR}/tls.crt`,
                            "openSSL/server/privateKeyFile": `${TLS_DIR}/tls.key`,
                            "openSSL/server/verificationMode": "none",
                            // ClickHouse's own Prometheus endpoint, on a port of its own that only the cluster's
                            // operators namespace (the monitoring stack) may reach.
                            "prometheus/endpoint": "/metrics",
                            "prometheus/port": METRICS_PORT,
                            "prometheus/metrics": true,
                            "prometheus/events": true,
                            "prometheus/asynchronous_metrics": true,
                            "prometheus/errors": true,
                        },
                        files: { "config.d/storage.xml": storage.apply(({ xml }) => xml) },
                        zookeeper: {
                            nodes: [{ host: pulumi.interpolate`keeper-${KEEPER}.${args.namespace}.svc.cluster.local`, port: 2181 }],
                        },
                        users: {
                            ...user(CLICKHOUSE_USER, "password", { profile: "default" }),
                            ...Object.assign(
                                {},
                                ...CLICKHOUSE_APPS.map((app) =>
                                    user(clickhouseUserOf(app), app, { profile: "default", "grants/query": CLICKHOUSE_GRANTS[app] }),
                                ),
                            ),
                            // Each tenant selects from its own views and nothing else, under the readers' profile.
                            ...Object.assign(
                                {},
                                ...readers.map((tenant) =>
                                    user(lakeReaderOf(tenant), lakeReaderOf(tenant), {
                                        profile: LAKE_READER_PROFILE,
                                        "grants/query": [`GRANT SELECT ON ${sqlIdentifier(tenantDatabaseOf(tenant))}.*`],
                                    }),
                                ),
                            ),
                        },
                        profiles: Object.fromEntries(
                            Object.entries(readerSettings()).map(([setting, value]) => [`${LAKE_READER_PROFILE}/${setting}`, value]),
                        ),
                        clusters: [
                            { name: CLUSTER, layout: { shardsCount: shape.clickhouseShards, replicasCount: shape.clickhouseReplicas } },
                        ],
                    },
                    defaults: { templates: { podTemplate: "clickhouse", dataVolumeClaimTemplate: "data", serviceTemplate: "clickhouse" } },
                    templates: {
                        // The operator's default Service, with the TLS ports added.
                        serviceTemplates: [
                            {
                                name: "clickhouse",
                                generateName: "clickhouse-{chi}",
                                spec: {
                                    type: "ClusterIP",
                                    ports: [
                                        { name: "http", port: PLAIN_PORTS.http },
                                        { name: "tcp", port: PLAIN_PORTS.native },
                                        { name: "https", port: CLICKHOUSE_TLS_PORTS.https },
                                        { name: "tcp-secure", port: CLICKHOUSE_TLS_PORTS.nativeTls },
                                    ],
                                },
                            },
                        ],
                        podTemplates: [
                            {
                                name: "clickhouse",
                                metadata: { labels: args.identity?.podLabels },
                                spec: podSpec(
                                    "clickhouse",
                                    IMAGES.clickhouse,
                                    shape.pod,
                                    CLICKHOUSE_POD_LABELS,
                                    CLICKHOUSE_SERVICE_ACCOUNT,
                                    certificate.secretName,
                                    [{ name: "metrics", containerPort: METRICS_PORT }],
                                    storageEnv,
                                ),
                            },
                        ],
                        volumeClaimTemplates: [dataVolume(shape.clickhouseStorageGb)],
                    },
                },
            },
            { parent: this, dependsOn: [operator, keeper, credentials] },
        );

        podMonitor(
            `${name}-monitor`,
            {
                context: args.context,
                namespace: args.namespace,
                job: "clickhouse",
                selector: CLICKHOUSE_POD_LABELS,
                port: "metrics",
                monitoring: args.monitoring,
            },
            { parent: this },
        );

        this.url = pulumi.interpolate`https://${service}.cluster.local:${CLICKHOUSE_TLS_PORTS.https}`;
        this.user = pulumi.output(CLICKHOUSE_USER);
        this.password = password;
        const replicated = shape.clickhouseShards * shape.clickhouseReplicas > 1;
        const accessOf = (app: ClickHouseApp): StoreAccess<ClickHouseConnection> => ({
            connection: pulumi.output({
                url: this.url,
                user: clickhouseUserOf(app),
                tls: "ca" as const,
                ...(replicated ? { cluster: CLUSTER } : {}),
            }),
            ca: { value: certificate.caCertificate },
            password: { value: appPasswords[app] },
        });
        this.access = { ingest: accessOf("ingest"), consumer: accessOf("consumer"), exporter: accessOf("exporter") };
        this.registerOutputs({ url: this.url });
    }
}
