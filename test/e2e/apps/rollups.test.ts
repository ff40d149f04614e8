import { randomBytes, randomUUID } from "crypto";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import fc from "fast-check";
import { ClickHouseClient, createClient } from "@clickhouse/client";
import { analyticsDdl, clickhouseTime, ensureAnalyticsSchema } from "../../../apps/shared/analytics";
import { ROLLUP_RETENTION_YEARS } from "../../../apps/shared/events";
import { MEASURES, queryMetrics, RollupRefresher, TYPE_MEASURES } from "../../../apps/ingest/rollups";
import { ClickHouseServerSpec, startClickHouse, urlOf } from "../../../components/local/clickhouseServer";
import { destroyService } from "../../../components/local/supervisor";
import { freePort } from "../../support/freePort";

const HOUR_MS = 3_600_000;
const TYPES = ["session_start", "session_end", "code_generated", "error", "cost_incurred"] as const;

interface Row {
    event_id: string;
    org_id: string;
    user_id: string;
    session_id: string;
    event_type: string;
    timestamp: string;
    metadata: string;
}

/** An hour-aligned time in the past, so a test's events fall in buckets it knows. */
const hoursAgo = (hours: number) => Math.floor((Date.now() - hours * HOUR_MS) / HOUR_MS) * HOUR_MS;

const rowOf = (org: string, at: number, over: Partial<Row> = {}): Row => ({
    event_id: randomUUID(),
    org_id: org,
    user_id: "u1",
    session_id: "s1",
    event_type: "code_generated",
    timestamp: clickhouseTime(new Date(at).toISOString()),
    metadata: "{}",
    ...over,
});

