import { VERSIONS } from "../../model/versions";
import { CustomResource } from "@pulumi/kubernetes/apiextensions";
import * as core from "@pulumi/kubernetes/core/v1";
import * as pulumi from "@pulumi/pulumi";
import { cellTopics } from "../../apps/shared/topics";
import { KAFKA_GRANTS, type KafkaGrant, kafkaUserOf } from "../kafkaGrants";
import type { KafkaConnection } from "../../model/connections";
import type { CellContext, KafkaApp, KafkaCluster, KafkaPrincipal, StoreAccess } from "../platform";
import { guaranteed } from "./charts";
import { podMonitor } from "./monitoring";

export interface StrimziKafkaArgs {
    context: CellContext;
    namespace: pulumi.Input<string>;
    /** The cluster's Strimzi operator, which the cell's Kafka resources wait for. */
    operator: pulumi.Resource;
    /** The cluster's monitoring stack: its Prometheus scrapes the brokers' JMX exporter. */
    monitoring: pulumi.Resource;
}

const CLUSTER = "kafka";
const POOL = "nodes";
/** The JMX exporter's settings: an empty rule list exports every MBean, names lower-cased. */
const METRICS_CONFIG = { name: "kafka-metrics", key: "kafka-metrics-config.yml", content: "lowercaseOutputName: true\n" };
/** A grant as a Strimzi `KafkaUser` ACL. */
export const strimziAcl = ({ resourceType, resourceName, operations }: KafkaGrant) => ({
    resource: { type: resourceType, name: resourceName, patternType: "literal" },
    operations,
    host: "*",
});
export const STRIMZI_KAFKA_VERSION = VERSIONS.strimziKafka.version;

/** Kafka in KRaft mode by Strimzi: one `KafkaNodePool` of combined controller/broker nodes. */
export class StrimziKafka extends pulumi.ComponentResource implements KafkaCluster {
    readonly bootstrapServers: pulumi.Output<string>;
    readonly replicationFactor: number;
    readonly access: Record<KafkaApp, StoreAccess<KafkaConnection>>;
    readonly lakehouse: StoreAccess<KafkaConnection>;
    readonly streaming: StoreAccess<KafkaConnection>;

