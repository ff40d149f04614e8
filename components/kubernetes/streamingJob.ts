import { CustomResource } from "@pulumi/kubernetes/apiextensions";
import * as core from "@pulumi/kubernetes/core/v1";
import * as pulumi from "@pulumi/pulumi";
import { createHash } from "crypto";
import {
    FLINK_VERSION,
    mavenCentralUrl,
    MSK_IAM_STANDALONE_JAR,
    SQL_DRIVER,
    SQL_GATEWAY_JAR,
    STREAMING_JARS,
} from "../../apps/lakehouse/engines";
import { kafkaSettingsOf } from "../../apps/lakehouse/jobs";
import { KAFKA_PASSWORD_ENV, type StreamingSettings, streamingScript } from "../../apps/lakehouse/streaming";
import type { KafkaConnection } from "../../model/connections";
import type { CellContext, StoreAccess } from "../platform";
import { IMAGES } from "./charts";
import { CA_DIR } from "./lakehouseJobs";
import { entraTokenSidecar, type JobIdentity } from "./entraTokenSidecar";
import { jobAccount } from "./jobAccount";
import { nonRootPod, RESTRICTED_CONTAINER } from "./nonRoot";
import { SecretFiles } from "./secretFiles";

export interface StreamingJobArgs {
    context: CellContext;
    /** The cell's jobs namespace, which the cluster's Flink operator watches. */
    namespace: pulumi.Input<string>;
    kafka: StoreAccess<KafkaConnection>;
    /** The cluster's Flink operator: its CRDs must exist first. */
    operator: pulumi.Resource;
    /** The cloud identity the job's pods take, where Kafka is reached with one (AKS). */
    identity?: JobIdentity;
}

/** The ServiceAccount the job's pods run as: what a cloud binds the job's Kafka identity to. */
export const STREAMING_SERVICE_ACCOUNT = "cellplane-streaming";
/** The `flink` user of the official Flink image. */
const FLINK_UID = 9999;
const SCRIPT_DIR = "/opt/cellplane/streaming";
const SCRIPT_FILE = "streaming.sql";
const KAFKA_CA = `${CA_DIR}/kafka.pem`;
const SECRETS = "streaming-secrets";
/** The container the operator runs Flink in: a pod template's container of this name is merged into it. */
const FLINK_CONTAINER = "flink-main-container";

/** The FlinkDeployment's `flinkVersion`: the operator's enum (v2_2 for Flink 2.2). */
export const flinkVersionOf = (version: string) => `v${version.split(".").slice(0, 2).join("_")}`;

/**
 * The cell's streaming job on its cluster: one FlinkDeployment in application mode, whose JobManager runs Flink's SQL
 * driver on the script every target runs (`apps/lakehouse/streaming.ts`), from an immutable ConfigMap named after its
 * hash. No image is built: the official Flink image fetches the Kafka connector and client from Maven Central
 * (`user.artifacts.artifact-list`). Stateless upgrades: the job resumes from its group's committed offsets. The
 * Kafka password comes from a Secret into the environment, where the Kafka client's config provider reads it.
 */
