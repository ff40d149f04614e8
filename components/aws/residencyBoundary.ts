import * as iam from "@pulumi/aws/iam";
import * as pulumi from "@pulumi/pulumi";
import { regionsOf, Residency } from "../../model/residency";
import type { CellContext } from "../platform";

/** Services with one global endpoint (in us-east-1) that every account needs: a region condition would lock them out. */
export const GLOBAL_SERVICES = ["iam:*", "sts:*", "organizations:*", "route53:*", "cloudfront:*", "support:*", "health:*"];

/** The actions that copy data to another region: replication, cross-region backups, read replicas and snapshot copies. */
export const REPLICATION_ACTIONS = [
    "s3:PutReplicationConfiguration",
    "s3:ReplicateObject",
    "s3:ReplicateDelete",
    "s3:ReplicateTags",
    "rds:CreateDBInstanceReadReplica",
    "rds:StartDBInstanceAutomatedBackupsReplication",
    "rds:CopyDBSnapshot",
    "kafka:CreateReplicator",
    "kms:ReplicateKey",
    "ec2:CopySnapshot",
    "ec2:CopyImage",
    "backup:StartCopyJob",
];

/**
 * A permissions boundary: the most any role of the cell may do, whatever its own policies grant. Everything, except
 * outside the residency's regions (the global services aside) and any action that copies data to another region.
 */
export function residencyBoundaryDocument(residency: Residency) {
    return {
        Version: "2012-10-17",
        Statement: [
            { Sid: "WithinTheBoundary", Effect: "Allow", Action: "*", Resource: "*" },
            {
                Sid: "DenyRegionsOutsideResidency",
                Effect: "Deny",
                NotAction: GLOBAL_SERVICES,
                Resource: "*",
                Condition: { StringNotEquals: { "aws:RequestedRegion": [...regionsOf(residency, "aws")] } },
            },
            { Sid: "DenyCopiesToOtherRegions", Effect: "Deny", Action: REPLICATION_ACTIONS, Resource: "*" },
        ],
    };
}

/**
 * The cell's residency guardrail in AWS: a permissions boundary policy that `withResidencyBoundary` sets on every IAM
 * role the cell creates, so neither a role's own policy nor a credential leaked from a pod can act in another region.
 * (An SCP or RCP does the same for a whole account, where the platform owns the organization.)
 */
export class ResidencyBoundary extends pulumi.ComponentResource {
    readonly policy: iam.Policy;

    constructor(name: string, args: { context: CellContext }, opts: pulumi.ComponentResourceOptions) {
        super("cellplane:aws:ResidencyBoundary", name, {}, opts);
        const { cell, labels } = args.context;
        this.policy = new iam.Policy(
            `${name}-policy`,
            {
                description: `Cellplane: what roles of cell ${cell.id} may do at most: residency ${cell.residency}'s regions only, no copies elsewhere`,
                policy: JSON.stringify(residencyBoundaryDocument(cell.residency)),
                tags: labels.tags,
            },
            { parent: this },
        );
        this.registerOutputs({ arn: this.policy.arn });
    }

    /** A transformation giving every IAM role below the resource it is set on this boundary. */
    transformation(): pulumi.ResourceTransformation {
        const arn = this.policy.arn;
        return (args) =>
            args.type === "aws:iam/role:Role" ? { props: { ...args.props, permissionsBoundary: arn }, opts: args.opts } : undefined;
    }
}
