import { randomBytes } from "crypto";
import * as fs from "fs";
import * as http from "http";
import * as os from "os";
import * as path from "path";
import {
    CompleteMultipartUploadCommand,
    CreateMultipartUploadCommand,
    GetBucketLifecycleConfigurationCommand,
    GetObjectCommand,
    HeadObjectCommand,
    ListObjectVersionsCommand,
    PutBucketLifecycleConfigurationCommand,
    PutBucketTaggingCommand,
    PutObjectCommand,
    UploadPartCommand,
} from "@aws-sdk/client-s3";
import { deleteBucket, ensureBucket, ensureColdBucket, readBucket, s3Client } from "../../../components/local/buckets";
import { keepExportsExpiry } from "../../../apps/shared/bucketLifecycle";
import { s3ClientOf } from "../../../apps/export/s3";
import { downloadSigner } from "../../../apps/export/downloads";
import { INTERNAL_PORTS, SeaweedfsServerSpec, seaweedfsRunning, startSeaweedfs } from "../../../components/local/seaweedfsServer";
import { destroyService, portAnswers } from "../../../components/local/supervisor";
import { freePort, freePorts } from "../../support/freePort";

/** Every file under `dir` that contains `needle`. */
function filesContaining(dir: string, needle: Buffer): string[] {
    return fs
        .readdirSync(dir, { recursive: true, withFileTypes: true })
        .filter((entry) => entry.isFile())
        .map((entry) => path.join(entry.parentPath, entry.name))
        .filter((file) => fs.readFileSync(file).includes(needle));
}

