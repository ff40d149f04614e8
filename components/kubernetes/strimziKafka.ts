import { CustomResource } from "@pulumi/kubernetes/apiextensions";
import * as pulumi from "@pulumi/pulumi";
import type { CellContext, KafkaCluster } from "../platform";
import { guaranteed, helmRelease, OPERATOR_RESOURCES } from "./charts";

export interface StrimziKafkaArgs {
    context: CellContext;
    namespace: pulumi.Input<string>;
    operatorNamespace: pulumi.Input<string>;
}

const CLUSTER = "kafka";
export const STRIMZI_KAFKA_VERSION = "3.9.0";

/** Kafka in KRaft mode by Strimzi: one `KafkaNodePool` of combined controller/broker nodes. */
export class StrimziKafka extends pulumi.ComponentResource implements KafkaCluster {
    readonly bootstrapServers: pulumi.Output<string>;
    readonly replicationFactor: number;

    constructor(name: string, args: StrimziKafkaArgs, opts?: pulumi.ComponentResourceOptions) {
        super("cellplane:kubernetes:StrimziKafka", name, {}, opts);
        const { shape, production, labels } = args.context;
        const nodes = production ? Math.max(3, shape.kafkaBrokers) : shape.kafkaBrokers;
        this.replicationFactor = Math.min(3, nodes);
        const minInSync = Math.max(1, this.replicationFactor - 1);

        const operator = helmRelease(
            `${name}-operator`,
            {
                chart: "strimzi",
                namespace: args.operatorNamespace,
                values: { watchNamespaces: [args.namespace], resources: OPERATOR_RESOURCES },
            },
            { parent: this },
        );

        const pool = new CustomResource(
            `${name}-pool`,
            {
                apiVersion: "kafka.strimzi.io/v1beta2",
                kind: "KafkaNodePool",
                metadata: { name: "nodes", namespace: args.namespace, labels: { ...labels.kubernetes, "strimzi.io/cluster": CLUSTER } },
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

        new CustomResource(
            `${name}-cluster`,
            {
                apiVersion: "kafka.strimzi.io/v1beta2",
                kind: "Kafka",
                metadata: {
                    name: CLUSTER,
                    namespace: args.namespace,
                    labels: labels.kubernetes,
                    annotations: { "strimzi.io/node-pools": "enabled", "strimzi.io/kraft": "enabled" },
                },
                spec: {
                    kafka: {
                        version: STRIMZI_KAFKA_VERSION,
                        listeners: [{ name: "tls", port: 9093, type: "internal", tls: true }],
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

        this.bootstrapServers = pulumi.interpolate`${CLUSTER}-kafka-bootstrap.${args.namespace}.svc.cluster.local:9093`;
        this.registerOutputs({ bootstrapServers: this.bootstrapServers });
    }
}
