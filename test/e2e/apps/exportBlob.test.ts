import { call } from "../../support/cellClient";
import { parquetMetadata, parquetReadObjects, parquetSchema } from "hyparquet";
import { compressors } from "hyparquet-compressors";
import { blobOfCell, exportFilesOf } from "../../../scripts/ops/cellClients";
import type { JsonBody } from "../../support/json";
import { isolatedLocalStack } from "../../support/project";
import { apiKeyFor, CellOutput, deployCells, destroyCells, eventOf, eventually, postEvents, storedEvents } from "./cell";

/**
 * Export to Azure Blob, the path Azure cells take: a local cell whose store is Azurite over HTTPS, written by
 * ClickHouse's `azureBlobStorage()` with the account's key, read back with Azure's own SDK.
 */
describe("export on a local cell whose exports go to Azure Blob (Azurite)", () => {
    const stack = isolatedLocalStack("cellplane-blob-", (config) => {
        config["cellplane:cells"] = [{ ...config["cellplane:cells"][0], objectStore: "azblob" }];
        config["cellplane:tenants"] = [{ id: "acme", residency: "eu" }];
    });
    let eu: CellOutput;
    let key: string;
    const yesterday = new Date(Date.now() - 86_400_000).toISOString().slice(0, 10);
    const today = new Date().toISOString().slice(0, 10);

    const exportJob = async (body: unknown): Promise<JsonBody> => {
        const headers = { authorization: `Bearer ${key}`, "content-type": "application/json" };
        const queued = (await (
            await call(`${eu.endpoints.exportUrl}/v1/exports`, { method: "POST", headers, body: JSON.stringify(body) })
        ).json()) as JsonBody;
        let job: JsonBody = {};
        await eventually(async () => {
            job = (await (await call(`${eu.endpoints.exportUrl}/v1/jobs/${queued.id}`, { headers })).json()) as JsonBody;
            return ["succeeded", "failed"].includes(job.status);
        }, 60_000);
        return job;
    };
    const read = async (name: string) => {
        const blob = blobOfCell(eu).getContainerClient(eu.endpoints.bucket).getBlobClient(name);
        const bytes = await blob.downloadToBuffer();
        const file = bytes.buffer.slice(bytes.byteOffset, bytes.byteOffset + bytes.byteLength) as ArrayBuffer;
        return { rows: await parquetReadObjects({ file, compressors }), schema: parquetSchema(parquetMetadata(file)) };
    };

    beforeAll(async () => {
        eu = deployCells(stack)["local-eu"];
        key = await apiKeyFor(eu, "acme");
        const events = [
            ...Array.from({ length: 30 }, (_, i) =>
                eventOf("acme", {
                    timestamp: `${yesterday}T10:00:${String(i).padStart(2, "0")}.000Z`,
                    metadata: { tokens: i, cached: i % 2 === 0 },
                }),
            ),
            ...Array.from({ length: 20 }, () => eventOf("acme", { metadata: { tokens: 1.5, tags: ["a"] } })),
        ];
        expect((await postEvents(eu.endpoints.ingestUrl, key, events)).status).toBe(202);
        expect(await eventually(async () => (await storedEvents(eu, "acme")).rows === 50)).toBe(true);
    }, 240_000);

    afterAll(() => destroyCells(stack), 120_000);

    test("the cell's store is its own Blob account over HTTPS, not S3", () => {
        expect(eu.endpoints.objectStoreEndpoint).toMatch(/^https:\/\/127\.0\.0\.1:\d+\/localeu$/);
        expect(eu.credentials.objectStoreKeys).toBeUndefined();
    });

    test("writes one Parquet file per day to the container, with the same rows and typed attr_* columns as to S3", async () => {
        const job = await exportJob({ from: yesterday, to: today, objects: ["events"] });
        expect(job).toMatchObject({ status: "succeeded", rows: 50, error: null });
        const listed: string[] = [];
        for await (const blob of blobOfCell(eu).getContainerClient(eu.endpoints.bucket).listBlobsFlat({ prefix: "tenant=acme/" }))
            listed.push(blob.name);
        expect(listed.sort()).toEqual([...job.files].sort());

        const older = await read(job.files[0]);
        expect(older.rows).toHaveLength(30);
        const columns = Object.fromEntries(older.schema.children.map((c) => [c.element.name, c.element.type]));
        expect(columns).toMatchObject({ attr_tokens: "DOUBLE", attr_cached: "BOOLEAN", org_id: "BYTE_ARRAY" });
        const tokens = older.rows.map((r) => Number(r.attr_tokens)).sort((a, b) => a - b);
        expect(tokens).toEqual(Array.from({ length: 30 }, (_, i) => i));
        const newer = await read(job.files[1]);
        expect(newer.rows).toHaveLength(20);
        expect(newer.rows.every((r) => r.attr_tokens === 1.5 && r.attr_tags === '["a"]')).toBe(true);
    });

    test("ops count and purge a tenant's files in the container, as `tenant remove --purge` does", async () => {
        const files = exportFilesOf(eu);
        expect(await files.count("tenant=acme/")).toBe(2);
        expect(await files.count("tenant=globex/")).toBe(0);
        expect(await files.deleteAll("tenant=acme/")).toBe(2);
        expect(await files.count("tenant=acme/")).toBe(0);
    });

    test("a rerun of the same days replaces the files instead of adding to them", async () => {
        const first = await exportJob({ from: yesterday, to: today, objects: ["events"] });
        const again = await exportJob({ from: yesterday, to: today, objects: ["events"] });
        expect(again.files).toEqual(first.files);
        expect((await read(again.files[0])).rows).toHaveLength(30);
    });
});
