import { randomBytes, randomUUID } from "crypto";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import { ListObjectsV2Command } from "@aws-sdk/client-s3";
import { ClickHouseClient, createClient } from "@clickhouse/client";
import { execFileSync } from "child_process";
import { analyticsDdl, clickhouseTime, ensureAnalyticsSchema, TIERED_EVENTS_TABLE } from "../../../apps/shared/analytics";
import { COLD_AFTER_MONTHS } from "../../../apps/shared/events";
import { COLD_DISK_PREFIX, type ColdDisk, storageConfiguration } from "../../../components/coldStorage";
import { chdbModule, nodeBin } from "../../../components/local/tools";
import { ensureColdBucket, s3Client } from "../../../components/local/buckets";
import { ClickHouseServerSpec, startClickHouse, urlOf } from "../../../components/local/clickhouseServer";
import { endpointOf, INTERNAL_PORTS, SeaweedfsServerSpec, startSeaweedfs } from "../../../components/local/seaweedfsServer";
import { destroyService } from "../../../components/local/supervisor";
import { freePort, freePorts } from "../../support/freePort";

const COLD_BUCKET = "cell-analytics-cold";
const DAY_MS = 86_400_000;

const monthsAgo = (months: number) => {
    const at = new Date();
    at.setUTCMonth(at.getUTCMonth() - months);
    return at;
};

async function until(done: () => Promise<boolean>, timeoutMs: number): Promise<void> {
    for (const deadline = Date.now() + timeoutMs; !(await done());) {
        if (Date.now() > deadline) throw new Error(`not done within ${timeoutMs} ms`);
        await new Promise((resolve) => setTimeout(resolve, 500));
    }
}

const eventsOf = (org: string, at: Date, count: number) =>
    Array.from({ length: count }, (_, i) => ({
        event_id: randomUUID(),
        org_id: org,
        user_id: `u${i % 3}`,
        session_id: "s1",
        event_type: "code_generated",
        event_category: "usage",
        timestamp: clickhouseTime(new Date(at.getTime() + i * 1000).toISOString()),
        region: "eu-west-1",
        environment: "test",
        metadata: "{}",
        received_at: clickhouseTime(new Date().toISOString()),
    }));

/**
 * The cold tier on real servers: ClickHouse (chdb behind its HTTP front) whose cold volume is a disk on SeaweedFS's
 * S3, configured by the same storage configuration the cluster targets give their servers.
 */
describe("the events' cold volume on the cell's own object storage", () => {
    let seaweedfs: SeaweedfsServerSpec;
    let spec: ClickHouseServerSpec;
    let clickhouse: ClickHouseClient;
    let root: string;

    beforeAll(async () => {
        root = fs.mkdtempSync(path.join(os.tmpdir(), "cellplane-cold-"));
        fs.chmodSync(root, 0o755);
        seaweedfs = {
            label: "seaweedfs of the cold tier test",
            dir: path.join(root, "seaweedfs"),
            port: await freePort(),
            internalPortBase: await freePorts(INTERNAL_PORTS),
            accessKeyId: "cellplane",
            secretAccessKey: randomBytes(20).toString("hex"),
            sseKey: randomBytes(32).toString("hex"),
            adminPassword: randomBytes(16).toString("hex"),
        };
        await startSeaweedfs(seaweedfs);
        await ensureColdBucket(seaweedfs, COLD_BUCKET);
        const { xml } = storageConfiguration({
            kind: "s3",
            endpoint: `${endpointOf(seaweedfs)}/${COLD_BUCKET}/${COLD_DISK_PREFIX}`,
            region: "us-east-1",
            keys: { accessKeyId: { value: seaweedfs.accessKeyId }, secretAccessKey: { value: seaweedfs.secretAccessKey } },
        });
        spec = {
            label: "clickhouse of the cold tier test",
            dir: path.join(root, "clickhouse"),
            port: await freePort(),
            user: "cellplane",
            password: randomBytes(12).toString("hex"),
            storage: xml,
        };
        await startClickHouse(spec);
        clickhouse = createClient({ url: urlOf(spec), username: spec.user, password: spec.password });
    }, 120_000);

    afterAll(async () => {
        await clickhouse?.close();
        if (spec) await destroyService(spec.dir);
        if (seaweedfs) await destroyService(seaweedfs.dir);
        fs.rmSync(root, { recursive: true, force: true });
    });

    const query = async <T>(sql: string) => (await clickhouse.query({ query: sql, format: "JSONEachRow" })).json<T>();
    const disksOf = async (org: string) =>
        (
            await query<{ month: string; disk: string }>(
                `SELECT toString(partition) AS month, disk_name AS disk FROM system.parts
                 WHERE database = 'analytics' AND table = 'events' AND active AND partition LIKE '%${org}%' ORDER BY min_date`,
            )
        ).map((p) => p.disk);
    const coldObjects = async () =>
        (await s3Client(seaweedfs).send(new ListObjectsV2Command({ Bucket: COLD_BUCKET, Prefix: COLD_DISK_PREFIX }))).KeyCount ?? 0;
    const countOf = async (org: string) =>
        Number((await query<{ n: string }>(`SELECT count() AS n FROM analytics.events FINAL WHERE org_id = '${org}'`))[0].n);

    test("a cell from before the cold tier: its table takes the tiered policy, and its parts past 13 months move to the cold disk", async () => {
        // The table as a cell before the tier made it, with a month past the tier and a recent one.
        for (const statement of analyticsDdl({ cold: false })) await clickhouse.command({ query: statement });
        const old = monthsAgo(COLD_AFTER_MONTHS + 1);
        const recent = new Date(Date.now() - 3 * DAY_MS);
        await clickhouse.insert({
            table: "analytics.events",
            values: [...eventsOf("upgraded", old, 40), ...eventsOf("upgraded", recent, 25)],
            format: "JSONEachRow",
        });
        expect(await disksOf("upgraded")).toEqual(["default", "default"]);
        expect(await coldObjects()).toBe(0);

        await ensureAnalyticsSchema(clickhouse);
        // MATERIALIZE TTL recomputes each part's TTL; the server's background moves then carry the part past it.
        await clickhouse.command({ query: "ALTER TABLE analytics.events MATERIALIZE TTL SETTINGS mutations_sync = 1" });
        await until(async () => (await disksOf("upgraded")).includes("cold"), 60_000);
        expect(await disksOf("upgraded")).toEqual(["cold", "default"]);
        expect(await coldObjects()).toBeGreaterThan(0);
        expect(await countOf("upgraded")).toBe(65);
    }, 120_000);

    test("events stored past 13 months go to the cold disk, the month before it stays on the servers' disks, and both read back", async () => {
        const past = monthsAgo(COLD_AFTER_MONTHS + 2);
        const notYet = monthsAgo(COLD_AFTER_MONTHS - 1);
        await clickhouse.insert({
            table: "analytics.events",
            values: [...eventsOf("aged", past, 30), ...eventsOf("aged", notYet, 20)],
            format: "JSONEachRow",
        });
        expect(await disksOf("aged")).toEqual(["cold", "default"]);
        expect(await countOf("aged")).toBe(50);
        const users = await query<{ users: string }>(
            `SELECT uniqExact(user_id) AS users FROM analytics.events WHERE org_id = 'aged' AND timestamp < '${clickhouseTime(notYet.toISOString())}'`,
        );
        expect(Number(users[0].users)).toBe(3);
    }, 60_000);
});

