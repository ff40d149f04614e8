import * as apps from "@pulumi/kubernetes/apps/v1";
import * as core from "@pulumi/kubernetes/core/v1";
import * as policy from "@pulumi/kubernetes/policy/v1";
import * as pulumi from "@pulumi/pulumi";
import * as fs from "fs";
import * as zlib from "zlib";
import type { AppName } from "../apps/bundle";
import type { AppService, AppSpec, CellContext } from "../platform";
import { IMAGES, zoneSpread } from "./charts";
import { serviceMonitor } from "./monitoring";
import { nonRootPod, RESTRICTED_CONTAINER } from "./nonRoot";

export interface AppDeploymentArgs {
    context: CellContext;
    namespace: pulumi.Input<string>;
    spec: AppSpec;
    /** Where the cell's edge publishes the app, when it does; otherwise the app answers at its Service only. */
    publicUrl?: string;
    /** The cluster's monitoring stack: its Prometheus scrapes the app's `/metrics`. */
    monitoring: pulumi.Resource;
    /** A cloud identity the app's pods take (AKS workload identity): its ServiceAccount's annotations and its pods' labels. */
    identity?: AppIdentity;
}

export interface AppIdentity {
    serviceAccountAnnotations: Record<string, pulumi.Input<string>>;
    podLabels: Record<string, string>;
}

export const APP_PORT = 8080;
/** The `node` user of the official Node image. */
const NODE_UID = 1000;
/** Where an app's file settings (`AppSpec.fileEnv`) are mounted. */
const FILES_DIR = "/etc/cellplane/files";
const APP_RESOURCES = { requests: { cpu: "250m", memory: "256Mi" }, limits: { cpu: "1", memory: "512Mi" } };

/** The ServiceAccount each app's pods run as, in the cell's data namespace. */
export const serviceAccountOf = (app: AppName) => `cellplane-${app}`;

/** The in-cluster URL of a cell's app: its Service in the cell's data namespace. */
export const inClusterAppUrl = (namespace: string, app: AppName) => `http://${app}.${namespace}.svc.cluster.local:${APP_PORT}`;

/**
 * One app of the cell on Kubernetes: the official Node image runs the app's bundle, which arrives in an immutable
 * ConfigMap named after the bundle's hash (gzipped, well under the 1 MiB limit). No image is built or pushed, and a
 * new bundle changes the pod template, which rolls the Deployment. Secrets come from a Kubernetes Secret.
 */
export class AppDeployment extends pulumi.ComponentResource implements AppService {
    readonly url: pulumi.Output<string>;
    readonly service: core.Service;