/** The rollups and daily reports on a real ClickHouse (chdb behind ClickHouse's HTTP interface). */
describe("the rollups, computed from the events", () => {
    let spec: ClickHouseServerSpec;
    let clickhouse: ClickHouseClient;
    let refresher: RollupRefresher;

    beforeAll(async () => {
        const root = fs.mkdtempSync(path.join(os.tmpdir(), "cellplane-rollups-"));
        fs.chmodSync(root, 0o755);
        spec = {
            label: "clickhouse of the rollups test",
            dir: path.join(root, "clickhouse"),
            port: await freePort(),
            user: "cellplane",
            password: randomBytes(12).toString("hex"),
        };
        await startClickHouse(spec);
        clickhouse = createClient({ url: urlOf(spec), username: spec.user, password: spec.password });
        await ensureAnalyticsSchema(clickhouse);
        refresher = new RollupRefresher(clickhouse);
    }, 60_000);

    afterAll(async () => {
        await clickhouse?.close();
        await destroyService(spec.dir);
        fs.rmSync(path.dirname(spec.dir), { recursive: true, force: true });
    });

    const insert = (rows: Row[]) => clickhouse.insert({ table: "analytics.events", values: rows, format: "JSONEachRow" });
    const metricsOf = (org: string, granularity: "hour" | "day", from: number, to: number) =>
        queryMetrics(clickhouse, {
            org,
            from: new Date(from).toISOString(),
            to: new Date(to).toISOString(),
            granularity,
            measures: granularity === "hour" ? TYPE_MEASURES : MEASURES,
        });

    test("a batch inserted twice, as by two consumers in a rebalance or after a half-landed insert, is counted once everywhere", async () => {
        const at = hoursAgo(2);
        const batch = Array.from({ length: 500 }, (_, i) =>
            rowOf("twice", at + i * 1000, { user_id: `u${i % 7}`, session_id: `s${i % 11}` }),
        );
        await insert(batch);
        await insert(batch);
        await insert(batch.slice(0, 100));
        await refresher.refresh();
        const hourly = await metricsOf("twice", "hour", at, at + HOUR_MS);
        expect(hourly.rows).toEqual([
            { bucket: expect.any(String), event_type: "code_generated", events: 500, unique_users: 7, unique_sessions: 11 },
        ]);
        const daily = await metricsOf("twice", "day", at - 86_400_000, at + 86_400_000);
        expect(daily.rows.reduce((n, r) => n + (r.events ?? 0), 0)).toBe(500);
    });

    test("any events: the hourly and daily rows and the daily report hold the seed's measures, as computed from the events themselves", async () => {
        const start = hoursAgo(30);
        const event = fc.record({
            hour: fc.integer({ min: 0, max: 23 }),
            second: fc.integer({ min: 0, max: 3599 }),
            user: fc.integer({ min: 0, max: 5 }),
            session: fc.integer({ min: 0, max: 5 }),
            type: fc.constantFrom(...TYPES),
            usd: fc.integer({ min: 0, max: 500 }).map((c) => c / 100),
        });
        await fc.assert(
            fc.asyncProperty(fc.array(event, { minLength: 1, maxLength: 60 }), async (events) => {
                const org = `t${randomBytes(4).toString("hex")}`;
                const rows = events.map((e) =>
                    rowOf(org, start + e.hour * HOUR_MS + e.second * 1000, {
                        user_id: `u${e.user}`,
                        session_id: `s${e.session}`,
                        event_type: e.type,
                        metadata: e.type === "cost_incurred" ? JSON.stringify({ usd: e.usd }) : "{}",
                    }),
                );
                await insert(rows);
                await refresher.refresh();
                const hourly = await metricsOf(org, "hour", start - HOUR_MS, start + 25 * HOUR_MS);
                expect(hourly.rows.map(({ bucket: _, ...r }) => r)).toEqual(expectedHourly(rows));
                const daily = await metricsOf(org, "day", start - 2 * 86_400_000, start + 2 * 86_400_000);
                expect(daily.days?.map(({ day: _, ...d }) => d)).toEqual(
                    expectedDays(rows).map((d) => ({
                        ...d,
                        cost_usd: expect.closeTo(d.cost_usd, 6),
                        avg_session_seconds: expect.closeTo(d.avg_session_seconds, 6),
                    })),
                );
            }),
            { numRuns: 15 },
        );
    }, 120_000);

    test("an event that arrives late marks its old hour, and the next round computes that hour again", async () => {
        const old = hoursAgo(50);
        await insert([rowOf("late", old + 60_000)]);
        await refresher.refresh();
        await insert([rowOf("late", old + 120_000, { user_id: "u2" })]);
        await refresher.refresh();
        expect((await metricsOf("late", "hour", old, old + HOUR_MS)).rows).toEqual([
            expect.objectContaining({ events: 2, unique_users: 2 }),
        ]);
    });

    test(`a rollup expires after ${ROLLUP_RETENTION_YEARS} years; a younger one stays`, async () => {
        const day = 86_400_000;
        const yearsAgo = (years: number, plusDays: number) => {
            const at = new Date();
            at.setUTCFullYear(at.getUTCFullYear() - years);
            return new Date(Math.floor((at.getTime() + plusDays * day) / HOUR_MS) * HOUR_MS);
        };
        const rollup = (bucket: Date) => ({
            org_id: "aged",
            bucket: clickhouseTime(bucket.toISOString()).slice(0, 19),
            event_type: "error",
            events: 1,
            unique_users: 1,
            unique_sessions: 1,
            computed_at: clickhouseTime(new Date().toISOString()),
        });
        const expired = yearsAgo(ROLLUP_RETENTION_YEARS, -2);
        const kept = yearsAgo(ROLLUP_RETENTION_YEARS, 2);
        await clickhouse.insert({ table: "analytics.hourly_metrics", values: [rollup(expired), rollup(kept)], format: "JSONEachRow" });
        await clickhouse.command({ query: "ALTER TABLE analytics.hourly_metrics MATERIALIZE TTL SETTINGS mutations_sync = 1" });
        const rows = await metricsOf("aged", "hour", expired.getTime() - day, kept.getTime() + day);
        expect(rows.rows.map((r) => r.bucket)).toEqual([clickhouseTime(kept.toISOString()).slice(0, 19)]);
    });

    test("a cell from before the marks: its summed rollups are replaced, and every hour it holds is computed from the events", async () => {
        await clickhouse.command({ query: "DROP DATABASE analytics SYNC" });
        await clickhouse.command({ query: "CREATE DATABASE analytics" });
        await clickhouse.command({ query: analyticsDdl({ cold: false }).find((q) => q.includes("analytics.events ("))! });
        for (const grain of ["hourly", "daily"]) {
            await clickhouse.command({
                query: `CREATE TABLE analytics.${grain}_metrics (org_id String, bucket DateTime, event_type LowCardinality(String), events UInt64)
                        ENGINE = SummingMergeTree ORDER BY (org_id, bucket, event_type)`,
            });
            await clickhouse.command({
                query: `CREATE MATERIALIZED VIEW analytics.${grain}_metrics_mv TO analytics.${grain}_metrics AS
                        SELECT org_id, toStartOfHour(timestamp) AS bucket, event_type, count() AS events FROM analytics.events GROUP BY org_id, bucket, event_type`,
            });
        }
        const at = hoursAgo(5);
        const batch = Array.from({ length: 20 }, (_, i) => rowOf("upgraded", at + i * 1000));
        await insert(batch);
        await insert(batch);
        await ensureAnalyticsSchema(clickhouse);
        await new RollupRefresher(clickhouse).refresh();
        expect((await metricsOf("upgraded", "hour", at, at + HOUR_MS)).rows).toEqual([expect.objectContaining({ events: 20 })]);
    });
});

