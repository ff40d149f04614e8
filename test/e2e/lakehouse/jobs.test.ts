import { randomBytes } from "crypto";
import { Pool } from "pg";
import type { AnalyticsEvent } from "../../../apps/shared/events";
import { lakeBucketOf } from "../../../components/bucketNames";
import { runJobs } from "../../../apps/lakehouse/runner";
import { runsOf } from "../../../apps/lakehouse/runs";
import { localSpark, submitLocally } from "../../../apps/lakehouse/sparkSubmit";
import { lakehouseOfCell } from "../../../scripts/ops/jobs";
import fc from "fast-check";
import { QUERY_GUARDRAILS } from "../../../apps/lakehouse/lakeSql";
import { ALERT_MIN_ERRORS, ALERT_USER, WINDOW_SECONDS } from "../../../apps/lakehouse/streaming";
import { cellplane } from "../../support/cli";
import { isolatedLocalStack } from "../../support/project";
import {
    apiKeyFor,
    type CellOutput,
    clickhouseOf,
    deployCells,
    destroyCells,
    eventOf,
    eventually,
    postEvents,
    postgresOf,
    queryLake,
    routerUrlsOf,
    storedEvents,
} from "../apps/cell";

const DAY_MS = 86_400_000;
const day = (offset: number) => new Date(Date.now() - offset * DAY_MS).toISOString().slice(0, 10);

/** A tenant's day: sessions that start and end, errors and costs, so every gold measure has something to count. */
function dayOf(org: string, date: string, sessions: number) {
    const at = (s: number, second: number) => `${date}T${String(8 + s).padStart(2, "0")}:00:${String(second).padStart(2, "0")}.000Z`;
    return Array.from({ length: sessions }, (_, s) => {
        const inSession = (second: number, event: Partial<Record<keyof AnalyticsEvent, unknown>>) =>
            eventOf(org, { session_id: `${org}-s${s}`, user_id: `u${s % 3}`, timestamp: at(s, second), ...event });
        return [
            inSession(0, { event_type: "session_start" }),
            inSession(5, { event_type: "code_generated" }),
            ...(s % 2 ? [inSession(7, { event_type: "error", event_category: "performance" })] : []),
            inSession(9, { event_type: "cost_incurred", event_category: "cost", metadata: { usd: 0.25 * (s + 1) } }),
            inSession(10 + s, { event_type: "session_end" }),
        ];
    }).flat();
}

const MEASURES = ["events", "unique_users", "unique_sessions", "errors", "error_rate", "cost_usd", "sessions_timed", "avg_session_seconds"];

