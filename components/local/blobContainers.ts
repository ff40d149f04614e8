import * as https from "https";
import type { RequestPolicy, RequestPolicyOptionsLike, WebResourceLike } from "@azure/core-http-compat";
import { BlobServiceClient, newPipeline, StorageSharedKeyCredential } from "@azure/storage-blob";
import { type AzuriteServerSpec, blobEndpointOf } from "./azuriteServer";

/** A Blob client of an account at `endpoint`, signing with its shared key and trusting `ca` (the stack's CA) if given. */
export function blobService(endpoint: string, account: string, accountKey: string, ca?: string): BlobServiceClient {
    const pipeline = newPipeline(new StorageSharedKeyCredential(account, accountKey), { retryOptions: { maxTries: 2 } });
    if (!ca) return new BlobServiceClient(endpoint, pipeline);
    const agent = new https.Agent({ ca, keepAlive: true });
    // Every request goes through an agent that trusts the stack's CA: the SDK takes no CA of its own.
    pipeline.factories.unshift({
        create: (next: RequestPolicy, _options: RequestPolicyOptionsLike): RequestPolicy => ({
            sendRequest: (request: WebResourceLike) => next.sendRequest(Object.assign(request, { agent })),
        }),
    });
    return new BlobServiceClient(endpoint, pipeline);
}

export type BlobServer = Pick<AzuriteServerSpec, "port" | "account" | "accountKey" | "tls">;

const serviceOf = (server: BlobServer) => blobService(blobEndpointOf(server), server.account, server.accountKey, server.tls.ca);

/** The cell's exports container; Azurite keeps no lifecycle rules, so retention is left to the cloud's Blob. */
export async function ensureContainer(server: BlobServer, container: string): Promise<void> {
    await serviceOf(server).getContainerClient(container).createIfNotExists();
}

export async function containerExists(server: BlobServer, container: string): Promise<boolean> {
    return serviceOf(server).getContainerClient(container).exists();
}

export async function deleteContainer(server: BlobServer, container: string): Promise<void> {
    await serviceOf(server).getContainerClient(container).deleteIfExists();
}
