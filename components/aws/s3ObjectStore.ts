import * as kms from "@pulumi/aws/kms";
import * as s3 from "@pulumi/aws/s3";
import * as pulumi from "@pulumi/pulumi";
import type { ObjectStoreConnection } from "../../model/connections";
import type { CellContext, ObjectStore, StoreAccess } from "../platform";
import { lifecycleTiers, S3_CLASSES } from "../retention";
import { privateBucket } from "./privateBucket";
import { COLD_DISK_PREFIX, type ColdDisk } from "../coldStorage";

export interface S3ObjectStoreArgs {
    context: CellContext;
    key: kms.Key;
    /** Where S3 delivers the bucket's access logs: the cell's audit bucket. */
    accessLogs: { bucket: pulumi.Input<string> };
}

/** The cell's Parquet exports: SSE-KMS, no public access, versioned, TLS only, access-logged, tiered by age (seed 002 §3.4.3). */
export class S3ObjectStore extends pulumi.ComponentResource implements ObjectStore {
    readonly bucketResource: s3.Bucket;
    /** ClickHouse's cold volume. */
    readonly coldBucket: s3.Bucket;
    readonly coldDisk: pulumi.Output<ColdDisk>;
    readonly bucket: pulumi.Output<string>;
    readonly endpoint: pulumi.Output<string>;
    readonly access: StoreAccess<ObjectStoreConnection>;

    constructor(name: string, args: S3ObjectStoreArgs, opts?: pulumi.ComponentResourceOptions) {
        super("cellplane:aws:S3ObjectStore", name, {}, opts);
        const { cell, production, retentionDays, labels } = args.context;
        const parent = { parent: this };

        const bucket = privateBucket(name, `${name}-exports`, { key: args.key, tags: labels.tags, production }, this);
        this.bucketResource = bucket;
        // Every request on the exports is recorded in the cell's audit bucket.
        new s3.BucketLogging(
            `${name}-access-logs`,
            { bucket: bucket.id, targetBucket: args.accessLogs.bucket, targetPrefix: `s3-access/${cell.id}-exports/` },
            parent,
        );
        new s3.BucketVersioning(`${name}-versioning`, { bucket: bucket.id, versioningConfiguration: { status: "Enabled" } }, parent);

        const tiers = lifecycleTiers(retentionDays);
        new s3.BucketLifecycleConfiguration(
            `${name}-lifecycle`,
            {
                bucket: bucket.id,
                rules: [
                    {
                        id: "tier-and-expire-exports",
                        status: "Enabled",
                        filter: {},
                        transitions: tiers.transitions.map((t) => ({ days: t.afterDays, storageClass: S3_CLASSES[t.tier] })),
                        expiration: { days: tiers.expireAfterDays },
                        noncurrentVersionExpiration: { noncurrentDays: 30 },
                        abortIncompleteMultipartUpload: { daysAfterInitiation: 7 },
                    },
                    {
                        id: "delete-temp-files",
                        status: "Enabled",
                        filter: { prefix: "temp/" },
                        expiration: { days: tiers.tempExpireAfterDays },
                    },
                ],
            },
            parent,
        );
        // The parts of ClickHouse's cold volume, which ClickHouse alone writes and removes: no versions, no tiers, no
        // expiry (an archived or expired object would be a part the table can no longer read).
        this.coldBucket = privateBucket(`${name}-cold`, `${name}-analytics-cold`, { key: args.key, tags: labels.tags, production }, this);
        new s3.BucketLogging(
            `${name}-cold-access-logs`,
            { bucket: this.coldBucket.id, targetBucket: args.accessLogs.bucket, targetPrefix: `s3-access/${cell.id}-analytics-cold/` },
            parent,
        );
        new s3.BucketLifecycleConfiguration(
            `${name}-cold-lifecycle`,
            {
                bucket: this.coldBucket.id,
                rules: [
                    {
                        id: "abort-incomplete-uploads",
                        status: "Enabled",
                        filter: {},
                        abortIncompleteMultipartUpload: { daysAfterInitiation: 7 },
                    },
                ],
            },
            parent,
        );
        this.coldDisk = this.coldBucket.bucket.apply((coldBucket): ColdDisk => ({
            kind: "s3",
            endpoint: `https://${coldBucket}.s3.${cell.region}.amazonaws.com/${COLD_DISK_PREFIX}`,
            region: cell.region,
        }));
        this.bucket = bucket.bucket;
        this.endpoint = pulumi.output(`https://s3.${cell.region}.amazonaws.com`);
        // No keys: ClickHouse writes with its pod's role (SSE-KMS needs kms:GenerateDataKey on the cell's key too).
        this.access = {
            connection: pulumi.output({
                protocol: "s3" as const,
                endpoint: this.endpoint,
                bucket: this.bucket,
                region: cell.region,
                credentials: { from: "identity" as const },
            }),
        };
        this.registerOutputs({ bucket: this.bucket, endpoint: this.endpoint });
    }
}