    constructor(name: string, args: StrimziKafkaArgs, opts?: pulumi.ComponentResourceOptions) {
        super("cellplane:kubernetes:StrimziKafka", name, {}, opts);
        const { cell, shape, production, labels } = args.context;
        const nodes = production ? Math.max(3, shape.kafkaBrokers) : shape.kafkaBrokers;
        this.replicationFactor = Math.min(3, nodes);
        const minInSync = Math.max(1, this.replicationFactor - 1);

        const { operator } = args;
        const metrics = new core.ConfigMap(
            `${name}-metrics`,
            {
                metadata: { name: METRICS_CONFIG.name, namespace: args.namespace, labels: labels.kubernetes },
                data: { [METRICS_CONFIG.key]: METRICS_CONFIG.content },
            },
            { parent: this },
        );
        const pool = new CustomResource(
            `${name}-pool`,
            {
                apiVersion: "kafka.strimzi.io/v1",
                kind: "KafkaNodePool",
                metadata: { name: POOL, namespace: args.namespace, labels: { ...labels.kubernetes, "strimzi.io/cluster": CLUSTER } },
                spec: {
                    replicas: nodes,
                    roles: ["controller", "broker"],
                    storage: {
                        type: "jbod",
                        volumes: [
                            {
                                id: 0,
                                type: "persistent-claim",
                                size: `${shape.kafkaStorageGb}Gi`,
                                ...(cell.storageClass ? { class: cell.storageClass } : {}),
                                deleteClaim: false,
                                kraftMetadata: "shared",
                            },
                        ],
                    },
                    resources: guaranteed(shape.pod),
                },
            },
            { parent: this, dependsOn: [operator] },
        );

        const cluster = new CustomResource(
            `${name}-cluster`,
            {
                apiVersion: "kafka.strimzi.io/v1",
                kind: "Kafka",
                metadata: {
                    name: CLUSTER,
                    namespace: args.namespace,
                    // Strimzi 0.48 and later run KRaft with node pools only, so the old opt-in annotations are gone.
                    labels: labels.kubernetes,
                },
                spec: {
                    kafka: {
                        version: STRIMZI_KAFKA_VERSION,
                        listeners: [{ name: "tls", port: 9093, type: "internal", tls: true, authentication: { type: "scram-sha-512" } }],
                        authorization: { type: "simple" },
                        // Each broker serves the JMX exporter on its port `tcp-prometheus` (9404).
                        metricsConfig: {
                            type: "jmxPrometheusExporter",
                            valueFrom: { configMapKeyRef: { name: metrics.metadata.name, key: METRICS_CONFIG.key } },
                        },
                        config: {
                            "default.replication.factor": this.replicationFactor,
                            "min.insync.replicas": minInSync,
                            "offsets.topic.replication.factor": this.replicationFactor,
                            "transaction.state.log.replication.factor": this.replicationFactor,
                            "transaction.state.log.min.isr": minInSync,
                            "auto.create.topics.enable": false,
                        },
                    },
                    entityOperator: { topicOperator: {}, userOperator: {} },
                },
            },
            { parent: this, dependsOn: [operator, pool] },
        );

        podMonitor(
            `${name}-monitor`,
            {
                context: args.context,
                namespace: args.namespace,
                job: "kafka",
                selector: { "strimzi.io/cluster": CLUSTER, "strimzi.io/pool-name": POOL },
                port: "tcp-prometheus",
                monitoring: args.monitoring,
            },
            { parent: this },
        );

        // `<cluster>-kafka-bootstrap.<namespace>.svc` is among the names of the certificate the cluster CA gives the brokers.
        this.bootstrapServers = pulumi.interpolate`${CLUSTER}-kafka-bootstrap.${args.namespace}.svc:9093`;
        const member = (resourceName: string) => ({
            name: resourceName,
            namespace: args.namespace,
            labels: { ...labels.kubernetes, "strimzi.io/cluster": CLUSTER },
        });
        // The Topic Operator makes the topics: auto-creation is off.
        const topics = cellTopics().map(
            ({ topic, partitions, retentionDays }) =>
                new CustomResource(
                    `${name}-topic-${topic}`,
                    {
                        apiVersion: "kafka.strimzi.io/v1",
                        kind: "KafkaTopic",
                        metadata: member(topic),
                        spec: { partitions, replicas: this.replicationFactor, config: { "retention.ms": retentionDays * 86_400_000 } },
                    },
                    { parent: this, dependsOn: [cluster] },
                ),
        );
        // A SCRAM user per app, whose password the User Operator keeps in a Secret of the user's name.
        const accessFor = (app: KafkaPrincipal): StoreAccess<KafkaConnection> => {
            new CustomResource(
                `${name}-user-${app}`,
                {
                    apiVersion: "kafka.strimzi.io/v1",
                    kind: "KafkaUser",
                    metadata: member(kafkaUserOf(app)),
                    spec: {
                        authentication: { type: "scram-sha-512" },
                        authorization: { type: "simple", acls: KAFKA_GRANTS[app].map(strimziAcl) },
                    },
                },
                { parent: this, dependsOn: topics },
            );
            return {
                connection: this.bootstrapServers.apply((brokers) => ({
                    brokers: [brokers],
                    tls: "ca" as const,
                    sasl: { mechanism: "scram-sha-512" as const, username: kafkaUserOf(app) },
                })),
                ca: { secretKeyRef: { name: `${CLUSTER}-cluster-ca-cert`, key: "ca.crt" } },
                password: { secretKeyRef: { name: kafkaUserOf(app), key: "password" } },
            };
        };
        this.access = { ingest: accessFor("ingest"), consumer: accessFor("consumer") };
        this.lakehouse = accessFor("lakehouse");
        this.streaming = accessFor("streaming");
        this.registerOutputs({ bootstrapServers: this.bootstrapServers });
    }
}
