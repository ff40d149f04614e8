import type * as kms from "@pulumi/aws/kms";
import * as s3 from "@pulumi/aws/s3";
import * as pulumi from "@pulumi/pulumi";

export interface PrivateBucketArgs {
    key: kms.Key;
    tags: Record<string, string>;
    production: boolean;
    /** Statements of the bucket policy beyond refusing plain HTTP, given the bucket's ARN. */
    statements?: (arn: pulumi.Output<string>) => pulumi.Input<object>[];
}

/** A bucket no one outside the account reads: owner-enforced, public access blocked, SSE-KMS with the cell's key, TLS only. */
export function privateBucket(name: string, bucketName: string, args: PrivateBucketArgs, parent: pulumi.Resource): s3.Bucket {
    const bucket = new s3.Bucket(bucketName, { forceDestroy: !args.production, tags: args.tags }, { parent, protect: args.production });
    new s3.BucketOwnershipControls(
        `${name}-ownership`,
        { bucket: bucket.id, rule: { objectOwnership: "BucketOwnerEnforced" } },
        { parent },
    );
    new s3.BucketPublicAccessBlock(
        `${name}-no-public`,
        { bucket: bucket.id, blockPublicAcls: true, blockPublicPolicy: true, ignorePublicAcls: true, restrictPublicBuckets: true },
        { parent },
    );
    new s3.BucketServerSideEncryptionConfiguration(
        `${name}-sse`,
        {
            bucket: bucket.id,
            rules: [
                { applyServerSideEncryptionByDefault: { sseAlgorithm: "aws:kms", kmsMasterKeyId: args.key.arn }, bucketKeyEnabled: true },
            ],
        },
        { parent },
    );
    new s3.BucketPolicy(
        `${name}-tls-only`,
        {
            bucket: bucket.id,
            policy: pulumi.jsonStringify({
                Version: "2012-10-17",
                Statement: [
                    {
                        Sid: "DenyInsecureTransport",
                        Effect: "Deny",
                        Principal: "*",
                        Action: "s3:*",
                        Resource: [bucket.arn, pulumi.interpolate`${bucket.arn}/*`],
                        Condition: { Bool: { "aws:SecureTransport": "false" } },
                    },
                    ...(args.statements?.(bucket.arn) ?? []),
                ],
            }),
        },
        { parent },
    );
    return bucket;
}