/** The lakehouse jobs on a deployed local cell: real Kafka, Spark, Iceberg (JDBC catalog in Postgres, files in SeaweedFS). */
describe("the lakehouse jobs of a local cell", () => {
    // One cell and its router: the us cell has no part in what is shown here.
    const stack = isolatedLocalStack("cellplane-lakehouse-", (config) => {
        config["cellplane:cells"] = config["cellplane:cells"].slice(0, 1);
        config["cellplane:tenants"] = [
            { id: "acme", residency: "eu" },
            { id: "initech", residency: "eu" },
            { id: "globex", residency: "eu" },
            { id: "umbrella", residency: "eu" },
        ];
        config["cellplane:localStreaming"] = true;
    });
    let eu: CellOutput;
    let pool: Pool;
    const keys: Record<string, string> = {};
    const sent: Record<string, number> = { acme: 0, initech: 0, globex: 0, umbrella: 0 };

    const send = async (org: string, events: ReturnType<typeof dayOf>) => {
        expect((await postEvents(eu.endpoints.ingestUrl, keys[org], events)).status).toBe(202);
        sent[org] += events.length;
    };
    const jobs = (command: string, ...args: string[]) =>
        cellplane(stack.dir, ["jobs", command, "--env", "local", "--cell", "local-eu", ...args], stack.env);
    /** `jobs run`, which must succeed: a failure shows the command's output. */
    const runJobsNow = (...args: string[]) => {
        const run = jobs("run", ...args);
        expect({ code: run.code, out: run.out }).toEqual({ code: 0, out: expect.stringContaining("succeeded") });
        return run;
    };
    /** An Iceberg table of the cell's lake, read by the cell's ClickHouse. */
    const lake = async <T>(table: string, select: string) => {
        const clickhouse = clickhouseOf(eu);
        try {
            const url = `${eu.endpoints.objectStoreEndpoint}/${lakeBucketOf("local-eu")}/warehouse/${table}/`;
            const { accessKeyId, secretAccessKey } = eu.credentials.objectStoreKeys;
            const from = `icebergS3('${url}', '${accessKeyId}', '${secretAccessKey}')`;
            return await (await clickhouse.query({ query: select.replace("{lake}", from), format: "JSONEachRow" })).json<T>();
        } finally {
            await clickhouse.close();
        }
    };
    const clickhouseReports = async () => {
        const clickhouse = clickhouseOf(eu);
        try {
            const query = `SELECT org_id, toString(day) AS day, ${MEASURES.join(", ")} FROM analytics.daily_reports FINAL
                           WHERE org_id IN ('acme', 'initech') ORDER BY org_id, day`;
            return await (await clickhouse.query({ query, format: "JSONEachRow" })).json<Record<string, unknown>>();
        } finally {
            await clickhouse.close();
        }
    };
    const goldReports = () =>
        lake<Record<string, unknown>>(
            "gold/daily_tenant_metrics",
            `SELECT org_id, toString(day) AS day, ${MEASURES.join(", ")} FROM {lake} WHERE org_id IN ('acme', 'initech') ORDER BY org_id, day`,
        );
    const numbers = (rows: Record<string, unknown>[]) =>
        rows.map((row) =>
            Object.fromEntries(Object.entries(row).map(([k, v]) => [k, MEASURES.includes(k) ? Number(Number(v).toFixed(6)) : v])),
        );
    const reportsAgree = async () => JSON.stringify(numbers(await clickhouseReports())) === JSON.stringify(numbers(await goldReports()));
    const stored = async () =>
        (await storedEvents(eu, "acme")).rows === sent.acme && (await storedEvents(eu, "initech")).rows === sent.initech;

    beforeAll(async () => {
        eu = deployCells(stack)["local-eu"];
        pool = new Pool({ ...postgresOf(eu), max: 2 });
        for (const org of ["acme", "initech"]) keys[org] = await apiKeyFor(eu, org);
        await send("acme", [...dayOf("acme", day(1), 4), ...dayOf("acme", day(0), 3)]);
        await send("initech", dayOf("initech", day(1), 2));
        expect(await eventually(stored, 60_000)).toBe(true);
    }, 300_000);

    afterAll(async () => {
        await pool?.end();
        destroyCells(stack);
    });

    test("bronze → silver → gold: the lake holds every event once, and gold's measures equal ClickHouse's daily reports", async () => {
        expect(runJobsNow().out).toMatch(/bronze: succeeded, \d+ rows/);

        const counts = await lake<{ org_id: string; rows: string; ids: string }>(
            "silver/events",
            "SELECT org_id, count() AS rows, uniqExact(event_id) AS ids FROM {lake} GROUP BY org_id ORDER BY org_id",
        );
        expect(counts.map((c) => [c.org_id, Number(c.rows), Number(c.ids)])).toEqual([
            ["acme", sent.acme, sent.acme],
            ["initech", sent.initech, sent.initech],
        ]);
        // ClickHouse's rollups run every few seconds; gold is what the same events give.
        expect(await eventually(reportsAgree, 30_000)).toBe(true);
        expect((await goldReports()).length).toBe(3);
        const postgresReports = await pool.query(
            `SELECT org_id, day::text AS day, ${MEASURES.join(", ")} FROM lakehouse.daily_reports ORDER BY org_id, day`,
        );
        expect(numbers(postgresReports.rows)).toEqual(numbers(await goldReports()));
    }, 300_000);

    test("a second run is incremental: bronze takes only the new messages, and a resent event is stored once", async () => {
        const before = await lake<{ rows: string }>("bronze/events", "SELECT count() AS rows FROM {lake}");
        const more = dayOf("acme", day(0), 2);
        await send("acme", more);
        // The same event again, as a client retrying a request it thinks was lost.
        expect((await postEvents(eu.endpoints.ingestUrl, keys.acme, [more[0]])).status).toBe(202);
        expect(await eventually(stored, 60_000)).toBe(true);

        runJobsNow();
        const bronzeRun = (await runsOf(pool, "bronze", 1))[0];
        expect(bronzeRun).toMatchObject({ state: "succeeded", rows: more.length + 1, trigger: "manual" });
        const after = await lake<{ rows: string }>("bronze/events", "SELECT count() AS rows FROM {lake}");
        expect(Number(after[0].rows) - Number(before[0].rows)).toBe(more.length + 1);

        const acme = await lake<{ rows: string; ids: string }>(
            "silver/events",
            "SELECT count() AS rows, uniqExact(event_id) AS ids FROM {lake} WHERE org_id = 'acme'",
        );
        expect([Number(acme[0].rows), Number(acme[0].ids)]).toEqual([sent.acme, sent.acme]);
        expect(await eventually(reportsAgree, 30_000)).toBe(true);
        // Sessions are recomputed whole: the new events join today's three acme sessions, each still timed.
        const sessions = await lake<{ n: string; timed: string }>(
            "silver/sessions",
            `SELECT count() AS n, countIf(duration_seconds >= 0) AS timed FROM {lake} WHERE org_id = 'acme' AND day = '${day(0)}'`,
        );
        expect([Number(sessions[0].n), Number(sessions[0].timed)]).toEqual([3, 3]);

        runJobsNow("--job", "bronze");
        expect((await runsOf(pool, "bronze", 1))[0].rows).toBe(0);
    }, 300_000);

    test("cdc mirrors the metadata tables into silver: read whole at first (r), then each insert, update and delete with its commit's time and WAL position", async () => {
        type Mirrored = { id: string; name: string; paused: string; __op: string; __ts_ms: string; __source_lsn: string };
        const mirror = () =>
            lake<Mirrored>(
                "silver/pg_export_schedules",
                "SELECT id, name, paused, __op, __ts_ms, __source_lsn FROM {lake} WHERE name LIKE 'cdc-%' ORDER BY name",
            );
        const schedule = async (name: string) =>
            (
                await pool.query<{ id: string }>(
                    `INSERT INTO cellplane.export_schedules (tenant_id, name, cron_expression, job_params)
                     VALUES ('acme', $1, '0 * * * *', '{"format": "parquet"}') RETURNING id`,
                    [name],
                )
            ).rows[0].id;
        // The keys made before the first run are in the mirror as read whole, without their hashes.
        const keysMirrored = await lake<Record<string, string>>("silver/pg_api_keys", "SELECT * FROM {lake} ORDER BY org_id");
        expect(keysMirrored.map((k) => [k.org_id, k.__op])).toEqual([
            ["acme", "r"],
            ["initech", "r"],
        ]);
        expect(Object.keys(keysMirrored[0])).not.toContain("key_hash");

        const kept = await schedule("cdc-kept");
        const gone = await schedule("cdc-gone");
        runJobsNow("--job", "cdc");
        const created = await mirror();
        expect(created.map((r) => [r.name, r.__op])).toEqual([
            ["cdc-gone", "c"],
            ["cdc-kept", "c"],
        ]);

        const changedFrom = Date.now();
        await pool.query("UPDATE cellplane.export_schedules SET name = 'cdc-renamed', paused = true WHERE id = $1", [kept]);
        await pool.query("DELETE FROM cellplane.export_schedules WHERE id = $1", [gone]);
        const added = await schedule("cdc-added");
        const changedUntil = Date.now();
        const walAfter = (await pool.query<{ lsn: string }>("SELECT (pg_current_wal_lsn() - '0/0'::pg_lsn)::bigint::text AS lsn")).rows[0]
            .lsn;
        runJobsNow("--job", "cdc");
        const changed = await mirror();
        expect(changed.map((r) => [r.id, r.name, r.paused, r.__op])).toEqual([
            [added, "cdc-added", "false", "c"],
            // A delete names only the key: the row keeps its last values.
            [gone, "cdc-gone", "false", "d"],
            [kept, "cdc-renamed", "true", "u"],
        ]);
        for (const row of changed) {
            expect(Number(row.__ts_ms)).toBeGreaterThanOrEqual(changedFrom - 1_000);
            expect(Number(row.__ts_ms)).toBeLessThanOrEqual(changedUntil + 1_000);
            expect(BigInt(row.__source_lsn)).toBeGreaterThan(BigInt(created.find((c) => c.name !== "cdc-gone")!.__source_lsn));
            expect(BigInt(row.__source_lsn)).toBeLessThanOrEqual(BigInt(walAfter));
        }
        // The slot was advanced past what the mirror holds: a run with nothing new writes nothing.
        runJobsNow("--job", "cdc");
        expect((await runsOf(pool, "cdc", 1))[0].rows).toBe(0);
        expect(await mirror()).toEqual(changed);
    }, 300_000);

    test("jobs list and status show each job's schedule and runs; an unknown job is refused naming the jobs", async () => {
        const list = JSON.parse(jobs("list", "--json").stdout);
        expect(list.map((j: { job: string }) => j.job)).toEqual(["bronze", "silver", "gold", "cdc"]);
        expect(list[0]).toMatchObject({ schedule: "*/15 * * * *", last: { state: "succeeded" } });
        const status = JSON.parse(jobs("status", "--job", "gold", "--json").stdout);
        expect(status.length).toBe(2);
        expect(status.every((r: { state: string }) => r.state === "succeeded")).toBe(true);
        const unknown = jobs("status", "--job", "platinum");
        expect(unknown.code).not.toBe(0);
        expect(unknown.out).toContain('"platinum" is not a lakehouse job: use one of bronze, silver, gold, cdc');
    }, 120_000);

    test("a job that fails is tried again after a backoff, each attempt recorded with its error; a second run waits its turn", async () => {
        const cell = lakehouseOfCell("local-eu", eu);
        const spark = localSpark();
        // A catalog that refuses the job's password (a random one): the run fails inside Spark, for real.
        const refused = { ...cell, postgres: { ...cell.postgres, password: randomBytes(16).toString("hex") } };
        const waits: number[] = [];
        const results = await runJobs(pool, ["silver", "gold"], {
            trigger: "schedule",
            attempts: 2,
            backoffMs: 1_000,
            submit: (pending) => submitLocally(spark, refused, pending, () => {}),
            log: () => {},
            sleep: async (ms) => void waits.push(ms),
        });
        expect(results.map((r) => [r.job, r.attempts, "error" in r])).toEqual([
            ["silver", 2, true],
            ["gold", 2, true],
        ]);
        expect(waits).toEqual([1_000]);
        const [second, first] = await runsOf(pool, "silver", 2);
        expect(first).toMatchObject({ attempt: 1, state: "failed", trigger: "schedule" });
        expect(first.retryAt).not.toBeNull();
        expect(first.error).toContain("password authentication failed");
        expect(second).toMatchObject({ attempt: 2, state: "failed", retryAt: null });
        expect((await runsOf(pool, "gold", 1))[0].error).toBe("not run: silver failed before it");

        // While one run holds the cell's jobs, another is refused rather than run beside it.
        const lock = await pool.connect();
        try {
            await lock.query("SELECT pg_advisory_lock(hashtext('cellplane lakehouse jobs'))");
            const busy = jobs("run", "--job", "bronze");
            expect(busy.code).toBe(1);
            expect(busy.out).toContain("another run of this cell's lakehouse jobs is in progress");
        } finally {
            await lock.query("SELECT pg_advisory_unlock(hashtext('cellplane lakehouse jobs'))");
            lock.release();
        }
    }, 300_000);

    test("run as a cluster's operator runs it, the job records each attempt itself: the tries of one SparkApplication, when the operator retries, the rows of a success", async () => {
        const cell = lakehouseOfCell("local-eu", eu);
        const spark = localSpark();
        const runs = { retries: 1, retryIntervalSeconds: 120 };
        // A broker that refuses the job's password (a random one): bronze fails listing the topic, for real.
        const refused = { ...cell, kafka: { ...cell.kafka, scram: { ...cell.kafka.scram!, password: randomBytes(16).toString("hex") } } };
        const failing = `cellplane-bronze-${Date.now()}`;
        for (let attempt = 1; attempt <= 2; attempt++) {
            const [outcome] = await submitLocally(spark, refused, ["bronze"], () => {}, { application: failing, runs });
            expect("error" in outcome).toBe(true);
        }
        const next = `${failing}-next`;
        const [succeeded] = await submitLocally(spark, cell, ["bronze"], () => {}, { application: next, runs });
        if (!("rows" in succeeded)) throw new Error(`bronze failed: ${succeeded.error}`);

        const recorded = (await runsOf(pool, "bronze", 3)).reverse();
        expect(recorded.map((r) => [r.application, r.attempt, r.trigger, r.state])).toEqual([
            [failing, 1, "schedule", "failed"],
            [failing, 2, "schedule", "failed"],
            [next, 1, "schedule", "succeeded"],
        ]);
        expect(recorded[0].error).toMatch(/SaslAuthenticationException/);
        // The operator's linear backoff: the first retry an interval after the first attempt's start; the second
        // attempt was the last the policy allows.
        expect(recorded[0].retryAt!.getTime() - recorded[0].startedAt.getTime()).toBe(runs.retryIntervalSeconds * 1000);
        expect(recorded[1].retryAt).toBeNull();
        expect(recorded[2]).toMatchObject({ rows: succeeded.rows, error: null, retryAt: null });
        expect(recorded[2].finishedAt).not.toBeNull();

        const status = jobs("status", "--job", "bronze");
        expect(status.code).toBe(0);
        expect(status.stdout).toContain(failing);
    }, 300_000);

    describe("tenant-safe SQL over the lake, through the residency's router", () => {
        let routerUrl: string;
        const query = async (org: string, sql: unknown) => {
            const response = await queryLake(routerUrl, keys[org], sql);
            return {
                status: response.status,
                body: (await response.json()) as { rows?: Record<string, unknown>[]; error?: string },
                response,
            };
        };

        beforeAll(() => {
            routerUrl = routerUrlsOf(stack).eu;
        });

        test("a tenant reads its own rows of silver and gold, and nothing of another tenant's", async () => {
            const own = await query("acme", "SELECT org_id, count() AS n FROM events GROUP BY org_id");
            expect(own.status).toBe(200);
            expect(own.body.rows).toEqual([{ org_id: "acme", n: String(sent.acme) }]);
            const metrics = await query("initech", "SELECT toString(day) AS day, events FROM daily_metrics ORDER BY day");
            expect(metrics.body.rows).toEqual([{ day: day(1), events: String(sent.initech) }]);
            // A filter that names another tenant finds nothing: the view holds the caller's rows only.
            const widened = await query("acme", "SELECT count() AS n FROM events WHERE org_id = 'initech' OR 1 = 1 AND org_id != 'acme'");
            expect(widened.body.rows).toEqual([{ n: "0" }]);
        });

        test.each([
            ["the lake's own table", "SELECT * FROM lake.events"],
            ["another tenant's views", "SELECT * FROM tenant_initech.events"],
            ["another tenant's views in a union", "SELECT event_id FROM events UNION ALL SELECT event_id FROM tenant_initech.events"],
            [
                "another tenant's views in a subquery",
                "SELECT count() FROM events WHERE session_id IN (SELECT session_id FROM tenant_initech.sessions)",
            ],
            ["the Iceberg files directly", "SELECT * FROM icebergS3('http://127.0.0.1:1/lake/warehouse/silver/events/')"],
            ["tables by a pattern", "SELECT * FROM merge('lake', '.*')"],
            ["the server's tables", "SELECT name FROM system.tables"],
            ["a write", "INSERT INTO events (event_id, org_id) VALUES ('x', 'initech')"],
            ["a drop", "DROP TABLE events"],
            ["a setting that lifts read-only", "SELECT count() FROM events SETTINGS readonly = 0"],
        ])("crafted SQL is refused by the engine: %s", async (_, sql) => {
            const refused = await query("acme", sql);
            expect([400, 403]).toContain(refused.status);
            expect(refused.body.rows).toBeUndefined();
        });

        test("random compositions of tables, filters and set operations never return another tenant's row", async () => {
            const sources = ["events", "tenant_acme.events", "tenant_initech.events", "lake.events", "sessions", "tenant_globex.sessions"];
            await fc.assert(
                fc.asyncProperty(
                    fc.constantFrom(...sources),
                    fc.constantFrom(...sources),
                    fc.constantFrom("UNION ALL", "UNION DISTINCT", "EXCEPT", "INTERSECT"),
                    fc.constantFrom("", " WHERE org_id != 'acme'", " WHERE 1 = 1", " WHERE org_id IN ('initech', 'globex')"),
                    async (left, right, operation, filter) => {
                        const sql = `SELECT org_id FROM ${left}${filter} ${operation} SELECT org_id FROM ${right}${filter}`;
                        const answer = await query("acme", sql);
                        const foreign = (answer.body.rows ?? []).filter((row) => row.org_id !== "acme");
                        expect(foreign).toEqual([]);
                        const ownOnly = [left, right].every((s) => s === "events" || s === "sessions" || s.startsWith("tenant_acme."));
                        expect(answer.status).toBe(ownOnly ? 200 : 403);
                    },
                ),
                { numRuns: 12 },
            );
        }, 120_000);

        test("the guardrails: a body that is no query, a row limit, a statement timeout, and a rate of queries per minute", async () => {
            const empty = await query("acme", "");
            expect(empty.status).toBe(400);
            expect(JSON.stringify(empty.body)).toContain("is empty");
            const tooMany = await query("acme", `SELECT number FROM numbers(${QUERY_GUARDRAILS.maxResultRows + 1})`);
            expect(tooMany.status).toBe(422);
            expect(tooMany.body.error).toContain(`more than ${QUERY_GUARDRAILS.maxResultRows} rows`);
            const slow = await query("acme", "SELECT count() FROM numbers(1000000000000) WHERE sipHash64(number) = 0");
            expect(slow.status).toBe(422);
            expect(slow.body.error).toContain(`statement timeout of ${QUERY_GUARDRAILS.statementTimeoutSeconds} s`);
            // Twice the minute's queries at once: the bucket refills half a query a second, so asking one after another
            // on a slow machine could keep up with it.
            const burst = await Promise.all(
                Array.from({ length: 2 * QUERY_GUARDRAILS.queriesPerMinute }, () => query("initech", "SELECT 1")),
            );
            const statuses = burst.map((answer) => answer.status);
            expect(statuses).toContain(200);
            const limited = burst.filter((answer) => answer.status === 429);
            expect(limited.length).toBeGreaterThan(QUERY_GUARDRAILS.queriesPerMinute / 2);
            expect(limited[0].body.error).toContain(`over its ${QUERY_GUARDRAILS.queriesPerMinute} lake queries per minute`);
            expect(statuses.every((status) => status === 200 || status === 429)).toBe(true);
            expect(Number(limited[0].response.headers.get("retry-after"))).toBeGreaterThan(0);
        }, 60_000);
    });

    /** The streaming job runs last: its alerts are events of their own, which the counts above do not expect. */
    describe("the streaming job (Flink, beside the cell)", () => {
        const analytics = async <T>(query: string) => {
            const clickhouse = clickhouseOf(eu);
            try {
                return await (await clickhouse.query({ query, format: "JSONEachRow" })).json<T>();
            } finally {
                await clickhouse.close();
            }
        };
        /** A tenant's windows, but those of its alerts. */
        const windowsOf = (org: string) =>
            analytics<{ event_type: string; events: string; unique_users: string; windows: string; seconds: number }>(
                `SELECT event_type, sum(events) AS events, max(unique_users) AS unique_users, count() AS windows,
                        max(toUnixTimestamp64Milli(window_end) - toUnixTimestamp64Milli(window_start)) / 1000 AS seconds
                 FROM analytics.event_windows FINAL
                 WHERE org_id = '${org}' AND event_type != 'security_alert'
                 GROUP BY event_type ORDER BY event_type`,
            );
        const alertsOf = (org: string) =>
            analytics<{ user_id: string; category: string; events: string; errors: string; rate: string }>(
                `SELECT user_id, event_category AS category, JSONExtractUInt(metadata, 'events') AS events,
                        JSONExtractUInt(metadata, 'error_events') AS errors, JSONExtractFloat(metadata, 'error_rate') AS rate
                 FROM analytics.events FINAL WHERE org_id = '${org}' AND event_type = 'security_alert'`,
            );

        test("each tenant's and type's 10-second windows reach ClickHouse within 30 s; an error-rate spike becomes one security_alert", async () => {
            // Tenants of their own: the windows of the others' events of these tests stay out of what is counted.
            for (const org of ["globex", "umbrella"]) keys[org] = await apiKeyFor(eu, org);
            const spike = [
                ...Array.from({ length: ALERT_MIN_ERRORS + 2 }, (_, i) =>
                    eventOf("globex", { event_type: "error", event_category: "performance", user_id: `u${i % 4}` }),
                ),
                ...Array.from({ length: 4 }, () => eventOf("globex", { user_id: "u9" })),
            ];
            const calm = [
                ...Array.from({ length: 2 }, () => eventOf("umbrella", { event_type: "error", event_category: "performance" })),
                ...Array.from({ length: 3 }, () => eventOf("umbrella")),
            ];
            // Windows are aligned to the clock: both batches go early in one, so neither is split across two.
            while (Date.now() % (WINDOW_SECONDS * 1000) > 4_000) await new Promise((r) => setTimeout(r, 100));
            const postedAt = Date.now();
            await Promise.all([send("globex", spike), send("umbrella", calm)]);
            const loaded = async () => (await windowsOf("globex")).length === 2 && (await windowsOf("umbrella")).length === 2;
            expect(await eventually(loaded, 30_000)).toBe(true);
            const seconds = (Date.now() - postedAt) / 1000;
            console.log(`streaming: windows in ClickHouse ${seconds.toFixed(1)} s after the events were posted`);
            expect(await windowsOf("globex")).toEqual([
                { event_type: "code_generated", events: "4", unique_users: "1", windows: "1", seconds: WINDOW_SECONDS },
                { event_type: "error", events: String(ALERT_MIN_ERRORS + 2), unique_users: "4", windows: "1", seconds: WINDOW_SECONDS },
            ]);
            expect((await windowsOf("umbrella")).map((w) => [w.event_type, w.events])).toEqual([
                ["code_generated", "3"],
                ["error", "2"],
            ]);
            expect(await eventually(async () => (await alertsOf("globex")).length > 0, 30_000)).toBe(true);
            expect(await alertsOf("globex")).toEqual([
                { user_id: ALERT_USER, category: "security", events: "16", errors: String(ALERT_MIN_ERRORS + 2), rate: 0.75 },
            ]);
            expect(await alertsOf("umbrella")).toEqual([]);
        }, 120_000);
    });
});
