import {
    DeleteObjectsCommand,
    GetObjectCommand,
    ListObjectsV2Command,
    ListObjectVersionsCommand,
    PutObjectCommand,
    S3Client,
} from "@aws-sdk/client-s3";
import { ClickHouseClient, createClient } from "@clickhouse/client";
import type { BlobServiceClient } from "@azure/storage-blob";
import { NodeHttpHandler } from "@smithy/node-http-handler";
import { KafkaClients, scramAccess } from "../../apps/shared/kafka";
import { blobService } from "../../components/local/blobContainers";
import * as https from "https";
import { Pool, PoolConfig } from "pg";
import { migrate } from "../../apps/shared/migrations";
import type { CellOutputs } from "./keys";
import { Refusal, stacksOf } from "./environment";
import { openStack } from "./workspace";

/** A cell's outputs (secrets included), from the environment's stack that holds it. */
export async function deployedCell(projectDir: string, env: string, cell: string): Promise<CellOutputs> {
    for (const stack of stacksOf(projectDir, env)) {
        const outputs = await (await openStack(projectDir, env, stack)).outputs();
        const found = outputs.cells?.value?.[cell];
        if (found) return found;
    }
    throw new Refusal(
        `--cell ${cell}: no deployed stack of environment ${env} has that cell (stacks: ${stacksOf(projectDir, env).join(", ") || "none"})`,
    );
}

/** The cell's Postgres as `pg` takes it, as the stack's owner, verified against the cell's CA where it has one. */
export function postgresConfigOf({ endpoints: { postgres }, credentials }: CellOutputs): PoolConfig {
    const { ca, ...address } = postgres;
    return { ...address, password: credentials.postgresPassword, ssl: ca ? { ca } : false };
}

/**
 * Runs `run` against the cell's Postgres on a connection of its own, closed after. The schema is brought up to date
 * first unless `migrate` is false (a search of another residency's cell only reads).
 */
export async function withCellPostgres<T>(
    cell: CellOutputs,
    run: (pool: Pool) => Promise<T>,
    { migrate: upToDate = true, connectTimeoutMs }: { migrate?: boolean; connectTimeoutMs?: number } = {},
): Promise<T> {
    const pool = new Pool({ ...postgresConfigOf(cell), max: 1, connectionTimeoutMillis: connectTimeoutMs });
    try {
        if (upToDate) await migrate(pool);
        return await run(pool);
    } finally {
        await pool.end();
    }
}

/** The cell's ClickHouse as its admin (or with another `password`, to be refused). */
export function clickhouseOfCell({ endpoints, credentials }: CellOutputs, password = credentials.clickhousePassword): ClickHouseClient {
    return createClient({
        url: endpoints.clickhouseUrl,
        username: credentials.clickhouseUser,
        password,
        ...(endpoints.clickhouseCa ? { tls: { ca_cert: Buffer.from(endpoints.clickhouseCa) } } : {}),
    });
}

/** The cell's Kafka as its admin, over TLS and SCRAM where the cell has them. */
export function kafkaOfCell({ endpoints, credentials }: CellOutputs, clientId = "cellplane-ops"): KafkaClients {
    return new KafkaClients(scramAccess(endpoints.kafkaBootstrap.split(","), endpoints.kafkaCa, credentials.kafkaAdmin), clientId);
}

/** The cell's object store with its static keys, verified against the cell's CA where it has one. */
export function s3OfCell({ endpoints, credentials }: CellOutputs): S3Client {
    return new S3Client({
        endpoint: endpoints.objectStoreEndpoint,
        region: "us-east-1",
        forcePathStyle: true,
        credentials: credentials.objectStoreKeys,
        ...(endpoints.objectStoreCa
            ? { requestHandler: new NodeHttpHandler({ httpsAgent: new https.Agent({ ca: endpoints.objectStoreCa }) }) }
            : {}),
    });
}

