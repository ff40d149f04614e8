import { fetchTrusting } from "../../../scripts/ops/https";
import * as fc from "fast-check";
import * as path from "path";
import { v7 as uuidv7 } from "uuid";
import { LOCAL_PORTS } from "../../../components/local";
import { stopService } from "../../../components/local/supervisor";
import { acceptedTimeRange } from "../../../apps/shared/events";
import { isolatedLocalStack } from "../../support/project";
import { cellplane } from "../../support/cli";
import { apiKeyFor, CellOutput, clickhouseOf, deployCells, destroyCells, eventOf, eventually, postEvents, queryCell } from "./cell";
import type { JsonBody } from "../../support/json";
import { kafkaOfCell } from "../../../scripts/ops/cellClients";

const TENANTS = ["acme", "globex", "initech", "umbrella"];

/** An ISO 8601 time of `ms` written in the zone `offsetMinutes` east of UTC. */
function isoAt(ms: number, offsetMinutes: number): string {
    const local = new Date(ms + offsetMinutes * 60_000).toISOString().slice(0, 23);
    const sign = offsetMinutes < 0 ? "-" : "+";
    const abs = Math.abs(offsetMinutes);
    return `${local}${sign}${String(Math.floor(abs / 60)).padStart(2, "0")}:${String(abs % 60).padStart(2, "0")}`;
}

/** Any Unicode text: every plane, combining marks, emoji. */
const anyText = (maxLength: number) => fc.string({ unit: "grapheme", minLength: 1, maxLength }).filter((s) => s.length <= maxLength);

/** Whether a string, or any key or string inside an object, holds a lone surrogate (no Unicode text, so refused at the edge). */
const holdsLoneSurrogate = (value: unknown): boolean =>
    typeof value === "string"
        ? /\p{Cs}/u.test(value)
        : value !== null &&
          typeof value === "object" &&
          Object.entries(value).some(([key, inner]) => /\p{Cs}/u.test(key) || holdsLoneSurrogate(inner));

/** Whether a body holds a key Fastify refuses as prototype poisoning: `__proto__`, or `constructor` holding `prototype`. */
const poisons = (value: unknown): boolean =>
    value !== null &&
    typeof value === "object" &&
    Object.entries(value).some(
        ([key, inner]) =>
            key === "__proto__" ||
            (key === "constructor" && inner !== null && typeof inner === "object" && "prototype" in inner) ||
            poisons(inner),
    );