export class StreamingJob extends pulumi.ComponentResource {
    constructor(name: string, args: StreamingJobArgs, opts?: pulumi.ComponentResourceOptions) {
        super("cellplane:kubernetes:StreamingJob", name, {}, opts);
        const { labels, cell, environment } = args.context;
        const selector = { "app.kubernetes.io/name": "streaming", "app.kubernetes.io/part-of": "cellplane" };
        const metadata = (resourceName: pulumi.Input<string>) => ({
            name: resourceName,
            namespace: args.namespace,
            labels: { ...labels.kubernetes, ...selector },
        });

        const settings = pulumi.output(args.kafka.connection).apply((connection): StreamingSettings => ({
            kafka: kafkaSettingsOf(connection, KAFKA_CA),
            cell: { region: cell.region, environment },
        }));
        const script = settings.apply(streamingScript);
        const code = new core.ConfigMap(
            `${name}-script`,
            {
                metadata: metadata(script.apply((text) => `streaming-${createHash("sha256").update(text).digest("hex").slice(0, 12)}`)),
                immutable: true,
                data: { [SCRIPT_FILE]: script },
            },
            { parent: this },
        );
        // In native mode the JobManager makes its TaskManagers' pods and a ConfigMap of their configuration; so its
        // pod, alone of the job's, mounts the account's token.
        const binding = jobAccount(
            name,
            {
                account: STREAMING_SERVICE_ACCOUNT,
                namespace: args.namespace,
                labels: { ...labels.kubernetes, ...selector },
                annotations: args.identity?.serviceAccountAnnotations,
                resources: ["pods", "configmaps"],
                verbs: ["create", "get", "list", "watch", "update", "patch", "delete"],
            },
            this,
        );

        const secrets = new SecretFiles(SECRETS);
        const env = secrets.env(KAFKA_PASSWORD_ENV, args.kafka.password);
        const ca = secrets.file("kafka.pem", args.kafka.ca);
        const secret = secrets.resource(`${name}-secrets`, metadata(SECRETS), { parent: this });
        // On Event Hubs each pod's sidecar keeps the Entra ID token its Kafka client reads.
        const scope = args.identity?.kafkaTokenScope;
        const token =
            scope &&
            entraTokenSidecar(
                name,
                { job: "streaming", namespace: args.namespace, labels: { ...labels.kubernetes, ...selector }, scope },
                this,
            );
        // The operator merges each component's pod template over the deployment's.
        const podTemplate = {
            metadata: { labels: { ...labels.kubernetes, ...selector, ...args.identity?.podLabels } },
            spec: {
                securityContext: nonRootPod(FLINK_UID),
                ...(token ? { initContainers: [token.container] } : {}),
                containers: [
                    {
                        name: FLINK_CONTAINER,
                        env,
                        securityContext: RESTRICTED_CONTAINER,
                        volumeMounts: [
                            { name: "script", mountPath: SCRIPT_DIR, readOnly: true },
                            ...(ca ? [{ name: "ca", mountPath: CA_DIR, readOnly: true }] : []),
                            ...(token ? [token.mount] : []),
                        ],
                    },
                ],
                volumes: [
                    { name: "script", configMap: { name: code.metadata.name } },
                    ...(ca ? [{ name: "ca", projected: { sources: [ca] } }] : []),
                    ...(token ? token.volumes : []),
                ],
            },
        };
        const tokenMounted = (callsApi: boolean) => ({ spec: { automountServiceAccountToken: callsApi } });
        const resources = (cpu: string, memory: string) => ({ requests: { cpu, memory }, limits: { cpu, memory } });
        new CustomResource(
            `${name}-deployment`,
            {
                apiVersion: "flink.apache.org/v1beta1",
                kind: "FlinkDeployment",
                metadata: metadata("streaming"),
                spec: {
                    image: IMAGES.flink,
                    flinkVersion: flinkVersionOf(FLINK_VERSION),
                    mode: "native",
                    serviceAccount: STREAMING_SERVICE_ACCOUNT,
                    podTemplate,
                    flinkConfiguration: {
                        "taskmanager.numberOfTaskSlots": "2",
                        "user.artifacts.artifact-list": settings.apply((s) => artifactsFor(s.kafka).join(";")),
                        ...(token ? { "env.java.opts.all": token.javaOptions } : {}),
                    },
                    jobManager: { replicas: 1, resources: resources("500m", "1Gi"), podTemplate: tokenMounted(true) },
                    taskManager: { replicas: 1, resources: resources("1", "2Gi"), podTemplate: tokenMounted(false) },
                    job: {
                        jarURI: `local:///opt/flink/lib/flink-table-runtime-${FLINK_VERSION}.jar`,
                        entryClass: SQL_DRIVER,
                        args: ["--scriptUri", `file://${SCRIPT_DIR}/${SCRIPT_FILE}`],
                        parallelism: 1,
                        upgradeMode: "stateless",
                        state: "running",
                    },
                },
            },
            { parent: this, dependsOn: [args.operator, binding, ...(secret ? [secret] : [])] },
        );
        this.registerOutputs({});
    }
}

/** The jars the job fetches: the connector, its client and the SQL gateway, and MSK IAM's login module on MSK. */
export function artifactsFor(kafka: StreamingSettings["kafka"]): string[] {
    const iam = kafka.sasl?.mechanism === "AWS_MSK_IAM" ? [MSK_IAM_STANDALONE_JAR] : [];
    return [...STREAMING_JARS, SQL_GATEWAY_JAR, ...iam].map(mavenCentralUrl);
}
