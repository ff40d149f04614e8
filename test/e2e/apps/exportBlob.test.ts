import { call } from "../../support/cellClient";
import { parquetMetadata, parquetReadObjects, parquetSchema } from "hyparquet";
import { compressors } from "hyparquet-compressors";
import { blobOfCell, exportFilesOf } from "../../../scripts/ops/cellClients";
import { fetchTrusting } from "../../../scripts/ops/https";
import { downloadSigner } from "../../../apps/export/downloads";
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

    const finishedJob = async (id: string): Promise<JsonBody> => {
        let job: JsonBody = {};
        await eventually(async () => {
            job = (await (
                await call(`${eu.endpoints.exportUrl}/v1/jobs/${id}`, { headers: { authorization: `Bearer ${key}` } })
            ).json()) as JsonBody;
            return ["succeeded", "failed"].includes(job.status);
        }, 60_000);
        return job;
    };
    const exportJob = async (body: unknown): Promise<JsonBody> => {
        const headers = { authorization: `Bearer ${key}`, "content-type": "application/json" };
        const queued = (await (
            await call(`${eu.endpoints.exportUrl}/v1/exports`, { method: "POST", headers, body: JSON.stringify(body) })
        ).json()) as JsonBody;
        return finishedJob(queued.id);
    };
    /** The cell's container as its export app is given it: the account's key as the secret. */
    const blobConnectionOf = (cell: CellOutput) => ({
        OBJECT_STORE: {
            protocol: "azblob" as const,
            endpoint: cell.endpoints.objectStoreEndpoint,
            account: new URL(cell.endpoints.objectStoreEndpoint).pathname.split("/")[1],
            container: cell.endpoints.bucket,
            credentials: { from: "key" as const },
        },
        OBJECT_STORE_PASSWORD: cell.credentials.objectStoreAccountKey,
    });
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

    test("a schedule's rerun of the same days replaces its files instead of adding to them", async () => {
        const headers = { authorization: `Bearer ${key}`, "content-type": "application/json" };
        const created = await call(`${eu.endpoints.exportUrl}/v1/schedules`, {
            method: "POST",
            headers,
            body: JSON.stringify({ name: "rerun", cron: "0 3 * * *", lookbackDays: 1 }),
        });
        const schedule = (await created.json()) as JsonBody;
        const run = async () => {
            const triggered = await call(`${eu.endpoints.exportUrl}/v1/schedules/${schedule.id}/trigger`, {
                method: "POST",
                headers: { authorization: headers.authorization },
            });
            expect(triggered.status).toBe(202);
            return finishedJob(((await triggered.json()) as JsonBody).id);
        };
        const [first, again] = [await run(), await run()];
        expect(again.files).toEqual(first.files);
        expect((await read(again.files[0])).rows).toHaveLength(30);
    });

    test("a tenant fetches its job's files through SAS URLs: Azurite serves the bytes; an altered name or an expired SAS gets nothing", async () => {
        const job = await exportJob({ from: yesterday, to: today, objects: ["events"] });
        const headers = { authorization: `Bearer ${key}` };
        const listing = (await (await call(`${eu.endpoints.exportUrl}/v1/jobs/${job.id}/files`, { headers })).json()) as JsonBody;
        expect(listing.files.map((f: JsonBody) => f.key)).toEqual(job.files);
        const fromStore = fetchTrusting(eu.endpoints.objectStoreCa);
        for (const file of listing.files) {
            const url = new URL(file.url);
            expect(url.searchParams.get("sp")).toBe("r");
            expect(url.searchParams.get("spr")).toBe("https");
            const download = await fromStore(file.url);
            expect(download.status).toBe(200);
            const bytes = Buffer.from(await download.arrayBuffer());
            expect(bytes.length).toBe(file.bytes);
            const stored = await blobOfCell(eu).getContainerClient(eu.endpoints.bucket).getBlobClient(file.key).downloadToBuffer();
            expect(bytes.equals(stored)).toBe(true);
        }
        const altered = new URL(listing.files[0].url);
        altered.pathname = altered.pathname.replace(/tenant(=|%3D)acme/, "tenant$1initech");
        expect((await fromStore(altered.toString())).status).toBe(403);
        const { OBJECT_STORE, OBJECT_STORE_PASSWORD } = blobConnectionOf(eu);
        const brief = await downloadSigner(OBJECT_STORE, OBJECT_STORE_PASSWORD).urlOf(job.files[0], 1);
        expect((await fromStore(brief)).status).toBe(200);
        await new Promise((r) => setTimeout(r, 2_500));
        expect((await fromStore(brief)).status).toBe(403);
    }, 90_000);
});