/** A real SeaweedFS server built from its Go module, on free ports below the ephemeral range. */
describe("a local SeaweedFS server", () => {
    let spec: SeaweedfsServerSpec;
    const exportsBucket = { bucket: "test-eu-exports", retentionDays: 400 };
    const key = "tenant=acme/object=events/date=2026-11-24/a.parquet";

    beforeAll(async () => {
        const root = fs.mkdtempSync(path.join(os.tmpdir(), "cellplane-seaweedfs-"));
        const internalPortBase = await freePorts(INTERNAL_PORTS);
        spec = {
            label: "seaweedfs of cell test-eu",
            dir: path.join(root, "seaweedfs"),
            port: await freePort(),
            internalPortBase,
            accessKeyId: "cellplane",
            secretAccessKey: randomBytes(20).toString("hex"),
            sseKey: randomBytes(32).toString("hex"),
            adminPassword: randomBytes(16).toString("hex"),
        };
        await startSeaweedfs(spec);
    }, 90_000);
    afterAll(async () => {
        await destroyService(spec.dir);
        fs.rmSync(path.dirname(spec.dir), { recursive: true, force: true });
    });

    test("serves S3 with a versioned, encrypted bucket that expires at the retention", async () => {
        expect(await seaweedfsRunning(spec)).toBe(true);
        expect(await readBucket(spec, exportsBucket.bucket)).toEqual({ exists: false, versioned: false, encrypted: false });
        await ensureBucket(spec, exportsBucket);
        expect(await readBucket(spec, exportsBucket.bucket)).toEqual({
            exists: true,
            versioned: true,
            encrypted: true,
            expirationDays: 400,
            tags: {},
        });

        // Tags set by hand read back, for drift to report them.
        const s3 = s3Client(spec);
        await s3.send(new PutBucketTaggingCommand({ Bucket: exportsBucket.bucket, Tagging: { TagSet: [{ Key: "team", Value: "a" }] } }));
        expect((await readBucket(spec, exportsBucket.bucket)).tags).toEqual({ team: "a" });
        await s3.send(new PutObjectCommand({ Bucket: exportsBucket.bucket, Key: key, Body: "PAR1" }));
        await s3.send(new PutObjectCommand({ Bucket: exportsBucket.bucket, Key: key, Body: "PAR2" }));
        expect((await s3.send(new HeadObjectCommand({ Bucket: exportsBucket.bucket, Key: key }))).ServerSideEncryption).toBe("AES256");
        const body = await (await s3.send(new GetObjectCommand({ Bucket: exportsBucket.bucket, Key: key }))).Body!.transformToString();
        expect(body).toBe("PAR2");
        const versions = await s3.send(new ListObjectVersionsCommand({ Bucket: exportsBucket.bucket, Prefix: key }));
        expect(versions.Versions).toHaveLength(2);
    });

    test("keeps no object's bytes in plaintext on disk", async () => {
        const secret = randomBytes(64 * 1024);
        await s3Client(spec).send(new PutObjectCommand({ Bucket: exportsBucket.bucket, Key: "secret.bin", Body: secret }));
        expect(filesContaining(spec.dir, secret.subarray(1000, 1064))).toEqual([]);
    });

    test("assembles multipart uploads, as ClickHouse writes large Parquet files", async () => {
        const s3 = s3Client(spec);
        const target = { Bucket: exportsBucket.bucket, Key: "exports/large.parquet" };
        const { UploadId } = await s3.send(new CreateMultipartUploadCommand(target));
        const parts = [randomBytes(5 * 1024 * 1024), randomBytes(1024)];
        const etags = [];
        for (const [i, part] of parts.entries()) {
            etags.push((await s3.send(new UploadPartCommand({ ...target, UploadId, PartNumber: i + 1, Body: part }))).ETag);
        }
        await s3.send(
            new CompleteMultipartUploadCommand({
                ...target,
                UploadId,
                MultipartUpload: { Parts: etags.map((ETag, i) => ({ ETag, PartNumber: i + 1 })) },
            }),
        );
        const stored = await (await s3.send(new GetObjectCommand(target))).Body!.transformToByteArray();
        expect(Buffer.compare(Buffer.from(stored), Buffer.concat(parts))).toBe(0);
    });

    test("refuses a write to a bucket nobody created", async () => {
        await expect(s3Client(spec).send(new PutObjectCommand({ Bucket: "nobody-made-this", Key: "k", Body: "x" }))).rejects.toThrow(
            /bucket does not exist/i,
        );
    });

    test("a second ensure is a no-op and a new retention is applied", async () => {
        await ensureBucket(spec, { ...exportsBucket, retentionDays: 90 });
        expect((await readBucket(spec, exportsBucket.bucket)).expirationDays).toBe(90);
    });

    test("keeps the expiry the export app sets on a cluster's SeaweedFS, and refuses the tiers it has no storage class for", async () => {
        const bucket = "cluster-cell-exports";
        await ensureColdBucket(spec, bucket);
        const store = {
            protocol: "s3" as const,
            endpoint: `http://127.0.0.1:${spec.port}`,
            bucket,
            region: "us-east-1",
            credentials: { from: "keys" as const, accessKeyId: spec.accessKeyId },
        };
        // The export app's own client, as it keeps the expiry at start.
        const client = s3ClientOf(store, spec.secretAccessKey);
        await keepExportsExpiry(client, bucket, { expireAfterDays: 400, tempExpireAfterDays: 7 });
        const { Rules } = await client.send(new GetBucketLifecycleConfigurationCommand({ Bucket: bucket }));
        expect(
            Rules!.map((r) => [r.ID, r.Filter?.Prefix ?? "", r.Expiration?.Days, r.NoncurrentVersionExpiration?.NoncurrentDays]),
        ).toEqual([
            ["expire-exports", "", 400, 30],
            ["delete-temp-files", "temp/", 7, undefined],
        ]);
        const tiered = new PutBucketLifecycleConfigurationCommand({
            Bucket: bucket,
            LifecycleConfiguration: {
                Rules: [
                    { ID: "tier", Status: "Enabled", Filter: { Prefix: "" }, Transitions: [{ Days: 90, StorageClass: "STANDARD_IA" }] },
                ],
            },
        });
        await expect(client.send(tiered)).rejects.toMatchObject({ name: "NotImplemented" });
    });

    test("a download URL signed for the cell's public name is honoured when the edge forwards it with that Host, and only then", async () => {
        const publicHost = "cell-1.dev.cellplane.example";
        await s3Client(spec).send(new PutObjectCommand({ Bucket: exportsBucket.bucket, Key: "tenant=acme/public.txt", Body: "fetched" }));
        const signer = downloadSigner(
            {
                protocol: "s3",
                endpoint: `http://127.0.0.1:${spec.port}`,
                publicEndpoint: `https://${publicHost}`,
                bucket: exportsBucket.bucket,
                region: "us-east-1",
                credentials: { from: "keys", accessKeyId: spec.accessKeyId },
            },
            spec.secretAccessKey,
        );
        const url = new URL(await signer.urlOf("tenant=acme/public.txt", 60));
        expect(url.host).toBe(publicHost);
        // What the cell's Gateway does: TLS ends there, and the request reaches SeaweedFS with its Host unchanged.
        const forwarded = (host: string) =>
            new Promise<{ status: number; body: string }>((resolve, reject) => {
                const request = http.get(
                    { port: spec.port, host: "127.0.0.1", path: `${url.pathname}${url.search}`, headers: { host } },
                    (response) => {
                        let body = "";
                        response.on("data", (chunk) => (body += chunk));
                        response.on("end", () => resolve({ status: response.statusCode!, body }));
                    },
                );
                request.on("error", reject);
            });
        expect(await forwarded(publicHost)).toEqual({ status: 200, body: "fetched" });
        expect((await forwarded(`127.0.0.1:${spec.port}`)).status).toBe(403);
    });

    test("deleting the bucket removes every object version", async () => {
        await deleteBucket(spec, exportsBucket.bucket);
        expect((await readBucket(spec, exportsBucket.bucket)).exists).toBe(false);
    });

    test("destroy leaves no process, port or folder", async () => {
        await destroyService(spec.dir);
        expect(await seaweedfsRunning(spec)).toBe(false);
        for (const port of [spec.port, ...Array.from({ length: INTERNAL_PORTS }, (_, i) => spec.internalPortBase + i)]) {
            expect(await portAnswers(port)).toBe(false);
        }
        expect(fs.existsSync(spec.dir)).toBe(false);
    });
});
