import { getCallerIdentityOutput } from "@pulumi/aws/getCallerIdentity";
import * as kms from "@pulumi/aws/kms";
import * as pulumi from "@pulumi/pulumi";
import type { CellContext } from "../platform";

/**
 * The cell key's policy. The account administers it (so IAM policies grant the cell's roles its use); CloudWatch
 * Logs may use it for this account's log groups in the cell's region, and S3 for the access logs it delivers here.
 */
export function cellKeyPolicy(accountId: string, region: string): object {
    return {
        Version: "2012-10-17",
        Statement: [
            {
                Sid: "AccountAdministersTheKey",
                Effect: "Allow",
                Principal: { AWS: `arn:aws:iam::${accountId}:root` },
                Action: "kms:*",
                Resource: "*",
            },
            {
                Sid: "CloudWatchLogsEncryptsTheCellsLogGroups",
                Effect: "Allow",
                Principal: { Service: `logs.${region}.amazonaws.com` },
                Action: ["kms:Encrypt*", "kms:Decrypt*", "kms:ReEncrypt*", "kms:GenerateDataKey*", "kms:Describe*"],
                Resource: "*",
                Condition: { ArnLike: { "kms:EncryptionContext:aws:logs:arn": `arn:aws:logs:${region}:${accountId}:log-group:*` } },
            },
            {
                Sid: "S3DeliversAccessLogsEncrypted",
                Effect: "Allow",
                Principal: { Service: "logging.s3.amazonaws.com" },
                Action: ["kms:GenerateDataKey*"],
                Resource: "*",
                Condition: { StringEquals: { "aws:SourceAccount": accountId } },
            },
        ],
    };
}

/** The cell's customer-managed key: Postgres, Kafka, exports, Kubernetes secrets, volumes and the audit trail. */
export function cellKey(context: CellContext, opts: pulumi.CustomResourceOptions): { key: kms.Key; accountId: pulumi.Output<string> } {
    const { cell, labels } = context;
    const accountId = getCallerIdentityOutput({}, opts).accountId;
    const key = new kms.Key(
        `${cell.id}-key`,
        {
            description: `Cellplane ${cell.id}: encryption of Postgres, Kafka, exports, Kubernetes secrets and audit logs`,
            enableKeyRotation: true,
            deletionWindowInDays: 30,
            policy: accountId.apply((account) => JSON.stringify(cellKeyPolicy(account, cell.region))),
            tags: labels.tags,
        },
        opts,
    );
    new kms.Alias(`${cell.id}-key`, { name: `alias/cellplane-${cell.id}`, targetKeyId: key.keyId }, opts);
    return { key, accountId };
}
