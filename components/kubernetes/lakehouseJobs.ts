import { CustomResource } from "@pulumi/kubernetes/apiextensions";
import * as core from "@pulumi/kubernetes/core/v1";
import * as pulumi from "@pulumi/pulumi";
import { createHash } from "crypto";
import * as fs from "fs";
import * as path from "path";
import { ICEBERG_AZURE_JAR, LAKEHOUSE_JARS, mavenCentralUrl, MSK_IAM_JAR, SPARK_VERSION } from "../../apps/lakehouse/engines";
import { kafkaSettingsOf, LAKEHOUSE_JOBS, type LakehouseSettings, settingsOfConnections } from "../../apps/lakehouse/jobs";
import { JOBS_SCRIPT } from "../../apps/lakehouse/sparkSubmit";
import type { ObjectStoreConnection } from "../../model/connections";
import type { CellContext, LakehouseStores } from "../platform";
import { IMAGES } from "./charts";
import { entraTokenSidecar, type JobIdentity } from "./entraTokenSidecar";
import { jobAccount } from "./jobAccount";
import { nonRootPod, RESTRICTED_CONTAINER } from "./nonRoot";
import { SecretFiles } from "./secretFiles";

export interface LakehouseJobsArgs {
    context: CellContext;
    /** The cell's jobs namespace, which the cluster's Spark operator watches. */
    namespace: pulumi.Input<string>;
    stores: LakehouseStores;
    /** The cluster's Spark operator: its CRDs must exist first. */
    operator: pulumi.Resource;
    /** The cloud identity the jobs' pods take, where the lake and Kafka are reached with one (AKS). */
    identity?: JobIdentity;
}

/** The ServiceAccount the jobs' drivers and executors run as: what a cloud binds the lake's identity to. */
export const LAKEHOUSE_SERVICE_ACCOUNT = "cellplane-lakehouse";
/** The `spark` user of the official Spark image. */
const SPARK_UID = 185;
/** Where the pods find the jobs' script and its tables, and the stores' CA bundles. */
const JOBS_DIR = "/opt/cellplane/lakehouse";
export const CA_DIR = "/etc/cellplane/ca";
const CA_FILES = { postgres: `${CA_DIR}/postgres.pem`, kafka: `${CA_DIR}/kafka.pem` };
/** The Secret holding what the program generated (passwords, keys, CAs); operators' own Secrets are referred to. */
const SECRETS = "lakehouse-secrets";
/** A failed run is retried this often, each wait one interval longer (the operator's linear backoff). */
const RETRIES = { onFailureRetries: 3, onFailureRetryInterval: 120, onSubmissionFailureRetries: 3, onSubmissionFailureRetryInterval: 60 };

/**
 * The cell's lakehouse jobs on its cluster: one ScheduledSparkApplication per job (`apps/lakehouse/jobs.ts`), on the
 * job's schedule in UTC, never two runs of a job at once. Like the apps, no image is built: the official Spark image
 * runs the one script every target runs, which arrives in an immutable ConfigMap named after its hash, and the
 * driver fetches the jobs' jars from Maven Central. The stores are the cell's own, as its apps reach them.
 */