    constructor(name: string, args: AppDeploymentArgs, opts?: pulumi.ComponentResourceOptions) {
        super("cellplane:kubernetes:App", name, {}, opts);
        const { bundle, env, secretEnv, secretRefs, fileEnv = {} } = args.spec;
        const { labels, production } = args.context;
        const selector = { "app.kubernetes.io/name": bundle.app, "app.kubernetes.io/part-of": "cellplane" };
        const metadata = (resourceName: string) => ({
            name: resourceName,
            namespace: args.namespace,
            labels: { ...labels.kubernetes, ...selector },
        });

        const code = new core.ConfigMap(
            `${name}-bundle`,
            {
                metadata: metadata(`${bundle.app}-${bundle.hash.toLowerCase()}`),
                immutable: true,
                binaryData: { "app.js.gz": zlib.gzipSync(fs.readFileSync(bundle.file)).toString("base64") },
            },
            { parent: this },
        );
        // Its own identity in the cluster, which a cloud can bind a role to (EKS Pod Identity, AKS workload identity).
        const serviceAccount = new core.ServiceAccount(
            `${name}-service-account`,
            {
                metadata: { ...metadata(serviceAccountOf(bundle.app)), annotations: args.identity?.serviceAccountAnnotations },
                automountServiceAccountToken: false,
            },
            { parent: this },
        );
        const secrets = new core.Secret(
            `${name}-secrets`,
            { metadata: metadata(`${bundle.app}-secrets`), stringData: secretEnv },
            { parent: this },
        );

        // Not immutable: the kubelet swaps a changed ConfigMap into the mounted folder at once, and the app re-reads it
        // without a restart.
        const files =
            Object.keys(fileEnv).length > 0
                ? new core.ConfigMap(`${name}-files`, { metadata: metadata(`${bundle.app}-files`), data: fileEnv }, { parent: this })
                : undefined;

        // Ready once its stores answer (the rollout waits for that); alive while it retries them.
        const probe = (path: string) => ({ httpGet: { path, port: APP_PORT }, periodSeconds: 10 });
        const deployment = new apps.Deployment(
            `${name}-deployment`,
            {
                metadata: metadata(bundle.app),
                spec: {
                    replicas: production ? 2 : 1,
                    selector: { matchLabels: selector },
                    template: {
                        metadata: {
                            labels: { ...labels.kubernetes, ...selector, ...args.identity?.podLabels },
                            annotations: { "cellplane.io/bundle-hash": bundle.hash },
                        },
                        spec: {
                            serviceAccountName: serviceAccount.metadata.name,
                            securityContext: nonRootPod(NODE_UID),
                            // Replicas in different zones where the cluster has zones; never unschedulable where it has not.
                            topologySpreadConstraints: [zoneSpread(selector)],
                            initContainers: [
                                {
                                    name: "unpack",
                                    image: IMAGES.node,
                                    command: [
                                        "node",
                                        "-e",
                                        "const fs=require('fs'),zlib=require('zlib');fs.writeFileSync('/app/app.js',zlib.gunzipSync(fs.readFileSync('/bundle/app.js.gz')))",
                                    ],
                                    volumeMounts: [
                                        { name: "bundle", mountPath: "/bundle" },
                                        { name: "app", mountPath: "/app" },
                                    ],
                                    resources: APP_RESOURCES,
                                    securityContext: { ...RESTRICTED_CONTAINER, readOnlyRootFilesystem: true },
                                },
                            ],
                            containers: [
                                {
                                    name: bundle.app,
                                    image: IMAGES.node,
                                    command: ["node", "/app/app.js"],
                                    ports: [{ name: "http", containerPort: APP_PORT }],
                                    env: [
                                        ...Object.entries({ ...env, HOST: "0.0.0.0", PORT: String(APP_PORT), NODE_ENV: "production" }).map(
                                            ([n, value]) => ({ name: n, value }),
                                        ),
                                        ...Object.keys(fileEnv).map((n) => ({ name: n, value: `${FILES_DIR}/${n}` })),
                                        ...Object.entries(secretRefs).map(([n, secretKeyRef]) => ({
                                            name: n,
                                            valueFrom: { secretKeyRef },
                                        })),
                                    ],
                                    envFrom: [{ secretRef: { name: secrets.metadata.name } }],
                                    readinessProbe: probe("/readyz"),
                                    livenessProbe: { ...probe("/healthz"), initialDelaySeconds: 10 },
                                    resources: APP_RESOURCES,
                                    securityContext: { ...RESTRICTED_CONTAINER, readOnlyRootFilesystem: true },
                                    volumeMounts: [
                                        { name: "app", mountPath: "/app", readOnly: true },
                                        ...(files ? [{ name: "files", mountPath: FILES_DIR, readOnly: true }] : []),
                                    ],
                                },
                            ],
                            volumes: [
                                { name: "bundle", configMap: { name: code.metadata.name } },
                                { name: "app", emptyDir: { sizeLimit: "64Mi" } },
                                ...(files ? [{ name: "files", configMap: { name: files.metadata.name } }] : []),
                            ],
                        },
                    },
                },
            },
            { parent: this },
        );
        if (production) {
            // A node drain or cluster upgrade takes down one replica at a time.
            new policy.PodDisruptionBudget(
                `${name}-disruption-budget`,
                { metadata: metadata(bundle.app), spec: { maxUnavailable: 1, selector: { matchLabels: selector } } },
                { parent: this, dependsOn: [deployment] },
            );
        }
        const service = (this.service = new core.Service(
            `${name}-service`,
            {
                metadata: metadata(bundle.app),
                spec: { type: "ClusterIP", selector, ports: [{ name: "http", port: APP_PORT, targetPort: APP_PORT }] },
            },
            { parent: this, dependsOn: [deployment] },
        ));
        serviceMonitor(
            `${name}-monitor`,
            { context: args.context, namespace: args.namespace, job: bundle.app, selector, port: "http", monitoring: args.monitoring },
            { parent: this },
        );

        this.url = service.metadata.namespace.apply((namespace) => args.publicUrl ?? inClusterAppUrl(namespace, bundle.app));
        this.registerOutputs({ url: this.url });
    }
}
