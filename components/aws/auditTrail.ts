import * as cloudwatch from "@pulumi/aws/cloudwatch";
import * as iam from "@pulumi/aws/iam";
import type * as kms from "@pulumi/aws/kms";
import type * as s3 from "@pulumi/aws/s3";
import * as pulumi from "@pulumi/pulumi";
import { auditRetentionDays } from "../../model/audit";
import type { CellContext } from "../platform";
import { privateBucket } from "./privateBucket";

export interface AwsAuditTrailArgs {
    context: CellContext;
    key: kms.Key;
    accountId: pulumi.Input<string>;
}

/**
 * The RDS instance's identifier, fixed so its log groups can exist, encrypted, before RDS would create them plain.
 * RDS refuses two hyphens in a row, which a cell id may have.
 */
export const rdsIdentifierOf = (cellId: string) => `cellplane-${cellId}`.replace(/-{2,}/g, "-");
/** The EKS cluster's name, fixed so its control plane's log group can exist, encrypted and expiring, before EKS would create it with neither. */
export const eksClusterNameOf = (cellId: string) => `cellplane-${cellId}`;
/** The logs RDS PostgreSQL exports to CloudWatch: the server's log (connections, errors) and upgrades. */
export const RDS_LOG_EXPORTS = ["postgresql", "upgrade"];

/**
 * Where a cell records what happened, in its own region and under its own key: CloudWatch log groups for VPC flow
 * logs, MSK's brokers, RDS and EKS's control plane, and a bucket for S3's access logs of the exports. The network, the
 * brokers, the database, the cluster and the exports bucket each send theirs here.
 */
export class AwsAuditTrail extends pulumi.ComponentResource {
    readonly flowLogs: cloudwatch.LogGroup;
    /** The role VPC Flow Logs writes to `flowLogs` as. */
    readonly flowLogsRole: iam.Role;
    readonly brokerLogs: cloudwatch.LogGroup;
    /** RDS's log groups, which the instance waits for. */
    readonly databaseLogs: cloudwatch.LogGroup[];
    /** EKS's control-plane log group, which the cluster waits for. */
    readonly clusterLogs: cloudwatch.LogGroup;
    /** S3 server access logs of the cell's buckets. */
    readonly accessLogsBucket: s3.Bucket;

    constructor(name: string, args: AwsAuditTrailArgs, opts?: pulumi.ComponentResourceOptions) {
        super("cellplane:aws:AuditTrail", name, {}, opts);
        const { cell, production, labels } = args.context;
        const tags = labels.tags;
        const logGroup = (suffix: string, logGroupName: string) =>
            new cloudwatch.LogGroup(
                `${name}-${suffix}`,
                { name: logGroupName, kmsKeyId: args.key.arn, retentionInDays: auditRetentionDays(production), tags },
                { parent: this },
            );

        this.flowLogs = logGroup("vpc-flow-logs", `/cellplane/${cell.id}/vpc-flow-logs`);
        this.brokerLogs = logGroup("msk-brokers", `/cellplane/${cell.id}/msk-brokers`);
        this.databaseLogs = RDS_LOG_EXPORTS.map((log) => logGroup(`rds-${log}`, `/aws/rds/instance/${rdsIdentifierOf(cell.id)}/${log}`));
        this.clusterLogs = logGroup("eks-control-plane", `/aws/eks/${eksClusterNameOf(cell.id)}/cluster`);
        this.flowLogsRole = this.flowLogsWriter(name, args.accountId, tags);

        this.accessLogsBucket = privateBucket(
            `${name}-access-logs`,
            `${name}-access-logs`,
            {
                key: args.key,
                tags,
                production,
                // S3's log delivery writes here, for this account's buckets only.
                statements: (arn) => [
                    {
                        Sid: "S3ServerAccessLogsDelivery",
                        Effect: "Allow",
                        Principal: { Service: "logging.s3.amazonaws.com" },
                        Action: "s3:PutObject",
                        Resource: pulumi.interpolate`${arn}/s3-access/*`,
                        Condition: { StringEquals: { "aws:SourceAccount": args.accountId } },
                    },
                ],
            },
            this,
        );
        this.registerOutputs({ flowLogs: this.flowLogs.name, accessLogsBucket: this.accessLogsBucket.bucket });
    }

    /** A role VPC Flow Logs assumes, for this account only, allowed to write to the flow-log group and nothing else. */
    private flowLogsWriter(name: string, accountId: pulumi.Input<string>, tags: Record<string, string>): iam.Role {
        const role = new iam.Role(
            `${name}-flow-logs`,
            {
                assumeRolePolicy: pulumi.output(accountId).apply((account) =>
                    JSON.stringify({
                        Version: "2012-10-17",
                        Statement: [
                            {
                                Effect: "Allow",
                                Principal: { Service: "vpc-flow-logs.amazonaws.com" },
                                Action: "sts:AssumeRole",
                                Condition: { StringEquals: { "aws:SourceAccount": account } },
                            },
                        ],
                    }),
                ),
                tags,
            },
            { parent: this },
        );
        new iam.RolePolicy(
            `${name}-flow-logs`,
            {
                role: role.id,
                policy: this.flowLogs.arn.apply((arn) =>
                    JSON.stringify({
                        Version: "2012-10-17",
                        Statement: [
                            { Effect: "Allow", Action: ["logs:CreateLogStream", "logs:PutLogEvents"], Resource: [arn, `${arn}:*`] },
                            // Describe calls take no log-group resource.
                            { Effect: "Allow", Action: ["logs:DescribeLogGroups", "logs:DescribeLogStreams"], Resource: "*" },
                        ],
                    }),
                ),
            },
            { parent: this },
        );
        return role;
    }
}
