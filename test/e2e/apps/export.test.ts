import { GetObjectCommand, ListObjectVersionsCommand, S3Client } from "@aws-sdk/client-s3";
import { call } from "../../support/cellClient";
import { parquetMetadata, parquetReadObjects, parquetSchema } from "hyparquet";
import { compressors } from "hyparquet-compressors";
import { Pool } from "pg";
import { isolatedLocalStack } from "../../support/project";
import { exportMetrics } from "../../../apps/export/metrics";
import { ExportRunner } from "../../../apps/export/runner";
import { downloadSigner } from "../../../apps/export/downloads";
import { archiveExpiredMonths } from "../../../apps/export/archive";
import { copyDailyReports } from "../../../apps/export/dailyReports";
import { fetchTrusting } from "../../../scripts/ops/https";
import { createClient } from "@clickhouse/client";
import { ExportStore, Job } from "../../../apps/export/store";
import {
    apiKeyFor,
    CellOutput,
    clickhouseOf,
    deployCells,
    destroyCells,
    eventOf,
    eventually,
    exportBucketOf,
    postEvents,
    postgresOf,
    s3Of,
    storedEvents,
} from "./cell";
import type { JsonBody } from "../../support/json";
import type { ResourceProps } from "../../../model/resourceProps";

/** A metadata key that would break out of a quoted name if it were spliced into SQL. */
const ODD_KEY = "odd`key'\\";

