import * as pulumi from "@pulumi/pulumi";
import type { ExportsExpiry } from "../apps/shared/bucketLifecycle";
import type { S3Connection } from "../model/connections";
import type { StoreAccess } from "./platform";

/**
 * An S3-compatible store reached with static keys (SeaweedFS, in a cluster or on this machine); in a cluster, the
 * expiry the export app keeps and the public endpoint tenants' download URLs are signed for.
 */
export function s3KeysAccess(
    endpoint: pulumi.Input<string>,
    bucket: string,
    keys: { accessKeyId: string; secretAccessKey: pulumi.Input<string> },
    inCluster: { expiry?: ExportsExpiry; publicEndpoint?: string } = {},
): StoreAccess<S3Connection> {
    return {
        connection: pulumi.output({
            protocol: "s3" as const,
            endpoint,
            bucket,
            // SeaweedFS signs with any region; the SDKs need one.
            region: "us-east-1",
            credentials: { from: "keys" as const, accessKeyId: keys.accessKeyId },
            ...inCluster,
        }),
        password: { value: keys.secretAccessKey },
    };
}
