import { LOCAL_PORTS } from "../../components/local";
import { isolatedLocalStack } from "../engine/project";
import { apiKeyFor, CellOutput, clickhouseOf, deployCells, destroyCells, eventOf as event, eventually, postEvents } from "./cell";

/** The ingest service the local cell deployed (an isolated local stack), driven over HTTP. */
describe("ingest on a local cell", () => {
    const stack = isolatedLocalStack("cellplane-ingest-", (config) => {
        config["cellplane:tenants"] = [
            { id: "acme", residency: "eu", quotas: { eventsPerSecond: 100_000 } },
            { id: "slowco", residency: "eu", quotas: { eventsPerSecond: 5 } },
            { id: "globex", residency: "us" },
        ];
    });
    let url: string;
    let eu: CellOutput;
    let us: CellOutput;
    const keys: Record<string, string> = {};

    const post = (key: string | undefined, body: unknown, query = "") => postEvents(url, key, body, query);
    const countOf = async (org: string) => {
        const from = new Date(Date.now() - 3_600_000 * 2).toISOString();
        const to = new Date(Date.now() + 3_600_000).toISOString();
        const response = await fetch(`${url}/v1/metrics?from=${from}&to=${to}&granularity=hour`, { headers: { authorization: `Bearer ${keys[org]}` } });
        const body: any = await response.json();
        return body.rows.reduce((sum: number, r: any) => sum + r.events, 0);
    };

    beforeAll(async () => {
        ({ "local-eu": eu, "local-us": us } = deployCells(stack));
        url = eu.endpoints.ingestUrl;
        for (const org of ["acme", "slowco"]) keys[org] = await apiKeyFor(eu, org);
    }, 180_000);

    afterAll(() => destroyCells(stack), 120_000);

    test("the passwords the apps are given stay Pulumi secrets: none is in the stack's state in the clear", () => {
        const state = stack.pulumi("stack", "export").stdout;
        expect(state).toContain("LocalAppServer");
        for (const secret of [eu.credentials.postgresPassword, eu.credentials.clickhousePassword, eu.credentials.objectStoreKeys.secretAccessKey]) {
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
        await new Promise((r) => setTimeout(r, 2_000));
        expect(await countOf("acme")).toBe(50);
    });

    test("a key is required, and another cell's tenant gets 421 with its cell's URL", async () => {
        expect((await post(undefined, event("acme"))).status).toBe(401);
        expect((await post("cp_acme_not-a-real-key", event("acme"))).status).toBe(401);
        const misdirected = await post("cp_globex_whatever", event("globex"));
        expect(misdirected.status).toBe(421);
        expect(await misdirected.json()).toMatchObject({ cell: "local-us", url: us.endpoints.ingestUrl });
    });

    test("an event naming another org is refused with 403 and nothing is stored", async () => {
        const before = await countOf("acme");
        const response = await post(keys.acme, [event("acme"), event("globex")]);
        expect(response.status).toBe(403);
        expect((await response.json() as any).error).toContain("events 1 name another org_id");
        await new Promise((r) => setTimeout(r, 1_500));
        expect(await countOf("acme")).toBe(before);
    });

    test("invalid events are reported by index and field; ?partial=true stores the valid ones", async () => {
        const batch = [event("acme"), event("acme", { event_type: "teleport" }), event("acme", { timestamp: "yesterday", event_id: "1" })];
        const refused = await post(keys.acme, batch);
        expect(refused.status).toBe(400);
        expect((await refused.json() as any).problems).toEqual([
            { index: 1, field: "event_type", reason: expect.stringContaining("must be one of session_start") },
            { index: 2, field: "event_id", reason: "must be a UUIDv7" },
            { index: 2, field: "timestamp", reason: expect.stringContaining("ISO 8601") },
        ]);
        const partial = await post(keys.acme, batch, "?partial=true");
        expect(partial.status).toBe(202);
        expect((await partial.json() as any).accepted).toBe(1);
    });

    test("too many events in one request get 413, a tenant over its quota 429 with Retry-After", async () => {
        expect((await post(keys.acme, Array.from({ length: 1_001 }, () => event("acme")))).status).toBe(413);
        const limited = await post(keys.slowco, Array.from({ length: 6 }, () => event("slowco")));
        expect(limited.status).toBe(429);
        expect(Number(limited.headers.get("retry-after"))).toBeGreaterThanOrEqual(1);
    });

    test("injection strings in every field are stored as text and harm nothing", async () => {
        const nasty = "x'); DROP TABLE analytics.events; --";
        const response = await post(keys.acme, event("acme", { user_id: nasty, session_id: nasty, region: nasty, environment: nasty, metadata: { [nasty]: nasty } }));
        expect(response.status).toBe(202);
        const clickhouse = clickhouseOf(eu);
        const found = async () => {
            const result = await clickhouse.query({ query: "SELECT count() AS n FROM analytics.events WHERE user_id = {u:String}", query_params: { u: nasty }, format: "JSONEachRow" });
            return Number((await result.json<{ n: string }>())[0].n) === 1;
        };
        expect(await eventually(found)).toBe(true);
        const metrics = await fetch(`${url}/v1/metrics?from=${encodeURIComponent("2020-01-01T00:00:00Z' OR 1=1 --")}&to=2030-01-01T00:00:00Z`, { headers: { authorization: `Bearer ${keys.acme}` } });
        expect(metrics.status).toBe(400);
        await clickhouse.close();
    });

    test("GET /metrics of the API and of the consumer expose counters in Prometheus's text format", async () => {
        const text = await (await fetch(`${url}/metrics`)).text();
        expect(text).toMatch(/^ingest_events_accepted_total \d+/m);
        expect(text).toMatch(/^ingest_events_rejected_total\{reason="foreign_org"\} 2/m);
        const consumer = await (await fetch(`http://127.0.0.1:${stack.ports.eu + LOCAL_PORTS["ingest-consumer"]}/metrics`)).text();
        expect(consumer).toMatch(/^ingest_events_duplicate_total 10/m);
    });
});