/** A tenant's data path on a real local cell, fed whatever its tenants send and whatever lands in its Kafka. */
describe("a local cell's data path under any input", () => {
    const stack = isolatedLocalStack("cellplane-robust-", (config) => {
        config["cellplane:cells"] = config["cellplane:cells"].slice(0, 1);
        config["cellplane:tenants"] = TENANTS.map((id) => ({
            id,
            residency: "eu",
            quotas: { eventsPerSecond: 1_000_000, apiRequestsPerMinute: 100_000 },
        }));
    });
    let eu: CellOutput;
    let router: string;
    const keys: Record<string, string> = {};
    const consumerMetrics = async () =>
        (await fetchTrusting(eu.endpoints.appCa)(`https://127.0.0.1:${stack.ports.eu + LOCAL_PORTS["ingest-consumer"]}/metrics`)).text();
    const run = (...args: string[]) => cellplane(stack.dir, args, stack.env);
    const deadLetters = () => {
        const listed = run("dlq", "list", "--env", "local", "--cell", "local-eu", "--json");
        if (listed.code !== 0) throw new Error(listed.out);
        return JSON.parse(listed.stdout) as { tenant: string; eventId: string; reason: string; detail: string }[];
    };
    /** How many rows ClickHouse holds of each (tenant, event id). */
    const storedCounts = async () =>
        new Map(
            (
                await queryCell<{ org_id: string; id: string; n: string }>(
                    eu,
                    "SELECT org_id, toString(event_id) AS id, count() AS n FROM analytics.events GROUP BY org_id, id",
                )
            ).map((r) => [`${r.org_id}/${r.id}`, Number(r.n)]),
        );
    /** Another tenant's events, one per partition or so, all stored within 30 s. */
    const othersStillFlow = async (tenant = "umbrella") => {
        const probes = Array.from({ length: 12 }, (_, i) => eventOf(tenant, { session_id: `probe-${i}-${Math.random()}` }));
        expect((await postEvents(router, keys[tenant], probes)).status).toBe(202);
        return eventually(async () => {
            const stored = await storedCounts();
            return probes.every((p) => stored.get(`${tenant}/${p.event_id}`) === 1);
        }, 30_000);
    };

    beforeAll(async () => {
        eu = deployCells(stack)["local-eu"];
        router = JSON.parse(stack.pulumi("stack", "output", "routers", "--json").stdout).eu.url;
        for (const tenant of TENANTS) keys[tenant] = await apiKeyFor(eu, tenant);
    }, 240_000);

    afterAll(() => destroyCells(stack), 120_000);

    test("the edge refuses times the table cannot keep, naming the field, the value and the range", async () => {
        for (const timestamp of [
            "0000-01-01T00:00:00+01:00",
            "9999-12-31T23:00:00-05:00",
            "1971-01-01T00:00:00Z",
            isoAt(Date.now() + 3 * 86_400_000, 0),
        ]) {
            const response = await postEvents(router, keys.acme, [eventOf("acme"), eventOf("acme", { timestamp })]);
            expect(response.status).toBe(400);
            const [problem] = ((await response.json()) as JsonBody).problems;
            expect(problem).toMatchObject({ index: 1, field: "timestamp" });
            expect(problem.reason).toContain(JSON.stringify(timestamp));
            expect(problem.reason).toMatch(/send a time from \d{4}-.* to \d{4}-/);
        }
        const deep = eventOf("acme", { metadata: JSON.parse(`${'{"a":'.repeat(40)}1${"}".repeat(40)}`) });
        const refused = await postEvents(router, keys.acme, deep);
        expect(refused.status).toBe(400);
        expect(((await refused.json()) as JsonBody).problems[0]).toMatchObject({
            field: "metadata",
            reason: expect.stringContaining("nested more than 32"),
        });
    });

    test("a batch over every month a cell keeps, from several tenants at once, is stored whole and nothing stalls", async () => {
        const { from, to } = acceptedTimeRange();
        const months = Math.floor((to.getTime() - from.getTime()) / (30 * 86_400_000));
        const batches = TENANTS.slice(0, 3).map((tenant) =>
            Array.from({ length: months }, (_, m) =>
                eventOf(tenant, { timestamp: new Date(from.getTime() + 3_600_000 + m * 30 * 86_400_000).toISOString() }),
            ),
        );
        const responses = await Promise.all(batches.map((batch, i) => postEvents(router, keys[TENANTS[i]], batch)));
        expect(responses.map((r) => r.status)).toEqual([202, 202, 202]);
        expect(months * 3).toBeGreaterThan(100);
        const stored = async () => {
            const counts = await storedCounts();
            return batches.flat().every((e) => counts.get(`${e.org_id}/${e.event_id}`) === 1);
        };
        expect(await eventually(stored, 30_000)).toBe(true);
        expect(await othersStillFlow()).toBe(true);
    }, 90_000);

    test("property: every 202 is stored exactly once or set aside with a reason, and other tenants keep flowing", async () => {
        const { from, to } = acceptedTimeRange();
        const accepted = new Set<string>();
        const refused = new Set<string>();
        const usedIds: string[] = [uuidv7()];
        // Near both ends of the range, with a day's margin at the old end, which moves while a failure shrinks.
        const day = 86_400_000;
        const time = fc.oneof(
            fc.integer({ min: from.getTime() + day, max: from.getTime() + 2 * day }),
            fc.integer({ min: to.getTime() - day, max: to.getTime() - 60_000 }),
            fc.integer({ min: from.getTime() + day, max: to.getTime() - 60_000 }),
        );
        const event = fc.record({
            org_id: fc.constantFrom(...TENANTS.slice(0, 3)),
            reuse: fc.boolean(),
            at: time,
            offset: fc.integer({ min: -12 * 60, max: 14 * 60 }),
            user_id: anyText(256),
            session_id: anyText(40),
            region: anyText(64),
            metadata: fc.oneof(
                fc.dictionary(anyText(30), fc.jsonValue({ maxDepth: 4 }), { maxKeys: 20 }),
                fc.record({ blob: fc.string({ minLength: 1_000, maxLength: 5_000 }) }),
            ),
        });
        // Some batches carry a lone surrogate somewhere: JSON can hold it, but it is no text, so the edge must refuse the batch.
        const loneSurrogate = fc.oneof(
            { weight: 4, arbitrary: fc.constant(null) },
            { weight: 1, arbitrary: fc.record({ at: fc.nat(), field: fc.constantFrom("user_id", "session_id", "region", "metadata") }) },
        );
        const batch = fc.tuple(
            fc.constantFrom(...TENANTS.slice(0, 3)),
            fc.array(event, { minLength: 1, maxLength: 120, size: "medium" }),
            loneSurrogate,
        );

        await fc.assert(
            fc.asyncProperty(batch, async ([tenant, drawn, lone]) => {
                if (lone) {
                    const e = drawn[lone.at % drawn.length];
                    if (lone.field === "metadata") e.metadata = { ...e.metadata, ["k\udc00"]: 1 };
                    else e[lone.field as "user_id"] = `${e[lone.field as "user_id"].slice(0, 30)}\ud800`;
                }
                const events = drawn.map((e) =>
                    eventOf(tenant, {
                        // Reused ids may be another tenant's: keyed on (tenant, id), they must never drop that tenant's event.
                        event_id: e.reuse ? usedIds[e.at % usedIds.length] : uuidv7(),
                        timestamp: isoAt(e.at, e.offset),
                        user_id: e.user_id,
                        session_id: e.session_id,
                        region: e.region,
                        metadata: e.metadata,
                    }),
                );
                const response = await postEvents(router, keys[tenant], events);
                if (poisons(JSON.parse(JSON.stringify(events)))) {
                    // Fastify's JSON parser refuses the body whole, before any handler runs.
                    expect(response.status).toBe(400);
                    return;
                }
                const unstorable = events.flatMap((e, index) => (holdsLoneSurrogate(e) ? [index] : []));
                if (unstorable.length > 0) {
                    expect(response.status).toBe(400);
                    const problems: { index: number; field: string; reason: string }[] = ((await response.json()) as JsonBody).problems;
                    expect([...new Set(problems.map((p) => p.index))]).toEqual(unstorable);
                    for (const p of problems) expect(p.reason).toContain("lone UTF-16 surrogate");
                    for (const e of events) if (!usedIds.includes(e.event_id)) refused.add(`${tenant}/${e.event_id}`);
                    return;
                }
                if (response.status !== 202) throw new Error(`answered ${response.status}: ${await response.text()}`);
                for (const e of events) {
                    accepted.add(`${tenant}/${e.event_id}`);
                    usedIds.push(e.event_id);
                }
            }),
            { numRuns: 40, seed: Number(process.env.FC_SEED ?? Date.now() % 100_000), verbose: true },
        );

        let stored = new Map<string, number>();
        let setAside = new Set<string>();
        const settled = async () => {
            stored = await storedCounts();
            setAside = new Set(deadLetters().map((d) => `${d.tenant}/${d.eventId}`));
            return [...accepted].every((key) => stored.get(key) === 1 || setAside.has(key));
        };
        expect(await eventually(settled, 60_000)).toBe(true);
        const missing = [...accepted].filter((key) => stored.get(key) !== 1 && !setAside.has(key));
        expect(missing).toEqual([]);
        expect([...refused].filter((key) => stored.has(key) || setAside.has(key))).toEqual([]);
        for (const letter of deadLetters())
            expect(letter).toMatchObject({ reason: expect.stringMatching(/./), detail: expect.stringMatching(/./) });
        console.log(`property: ${accepted.size} events accepted, ${setAside.size} set aside`, deadLetters().slice(0, 3));
        expect(await othersStillFlow()).toBe(true);
    }, 300_000);

    test("what cannot be stored goes to the cell's dead-letter topic with its reason; after a fix, dlq replay stores it once", async () => {
        const clickhouse = clickhouseOf(eu);
        const kafka = kafkaOfCell(eu);
        const producer = kafka.producer();
        const before = deadLetters().length;
        // Anything inside the cell can write to the topic: neither garbage nor a lying header may stop a partition.
        const liar = eventOf("acme");
        const bytes = (text: string) => Buffer.from(text);
        await producer.send({
            messages: [
                { topic: "events", key: bytes("k"), value: bytes("not an event") },
                {
                    topic: "events",
                    key: bytes("k"),
                    value: bytes(JSON.stringify({ ...liar, timestamp: "not a time" })),
                    headers: { event_id: bytes(liar.event_id), org_id: bytes("acme"), at: bytes(String(Date.now())) },
                },
            ],
        });
        await producer.close();
        // A fault only an operator can fix: ClickHouse refuses one tenant's rows while the others' go on.
        await clickhouse.command({ query: "ALTER TABLE analytics.events ADD CONSTRAINT no_initech CHECK org_id != 'initech'" });
        const blocked = Array.from({ length: 3 }, (_, i) => eventOf("initech", { session_id: `blocked-${i}` }));
        expect((await postEvents(router, keys.initech, blocked)).status).toBe(202);
        expect(await othersStillFlow("acme")).toBe(true);

        expect(await eventually(async () => deadLetters().length === before + 5, 30_000)).toBe(true);
        const letters = deadLetters().slice(before);
        expect(letters.filter((l) => l.reason === "not_an_event")).toHaveLength(1);
        const refused = letters.filter((l) => l.reason === "refused_by_clickhouse");
        expect(refused.map((l) => l.eventId).sort()).toEqual([liar.event_id, ...blocked.map((e) => e.event_id)].sort());
        expect(refused.find((l) => l.tenant === "initech")!.detail).toContain("no_initech");
        const listed = run("dlq", "list", "--env", "local", "--cell", "local-eu");
        expect(listed.stdout).toContain("refused_by_clickhouse");
        expect(listed.stdout).toContain("dlq replay --env local --cell local-eu");
        expect(await consumerMetrics()).toMatch(/^ingest_events_dead_lettered_total\{reason="refused_by_clickhouse"\} [4-9]/m);

        await clickhouse.command({ query: "ALTER TABLE analytics.events DROP CONSTRAINT no_initech" });
        const replay = run("dlq", "replay", "--env", "local", "--cell", "local-eu");
        expect(replay.code).toBe(0);
        expect(replay.stdout).toContain(`replayed ${before + 5} events`);
        const initechStored = async () => {
            const counts = await storedCounts();
            return blocked.every((e) => counts.get(`initech/${e.event_id}`) === 1);
        };
        expect(await eventually(initechStored, 30_000)).toBe(true);
        // The two that were never events are set aside again, as new dead letters; nothing else is pending.
        const pending = () =>
            deadLetters().filter((l) => l.tenant === "initech" || l.reason === "not_an_event" || l.eventId === liar.event_id);
        expect(await eventually(async () => pending().length === 2, 30_000)).toBe(true);
        expect(
            pending()
                .map((l) => l.eventId)
                .sort(),
        ).toEqual(["", liar.event_id]);
        await clickhouse.close();
    }, 120_000);

    test("lag is read from the brokers, so it grows while ClickHouse is down and failed batches are counted", async () => {
        const lagOf = (metrics: string) =>
            [...metrics.matchAll(/^ingest_consumer_lag\{partition="\d+"\} (\d+)/gm)].reduce((n, m) => n + Number(m[1]), 0);
        expect(await eventually(async () => lagOf(await consumerMetrics()) === 0, 20_000)).toBe(true);
        await stopService(path.join(stack.state, "e2e", "local-eu", "clickhouse"));
        expect(
            (
                await postEvents(
                    router,
                    keys.acme,
                    Array.from({ length: 30 }, (_, i) => eventOf("acme", { session_id: `lag-${i}` })),
                )
            ).status,
        ).toBe(202);
        expect(await eventually(async () => lagOf(await consumerMetrics()) >= 30, 30_000)).toBe(true);
        expect(await eventually(async () => /^ingest_batches_failed_total [1-9]/m.test(await consumerMetrics()), 60_000)).toBe(true);
        stack.ok("up", "--yes", "--skip-preview", "--refresh");
        expect(await eventually(async () => lagOf(await consumerMetrics()) === 0, 60_000)).toBe(true);
        expect(await consumerMetrics()).toMatch(/^ingest_freshness_seconds_count [1-9]/m);
    }, 240_000);
});
