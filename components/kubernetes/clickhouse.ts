import { CustomResource } from "@pulumi/kubernetes/apiextensions";
import * as core from "@pulumi/kubernetes/core/v1";
import * as pulumi from "@pulumi/pulumi";
import { generatedPassword } from "../secrets";
import type { ClickHouseConnection } from "../../model/connections";
import type { CellContext, ClickHouseApp, ClickHouseCluster, StoreAccess } from "../platform";
import { guaranteed, IMAGES, zoneSpread } from "./charts";
import { nonRootPod, RESTRICTED_CONTAINER } from "./nonRoot";

export interface ClickHouseOnKubernetesArgs {
    context: CellContext;
    namespace: pulumi.Input<string>;
    /** The cluster's Altinity operator, which the cell's installations wait for. */
    operator: pulumi.Resource;
    /** How the cloud binds an identity to the servers: their ServiceAccount's annotations and their pods' labels. */
    identity?: PodIdentityBinding;
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
 * writes the exports through `s3()` or `azureBlobStorage()`, reading the cell's Postgres through `postgresql()`.
 */
export const CLICKHOUSE_GRANTS: Record<ClickHouseApp, string[]> = {
    // The storage meter reads each shard's parts through `cluster()`.
    ingest: ["GRANT SELECT ON analytics.*", "GRANT SELECT ON system.parts", "GRANT REMOTE ON *.*"],
    consumer: ["GRANT SELECT, INSERT, CREATE DATABASE, CREATE TABLE, CREATE VIEW ON analytics.*", "GRANT CLUSTER ON *.*"],
    exporter: ["GRANT SELECT ON analytics.*", "GRANT S3, AZURE, POSTGRES ON *.*"],
};

/** The ServiceAccount of the ClickHouse servers, which write the exports. */
export const CLICKHOUSE_SERVICE_ACCOUNT = "cellplane-clickhouse";
const INSTALLATION = "analytics";
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
        const password = generatedPassword(`${name}-password`, this);
        const appPasswords = Object.fromEntries(
            CLICKHOUSE_APPS.map((app) => [app, generatedPassword(`${name}-${app}-password`, this)]),
        ) as Record<ClickHouseApp, pulumi.Output<string>>;
        const credentials = new core.Secret(
            `${name}-credentials`,
            {
                metadata: metadata("clickhouse-credentials"),
                stringData: { user: CLICKHOUSE_USER, password: password, ...appPasswords },
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
        ) => ({
            serviceAccountName,
            // Neither server calls the Kubernetes API; a cloud identity comes through its own projected token.
            automountServiceAccountToken: false,
            securityContext: nonRootPod(CLICKHOUSE_UID),
            topologySpreadConstraints: [zoneSpread(installation)],
            containers: [{ name: container, image, resources: guaranteed(pod), securityContext: RESTRICTED_CONTAINER }],
        });
        const dataVolume = (size: number) => ({
            name: "data",
            spec: {
                accessModes: ["ReadWriteOnce"],
                resources: { requests: { storage: `${size}Gi` } },
                ...(cell.storageClass ? { storageClassName: cell.storageClass } : {}),
            },
        });

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
                        },
                        clusters: [
                            { name: CLUSTER, layout: { shardsCount: shape.clickhouseShards, replicasCount: shape.clickhouseReplicas } },
                        ],
                    },
                    defaults: { templates: { podTemplate: "clickhouse", dataVolumeClaimTemplate: "data" } },
                    templates: {
                        podTemplates: [
                            {
                                name: "clickhouse",
                                metadata: { labels: args.identity?.podLabels },
                                spec: podSpec(
                                    "clickhouse",
                                    IMAGES.clickhouse,
                                    shape.pod,
                                    { "clickhouse.altinity.com/chi": INSTALLATION },
                                    CLICKHOUSE_SERVICE_ACCOUNT,
                                ),
                            },
                        ],
                        volumeClaimTemplates: [dataVolume(shape.clickhouseStorageGb)],
                    },
                },
            },
            { parent: this, dependsOn: [operator, keeper, credentials] },
        );

        this.url = pulumi.interpolate`http://clickhouse-${INSTALLATION}.${args.namespace}.svc.cluster.local:8123`;
        this.user = pulumi.output(CLICKHOUSE_USER);
        this.password = password;
        const replicated = shape.clickhouseShards * shape.clickhouseReplicas > 1;
        const accessOf = (app: ClickHouseApp): StoreAccess<ClickHouseConnection> => ({
            connection: pulumi.output({
                url: this.url,
                user: clickhouseUserOf(app),
                tls: "off" as const,
                ...(replicated ? { cluster: CLUSTER } : {}),
            }),
            password: { value: appPasswords[app] },
        });
        this.access = { ingest: accessOf("ingest"), consumer: accessOf("consumer"), exporter: accessOf("exporter") };
        this.registerOutputs({ url: this.url });
    }
}
