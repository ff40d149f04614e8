import { fetchTrusting } from "../../../scripts/ops/https";
import { call, trust } from "../../support/cellClient";
import { randomBytes } from "crypto";
import type { FastifyInstance } from "fastify";
import * as fs from "fs";
import * as path from "path";
import { Pool } from "pg";
import { loadIngestConfig } from "../../../apps/ingest/config";
import { apiMetrics } from "../../../apps/ingest/metrics";
import { CoalescingProducer } from "../../../apps/ingest/producer";
import { IngestDeps, ingestServer } from "../../../apps/ingest/server";
import { StorageMeter } from "../../../apps/ingest/storage";
import { ApiKeys, createApiKey, revokeApiKey } from "../../../apps/shared/apiKeys";
import { Quotas } from "../../../apps/shared/quotas";
import { LOCAL_PORTS } from "../../../components/local";
import { runningPid } from "../../../components/local/supervisor";
import { isolatedLocalStack } from "../../support/project";
import {
    apiKeyFor,
    CellOutput,
    clickhouseOf,
    deployCells,
    destroyCells,
    eventOf as event,
    eventually,
    postEvents,
    postgresOf,
} from "./cell";
import type { JsonBody } from "../../support/json";
import { clickhouseOfCell, kafkaOfCell } from "../../../scripts/ops/cellClients";
import type { KafkaProducer } from "../../../apps/shared/kafka";

