import fc from "fast-check";
import type { FastifyInstance } from "fastify";
import { createApiKey, ApiKeys } from "../../../apps/shared/apiKeys";
import { Quotas } from "../../../apps/shared/quotas";
import { MAX_BATCH_EVENTS } from "../../../apps/shared/events";
import { sampleEvents } from "../../../apps/shared/sampleEvents";
import { apiMetrics } from "../../../apps/ingest/metrics";
import { CoalescingProducer } from "../../../apps/ingest/producer";
import { ingestServer } from "../../../apps/ingest/server";
import { StorageMeter } from "../../../apps/ingest/storage";
import { MEASURES } from "../../../apps/ingest/rollups";
import { fakeClickHouse, FakeMetadataStore, FakeProducer } from "../../support/fakes";
import { fromRouter, TEST_ROUTER_KEY } from "../../support/routerProof";
import { NOT_FROM_ROUTER, ROUTER_PROOF_HEADER, routerProof } from "../../../apps/shared/routerProof";

const quotas = { eventsPerSecond: 1_000, apiRequestsPerMinute: 600, maxStorageGb: 10 };
const TENANTS = {
    acme: { cell: "eu-1", ...quotas },
    slowco: { cell: "eu-1", ...quotas, apiRequestsPerMinute: 2 },
    globex: { cell: "us-1", ...quotas },
};

/** The ingest API of cell eu-1 with its real auth, quotas, validation and producer, over in-memory stores. */
async function ingest() {
    const metadata = new FakeMetadataStore();
    const kafka = new FakeProducer();
    const app = ingestServer({
        config: {
            CELL_ID: "eu-1",
            TENANTS,
            ROUTER_URLS: { "us-1": "https://us.prod.example.test", "eu-2": "https://eu.prod.example.test" },
            ROUTER_KEY: TEST_ROUTER_KEY,
        },
        keys: new ApiKeys(metadata.pool),
        quotas: new Quotas(metadata.pool),
        storage: new StorageMeter(fakeClickHouse()),
        producer: new CoalescingProducer(kafka.producer, "events"),
        clickhouse: fakeClickHouse(() => [{ time: "2026-11-26 10:00:00.000", event_type: "error", events: "3" }]),
        metrics: apiMetrics(),
    });
    const keys = {
        acme: (await createApiKey(metadata.pool, "acme")).key,
        slowco: (await createApiKey(metadata.pool, "slowco")).key,
        globex: (await createApiKey(metadata.pool, "globex")).key,
    };
    return { app, metadata, kafka, keys };
}

/** A POST as the eu router forwards it: the caller's key and the router's proof for cell eu-1. */
const post = (app: FastifyInstance, key: string | undefined, payload: unknown, query = "") =>
    app.inject({
        method: "POST",
        url: `/v1/events${query}`,
        headers: { ...fromRouter("eu-1", "POST", `/v1/events${query}`), ...(key === undefined ? {} : { authorization: `Bearer ${key}` }) },
        payload: payload as object,
    });

