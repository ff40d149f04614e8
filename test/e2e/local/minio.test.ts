import { randomBytes } from "crypto";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import { GetObjectCommand, HeadObjectCommand, PutObjectCommand } from "@aws-sdk/client-s3";
import { deleteBucket, ensureBucket, readBucket, s3Client } from "../../../components/local/buckets";
import { destroyMinio, MinioServerSpec, minioRunning, startMinio } from "../../../components/local/minioServer";
import { portAnswers } from "../../../components/local/supervisor";
import { freePort } from "../../support/freePort";

/** A real MinIO server built from its Go module, on free ports. */
describe("a local MinIO server", () => {
    let spec: MinioServerSpec;
    const exportsBucket = { bucket: "test-eu-exports", retentionDays: 400 };

    beforeAll(async () => {
        const root = fs.mkdtempSync(path.join(os.tmpdir(), "cellplane-minio-"));
        spec = {
            label: "minio of cell test-eu",
            dir: path.join(root, "minio"),
            port: await freePort(),
            consolePort: await freePort(),
            rootUser: "cellplane",
            rootPassword: "minio-password-1",
            kmsKey: randomBytes(32).toString("base64"),
        };
        await startMinio(spec);
    });
    afterAll(async () => {
        await destroyMinio(spec);
        fs.rmSync(path.dirname(spec.dir), { recursive: true, force: true });
    });

    test("serves S3 with a versioned, encrypted bucket that expires at the retention", async () => {
        expect(await minioRunning(spec)).toBe(true);
        expect(await readBucket(spec, exportsBucket.bucket)).toEqual({ exists: false, versioned: false, encrypted: false });
        await ensureBucket(spec, exportsBucket);
        expect(await readBucket(spec, exportsBucket.bucket)).toEqual({
            exists: true,
            versioned: true,
            encrypted: true,
            expirationDays: 400,
        });

        const s3 = s3Client(spec);
        await s3.send(
            new PutObjectCommand({
                Bucket: exportsBucket.bucket,
                Key: "tenant=acme/object=events/date=2026-11-24/a.parquet",
                Body: "PAR1",
            }),
        );
        const head = await s3.send(
            new HeadObjectCommand({ Bucket: exportsBucket.bucket, Key: "tenant=acme/object=events/date=2026-11-24/a.parquet" }),
        );
        expect(head.ServerSideEncryption).toBe("AES256");
        const body = await (
            await s3.send(
                new GetObjectCommand({ Bucket: exportsBucket.bucket, Key: "tenant=acme/object=events/date=2026-11-24/a.parquet" }),
            )
        ).Body!.transformToString();
        expect(body).toBe("PAR1");
    });

    test("a second ensure is a no-op and a new retention is applied", async () => {
        await ensureBucket(spec, { ...exportsBucket, retentionDays: 90 });
        expect((await readBucket(spec, exportsBucket.bucket)).expirationDays).toBe(90);
    });

    test("deleting the bucket removes every object version", async () => {
        await deleteBucket(spec, exportsBucket.bucket);
        expect((await readBucket(spec, exportsBucket.bucket)).exists).toBe(false);
    });

    test("destroy leaves no process, port or folder", async () => {
        await destroyMinio(spec);
        expect(await minioRunning(spec)).toBe(false);
        expect(await portAnswers(spec.port)).toBe(false);
        expect(fs.existsSync(spec.dir)).toBe(false);
    });
});
