import {
    CreateBucketCommand,
    DeleteBucketCommand,
    DeleteObjectsCommand,
    GetBucketEncryptionCommand,
    GetBucketLifecycleConfigurationCommand,
    GetBucketTaggingCommand,
    GetBucketVersioningCommand,
    HeadBucketCommand,
    ListObjectVersionsCommand,
    PutBucketEncryptionCommand,
    PutBucketVersioningCommand,
    S3Client,
} from "@aws-sdk/client-s3";
import { NodeHttpHandler } from "@smithy/node-http-handler";
import * as https from "https";
import { endpointOf, SeaweedfsServerSpec } from "./seaweedfsServer";
import { keepExportsExpiry } from "../../apps/shared/bucketLifecycle";
import { TEMP_EXPIRE_AFTER_DAYS } from "../retention";

/** The cell's exports bucket, as the S3 target keeps it: versioned, encrypted at rest, expiring at the retention. */
export interface BucketSpec {
    bucket: string;
    retentionDays: number;
}

export interface BucketState {
    exists: boolean;
    versioned: boolean;
    encrypted: boolean;
    expirationDays?: number;
    /** Tags set on the bucket by hand: the program sets none, so any tag is drift. */
    tags?: Record<string, string>;
}

/** What a client needs of the cell's S3 server. */
export type S3Server = Pick<SeaweedfsServerSpec, "port" | "accessKeyId" | "secretAccessKey" | "tls">;

export function s3Client(server: S3Server): S3Client {
    return new S3Client({
        endpoint: endpointOf(server),
        region: "us-east-1",
        forcePathStyle: true,
        credentials: { accessKeyId: server.accessKeyId, secretAccessKey: server.secretAccessKey },
        ...(server.tls ? { requestHandler: new NodeHttpHandler({ httpsAgent: new https.Agent({ ca: server.tls.ca }) }) } : {}),
    });
}

async function exists(s3: S3Client, bucket: string): Promise<boolean> {
    try {
        await s3.send(new HeadBucketCommand({ Bucket: bucket }));
        return true;
    } catch (error) {
        if ((error as { $metadata?: { httpStatusCode?: number } }).$metadata?.httpStatusCode === 404) return false;
        throw error;
    }
}

/** Creates the bucket if it is missing, encrypted at rest by default (SSE-S3). */
async function createEncrypted(s3: S3Client, bucket: string): Promise<void> {
    if (!(await exists(s3, bucket))) await s3.send(new CreateBucketCommand({ Bucket: bucket }));
    await s3.send(
        new PutBucketEncryptionCommand({
            Bucket: bucket,
            ServerSideEncryptionConfiguration: { Rules: [{ ApplyServerSideEncryptionByDefault: { SSEAlgorithm: "AES256" } }] },
        }),
    );
}

export async function ensureBucket(server: S3Server, spec: BucketSpec): Promise<void> {
    const s3 = s3Client(server);
    await createEncrypted(s3, spec.bucket);
    await s3.send(new PutBucketVersioningCommand({ Bucket: spec.bucket, VersioningConfiguration: { Status: "Enabled" } }));
    await keepExportsExpiry(s3, spec.bucket, { expireAfterDays: spec.retentionDays, tempExpireAfterDays: TEMP_EXPIRE_AFTER_DAYS });
}

/**
 * The bucket of ClickHouse's cold volume: encrypted at rest, and neither versioned nor expiring, because its objects
 * are the parts of the events table, which ClickHouse alone writes and removes.
 */
export async function ensureColdBucket(server: S3Server, bucket: string): Promise<void> {
    await createEncrypted(s3Client(server), bucket);
}

export async function readBucket(server: S3Server, bucket: string): Promise<BucketState> {
    const s3 = s3Client(server);
    if (!(await exists(s3, bucket))) return { exists: false, versioned: false, encrypted: false };
    const versioning = await s3.send(new GetBucketVersioningCommand({ Bucket: bucket }));
    const encryption = await s3.send(new GetBucketEncryptionCommand({ Bucket: bucket })).catch(() => undefined);
    const lifecycle = await s3.send(new GetBucketLifecycleConfigurationCommand({ Bucket: bucket })).catch(() => undefined);
    // A bucket without tags answers NoSuchTagSet.
    const tagging = await s3.send(new GetBucketTaggingCommand({ Bucket: bucket })).catch(() => undefined);
    return {
        exists: true,
        versioned: versioning.Status === "Enabled",
        encrypted: (encryption?.ServerSideEncryptionConfiguration?.Rules ?? []).length > 0,
        expirationDays: lifecycle?.Rules?.find((r) => r.ID === "expire-exports")?.Expiration?.Days,
        tags: Object.fromEntries((tagging?.TagSet ?? []).map((t) => [t.Key!, t.Value!])),
    };
}

/** Deletes every object version and the bucket. */
export async function deleteBucket(server: S3Server, bucket: string): Promise<void> {
    const s3 = s3Client(server);
    if (!(await exists(s3, bucket))) return;
    for (;;) {
        const page = await s3.send(new ListObjectVersionsCommand({ Bucket: bucket }));
        const objects = [...(page.Versions ?? []), ...(page.DeleteMarkers ?? [])].map((v) => ({ Key: v.Key!, VersionId: v.VersionId }));
        if (objects.length === 0) break;
        await s3.send(new DeleteObjectsCommand({ Bucket: bucket, Delete: { Objects: objects } }));
    }
    await s3.send(new DeleteBucketCommand({ Bucket: bucket }));
}
