import { GetObjectCommand } from "@aws-sdk/client-s3";
import { getSignedUrl } from "@aws-sdk/s3-request-presigner";
import { DefaultAzureCredential } from "@azure/identity";
import {
    BlobSASPermissions,
    BlobServiceClient,
    generateBlobSASQueryParameters,
    SASProtocol,
    StorageSharedKeyCredential,
    type UserDelegationKey,
} from "@azure/storage-blob";
import type { ObjectStoreConnection } from "../../model/connections";
import { tenantPrefix } from "./parquet";
import { s3ClientOf } from "./s3";

/** Signs short-lived URLs that read one object of the cell's store, with the app's own credentials. */
export interface DownloadSigner {
    urlOf(key: string, expiresInSeconds: number): Promise<string>;
}

/**
 * Signs `key` for `tenant`, refusing any key outside the tenant's prefix however it was come by: a URL for another
 * tenant's file is never made. Rejects rather than answering, so a caller's bug is a 500, never a leak.
 */
export async function tenantDownload(signer: DownloadSigner, tenant: string, key: string, expiresInSeconds: number): Promise<string> {
    const segments = key.split("/");
    if (!key.startsWith(tenantPrefix(tenant)) || segments.some((s) => s === "" || s === "." || s === ".."))
        throw new Error(`refused to sign ${JSON.stringify(key)} for tenant ${tenant}: it is not a file under ${tenantPrefix(tenant)}`);
    return signer.urlOf(key, expiresInSeconds);
}

/**
 * The signer of the cell's store:
 * - S3: a presigned GET (SigV4 query), with the store's keys or the pod's identity, which needs `s3:GetObject` (and
 *   `kms:Decrypt` on a KMS-encrypted bucket) for the URL to work;
 * - Azure Blob: a read-only, HTTPS-only SAS of the one blob, signed with the account key, or a user delegation SAS
 *   signed with a key the pod's identity gets from Entra ID (it needs a data role on the account).
 */
export function downloadSigner(store: ObjectStoreConnection, secret?: string): DownloadSigner {
    return store.protocol === "s3" ? s3Signer(store, secret) : blobSigner(store, secret);
}

function s3Signer(store: Extract<ObjectStoreConnection, { protocol: "s3" }>, secret?: string): DownloadSigner {
    // A URL is signed for the host it is fetched from: the store's public name where it has one.
    const client = s3ClientOf({ ...store, endpoint: store.publicEndpoint ?? store.endpoint }, secret);
    return {
        urlOf: (key, expiresIn) => getSignedUrl(client, new GetObjectCommand({ Bucket: store.bucket, Key: key }), { expiresIn }),
    };
}

/** A user delegation key is asked for once per this long and used for URLs that expire within it. */
const DELEGATION_KEY_MS = 6 * 3_600_000;

function blobSigner(store: Extract<ObjectStoreConnection, { protocol: "azblob" }>, secret?: string): DownloadSigner {
    const sharedKey = store.credentials.from === "key" ? new StorageSharedKeyCredential(store.account, secret ?? "") : undefined;
    const service = new BlobServiceClient(store.endpoint, sharedKey ?? new DefaultAzureCredential());
    const container = service.getContainerClient(store.container);
    let delegation: { key: UserDelegationKey; until: number } | undefined;
    const delegationKey = async (expiresOn: Date) => {
        if (!delegation || delegation.until < expiresOn.getTime()) {
            const until = Date.now() + DELEGATION_KEY_MS;
            delegation = { key: await service.getUserDelegationKey(new Date(Date.now() - 5 * 60_000), new Date(until)), until };
        }
        return delegation.key;
    };
    return {
        urlOf: async (key, expiresIn) => {
            // A few minutes' leeway for clocks that run behind the store's.
            const startsOn = new Date(Date.now() - 5 * 60_000);
            const expiresOn = new Date(Date.now() + expiresIn * 1000);
            const values = {
                containerName: store.container,
                blobName: key,
                permissions: BlobSASPermissions.parse("r"),
                protocol: SASProtocol.Https,
                startsOn,
                expiresOn,
            };
            const sas = sharedKey
                ? generateBlobSASQueryParameters(values, sharedKey)
                : generateBlobSASQueryParameters(values, await delegationKey(expiresOn), store.account);
            return `${container.getBlobClient(key).url}?${sas.toString()}`;
        },
    };
}