export class LakehouseJobs extends pulumi.ComponentResource {
    constructor(name: string, args: LakehouseJobsArgs, opts?: pulumi.ComponentResourceOptions) {
        super("cellplane:kubernetes:LakehouseJobs", name, {}, opts);
        const { labels } = args.context;
        const selector = { "app.kubernetes.io/name": "lakehouse", "app.kubernetes.io/part-of": "cellplane" };
        const metadata = (resourceName: string) => ({
            name: resourceName,
            namespace: args.namespace,
            labels: { ...labels.kubernetes, ...selector },
        });

        const script = scriptFiles();
        const code = new core.ConfigMap(
            `${name}-script`,
            { metadata: metadata(`lakehouse-${script.hash}`), immutable: true, data: script.files },
            { parent: this },
        );
        // The driver asks the API for its executors, so its pod, alone of the cell's, mounts the account's token; the
        // Role reaches the pods, services, configmaps and claims of the cell's namespace and nothing else.
        const binding = jobAccount(
            name,
            {
                account: LAKEHOUSE_SERVICE_ACCOUNT,
                namespace: args.namespace,
                labels: { ...labels.kubernetes, ...selector },
                annotations: args.identity?.serviceAccountAnnotations,
                resources: ["pods", "services", "configmaps", "persistentvolumeclaims"],
                verbs: ["create", "get", "list", "watch", "update", "patch", "delete", "deletecollection"],
            },
            this,
        );

        const secrets = new SecretFiles(SECRETS);
        const env = [
            {
                name: "LAKEHOUSE",
                value: pulumi
                    .all([args.stores.postgres.connection, args.stores.kafka.connection, args.stores.lake.connection])
                    .apply(([postgres, kafka, lake]) =>
                        JSON.stringify({
                            ...settingsOfConnections({ postgres, kafka, lake }, CA_FILES),
                            runs: { retries: RETRIES.onFailureRetries, retryIntervalSeconds: RETRIES.onFailureRetryInterval },
                        } satisfies LakehouseSettings),
                    ),
            },
            ...secrets.env("POSTGRES_PASSWORD", args.stores.postgres.password),
            ...secrets.env("KAFKA_PASSWORD", args.stores.kafka.password),
            ...secrets.env("OBJECT_STORE_PASSWORD", args.stores.lake.password),
        ];
        const caSources = [secrets.file("postgres.pem", args.stores.postgres.ca), secrets.file("kafka.pem", args.stores.kafka.ca)];
        const secret = secrets.resource(`${name}-secrets`, metadata(SECRETS), { parent: this });

        const jars = pulumi
            .all([args.stores.kafka.connection, args.stores.lake.connection])
            .apply(([kafka, lake]) => jarsFor(kafkaSettingsOf(kafka, CA_FILES.kafka), lake.protocol));
        // On Event Hubs each pod's sidecar keeps the Entra ID token its Kafka client reads.
        const scope = args.identity?.kafkaTokenScope;
        const token =
            scope &&
            entraTokenSidecar(
                name,
                { job: "lakehouse", namespace: args.namespace, labels: { ...labels.kubernetes, ...selector }, scope },
                this,
            );
        const pod = (memory: string, callsApi: boolean) => ({
            template: { spec: { automountServiceAccountToken: callsApi } },
            cores: 1,
            coreLimit: "1",
            memory,
            serviceAccount: LAKEHOUSE_SERVICE_ACCOUNT,
            labels: { ...labels.kubernetes, ...selector, ...args.identity?.podLabels },
            podSecurityContext: nonRootPod(SPARK_UID),
            securityContext: RESTRICTED_CONTAINER,
            ...(token ? { initContainers: [token.container], javaOptions: token.javaOptions } : {}),
            volumeMounts: [
                { name: "script", mountPath: JOBS_DIR, readOnly: true },
                { name: "ca", mountPath: CA_DIR, readOnly: true },
                ...(token ? [token.mount] : []),
            ],
        });
        for (const job of LAKEHOUSE_JOBS) {
            new CustomResource(
                `${name}-${job.name}`,
                {
                    apiVersion: "sparkoperator.k8s.io/v1beta2",
                    kind: "ScheduledSparkApplication",
                    metadata: metadata(`lakehouse-${job.name}`),
                    spec: {
                        schedule: job.schedule,
                        timeZone: "UTC",
                        // A run still going when the next is due is left to finish; the next one reads what it left.
                        concurrencyPolicy: "Forbid",
                        successfulRunHistoryLimit: 3,
                        failedRunHistoryLimit: 3,
                        template: {
                            type: "Python",
                            pythonVersion: "3",
                            mode: "cluster",
                            sparkVersion: SPARK_VERSION,
                            image: IMAGES.spark,
                            mainApplicationFile: `local://${JOBS_DIR}/${path.basename(JOBS_SCRIPT)}`,
                            arguments: [job.name],
                            deps: { jars },
                            restartPolicy: { type: "OnFailure", ...RETRIES },
                            volumes: [
                                { name: "script", configMap: { name: code.metadata.name } },
                                { name: "ca", projected: { sources: caSources.filter((s) => s !== undefined) } },
                                ...(token ? token.volumes : []),
                            ],
                            driver: { ...pod("1g", true), env },
                            executor: { ...pod("2g", false), instances: 2 },
                        },
                    },
                },
                { parent: this, dependsOn: [args.operator, binding, ...(secret ? [secret] : [])] },
            );
        }
        this.registerOutputs({});
    }
}

/** The script and the tables it reads, as a ConfigMap holds them, and a hash of both. */
function scriptFiles(): { files: Record<string, string>; hash: string } {
    const dir = path.dirname(JOBS_SCRIPT);
    const files = Object.fromEntries(
        [path.basename(JOBS_SCRIPT), "tables.json"].map((file) => [file, fs.readFileSync(path.join(dir, file), "utf8")]),
    );
    const hash = createHash("sha256").update(JSON.stringify(files)).digest("hex").slice(0, 12);
    return { files, hash };
}

/** The jobs' jars, MSK IAM's login module where the cell's Kafka signs in with IAM, and Iceberg's Azure client on ADLS. */
function jarsFor(kafka: LakehouseSettings["kafka"], lake: ObjectStoreConnection["protocol"]): string[] {
    const iam = kafka.sasl?.mechanism === "AWS_MSK_IAM" ? [MSK_IAM_JAR] : [];
    const adls = lake === "azblob" ? [ICEBERG_AZURE_JAR] : [];
    return [...LAKEHOUSE_JARS, ...iam, ...adls].map(mavenCentralUrl);
}
