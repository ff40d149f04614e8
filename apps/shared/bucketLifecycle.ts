import { type LifecycleRule, PutBucketLifecycleConfigurationCommand, type S3Client } from "@aws-sdk/client-s3";

/** How long an exports bucket keeps its files, where its store has no storage classes to tier them to (SeaweedFS). */
export interface ExportsExpiry {
    expireAfterDays: number;
    /** `temp/` holds scratch files of runs. */
    tempExpireAfterDays: number;
}

/** A replaced or deleted file's old version is kept this long, for a mistake to be undone. */
const NONCURRENT_DAYS = 30;

/** The exports' expiry as S3 lifecycle rules, which SeaweedFS's lifecycle worker carries out. */
export function exportsExpiryRules(expiry: ExportsExpiry): LifecycleRule[] {
    return [
        {
            ID: "expire-exports",
            Status: "Enabled",
            Filter: { Prefix: "" },
            Expiration: { Days: expiry.expireAfterDays },
            NoncurrentVersionExpiration: { NoncurrentDays: NONCURRENT_DAYS },
        },
        { ID: "delete-temp-files", Status: "Enabled", Filter: { Prefix: "temp/" }, Expiration: { Days: expiry.tempExpireAfterDays } },
    ];
}

/** Sets the bucket's rules to the exports' expiry, replacing whatever rules it had. */
export async function keepExportsExpiry(client: S3Client, bucket: string, expiry: ExportsExpiry): Promise<void> {
    await client.send(
        new PutBucketLifecycleConfigurationCommand({ Bucket: bucket, LifecycleConfiguration: { Rules: exportsExpiryRules(expiry) } }),
    );
}
