import type { Residency } from "./residency";

/** The tags every cloud resource of a cell carries, in the order the README documents them. */
export const TAG_KEYS = ["cellplane:cell", "cellplane:residency", "environment", "owner", "cost-center", "managed-by"] as const;
export type TagKey = (typeof TAG_KEYS)[number];

export const MANAGED_BY = "cellplane";

/**
 * Kubernetes label keys cannot contain ':', so each tag becomes a `cellplane.io/` label, and
 * `managed-by` the well-known `app.kubernetes.io/managed-by`.
 */
export function kubernetesLabelKey(tag: TagKey): string {
    if (tag === "managed-by") return "app.kubernetes.io/managed-by";
    return `cellplane.io/${tag.replace(/^cellplane:/, "")}`;
}

/** On what several cells of a cluster share (its operators), in place of `cellplane.io/cell`. */
export const CLUSTER_LABEL = "cellplane.io/cluster";

/** A cell's Kubernetes labels, turned into those of what all the cells of `cluster` share. */
export function sharedByCells(labels: Record<string, string>, cluster: string): Record<string, string> {
    const { [kubernetesLabelKey("cellplane:cell")]: _cell, ...shared } = labels;
    return { ...shared, [CLUSTER_LABEL]: cluster };
}

export interface CellLabels {
    /** AWS and Azure tags. */
    tags: Record<TagKey, string>;
    /** The same values as Kubernetes labels. */
    kubernetes: Record<string, string>;
}

export function cellLabels(args: {
    cell: string;
    residency: Residency;
    environment: string;
    owner: string;
    costCenter: string;
}): CellLabels {
    const tags: Record<TagKey, string> = {
        "cellplane:cell": args.cell,
        "cellplane:residency": args.residency,
        environment: args.environment,
        owner: args.owner,
        "cost-center": args.costCenter,
        "managed-by": MANAGED_BY,
    };
    const kubernetes = Object.fromEntries(TAG_KEYS.map((key) => [kubernetesLabelKey(key), tags[key]]));
    return { tags, kubernetes };
}

/** Resource types of the clouds that take no tags, so they are exempt from the tagging rule. */
export const UNTAGGABLE_TYPES: ReadonlySet<string> = new Set([
    "aws:acm/certificateValidation:CertificateValidation",
    "aws:ec2/routeTableAssociation:RouteTableAssociation",
    "aws:iam/rolePolicy:RolePolicy",
    "aws:iam/rolePolicyAttachment:RolePolicyAttachment",
    "aws:kms/alias:Alias",
    "aws:msk/configuration:Configuration",
    "aws:route53/record:Record",
    "aws:s3/bucketLifecycleConfiguration:BucketLifecycleConfiguration",
    "aws:s3/bucketLogging:BucketLogging",
    "aws:s3/bucketOwnershipControls:BucketOwnershipControls",
    "aws:s3/bucketPolicy:BucketPolicy",
    "aws:s3/bucketPublicAccessBlock:BucketPublicAccessBlock",
    "aws:s3/bucketReplicationConfig:BucketReplicationConfig",
    "aws:s3/bucketServerSideEncryptionConfiguration:BucketServerSideEncryptionConfiguration",
    "aws:s3/bucketVersioning:BucketVersioning",
    "azure-native:authorization:RoleAssignment",
    // The cluster's own definitions, which the cells read and never create.
    "kubernetes:apiextensions.k8s.io/v1:CustomResourceDefinition",
    "azure-native:authorization:PolicyAssignment",
    "azure-native:authorization:PolicyDefinition",
    "azure-native:dbforpostgresql:Database",
    // A server parameter: its args are the server, the name, the value and its source.
    "azure-native:dbforpostgresql:Configuration",
    // A DNS record set has metadata, not tags.
    "azure-native:dns:RecordSet",
    "azure-native:eventhub:ConsumerGroup",
    "azure-native:eventhub:EventHub",
    "azure-native:eventhub:NamespaceAuthorizationRule",
    "azure-native:eventhub:NamespaceNetworkRuleSet",
    "azure-native:managedidentity:FederatedIdentityCredential",
    "azure-native:monitor:DiagnosticSetting",
    "azure-native:network:Subnet",
    "azure-native:storage:BlobContainer",
    "azure-native:storage:ManagementPolicy",
    // A Helm release is not a Kubernetes object; the objects its chart renders carry the chart's labels.
    "kubernetes:helm.sh/v3:Release",
]);
