import { S3Client } from "@aws-sdk/client-s3";
import type { ObjectStoreConnection } from "../../model/connections";

/** A client of the cell's S3 store, with its keys or the pod's identity. */
export function s3ClientOf(store: Extract<ObjectStoreConnection, { protocol: "s3" }>, secret?: string): S3Client {
    return new S3Client({
        region: store.region,
        endpoint: store.endpoint,
        // AWS's own endpoint takes the bucket in the host name; other S3 stores (SeaweedFS) take it in the path.
        forcePathStyle: !new URL(store.endpoint).hostname.endsWith(".amazonaws.com"),
        credentials:
            store.credentials.from === "keys" ? { accessKeyId: store.credentials.accessKeyId, secretAccessKey: secret ?? "" } : undefined,
    });
}
