import { VERSIONS } from "../../model/versions";
import * as kms from "@pulumi/aws/kms";
import * as msk from "@pulumi/aws/msk";
import * as pulumi from "@pulumi/pulumi";
import type { KafkaConnection } from "../../model/connections";
import type { CellContext, KafkaApp, KafkaCluster, StoreAccess } from "../platform";
import type { AwsAuditTrail } from "./auditTrail";
import type { AwsNetwork } from "./network";
import { AWS_INSTANCE_TYPES } from "./sizing";

export interface MskKafkaArgs {
    context: CellContext;
    network: AwsNetwork;
    key: kms.Key;
    audit: AwsAuditTrail;
}

export const MSK_KAFKA_VERSION = VERSIONS.msk.version;

/** MSK brokers spread evenly over the cell's AZs, encrypted at rest with the cell's key, TLS only, IAM auth. */
export class MskKafka extends pulumi.ComponentResource implements KafkaCluster {
    readonly cluster: msk.Cluster;
    readonly bootstrapServers: pulumi.Output<string>;
    readonly replicationFactor: number;
    readonly access: Record<KafkaApp, StoreAccess<KafkaConnection>>;
    readonly lakehouse: StoreAccess<KafkaConnection>;
    readonly streaming: StoreAccess<KafkaConnection>;

    constructor(name: string, args: MskKafkaArgs, opts?: pulumi.ComponentResourceOptions) {
        super("cellplane:aws:MskKafka", name, {}, opts);
        const { cell, shape, labels } = args.context;
        const zones = args.network.zoneCount;
        // MSK needs the same number of brokers in every client subnet.
        const brokers = Math.ceil(shape.kafkaBrokers / zones) * zones;
        this.replicationFactor = Math.min(3, brokers);

        const configuration = new msk.Configuration(
            `${name}-config`,
            {
                kafkaVersions: [MSK_KAFKA_VERSION],
                serverProperties: [
                    `default.replication.factor=${this.replicationFactor}`,
                    `min.insync.replicas=${Math.max(1, this.replicationFactor - 1)}`,
                    "auto.create.topics.enable=false",
                    "unclean.leader.election.enable=false",
                ].join("\n"),
            },
            { parent: this },
        );

        this.cluster = new msk.Cluster(
            `${name}-cluster`,
            {
                kafkaVersion: MSK_KAFKA_VERSION,
                numberOfBrokerNodes: brokers,
                brokerNodeGroupInfo: {
                    instanceType: AWS_INSTANCE_TYPES[cell.size].kafkaBroker,
                    clientSubnets: args.network.privateSubnetIds,
                    securityGroups: [args.network.dataSecurityGroup.id],
                    storageInfo: { ebsStorageInfo: { volumeSize: shape.kafkaStorageGb } },
                    connectivityInfo: { publicAccess: { type: "DISABLED" } },
                },
                encryptionInfo: {
                    encryptionAtRestKmsKeyArn: args.key.arn,
                    encryptionInTransit: { clientBroker: "TLS", inCluster: true },
                },
                clientAuthentication: { sasl: { iam: true }, unauthenticated: false },
                configurationInfo: { arn: configuration.arn, revision: configuration.latestRevision },
                loggingInfo: { brokerLogs: { cloudwatchLogs: { enabled: true, logGroup: args.audit.brokerLogs.name } } },
                tags: labels.tags,
            },
            { parent: this },
        );

        this.bootstrapServers = this.cluster.bootstrapBrokersSaslIam;
        // IAM over TLS: each app signs with its pod's identity, whose role allows what that app does.
        const connection = this.bootstrapServers.apply((bootstrap) => ({
            brokers: bootstrap.split(","),
            tls: "system" as const,
            sasl: { mechanism: "oauthbearer" as const, tokens: { from: "aws-msk-iam" as const, region: cell.region } },
        }));
        this.access = { ingest: { connection }, consumer: { connection } };
        this.lakehouse = { connection };
        this.streaming = { connection };
        this.registerOutputs({ bootstrapServers: this.bootstrapServers });
    }
}