/** What the engine makes of a storage configuration: its cold disk and the policy's volumes, or the error it refuses it with. */
function engineReading(xml: string, env: Record<string, string>): { disk: string; volumes: string; table: string } {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), "cellplane-storage-"));
    try {
        fs.writeFileSync(path.join(dir, "storage.xml"), xml);
        const script = `
            const chdb = require(${JSON.stringify(chdbModule())});
            const session = new chdb.Session(${JSON.stringify(path.join(dir, "data"))}, { connectionArgs: [${JSON.stringify(`--config-file=${path.join(dir, "storage.xml")}`)}] });
            const ask = (sql) => session.query(sql, "TSV").trim();
            ask("CREATE DATABASE analytics");
            ask(${JSON.stringify(TIERED_EVENTS_TABLE)});
            console.log(JSON.stringify({
                disk: ask("SELECT type, object_storage_type FROM system.disks WHERE name = 'cold'"),
                volumes: ask("SELECT arrayStringConcat(groupArray(volume_name || ':' || arrayStringConcat(disks)), ',') FROM system.storage_policies WHERE policy_name = 'tiered'"),
                table: ask("SELECT storage_policy FROM system.tables WHERE name = 'events'"),
            }));
            session.close();`;
        const out = execFileSync(nodeBin(), ["-e", script], { env: { PATH: process.env.PATH, ...env }, encoding: "utf8" });
        return JSON.parse(out.trim().split("\n").pop()!);
    } finally {
        fs.rmSync(dir, { recursive: true, force: true });
    }
}

/**
 * Each cluster target's storage configuration, read by the real engine: the S3 disk an EKS server signs for as its
 * pod's role, the Blob disk an AKS server reaches as its workload identity, the S3 disk whose keys a Kubernetes
 * server takes from the cell's Secret through its environment.
 */
describe("the storage configuration of every cluster target, as the engine reads it", () => {
    const targets: [string, ColdDisk, string][] = [
        [
            "aws",
            { kind: "s3", endpoint: "https://cell-analytics-cold.s3.eu-central-1.amazonaws.com/clickhouse/", region: "eu-central-1" },
            "S3",
        ],
        ["azure", { kind: "azure", accountUrl: "https://cpcell1.blob.core.windows.net/", container: "analytics-cold" }, "Azure"],
        [
            "kubernetes",
            {
                kind: "s3",
                endpoint: "http://seaweedfs-s3.cell-data.svc.cluster.local:8333/cell-analytics-cold/clickhouse/",
                region: "us-east-1",
                keys: {
                    accessKeyId: { secret: { name: "keys", key: "id" } },
                    secretAccessKey: { secret: { name: "keys", key: "secret" } },
                },
            },
            "S3",
        ],
    ];

    test.each(targets)("%s", (_target, disk, storageType) => {
        const { xml, env } = storageConfiguration(disk);
        const values = Object.fromEntries(Object.keys(env).map((name) => [name, randomBytes(8).toString("hex")]));
        expect(engineReading(xml, values)).toEqual({
            disk: `ObjectStorage\t${storageType}`,
            volumes: "default:default,cold:cold",
            table: "tiered",
        });
    });
});
