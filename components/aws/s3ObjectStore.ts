import * as kms from "@pulumi/aws/kms";
import * as s3 from "@pulumi/aws/s3";
import * as pulumi from "@pulumi/pulumi";
import type { ObjectStoreConnection, S3Connection } from "../../model/connections";
import type { CellContext, ObjectStore, StoreAccess } from "../platform";
import { lifecycleTiers, S3_CLASSES } from "../retention";
import { privateBucket } from "./privateBucket";
import { COLD_DISK_PREFIX, type ColdDisk } from "../coldStorage";
import { WAREHOUSE_PREFIX } from "../../apps/lakehouse/jobs";

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
    /** The lakehouse's Iceberg warehouse. */
    readonly lakeBucket: s3.Bucket;
    readonly lake: StoreAccess<S3Connection>;
    readonly coldDisk: pulumi.Output<ColdDisk>;
    /** The lake as the cell's ClickHouse reads it, with its pods' role. */
    readonly lakeWarehouse: pulumi.Output<string>;
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
        // ClickHouse's cold volume, whose parts ClickHouse alone writes and removes, and the lake, whose files Iceberg
        // alone writes and expires (its snapshots are their versions).
        this.coldBucket = unexpiringBucket(`${name}-cold`, `${cell.id}-analytics-cold`, `${name}-analytics-cold`, args, this);
        this.lakeBucket = unexpiringBucket(`${name}-lake`, `${cell.id}-lake`, `${name}-lake`, args, this);
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
        this.lakeWarehouse = this.lakeBucket.bucket.apply(
            (lakeBucket) => `https://${lakeBucket}.s3.${cell.region}.amazonaws.com/${WAREHOUSE_PREFIX}`,
        );
        this.lake = {
            connection: this.lakeBucket.bucket.apply((lakeBucket) => ({
                protocol: "s3" as const,
                endpoint: `https://s3.${cell.region}.amazonaws.com`,
                bucket: lakeBucket,
                region: cell.region,
                credentials: { from: "identity" as const },
            })),
        };
        this.registerOutputs({ bucket: this.bucket, endpoint: this.endpoint });
    }
}

/**
 * A bucket whose objects one program alone writes and removes: access-logged, with no versions, tiers or expiry (an
 * archived or expired object would be one a table can no longer read).
 */
function unexpiringBucket(name: string, logName: string, bucketName: string, args: S3ObjectStoreArgs, parent: pulumi.Resource): s3.Bucket {
    const { labels, production } = args.context;
    const bucket = privateBucket(name, bucketName, { key: args.key, tags: labels.tags, production }, parent);
    new s3.BucketLogging(
        `${name}-access-logs`,
        { bucket: bucket.id, targetBucket: args.accessLogs.bucket, targetPrefix: `s3-access/${logName}/` },
        { parent },
    );
    new s3.BucketLifecycleConfiguration(
        `${name}-lifecycle`,
        {
            bucket: bucket.id,
            rules: [
                {
                    id: "abort-incomplete-uploads",
                    status: "Enabled",
                    filter: {},
                    abortIncompleteMultipartUpload: { daysAfterInitiation: 7 },
                },
            ],
        },
        { parent },
    );
    return bucket;
}