/** The ingest service the local cell deployed (an isolated local stack), driven over HTTP. */
describe("ingest on a local cell", () => {
    const stack = isolatedLocalStack("cellplane-ingest-", (config) => {
        config["cellplane:tenants"] = [
            { id: "acme", residency: "eu", quotas: { eventsPerSecond: 100_000 } },
            { id: "slowco", residency: "eu", quotas: { eventsPerSecond: 5 } },
            { id: "chatty", residency: "eu", quotas: { apiRequestsPerMinute: 20 } },
            { id: "hoarder", residency: "eu", quotas: { maxStorageGb: 0.000001 } },
            { id: "globex", residency: "us" },
        ];
    });
    let url: string;
    let eu: CellOutput;
    const keys: Record<string, string> = {};

    const post = (key: string | undefined, body: unknown, query = "") => postEvents(url, key, body, query);
    const countOf = async (org: string) => {
        const from = new Date(Date.now() - 3_600_000 * 2).toISOString();
        const to = new Date(Date.now() + 3_600_000).toISOString();
        const response = await call(`${url}/v1/metrics?from=${from}&to=${to}&granularity=hour`, {
            headers: { authorization: `Bearer ${keys[org]}` },
        });
        const body = (await response.json()) as JsonBody;
        return (body.rows as { events: number }[]).reduce((sum, r) => sum + r.events, 0);
    };

    beforeAll(async () => {
        ({ "local-eu": eu } = deployCells(stack));
        url = eu.endpoints.ingestUrl;
        for (const org of ["acme", "slowco", "chatty", "hoarder"]) keys[org] = await apiKeyFor(eu, org);
    }, 180_000);

    afterAll(() => destroyCells(stack), 120_000);

    test("the passwords the apps are given stay Pulumi secrets: none is in the stack's state in the clear", () => {
        const state = stack.pulumi("stack", "export").stdout;
        expect(state).toContain("LocalAppServer");
        for (const secret of [
            eu.credentials.postgresPassword,
            eu.credentials.clickhousePassword,
            eu.credentials.objectStoreKeys.secretAccessKey,
        ]) {
            expect(secret.length).toBeGreaterThan(16);
            expect(state).not.toContain(secret);
        }
    });

    test("accepted events reach ClickHouse and are counted once in the tenant's metrics", async () => {
        const batch = Array.from({ length: 50 }, () => event("acme"));
        const response = await post(keys.acme, batch);
        expect(response.status).toBe(202);
        expect(await response.json()).toEqual({ accepted: 50, rejected: [] });
        expect(await eventually(async () => (await countOf("acme")) === 50)).toBe(true);

        expect((await post(keys.acme, batch.slice(0, 10))).status).toBe(202);
        // Longer than a round of the rollups (5 s): the events sent again have been read and a round has run.
        await new Promise((r) => setTimeout(r, 7_000));
        expect(await countOf("acme")).toBe(50);
    });

    test("a key is required, and another cell's tenant gets 421 with its cell's router", async () => {
        expect((await post(undefined, event("acme"))).status).toBe(401);
        expect((await post("cp_acme_not-a-real-key", event("acme"))).status).toBe(401);
        const misdirected = await post(`cp_globex_${"x".repeat(43)}`, event("globex"));
        expect(misdirected.status).toBe(421);
        const routers = JSON.parse(stack.pulumi("stack", "output", "routers", "--json").stdout);
        expect(await misdirected.json()).toMatchObject({ cell: "local-us", router: routers.us.url });
    });

    test("an event naming another org is refused with 403 and nothing is stored", async () => {
        const before = await countOf("acme");
        const response = await post(keys.acme, [event("acme"), event("globex")]);
        expect(response.status).toBe(403);
        expect(((await response.json()) as JsonBody).error).toContain("events 1 name another org_id");
        await new Promise((r) => setTimeout(r, 1_500));
        expect(await countOf("acme")).toBe(before);
    });

    test("invalid events are reported by index and field; ?partial=true stores the valid ones", async () => {
        const batch = [event("acme"), event("acme", { event_type: "teleport" }), event("acme", { timestamp: "yesterday", event_id: "1" })];
        const refused = await post(keys.acme, batch);
        expect(refused.status).toBe(400);
        expect(((await refused.json()) as JsonBody).problems).toEqual([
            { index: 1, field: "event_type", reason: expect.stringContaining("must be one of session_start") },
            { index: 2, field: "event_id", reason: "must be a UUIDv7" },
            { index: 2, field: "timestamp", reason: expect.stringContaining("ISO 8601") },
        ]);
        const partial = await post(keys.acme, batch, "?partial=true");
        expect(partial.status).toBe(202);
        expect(((await partial.json()) as JsonBody).accepted).toBe(1);
    });

    test("too many events in one request get 413, a tenant over its quota 429 with Retry-After", async () => {
        expect(
            (
                await post(
                    keys.acme,
                    Array.from({ length: 1_001 }, () => event("acme")),
                )
            ).status,
        ).toBe(413);
        expect(
            (
                await post(
                    keys.slowco,
                    Array.from({ length: 4 }, () => event("slowco")),
                )
            ).status,
        ).toBe(202);
        const limited = await post(
            keys.slowco,
            Array.from({ length: 4 }, () => event("slowco")),
        );
        expect(limited.status).toBe(429);
        expect(Number(limited.headers.get("retry-after"))).toBeGreaterThanOrEqual(1);
    });

    test("injection strings in every field are stored as text and harm nothing", async () => {
        const nasty = "x'); DROP TABLE analytics.events; --";
        const response = await post(
            keys.acme,
            event("acme", { user_id: nasty, session_id: nasty, region: nasty, environment: nasty, metadata: { [nasty]: nasty } }),
        );
        expect(response.status).toBe(202);
        const clickhouse = clickhouseOf(eu);
        const found = async () => {
            const result = await clickhouse.query({
                query: "SELECT count() AS n FROM analytics.events WHERE user_id = {u:String}",
                query_params: { u: nasty },
                format: "JSONEachRow",
            });
            return Number((await result.json<{ n: string }>())[0].n) === 1;
        };
        expect(await eventually(found)).toBe(true);
        const metrics = await call(
            `${url}/v1/metrics?from=${encodeURIComponent("2020-01-01T00:00:00Z' OR 1=1 --")}&to=2030-01-01T00:00:00Z`,
            { headers: { authorization: `Bearer ${keys.acme}` } },
        );
        expect(metrics.status).toBe(400);
        await clickhouse.close();
    });

    test("GET /metrics of the API and of the consumer expose counters in Prometheus's text format", async () => {
        const text = await (await call(`${url}/metrics`)).text();
        expect(text).toMatch(/^ingest_events_accepted_total \d+/m);
        expect(text).toMatch(/^ingest_events_rejected_total\{reason="foreign_org"\} 2/m);
        const consumer = await (
            await fetchTrusting(eu.endpoints.appCa)(`https://127.0.0.1:${stack.ports.eu + LOCAL_PORTS["ingest-consumer"]}/metrics`)
        ).text();
        expect(consumer).toMatch(/^ingest_events_duplicate_total 10/m);
    });

    test("the key is checked before the body is read, and every answer carries a request id", async () => {
        const huge = JSON.stringify([event("acme", { metadata: { blob: "x".repeat(3 * 1024 * 1024) } })]);
        const send = (key: string) =>
            call(`${url}/v1/events`, {
                method: "POST",
                headers: { "content-type": "application/json", authorization: `Bearer ${key}` },
                body: huge,
            });
        const unknown = await send(`cp_acme_${"y".repeat(43)}`);
        expect(unknown.status).toBe(401);
        expect(await unknown.json()).toEqual({ error: "missing or unknown API key: send Authorization: Bearer <key>" });
        expect((await send(`cp_globex_${"y".repeat(43)}`)).status).toBe(421);
        const tooLarge = await send(keys.acme);
        expect(tooLarge.status).toBe(413);
        for (const response of [unknown, tooLarge, await post(keys.acme, event("acme"))])
            expect(response.headers.get("x-request-id")).toMatch(/^[0-9a-f-]{36}$/);
    });

    test("apiRequestsPerMinute holds on every API, counted down in X-RateLimit-Remaining", async () => {
        const remaining: number[] = [];
        for (let i = 0; i < 20; i++) {
            const response = await call(
                `${i % 2 ? url : eu.endpoints.exportUrl}/v1/${i % 2 ? "metrics?from=2026-01-01T00:00:00Z&to=2026-01-02T00:00:00Z" : "jobs"}`,
                { headers: { authorization: `Bearer ${keys.chatty}` } },
            );
            expect(response.status).toBe(200);
            remaining.push(Number(response.headers.get("x-ratelimit-remaining")));
        }
        expect(remaining.slice(0, 3)).toEqual([19, 18, 17]);
        const over = await post(keys.chatty, event("chatty"));
        expect(over.status).toBe(429);
        expect(Number(over.headers.get("retry-after"))).toBeGreaterThanOrEqual(1);
        expect(((await over.json()) as JsonBody).error).toContain("20 API requests per minute");
    });

    test("maxStorageGb is enforced from what the tenant's events take in ClickHouse", async () => {
        expect(
            (
                await post(
                    keys.hoarder,
                    Array.from({ length: 50 }, () => event("hoarder")),
                )
            ).status,
        ).toBe(202);
        const refused = async () => (await post(keys.hoarder, event("hoarder"))).status === 403;
        expect(await eventually(refused, 30_000)).toBe(true);
        const response = await post(keys.hoarder, event("hoarder"));
        expect(((await response.json()) as JsonBody).error).toMatch(/over its quota of 0.000001 GB; nothing was stored/);
        expect((await post(keys.acme, event("acme"))).status).toBe(202);
    }, 60_000);

    describe("replicas of the API beside the deployed one, on the same cell's stores", () => {
        let pool: Pool;
        let kafkaProducer: KafkaProducer;
        const replicas: FastifyInstance[] = [];
        const replica = async (overrides: Partial<IngestDeps> = {}) => {
            const clickhouse = clickhouseOf(eu);
            const app = ingestServer({
                config: {
                    CELL_ID: "local-eu",
                    TENANTS: loadIngestConfig(deployedEnv()).TENANTS,
                    ROUTER_URLS: {},
                    ROUTER_KEY: eu.credentials.routerKey,
                },
                keys: new ApiKeys(pool),
                quotas: new Quotas(pool),
                storage: new StorageMeter(clickhouse),
                clickhouse,
                metrics: apiMetrics(),
                producer: new CoalescingProducer(kafkaProducer, "events"),
                ...overrides,
            });
            replicas.push(app);
            const address = await app.listen({ port: 0, host: "127.0.0.1" });
            trust(address, { proof: { cell: "local-eu", key: eu.credentials.routerKey } });
            return address;
        };
        /** The ingest app's environment as the cell deployed it. */
        const deployedEnv = () =>
            Object.fromEntries(
                fs
                    .readFileSync(`/proc/${runningPid(path.join(stack.state, "e2e", "local-eu", "ingest"))}/environ`, "utf8")
                    .split("\0")
                    .filter(Boolean)
                    .map((kv) => [kv.slice(0, kv.indexOf("=")), kv.slice(kv.indexOf("=") + 1)]),
            );

        beforeAll(async () => {
            pool = new Pool({ ...postgresOf(eu), max: 4 });
            kafkaProducer = kafkaOfCell(eu).producer();
        });

        afterAll(async () => {
            await Promise.all(replicas.map((r) => r.close()));
            await kafkaProducer.close();
            await pool.end();
        });

        test("eventsPerSecond holds across two replicas: their buckets are one row in the cell's Postgres", async () => {
            const urls = [await replica(), await replica()];
            let accepted = 0;
            const started = Date.now();
            for (let i = 0; Date.now() - started < 2_000; i++) {
                if ((await postEvents(urls[i % 2], keys.slowco, event("slowco"))).status === 202) accepted++;
            }
            const seconds = (Date.now() - started) / 1000;
            // A second's burst plus the refill: one replica's share would let about twice through.
            expect(accepted).toBeLessThanOrEqual(Math.ceil(5 + 5 * seconds) + 1);
            expect(accepted).toBeGreaterThanOrEqual(5);
        });

        test("a batch larger than a second's quota is slowed, never refused forever", async () => {
            const [one] = [await replica()];
            await new Promise((r) => setTimeout(r, 1_500));
            expect(
                (
                    await postEvents(
                        one,
                        keys.slowco,
                        Array.from({ length: 8 }, () => event("slowco")),
                    )
                ).status,
            ).toBe(202);
            const next = await postEvents(one, keys.slowco, event("slowco"));
            expect(next.status).toBe(429);
            expect(Number(next.headers.get("retry-after"))).toBeGreaterThanOrEqual(1);
        });

        test("a flood of made-up keys costs one query each and a bounded cache; a repeated one costs nothing", async () => {
            const uncounted = new ApiKeys(pool, 60_000, 100);
            let queries = 0;
            const counting = {
                query: (sql: string, params: unknown[]) => (queries++, pool.query(sql, params)),
            } as unknown as Pool;
            const bounded = new ApiKeys(counting, 60_000, 100);
            for (let i = 0; i < 1_000; i++)
                expect(await bounded.tenantOf(`cp_acme_${randomBytes(32).toString("base64url")}`)).toBeUndefined();
            expect(queries).toBe(1_000);
            expect(bounded.size).toBe(100);
            const repeated = `cp_acme_${randomBytes(32).toString("base64url")}`;
            await bounded.tenantOf(repeated);
            await bounded.tenantOf(repeated);
            expect(queries).toBe(1_001);
            expect(await bounded.tenantOf("cp_constructor_x")).toBeUndefined();
            expect(await bounded.tenantOf(`cp_acme_${"z".repeat(5_000)}`)).toBeUndefined();
            expect(queries).toBe(1_001);
            expect(await uncounted.tenantOf(keys.acme)).toBe("acme");
        });

        test("revoking a key names its tenant: another tenant's key id revokes nothing", async () => {
            const slowcoKey = await createApiKey(pool, "slowco");
            expect(await revokeApiKey(pool, "acme", slowcoKey.id)).toBe(false);
            expect(await new ApiKeys(pool).tenantOf(slowcoKey.key)).toBe("slowco");
            expect(await revokeApiKey(pool, "slowco", slowcoKey.id)).toBe(true);
            expect(await new ApiKeys(pool).tenantOf(slowcoKey.key)).toBeUndefined();
        });

        test("callers never see the stores' own error text: a 500 names a request id the log has", async () => {
            const broken = clickhouseOfCell(eu, randomBytes(16).toString("hex"));
            const address = await replica({ clickhouse: broken });
            const response = await call(`${address}/v1/metrics?from=2026-01-01T00:00:00Z&to=2026-01-02T00:00:00Z`, {
                headers: { authorization: `Bearer ${keys.acme}` },
            });
            expect(response.status).toBe(500);
            const body = (await response.json()) as JsonBody;
            expect(body).toEqual({
                error: `internal error; quote request id ${body.requestId} to the cell's operators`,
                requestId: response.headers.get("x-request-id"),
            });
            await broken.close();
        });

        test("when Kafka is slow the API answers 503 with Retry-After, and its queue stays bounded", async () => {
            const kafkaPid = runningPid(path.join(stack.state, "e2e", "local-eu", "kafka"))!;
            const address = await replica({
                producer: new CoalescingProducer(kafkaProducer, "events", { maxQueuedBytes: 256 * 1024, maxWaitMs: 1_000 }),
            });
            process.kill(kafkaPid, "SIGSTOP");
            try {
                const stuck = postEvents(address, keys.acme, event("acme")).then((r) => r.status);
                await new Promise((r) => setTimeout(r, 200));
                const started = Date.now();
                const waited = await postEvents(address, keys.acme, event("acme"));
                expect(waited.status).toBe(503);
                expect(waited.headers.get("retry-after")).toBe("2");
                expect(Date.now() - started).toBeLessThan(3_000);
                const big = Array.from({ length: 1_000 }, () => event("acme", { metadata: { pad: "p".repeat(400) } }));
                const full = await Promise.all([postEvents(address, keys.acme, big), postEvents(address, keys.acme, big)]);
                expect(full.map((r) => r.status)).toContain(503);
                process.kill(kafkaPid, "SIGCONT");
                expect([202, 503]).toContain(await stuck);
            } finally {
                process.kill(kafkaPid, "SIGCONT");
            }
        }, 60_000);
    });
});