/** The export service the local cell deployed: schedules, jobs and Parquet files in the cell's bucket. */
describe("export on a local cell", () => {
    const stack = isolatedLocalStack("cellplane-export-", (config) => {
        config["cellplane:tenants"] = [
            { id: "acme", residency: "eu" },
            { id: "initech", residency: "eu" },
            { id: "globex", residency: "us" },
        ];
    });
    let eu: CellOutput;
    let pool: Pool;
    let s3: S3Client;
    const keys: Record<string, string> = {};
    const today = new Date().toISOString().slice(0, 10);
    const yesterday = new Date(Date.now() - 86_400_000).toISOString().slice(0, 10);

    const api = async (tenant: string, method: string, path: string, body?: unknown) => {
        const response = await call(`${eu.endpoints.exportUrl}${path}`, {
            method,
            headers: { authorization: `Bearer ${keys[tenant]}`, ...(body ? { "content-type": "application/json" } : {}) },
            body: body === undefined ? undefined : JSON.stringify(body),
        });
        const answer: JsonBody = response.status === 204 ? {} : ((await response.json()) as JsonBody);
        return { status: response.status, body: answer };
    };
    const finished = async (tenant: string, jobId: string) => {
        let job: JsonBody = {};
        await eventually(
            async () => ["succeeded", "failed"].includes((job = (await api(tenant, "GET", `/v1/jobs/${jobId}`)).body).status),
            60_000,
        );
        return job;
    };
    /** The cell's Postgres as ClickHouse's `postgresql()` reaches it for the export app. */
    const postgresSource = () => ({
        address: `${eu.endpoints.postgres.host}:${eu.endpoints.postgres.port}`,
        database: eu.endpoints.postgres.database,
        user: eu.endpoints.postgres.user,
        password: eu.credentials.postgresPassword,
    });
    const read = async (key: string) => {
        const object = await s3.send(new GetObjectCommand({ Bucket: eu.endpoints.bucket, Key: key }));
        const bytes = await object.Body!.transformToByteArray();
        const file = bytes.buffer.slice(bytes.byteOffset, bytes.byteOffset + bytes.byteLength) as ArrayBuffer;
        return { rows: await parquetReadObjects({ file, compressors }), schema: parquetSchema(parquetMetadata(file)) };
    };

    beforeAll(async () => {
        eu = deployCells(stack)["local-eu"];
        pool = new Pool({ ...postgresOf(eu), max: 1 });
        for (const org of ["acme", "initech"]) keys[org] = await apiKeyFor(eu, org);
        s3 = s3Of(eu);

        const events = [
            ...Array.from({ length: 30 }, (_, i) =>
                eventOf("acme", {
                    timestamp: `${yesterday}T10:00:${String(i).padStart(2, "0")}.000Z`,
                    metadata: { tokens: i, model: "m-1", cached: i % 2 === 0 },
                }),
            ),
            ...Array.from({ length: 20 }, () => eventOf("acme", { metadata: { tokens: 1.5, tags: ["a"], [ODD_KEY]: 7 } })),
        ];
        expect((await postEvents(eu.endpoints.ingestUrl, keys.acme, events)).status).toBe(202);
        expect((await postEvents(eu.endpoints.ingestUrl, keys.initech, eventOf("initech"))).status).toBe(202);
        expect(
            await eventually(async () => (await storedEvents(eu, "acme")).rows === 50 && (await storedEvents(eu, "initech")).rows === 1),
        ).toBe(true);

        await pool.query("CREATE TABLE public.agreements (tenant_id text NOT NULL, id int, attributes jsonb)");
        await pool.query(
            `INSERT INTO public.agreements VALUES ('acme', 1, '{"vehicle_vin": "VIN-1", "premium": 12.5}'), ('acme', 2, '{"vehicle_vin": "VIN-2"}'), ('initech', 3, '{"secret": "initech only"}')`,
        );
    }, 240_000);

    afterAll(async () => {
        await pool?.end();
        destroyCells(stack);
    }, 120_000);

    test("an on-demand export writes one Parquet file per day, metadata flattened into typed attr_* columns", async () => {
        const { status, body: queued } = await api("acme", "POST", "/v1/exports", { from: yesterday, to: today, objects: ["events"] });
        expect(status).toBe(202);
        const job = await finished("acme", queued.id);
        expect(job).toMatchObject({ status: "succeeded", rows: 50, error: null });
        expect(job.files).toEqual(
            [yesterday, today].map((day) =>
                expect.stringMatching(new RegExp(`^tenant=acme/object=events/date=${day}/[0-9a-f-]{36}\\.parquet$`)),
            ),
        );

        const older = await read(job.files[0]);
        expect(older.rows).toHaveLength(30);
        const columns = Object.fromEntries(older.schema.children.map((c) => [c.element.name, c.element.type]));
        // One schema for the whole export: tokens are whole numbers yesterday and 1.5 today, so they are DOUBLE in both files.
        expect(columns).toMatchObject({ attr_tokens: "DOUBLE", attr_model: "BYTE_ARRAY", attr_cached: "BOOLEAN", org_id: "BYTE_ARRAY" });
        const byTokens = [...older.rows].sort((a, b) => Number(a.attr_tokens) - Number(b.attr_tokens));
        expect(byTokens.map((r) => Number(r.attr_tokens))).toEqual(Array.from({ length: 30 }, (_, i) => i));
        expect(byTokens[3]).toMatchObject({ org_id: "acme", attr_model: "m-1", attr_cached: false, event_type: "code_generated" });
        expect(JSON.parse(String(byTokens[3].metadata))).toEqual({ tokens: 3, model: "m-1", cached: false });

        const newer = await read(job.files[1]);
        expect(newer.schema.children.map((c) => [c.element.name, c.element.type])).toEqual(
            older.schema.children.map((c) => [c.element.name, c.element.type]),
        );
        expect(newer.rows).toHaveLength(20);
        expect(newer.rows.every((r) => r.attr_tokens === 1.5 && r.attr_tags === '["a"]' && r.attr_odd_key__ === 7n)).toBe(true);
    });

    test("a schedule's rerun of the same days replaces its files; each on-demand job keeps files of its own", async () => {
        const schedule = (await api("acme", "POST", "/v1/schedules", { name: "rerun", cron: "0 3 * * *", lookbackDays: 1 })).body;
        const run = async () => finished("acme", (await api("acme", "POST", `/v1/schedules/${schedule.id}/trigger`)).body.id);
        const [first, again] = [await run(), await run()];
        expect(again.files).toEqual(first.files);
        expect(again.rows).toBe(50);
        const latest = async () => {
            const listed = await s3.send(
                new ListObjectVersionsCommand({ Bucket: eu.endpoints.bucket, Prefix: "tenant=acme/object=events/" }),
            );
            return (listed.Versions ?? []).filter((v) => v.IsLatest).map((v) => v.Key!);
        };
        expect((await latest()).filter((key) => first.files.includes(key)).sort()).toEqual([...first.files].sort());

        const onDemand = async () =>
            finished("acme", (await api("acme", "POST", "/v1/exports", { from: yesterday, to: today, objects: ["events"] })).body.id);
        const [one, two] = [await onDemand(), await onDemand()];
        expect(one.files).toHaveLength(2);
        expect(two.files.filter((f: string) => one.files.includes(f))).toEqual([]);
        expect(await latest()).toEqual(expect.arrayContaining([...one.files, ...two.files]));
        expect((await api("acme", "DELETE", `/v1/schedules/${schedule.id}`)).status).toBe(204);
    });

    test("a Postgres table is exported with the tenant's rows only, its jsonb flattened", async () => {
        const job = await finished(
            "acme",
            (await api("acme", "POST", "/v1/exports", { from: today, to: today, objects: ["public.agreements"] })).body.id,
        );
        expect(job).toMatchObject({
            status: "succeeded",
            rows: 2,
            files: [expect.stringMatching(new RegExp(`^tenant=acme/object=public.agreements/date=${today}/`))],
        });
        const { rows } = await read(job.files[0]);
        expect(rows.map((r) => [r.tenant_id, r.id, r.attr_vehicle_vin, r.attr_premium]).sort()).toEqual([
            ["acme", 1, "VIN-1", 12.5],
            ["acme", 2, "VIN-2", null],
        ]);
        expect(JSON.stringify(rows)).not.toContain("initech");
    });

    test("bad schedules are refused naming the field, the value and the reason", async () => {
        const { status, body } = await api("acme", "POST", "/v1/schedules", {
            name: "nightly",
            cron: "61 * * * *",
            objects: ["events", "cellplane.api_keys", "public.missing"],
        });
        expect(status).toBe(400);
        expect(body.problems).toEqual([
            { field: "cron", value: "61 * * * *", reason: expect.stringContaining("five fields") },
            { field: "objects.1", value: "cellplane.api_keys", reason: expect.stringContaining("never exported") },
            { field: "objects.2", value: "public.missing", reason: 'table "public.missing" does not exist in the cell\'s Postgres' },
        ]);
        const malformed = await api("acme", "POST", "/v1/schedules", { name: "Nightly Export", cron: "0 2 * * *", lookbackDays: 400 });
        expect(malformed.body.problems).toEqual([
            { field: "name", value: "Nightly Export", reason: "lower-case letters, digits and dashes, at most 63" },
            { field: "lookbackDays", value: 400, reason: expect.stringContaining("at most 30") },
        ]);
        expect((await api("acme", "GET", "/v1/schedules")).body.schedules).toEqual([]);
    });

    test("schedules are created, listed, updated, paused, resumed and deleted, each tenant seeing only its own", async () => {
        const created = await api("acme", "POST", "/v1/schedules", { name: "nightly", cron: "0 2 * * *" });
        expect(created.status).toBe(201);
        expect(created.body).toMatchObject({
            tenant: "acme",
            name: "nightly",
            jobType: "PARQUET_EXPORT",
            params: { objects: ["events"], lookbackDays: 1 },
            paused: false,
        });
        expect(new Date(created.body.nextRunAt).getUTCHours()).toBe(2);
        const id = created.body.id;
        expect((await api("acme", "POST", "/v1/schedules", { name: "nightly", cron: "0 3 * * *" })).status).toBe(409);

        expect((await api("initech", "GET", `/v1/schedules/${id}`)).status).toBe(404);
        expect((await api("initech", "DELETE", `/v1/schedules/${id}`)).status).toBe(404);
        expect((await api("initech", "GET", "/v1/schedules")).body.schedules).toEqual([]);

        const updated = await api("acme", "PUT", `/v1/schedules/${id}`, { name: "nightly", cron: "30 4 * * *", lookbackDays: 2 });
        expect(updated.body).toMatchObject({ cron: "30 4 * * *", params: { lookbackDays: 2 } });
        expect((await api("acme", "POST", `/v1/schedules/${id}/pause`)).body).toMatchObject({ paused: true, nextRunAt: null });
        expect((await api("acme", "POST", `/v1/schedules/${id}/resume`)).body).toMatchObject({
            paused: false,
            nextRunAt: expect.stringContaining("T04:30:00"),
        });
        expect((await api("acme", "GET", "/v1/schedules")).body.schedules.map((s: ResourceProps) => s.id)).toEqual([id]);
        expect((await api("acme", "DELETE", `/v1/schedules/${id}`)).status).toBe(204);
        expect((await api("acme", "GET", `/v1/schedules/${id}`)).status).toBe(404);
    });

    test("a schedule fires by itself when due, a trigger runs it now, and a paused schedule stays quiet", async () => {
        const { body: schedule } = await api("initech", "POST", "/v1/schedules", {
            name: "quarter-hourly",
            cron: "*/15 * * * *",
            lookbackDays: 0,
        });
        const comeDue = () =>
            pool.query("UPDATE cellplane.export_schedules SET next_run_at = now() - interval '1 second' WHERE id = $1", [schedule.id]);
        const runs = async () => (await api("initech", "GET", `/v1/jobs?schedule=${schedule.id}`)).body.jobs;
        await comeDue();
        expect(await eventually(async () => (await runs()).some((j: ResourceProps) => j.status === "succeeded"), 30_000)).toBe(true);
        const fired = (await runs()).find((j: ResourceProps) => j.status === "succeeded");
        expect(fired).toMatchObject({
            tenant: "initech",
            rows: 1,
            from: today,
            to: today,
            files: [expect.stringContaining("tenant=initech/object=events/")],
        });
        expect((await api("initech", "GET", `/v1/schedules/${schedule.id}`)).body.nextRunAt).toMatch(/T\d\d:(00|15|30|45):00/);

        await api("initech", "POST", `/v1/schedules/${schedule.id}/pause`);
        await comeDue();
        const quiet = (await runs()).length;
        await new Promise((r) => setTimeout(r, 7_000));
        expect((await runs()).length).toBe(quiet);

        const triggered = await api("initech", "POST", `/v1/schedules/${schedule.id}/trigger`);
        expect(triggered.status).toBe(202);
        expect(await finished("initech", triggered.body.id)).toMatchObject({ status: "succeeded", scheduleId: schedule.id, rows: 1 });
        expect((await api("acme", "GET", `/v1/jobs/${triggered.body.id}`)).status).toBe(404);
    }, 90_000);

    test("one tenant cannot flood the cell's exports: schedules, their frequency, days per run and jobs in flight are limited", async () => {
        const everySecond = await api("acme", "POST", "/v1/schedules", { name: "flood", cron: "* * * * * *" });
        expect(everySecond.status).toBe(400);
        expect(everySecond.body.problems).toEqual([
            { field: "cron", value: "* * * * * *", reason: expect.stringContaining("at least 15 minutes apart") },
        ]);
        const burst = await api("acme", "POST", "/v1/schedules", { name: "burst", cron: "0,1 * * * *" });
        expect(burst.body.problems[0].reason).toContain("fires 60 s apart");
        const wide = await api("acme", "POST", "/v1/exports", { from: "2026-01-01", to: "2026-03-01" });
        expect(wide.body.problems).toEqual([{ field: "to", value: "2026-03-01", reason: expect.stringContaining("more than 31 days") }]);

        for (let i = 0; i < 20; i++)
            expect((await api("acme", "POST", "/v1/schedules", { name: `s-${i}`, cron: "0 3 * * *", paused: true })).status).toBe(201);
        const oneTooMany = await api("acme", "POST", "/v1/schedules", { name: "s-20", cron: "0 3 * * *" });
        expect(oneTooMany.status).toBe(409);
        expect(oneTooMany.body.error).toContain("20 schedules, the most it may");
        for (const s of (await api("acme", "GET", "/v1/schedules")).body.schedules) await api("acme", "DELETE", `/v1/schedules/${s.id}`);

        // Ten jobs another replica holds under live leases: this replica neither runs them nor queues an eleventh.
        const { rows } = await pool.query<{ id: string }>(
            `INSERT INTO cellplane.export_jobs (tenant_id, from_date, to_date, objects, status, lease_owner, lease_until)
             SELECT 'acme', current_date, current_date, ARRAY['events'], 'running', 'another-replica', now() + interval '1 hour' FROM generate_series(1, 10) RETURNING id`,
        );
        const refused = await api("acme", "POST", "/v1/exports", { from: today, to: today });
        expect(refused.status).toBe(429);
        expect(refused.body.error).toContain("10 exports queued or running");
        await new Promise((r) => setTimeout(r, 6_000));
        const held = await pool.query(
            "SELECT count(*)::int AS n FROM cellplane.export_jobs WHERE id = ANY($1) AND status = 'running' AND lease_owner = 'another-replica'",
            [rows.map((r) => r.id)],
        );
        expect(held.rows[0].n).toBe(10);
        await pool.query("DELETE FROM cellplane.export_jobs WHERE id = ANY($1)", [rows.map((r) => r.id)]);
        expect((await api("acme", "POST", "/v1/exports", { from: today, to: today })).status).toBe(202);
    }, 60_000);

    test("a tenant fetches its job's files through signed URLs: the store's bytes; another tenant, an altered URL or an expired one gets nothing", async () => {
        const queued = await api("acme", "POST", "/v1/exports", { from: yesterday, to: today });
        const job = await finished("acme", queued.body.id);
        expect(job.status).toBe("succeeded");
        const listing = await api("acme", "GET", `/v1/jobs/${job.id}/files`);
        expect(listing.status).toBe(200);
        expect(listing.body.files.map((f: JsonBody) => f.key)).toEqual(job.files);
        expect(Date.parse(listing.body.expiresAt) - Date.now()).toBeGreaterThan(14 * 60_000);
        const fromStore = fetchTrusting(eu.endpoints.objectStoreCa);
        let rowsDownloaded = 0;
        for (const file of listing.body.files) {
            const download = await fromStore(file.url);
            expect(download.status).toBe(200);
            const bytes = Buffer.from(await download.arrayBuffer());
            expect(bytes.length).toBe(file.bytes);
            const stored = await s3.send(new GetObjectCommand({ Bucket: eu.endpoints.bucket, Key: file.key }));
            expect(bytes.equals(Buffer.from(await stored.Body!.transformToByteArray()))).toBe(true);
            const parquet = bytes.buffer.slice(bytes.byteOffset, bytes.byteOffset + bytes.byteLength);
            const rows = await parquetReadObjects({ file: parquet, compressors });
            expect(rows.every((r) => r.org_id === "acme")).toBe(true);
            rowsDownloaded += rows.length;
        }
        expect(rowsDownloaded).toBe(job.rows);
        expect((await api("initech", "GET", `/v1/jobs/${job.id}/files`)).status).toBe(404);
        // The signature covers the key: the URL pointed at another tenant's prefix is refused by the store.
        const altered = new URL(listing.body.files[0].url);
        altered.pathname = altered.pathname.replace(/tenant(=|%3D)acme/, "tenant$1initech");
        expect(altered.pathname).toContain("initech");
        expect((await fromStore(altered.toString())).status).toBe(403);
        const brief = await downloadSigner(exportBucketOf(eu).store, exportBucketOf(eu).secret).urlOf(job.files[0], 1);
        expect((await fromStore(brief)).status).toBe(200);
        await new Promise((r) => setTimeout(r, 2_500));
        expect((await fromStore(brief)).status).toBe(403);
    }, 90_000);

    test("a run that fails is tried again after a wait, and a job fails for good after its last attempt", async () => {
        const store = new ExportStore(pool);
        const metrics = exportMetrics();
        const unreachable = createClient({ url: "http://127.0.0.1:9", request_timeout: 2_000 });
        const clickhouse = clickhouseOf(eu);
        const retries = { maxAttempts: 2, firstDelayMs: 500 };
        const runnerWith = (client: typeof clickhouse) =>
            new ExportRunner({ store, pool, clickhouse: client, metrics, retries, bucket: exportBucketOf(eu), postgres: {} as never });
        const attemptsOf = async (id: string) => (await store.job("acme", id))!;

        const recovers = await store.createJob("acme", null, today, today, ["events"]);
        const down = runnerWith(unreachable);
        down.enqueue(recovers);
        await down.idle();
        expect(await attemptsOf(recovers.id)).toMatchObject({
            status: "queued",
            attempts: 1,
            error: expect.stringContaining("attempt 1 of 2"),
        });
        const up = runnerWith(clickhouse);
        up.enqueue(recovers);
        await up.idle();
        // Not before its wait is over.
        expect((await attemptsOf(recovers.id)).attempts).toBe(1);
        await new Promise((r) => setTimeout(r, 600));
        up.enqueue(recovers);
        await up.idle();
        expect(await attemptsOf(recovers.id)).toMatchObject({ status: "succeeded", attempts: 2, error: null });

        const doomed = await store.createJob("acme", null, today, today, ["events"]);
        for (const wait of [0, 600]) {
            await new Promise((r) => setTimeout(r, wait));
            down.enqueue(doomed);
            await down.idle();
        }
        expect(await attemptsOf(doomed.id)).toMatchObject({ status: "failed", attempts: 2 });
        expect((await metrics.jobsRetried.get()).values[0].value).toBe(2);
        await Promise.all([unreachable.close(), clickhouse.close()]);
    }, 60_000);

    test("a run longer than its time limit is stopped by ClickHouse and fails", async () => {
        await pool.query("CREATE VIEW public.slow_rows AS SELECT 'acme'::text AS tenant_id, pg_sleep(20)::text AS slept");
        const store = new ExportStore(pool);
        const clickhouse = clickhouseOf(eu);
        const ran: string[] = [];
        const runner = new ExportRunner({
            store,
            pool,
            clickhouse,
            metrics: exportMetrics(),
            bucket: exportBucketOf(eu),
            postgres: postgresSource(),
            timeLimitMs: 2_000,
            retries: { maxAttempts: 1, firstDelayMs: 0 },
            log: (line) => ran.push(line),
        });
        const job = await store.createJob("acme", null, today, today, ["public.slow_rows"]);
        const started = Date.now();
        runner.enqueue(job);
        await runner.idle();
        expect(Date.now() - started).toBeLessThan(15_000);
        expect(await store.job("acme", job.id)).toMatchObject({ status: "failed" });
        expect(ran.join("\n")).toMatch(/TIMEOUT_EXCEEDED|Timeout exceeded/i);
        await pool.query("DROP VIEW public.slow_rows");
        await clickhouse.close();
    }, 60_000);

    test("the daily reports ClickHouse computes are copied into the cell's Postgres, and a day computed again is copied again", async () => {
        const clickhouse = clickhouseOf(eu);
        const reportedInClickHouse = async () =>
            (
                await (
                    await clickhouse.query({
                        query: "SELECT toString(day) AS day, events FROM analytics.daily_reports FINAL WHERE org_id = 'acme' ORDER BY day",
                        format: "JSONEachRow",
                    })
                ).json<{ day: string; events: string }>()
            ).map((r) => [r.day, Number(r.events)]);
        const inPostgres = async () =>
            (
                await pool.query<{ day: string; events: string }>(
                    "SELECT to_char(day, 'YYYY-MM-DD') AS day, events FROM cellplane.daily_reports WHERE org_id = 'acme' ORDER BY day",
                )
            ).rows.map((r) => [r.day, Number(r.events)]);
        const total = async () => (await reportedInClickHouse()).reduce((n, [, events]) => n + Number(events), 0);
        expect(await eventually(async () => (await total()) >= 50, 30_000)).toBe(true);
        expect(await copyDailyReports(clickhouse, pool)).toBeGreaterThan(0);
        expect(await inPostgres()).toEqual(await reportedInClickHouse());

        const before = await total();
        expect(
            (await postEvents(eu.endpoints.ingestUrl, keys.acme, eventOf("acme", { timestamp: `${yesterday}T11:00:00.000Z` }))).status,
        ).toBe(202);
        expect(await eventually(async () => (await total()) === before + 1, 30_000)).toBe(true);
        await copyDailyReports(clickhouse, pool);
        expect(await inPostgres()).toEqual(await reportedInClickHouse());
        await clickhouse.close();
    }, 90_000);

    test("a month past the retention is archived to the cell's bucket, counted, recorded, and only then dropped; a failed archive drops nothing", async () => {
        const clickhouse = clickhouseOf(eu);
        const monthsAgo = (months: number, day: number) => {
            const at = new Date();
            at.setUTCDate(1);
            at.setUTCMonth(at.getUTCMonth() - months);
            at.setUTCDate(day);
            return at.toISOString().slice(0, 10);
        };
        const [expiredA, expiredB, kept] = [monthsAgo(38, 3), monthsAgo(38, 17), monthsAgo(30, 3)];
        const row = (day: string, i: number) => ({
            ...eventOf("acme"),
            metadata: JSON.stringify({ n: i }),
            timestamp: `${day} 10:00:${String(i).padStart(2, "0")}.000`,
            received_at: `${day} 10:00:${String(i).padStart(2, "0")}.000`,
        });
        const rows = [
            ...Array.from({ length: 5 }, (_, i) => row(expiredA, i)),
            ...Array.from({ length: 3 }, (_, i) => row(expiredB, i)),
            row(kept, 0),
        ];
        await clickhouse.insert({ table: "analytics.events", values: rows, format: "JSONEachRow" });
        const month = Number(expiredA.slice(0, 7).replace("-", ""));
        const eventsOf = async (day: string) =>
            Number(
                (
                    await (
                        await clickhouse.query({
                            query: "SELECT count() AS n FROM analytics.events WHERE org_id = 'acme' AND toYYYYMM(_partition_date) = {m:UInt32}",
                            query_params: { m: Number(day.slice(0, 7).replace("-", "")) },
                            format: "JSONEachRow",
                        })
                    ).json<{ n: string }>()
                )[0].n,
            );
        const log: string[] = [];
        const deps = { clickhouse, pool, bucket: exportBucketOf(eu), timeLimitSeconds: 60, log: (line: string) => log.push(line) };

        const wrongKey = { ...deps, bucket: { ...deps.bucket, secret: "not-the-key" } };
        await expect(archiveExpiredMonths(wrongKey)).rejects.toThrow();
        expect(await eventsOf(expiredA)).toBe(8);
        expect((await pool.query("SELECT * FROM cellplane.event_archives WHERE org_id = 'acme'")).rows).toEqual([]);

        expect(await archiveExpiredMonths(deps)).toEqual({ archived: 1, dropped: 1 });
        expect(await eventsOf(expiredA)).toBe(0);
        expect(await eventsOf(kept)).toBe(1);
        const [record] = (await pool.query("SELECT * FROM cellplane.event_archives WHERE org_id = 'acme'")).rows;
        expect(record).toMatchObject({ month, rows: "8", dropped_at: expect.any(Date) });
        expect(record.files.map((f: { key: string }) => f.key)).toEqual([
            expect.stringMatching(new RegExp(`^tenant=acme/object=events_archive/date=${expiredA}/`)),
            expect.stringMatching(new RegExp(`^tenant=acme/object=events_archive/date=${expiredB}/`)),
        ]);
        const archived = await read(record.files[0].key);
        expect(archived.rows.map((r) => Number(r.attr_n)).sort()).toEqual([0, 1, 2, 3, 4]);
        expect(log.join("\n")).toMatch(/8 events in 2 files, read back and counted[\s\S]*dropped from ClickHouse after its archive/);
        expect(await archiveExpiredMonths(deps)).toEqual({ archived: 0, dropped: 0 });
        await clickhouse.close();
    }, 60_000);

    test("two replicas' runners run a job once between them, count it once as finished, and take tenants in turn", async () => {
        const store = new ExportStore(pool);
        const clickhouse = clickhouseOf(eu);
        const ran: string[] = [];
        const metrics = exportMetrics();
        const runnerOf = (owner: string) =>
            new ExportRunner({
                store,
                pool,
                clickhouse,
                owner,
                metrics,
                bucket: exportBucketOf(eu),
                postgres: postgresSource(),
                log: (line) => ran.push(`${owner} ${line}`),
            });
        const queue = async () => {
            const jobs: Job[] = [];
            for (const tenant of ["acme", "acme", "acme", "initech"])
                jobs.push(await store.createJob(tenant, null, today, today, ["events"]));
            return jobs;
        };
        const [first, second] = [runnerOf("replica-1"), runnerOf("replica-2")];
        const shared = await queue();
        first.enqueue(...shared);
        second.enqueue(...shared);
        await Promise.all([first.idle(), second.idle()]);
        for (const job of shared) expect(ran.filter((line) => line.includes(`job ${job.id} `))).toHaveLength(1);
        expect((await metrics.jobsFinished.get()).values.map((v) => [v.labels.outcome, v.value])).toEqual([["succeeded", shared.length]]);

        ran.length = 0;
        const own = await queue();
        first.enqueue(...own);
        await first.idle();
        expect(ran.map((line) => own.find((j) => line.includes(j.id))!.tenant)).toEqual(["acme", "initech", "acme", "acme"]);
        await clickhouse.close();
    }, 60_000);
});
