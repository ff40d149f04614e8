import * as pulumi from "@pulumi/pulumi";
import type { ObjectStoreConnection } from "../model/connections";
import type { StoreAccess } from "./platform";

/** An S3-compatible store reached with static keys (SeaweedFS, in a cluster or on this machine). */
export function s3KeysAccess(
    endpoint: pulumi.Input<string>,
    bucket: string,
    keys: { accessKeyId: string; secretAccessKey: pulumi.Input<string> },
): StoreAccess<ObjectStoreConnection> {
    return {
        connection: pulumi.output({
            protocol: "s3" as const,
            endpoint,
            bucket,
            // SeaweedFS signs with any region; the SDKs need one.
            region: "us-east-1",
            credentials: { from: "keys" as const, accessKeyId: keys.accessKeyId },
        }),
        password: { value: keys.secretAccessKey },
    };
}
