import * as eks from "@pulumi/aws/eks";
import * as iam from "@pulumi/aws/iam";
import * as pulumi from "@pulumi/pulumi";
import type { CellContext, KafkaPrincipal } from "../platform";
import { KAFKA_GRANTS, type KafkaGrant } from "../kafkaGrants";

/** MSK's IAM actions for each Kafka operation of a grant (MSK IAM access control). */
const MSK_ACTIONS: Record<KafkaGrant["resourceType"], Record<KafkaGrant["operations"][number], string[]>> = {
    topic: {
        Read: ["kafka-cluster:ReadData"],
        Write: ["kafka-cluster:WriteData"],
        Describe: ["kafka-cluster:DescribeTopic"],
    },
    group: {
        Read: ["kafka-cluster:AlterGroup"],
        Write: ["kafka-cluster:AlterGroup"],
        Describe: ["kafka-cluster:DescribeGroup"],
    },
};

/**
 * The ARN of a topic or group of the MSK cluster: MSK names them after the cluster's ARN,
 * `arn:aws:kafka:<region>:<account>:topic/<cluster name>/<cluster uuid>/<topic>`.
 */
const resourceArn = (clusterArn: string, type: KafkaGrant["resourceType"], name: string) =>
    `${clusterArn.replace(":cluster/", `:${type}/`)}/${name}`;

/** The IAM policy of an app's role on the cell's MSK cluster: its grants, and connecting and idempotent writes. */
export function mskPolicy(clusterArn: string, app: KafkaPrincipal): object {
    const grants = KAFKA_GRANTS[app];
    const writes = grants.some((g) => g.resourceType === "topic" && g.operations.includes("Write"));
    return {
        Version: "2012-10-17",
        Statement: [
            {
                Effect: "Allow",
                Action: [
                    "kafka-cluster:Connect",
                    "kafka-cluster:DescribeCluster",
                    ...(writes ? ["kafka-cluster:WriteDataIdempotently"] : []),
                ],
                Resource: clusterArn,
            },
            ...grants.map((grant) => ({
                Effect: "Allow",
                Action: [...new Set(grant.operations.flatMap((operation) => MSK_ACTIONS[grant.resourceType][operation]))],
                Resource: resourceArn(clusterArn, grant.resourceType, grant.resourceName),
            })),
            // The consumer makes the topics MSK does not (`ensureTopics`): MSK's auto-creation is off.
            ...(app === "consumer"
                ? [{ Effect: "Allow", Action: ["kafka-cluster:CreateTopic"], Resource: resourceArn(clusterArn, "topic", "*") }]
                : []),
        ],
    };
}

/**
 * What ClickHouse needs: to write the cell's exports (the exports bucket's objects), to keep its cold volume (the cold
 * bucket's objects, which it also removes when a part is merged or dropped), and the cell's key for SSE-KMS.
 */
export function clickhousePolicy(buckets: { exports: string; cold: string; lake: string }, keyArn: string): object {
    return {
        Version: "2012-10-17",
        Statement: [
            { Effect: "Allow", Action: ["s3:PutObject", "s3:GetObject", "s3:AbortMultipartUpload"], Resource: `${buckets.exports}/*` },
            {
                Effect: "Allow",
                Action: ["s3:PutObject", "s3:GetObject", "s3:DeleteObject", "s3:AbortMultipartUpload"],
                Resource: `${buckets.cold}/*`,
            },
            // The lake, which its tenants query through ClickHouse: read only, Spark alone writes it.
            { Effect: "Allow", Action: ["s3:GetObject"], Resource: `${buckets.lake}/*` },
            { Effect: "Allow", Action: ["s3:ListBucket"], Resource: [buckets.exports, buckets.cold, buckets.lake] },
            { Effect: "Allow", Action: ["kms:GenerateDataKey", "kms:Decrypt"], Resource: keyArn },
        ],
    };
}

/**
 * What the export app needs to sign its tenants' download URLs: a presigned URL can do what its signer may, so the
 * signer may read the tenants' files (and decrypt them with the cell's key) and nothing more.
 */
export function downloadsPolicy(bucketArn: string, keyArn: string): object {
    return {
        Version: "2012-10-17",
        Statement: [
            { Effect: "Allow", Action: ["s3:GetObject"], Resource: `${bucketArn}/tenant=*` },
            { Effect: "Allow", Action: ["kms:Decrypt"], Resource: keyArn },
        ],
    };
}

/**
 * What the lakehouse jobs need: to read the events topic (their MSK grants), to keep the lake's files (Iceberg
 * writes new files and removes expired ones), and the cell's key for SSE-KMS.
 */
export function lakehousePolicy(clusterArn: string, lakeBucketArn: string, keyArn: string): object {
    const msk = mskPolicy(clusterArn, "lakehouse") as { Statement: object[] };
    return {
        Version: "2012-10-17",
        Statement: [
            ...msk.Statement,
            {
                Effect: "Allow",
                Action: ["s3:PutObject", "s3:GetObject", "s3:DeleteObject", "s3:AbortMultipartUpload"],
                Resource: `${lakeBucketArn}/*`,
            },
            { Effect: "Allow", Action: ["s3:ListBucket"], Resource: lakeBucketArn },
            { Effect: "Allow", Action: ["kms:GenerateDataKey", "kms:Decrypt"], Resource: keyArn },
        ],
    };
}

export interface AppPodIdentityArgs {
    context: CellContext;
    clusterName: pulumi.Input<string>;
    namespace: pulumi.Input<string>;
    serviceAccount: string;
    /** The role's permissions, as an IAM policy document. */
    policy: pulumi.Input<object>;
}

/** An IAM role that an app's ServiceAccount assumes through EKS Pod Identity, with only the given permissions. */
export class AppPodIdentity extends pulumi.ComponentResource {
    readonly role: iam.Role;

    constructor(name: string, args: AppPodIdentityArgs, opts?: pulumi.ComponentResourceOptions) {
        super("cellplane:aws:AppPodIdentity", name, {}, opts);
        const tags = args.context.labels.tags;
        this.role = new iam.Role(
            `${name}-role`,
            {
                assumeRolePolicy: JSON.stringify({
                    Version: "2012-10-17",
                    Statement: [
                        {
                            Effect: "Allow",
                            Principal: { Service: "pods.eks.amazonaws.com" },
                            Action: ["sts:AssumeRole", "sts:TagSession"],
                        },
                    ],
                }),
                tags,
            },
            { parent: this },
        );
        new iam.RolePolicy(
            `${name}-policy`,
            { role: this.role.id, policy: pulumi.output(args.policy).apply((policy) => JSON.stringify(policy)) },
            { parent: this },
        );
        new eks.PodIdentityAssociation(
            `${name}-association`,
            { clusterName: args.clusterName, namespace: args.namespace, serviceAccount: args.serviceAccount, roleArn: this.role.arn, tags },
            { parent: this },
        );
        this.registerOutputs({ roleArn: this.role.arn });
    }
}