/** The hourly rows a tenant's events make, per hour and type, computed here from the rows, in the API's order. */
function expectedHourly(rows: Row[]) {
    const groups = new Map<string, Row[]>();
    for (const row of rows) {
        const key = `${row.timestamp.slice(0, 13)}|${row.event_type}`;
        groups.set(key, [...(groups.get(key) ?? []), row]);
    }
    return [...groups.entries()]
        .sort(([a], [b]) => (a < b ? -1 : 1))
        .map(([key, group]) => ({
            event_type: key.split("|")[1],
            events: group.length,
            unique_users: new Set(group.map((r) => r.user_id)).size,
            unique_sessions: new Set(group.map((r) => r.session_id)).size,
        }));
}

/** The daily report of each day: error rate, cost, and sessions timed from first start to last end on the day. */
function expectedDays(rows: Row[]) {
    const days = new Map<string, Row[]>();
    for (const row of rows) days.set(row.timestamp.slice(0, 10), [...(days.get(row.timestamp.slice(0, 10)) ?? []), row]);
    return [...days.entries()]
        .sort(([a], [b]) => (a < b ? -1 : 1))
        .map(([, group]) => {
            const durations = [...new Set(group.map((r) => r.session_id))].flatMap((session) => {
                const times = (type: string) =>
                    group
                        .filter((r) => r.session_id === session && r.event_type === type)
                        .map((r) => Date.parse(`${r.timestamp.replace(" ", "T")}Z`));
                const [starts, ends] = [times("session_start"), times("session_end")];
                if (starts.length === 0 || ends.length === 0) return [];
                const seconds = (Math.max(...ends) - Math.min(...starts)) / 1000;
                return seconds >= 0 ? [seconds] : [];
            });
            return {
                error_rate: group.filter((r) => r.event_type === "error").length / group.length,
                cost_usd: group
                    .filter((r) => r.event_type === "cost_incurred")
                    .reduce((sum, r) => sum + (JSON.parse(r.metadata) as { usd: number }).usd, 0),
                avg_session_seconds: durations.length === 0 ? 0 : durations.reduce((a, b) => a + b, 0) / durations.length,
                sessions_timed: durations.length,
            };
        });
}