/** The cell's Blob account with its key, where the cell keeps its exports in Azure Blob (Azurite on a local cell). */
export function blobOfCell({ endpoints, credentials }: CellOutputs): BlobServiceClient {
    const key = credentials.objectStoreAccountKey;
    if (!key) throw new Error(`${endpoints.objectStoreEndpoint}: the stack holds no account key for this store`);
    const account = new URL(endpoints.objectStoreEndpoint).pathname.split("/")[1];
    return blobService(endpoints.objectStoreEndpoint, account, key, endpoints.objectStoreCa);
}

/** The export files of a cell's store under a prefix, whichever protocol the store speaks. */
export interface ExportFiles {
    /** Every version of every file under `prefix` (a Blob store keeps one version). */
    count(prefix: string): Promise<number>;
    /** Deletes them all; answers how many went. */
    deleteAll(prefix: string): Promise<number>;
    /** The names of the files under `prefix` (their current versions). */
    list(prefix: string): Promise<string[]>;
    read(name: string): Promise<Buffer>;
    write(name: string, body: Buffer): Promise<void>;
}

export function exportFilesOf(cell: CellOutputs): ExportFiles {
    return cell.endpoints.objectStoreProtocol === "azblob" ? blobFiles(cell) : s3Files(cell);
}

function blobFiles(cell: CellOutputs): ExportFiles {
    const container = blobOfCell(cell).getContainerClient(cell.endpoints.bucket);
    const names = async (prefix: string) => {
        const found: string[] = [];
        for await (const blob of container.listBlobsFlat({ prefix })) found.push(blob.name);
        return found;
    };
    return {
        count: async (prefix) => (await names(prefix)).length,
        deleteAll: async (prefix) => {
            const found = await names(prefix);
            for (const name of found) await container.deleteBlob(name);
            return found.length;
        },
        list: names,
        read: (name) => container.getBlobClient(name).downloadToBuffer(),
        write: async (name, body) => void (await container.getBlockBlobClient(name).uploadData(body)),
    };
}

function s3Files(cell: CellOutputs): ExportFiles {
    const s3 = s3OfCell(cell);
    const Bucket = cell.endpoints.bucket;
    const versions = async (Prefix: string) => {
        const found: { Key: string; VersionId?: string }[] = [];
        let KeyMarker: string | undefined;
        let VersionIdMarker: string | undefined;
        do {
            const page = await s3.send(new ListObjectVersionsCommand({ Bucket, Prefix, KeyMarker, VersionIdMarker }));
            for (const v of [...(page.Versions ?? []), ...(page.DeleteMarkers ?? [])]) found.push({ Key: v.Key!, VersionId: v.VersionId });
            [KeyMarker, VersionIdMarker] = page.IsTruncated ? [page.NextKeyMarker, page.NextVersionIdMarker] : [undefined, undefined];
        } while (KeyMarker !== undefined);
        return found;
    };
    return {
        count: async (prefix) => (await versions(prefix)).length,
        deleteAll: async (prefix) => {
            const found = await versions(prefix);
            for (let i = 0; i < found.length; i += 1_000)
                await s3.send(new DeleteObjectsCommand({ Bucket, Delete: { Objects: found.slice(i, i + 1_000), Quiet: true } }));
            return found.length;
        },
        list: async (Prefix) => {
            const found: string[] = [];
            let ContinuationToken: string | undefined;
            do {
                const page = await s3.send(new ListObjectsV2Command({ Bucket, Prefix, ContinuationToken }));
                found.push(...(page.Contents ?? []).map((o) => o.Key!));
                ContinuationToken = page.IsTruncated ? page.NextContinuationToken : undefined;
            } while (ContinuationToken !== undefined);
            return found;
        },
        read: async (Key) => Buffer.from(await (await s3.send(new GetObjectCommand({ Bucket, Key }))).Body!.transformToByteArray()),
        write: async (Key, Body) => void (await s3.send(new PutObjectCommand({ Bucket, Key, Body }))),
    };
}