describe("the ingest API (app.inject)", () => {
    test("202 means the events are in Kafka, keyed by session, with the event's headers", async () => {
        const { app, kafka, keys } = await ingest();
        const events = sampleEvents("acme", "eu-west-1", 20);
        const response = await post(app, keys.acme, events);
        expect(response.statusCode).toBe(202);
        expect(response.json()).toEqual({ accepted: 20, rejected: [] });
        expect(kafka.sent.map((m) => JSON.parse(String(m.value)).event_id)).toEqual(events.map((e) => e.event_id));
        expect(String(kafka.sent[0].key)).toBe(events[0].session_id);
        expect(kafka.sent[0].topic).toBe("events");
        expect(kafka.sent[0].headers).toMatchObject({ org_id: Buffer.from("acme"), event_id: Buffer.from(events[0].event_id) });
        expect(response.headers["x-ratelimit-remaining"]).toBe("599");
    });

    test("no key, a made-up key and a revoked tenant's key get the same 401, and nothing is read or stored", async () => {
        const { app, kafka } = await ingest();
        const answers = await Promise.all(
            [undefined, "not-a-key", `cp_acme_${"A".repeat(43)}`, `cp_nobody_${"A".repeat(43)}`].map((key) => post(app, key, [])),
        );
        expect(answers.map((a) => a.statusCode)).toEqual([401, 401, 401, 401]);
        expect(new Set(answers.map((a) => a.json().error)).size).toBe(1);
        expect(kafka.sent).toEqual([]);
    });

    test("a request without its router's proof for this cell and request gets 401 before its key or body is read", async () => {
        const { app, keys, kafka } = await ingest();
        const url = "/v1/events";
        const otherKey = TEST_ROUTER_KEY.split("").reverse().join("");
        const proofs: Record<string, Record<string, string>> = {
            none: {},
            malformed: { [ROUTER_PROOF_HEADER]: "v1.not-a-time.abc" },
            "another cell's": fromRouter("us-1", "POST", url),
            "another path's": fromRouter("eu-1", "POST", "/v1/metrics"),
            "another method's": fromRouter("eu-1", "GET", url),
            "another key's": fromRouter("eu-1", "POST", url, otherKey),
            expired: { [ROUTER_PROOF_HEADER]: routerProof(TEST_ROUTER_KEY, { cell: "eu-1", method: "POST", url }, Date.now() - 120_000) },
        };
        for (const [what, proof] of Object.entries(proofs)) {
            const answer = await app.inject({
                method: "POST",
                url,
                headers: { authorization: `Bearer ${keys.acme}`, ...proof },
                payload: sampleEvents("acme", "eu-west-1", 1),
            });
            expect([what, answer.statusCode, answer.json()]).toEqual([what, 401, NOT_FROM_ROUTER]);
        }
        expect(kafka.sent).toEqual([]);
        expect((await post(app, keys.acme, sampleEvents("acme", "eu-west-1", 1))).statusCode).toBe(202);
    });

    test("a tenant of another cell gets 421 naming its cell's router, before its body is read", async () => {
        const { app, keys, kafka } = await ingest();
        const response = await post(app, keys.globex, sampleEvents("globex", "us-east-1", 1));
        expect(response.statusCode).toBe(421);
        expect(response.json()).toMatchObject({ cell: "us-1", router: "https://us.prod.example.test" });
        expect(kafka.sent).toEqual([]);
    });

    test("a tenant moving between cells gets 503 with Retry-After for its writes on both cells, reads go on, and nothing is stored", async () => {
        for (const state of ["departing", "arriving"] as const) {
            const { app, keys, kafka, metadata } = await ingest();
            metadata.moves.set("acme", { state, otherCell: "eu-2" });
            const refused = await post(app, keys.acme, sampleEvents("acme", "eu-west-1", 1));
            expect([state, refused.statusCode, refused.headers["retry-after"]]).toEqual([state, 503, "5"]);
            expect(refused.json().error).toBe("tenant acme is moving between cells; its writes resume within minutes, retry in 5 s");
            const url = "/v1/metrics?from=2026-11-26T00:00:00Z&to=2026-11-27T00:00:00Z";
            const read = await app.inject({
                method: "GET",
                url,
                headers: { ...fromRouter("eu-1", "GET", url), authorization: `Bearer ${keys.acme}` },
            });
            expect(read.statusCode).toBe(200);
            expect(kafka.sent).toEqual([]);
        }
    });

    test("a tenant that moved away gets 421 naming its new cell's router, and its other tenants are served", async () => {
        const { app, keys, kafka, metadata } = await ingest();
        metadata.moves.set("acme", { state: "departed", otherCell: "eu-2" });
        const response = await post(app, keys.acme, sampleEvents("acme", "eu-west-1", 1));
        expect(response.statusCode).toBe(421);
        expect(response.json()).toMatchObject({ cell: "eu-2", router: "https://eu.prod.example.test" });
        expect((await post(app, keys.slowco, sampleEvents("slowco", "eu-west-1", 1))).statusCode).toBe(202);
        expect(kafka.sent).toHaveLength(1);
    });

    test("/metrics counts every answer by status class, and /healthz names the cell and the build", async () => {
        const { app, keys } = await ingest();
        await post(app, keys.acme, sampleEvents("acme", "eu-west-1", 1));
        await post(app, undefined, []);
        await post(app, undefined, []);
        const metrics = (await app.inject({ method: "GET", url: "/metrics" })).body;
        expect(metrics).toMatch(/^http_responses_total\{class="2xx"\} 1$/m);
        expect(metrics).toMatch(/^http_responses_total\{class="4xx"\} 2$/m);
        expect((await app.inject({ method: "GET", url: "/healthz" })).json()).toEqual({
            status: "ok",
            cell: "eu-1",
            version: expect.stringMatching(/^([0-9a-f]{12}|unknown)$/),
        });
    });

    test("an invalid event refuses the batch with a 400 naming the index, the field and why; ?partial=true keeps the rest", async () => {
        const { app, keys, kafka } = await ingest();
        const [good, bad] = sampleEvents("acme", "eu-west-1", 2);
        const refused = await post(app, keys.acme, [good, { ...bad, event_id: "42" }]);
        expect(refused.statusCode).toBe(400);
        expect(refused.json().problems).toEqual([expect.objectContaining({ index: 1, field: "event_id", reason: "must be a UUIDv7" })]);
        expect(kafka.sent).toEqual([]);

        const partial = await post(app, keys.acme, [good, { ...bad, event_id: "42" }], "?partial=true");
        expect(partial.statusCode).toBe(202);
        expect(partial.json()).toMatchObject({ accepted: 1, rejected: [expect.objectContaining({ index: 1 })] });
        expect(kafka.sent).toHaveLength(1);
    });

    test("a query setting other than partial=true|false is a 400 that names it, and nothing is stored", async () => {
        const { app, keys, kafka } = await ingest();
        for (const query of ["?partial=yes", "?partal=true"]) {
            const refused = await post(app, keys.acme, sampleEvents("acme", "eu-west-1", 1), query);
            expect(refused.statusCode).toBe(400);
            expect(refused.json().error).toMatch(/querystring/);
        }
        expect(kafka.sent).toEqual([]);
    });

    test("events naming another org_id are refused whole with 403", async () => {
        const { app, keys, kafka } = await ingest();
        const response = await post(app, keys.acme, [...sampleEvents("acme", "eu-west-1", 1), ...sampleEvents("globex", "eu-west-1", 1)]);
        expect(response.statusCode).toBe(403);
        expect(response.json().error).toContain("events 1 name another org_id");
        expect(kafka.sent).toEqual([]);
    });

    test(`more than ${MAX_BATCH_EVENTS} events in one request is 413`, async () => {
        const { app, keys } = await ingest();
        const response = await post(app, keys.acme, sampleEvents("acme", "eu-west-1", MAX_BATCH_EVENTS + 1));
        expect(response.statusCode).toBe(413);
    });

    test("a tenant over its requests per minute gets 429 with Retry-After, and its events are not stored", async () => {
        const { app, keys, kafka } = await ingest();
        expect((await post(app, keys.slowco, sampleEvents("slowco", "eu-west-1", 1))).statusCode).toBe(202);
        expect((await post(app, keys.slowco, sampleEvents("slowco", "eu-west-1", 1))).statusCode).toBe(202);
        const limited = await post(app, keys.slowco, sampleEvents("slowco", "eu-west-1", 1));
        expect(limited.statusCode).toBe(429);
        expect(Number(limited.headers["retry-after"])).toBeGreaterThanOrEqual(1);
        expect(kafka.sent).toHaveLength(2);
    });

    test("Kafka or Postgres down is 503 with Retry-After, never a 202", async () => {
        const { app, keys, kafka, metadata } = await ingest();
        kafka.failing = true;
        const kafkaDown = await post(app, keys.acme, sampleEvents("acme", "eu-west-1", 3));
        expect(kafkaDown.statusCode).toBe(503);
        expect(kafkaDown.headers["retry-after"]).toBeDefined();
        expect(JSON.stringify(kafkaDown.json())).not.toContain("KafkaJS");

        kafka.failing = false;
        metadata.down = true;
        const postgresDown = await post(app, keys.acme, sampleEvents("acme", "eu-west-1", 3));
        expect(postgresDown.statusCode).toBe(503);
        expect(JSON.stringify(postgresDown.json())).not.toContain("ECONNREFUSED");
        expect(kafka.sent).toEqual([]);
    });

    test("/v1/metrics answers the tenant's rows and names a bad query field", async () => {
        const { app, keys } = await ingest();
        const get = (url: string) =>
            app.inject({ url, headers: { authorization: `Bearer ${keys.acme}`, ...fromRouter("eu-1", "GET", url) } });
        const rows = await get("/v1/metrics?from=2026-11-26T00:00:00Z&to=2026-11-27T00:00:00Z");
        expect(rows.json()).toEqual({
            tenant: "acme",
            granularity: "hour",
            rows: [{ bucket: "2026-11-26 10:00:00.000", event_type: "error", events: 3 }],
        });
        const bad = await get("/v1/metrics?from=yesterday&to=2026-11-27T00:00:00Z");
        expect(bad.statusCode).toBe(400);
        expect(bad.json().problems[0].field).toBe("from");
    });

    test("/v1/metrics answers the measures asked for, and names an unknown one or a day's measure asked by the hour", async () => {
        const { app, keys } = await ingest();
        const get = (query: string) => {
            const url = `/v1/metrics?from=2026-11-26T00:00:00Z&to=2026-11-27T00:00:00Z&${query}`;
            return app.inject({ url, headers: { authorization: `Bearer ${keys.acme}`, ...fromRouter("eu-1", "GET", url) } });
        };
        const unknown = await get("measures=events,revenue");
        expect(unknown.statusCode).toBe(400);
        expect(unknown.json().problems).toEqual([
            {
                field: "measures.1",
                reason: expect.stringMatching(/unknown measure "revenue"; ask for any of events, unique_users, .*cost_usd/),
            },
        ]);
        const hourly = await get("granularity=hour&measures=cost_usd");
        expect(hourly.statusCode).toBe(400);
        expect(hourly.json().problems).toEqual([{ field: "measures", reason: expect.stringContaining("granularity=day") }]);
        expect((await get("granularity=day&measures=events,cost_usd")).statusCode).toBe(200);
        await fc.assert(
            fc.asyncProperty(
                fc.array(fc.oneof(fc.constantFrom(...MEASURES), fc.string({ maxLength: 12 })), { maxLength: 5 }),
                async (asked) => {
                    const encoded = [...Buffer.from(asked.join(","))].map((b) => `%${b.toString(16).padStart(2, "0")}`).join("");
                    const answer = await get(`granularity=day&measures=${encoded}`);
                    const known = asked
                        .join(",")
                        .split(",")
                        .every((m) => (MEASURES as readonly string[]).includes(m.trim()));
                    expect(answer.statusCode).toBe(known ? 200 : 400);
                },
            ),
            { numRuns: 60 },
        );
    });

    test("any body at all: never a 5xx, and a 202 exactly when every event it counts reached Kafka", async () => {
        const { app, keys, kafka } = await ingest();
        const event = fc.record(
            {
                event_id: fc.oneof(fc.uuid({ version: 7 }), fc.string()),
                org_id: fc.constantFrom("acme", "globex", ""),
                user_id: fc.string({ maxLength: 300 }),
                session_id: fc.string({ minLength: 1, maxLength: 20 }),
                event_type: fc.oneof(fc.constantFrom("error", "session_start"), fc.string()),
                event_category: fc.constantFrom("usage", "cost", "nope"),
                timestamp: fc.oneof(
                    fc.date({ noInvalidDate: true }).map((d) => d.toISOString()),
                    fc.string(),
                ),
                region: fc.string({ maxLength: 70 }),
                environment: fc.constant("production"),
                metadata: fc.jsonValue({ maxDepth: 4 }),
            },
            { requiredKeys: ["event_id", "org_id"] },
        );
        const body = fc.oneof(fc.array(event, { maxLength: 5 }), event, fc.jsonValue({ maxDepth: 3 }));
        await fc.assert(
            fc.asyncProperty(body, fc.boolean(), async (payload, partial) => {
                const before = kafka.sent.length;
                const response = await post(app, keys.acme, payload, partial ? "?partial=true" : "");
                expect(response.statusCode).toBeLessThan(500);
                const added = kafka.sent.length - before;
                if (response.statusCode === 202) expect(added).toBe(response.json().accepted);
                else expect(added).toBe(0);
            }),
            { numRuns: 300 },
        );
    });
});
