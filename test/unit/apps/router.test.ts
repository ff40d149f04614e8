import fc from "fast-check";
import * as fs from "fs";
import * as os from "os";
import { join } from "path";
import Fastify, { FastifyInstance } from "fastify";
import type { RouterConfig } from "../../../apps/router/config";
import { type RoutingDocument, RoutingTable } from "../../../apps/router/routingTable";
import { routerServer } from "../../../apps/router/server";
import { MAX_BODY_BYTES } from "../../../apps/shared/events";
import { NOT_FROM_ROUTER, ROUTER_PROOF_HEADER, proofProblem } from "../../../apps/shared/routerProof";
import { TEST_ROUTER_KEY } from "../../support/routerProof";

const key = (tenant: string) => `cp_${tenant}_${"k".repeat(43)}`;

/** A cell's service that records what reaches it, and answers 401 to a request without the router's proof for it. */
async function cell(name: string) {
    const seen: { url: string; body: string; tenantKey?: string }[] = [];
    const app = Fastify();
    app.removeAllContentTypeParsers();
    app.addContentTypeParser("*", { parseAs: "string" }, (_request, body, done) => done(null, body));
    app.all("/*", async (request, reply) => {
        const proof = request.headers[ROUTER_PROOF_HEADER] as string | undefined;
        if (proofProblem(TEST_ROUTER_KEY, proof, { cell: name, method: request.method, url: request.url }))
            return reply.code(401).send(NOT_FROM_ROUTER);
        seen.push({ url: request.url, body: String(request.body ?? ""), tenantKey: request.headers.authorization });
        return { cell: name };
    });
    const url = await app.listen({ port: 0, host: "127.0.0.1" });
    return { app, url, seen };
}

const US_ROUTER = "https://us.prod.cellplane.example";
const SETTINGS = { RETRY_AFTER_SECONDS: 7, UPSTREAM_TIMEOUT_MS: 2_000, MAX_IN_FLIGHT_PER_CELL: 256 };

/** A routing table of residency eu: cells by URL, tenants by cell. */
function euTable(
    cells: Record<string, string>,
    tenants: Record<string, string>,
    rest: Partial<Pick<RoutingDocument, "elsewhere" | "overrides" | "serial">> = {},
): RoutingDocument {
    return {
        serial: 1,
        residency: "eu",
        cells: Object.fromEntries(
            Object.entries(cells).map(([id, url]) => [id, { residency: "eu", ingestUrl: url, exportUrl: `${url}/export-service` }]),
        ),
        tenants,
        elsewhere: {},
        overrides: {},
        ...rest,
    };
}

/** A router over a fixed table, with a key for every cell. */
function routerOf(table: RoutingDocument, settings: Partial<RouterConfig> = {}): FastifyInstance {
    const keys = Object.fromEntries(Object.keys(table.cells).map((id) => [id, TEST_ROUTER_KEY]));
    return routerServer({ RESIDENCY: table.residency, ROUTER_KEYS: keys, ...SETTINGS, ...settings }, { current: table, refused: [] });
}

describe("a residency's router (app.inject, real cells behind it)", () => {
    let eu: Awaited<ReturnType<typeof cell>>;
    let us: Awaited<ReturnType<typeof cell>>;
    let router: FastifyInstance;
    let usRouter: FastifyInstance;

    beforeAll(async () => {
        [eu, us] = await Promise.all([cell("eu-1"), cell("us-1")]);
        router = routerOf(
            euTable(
                { "eu-1": eu.url, "gone-1": "http://127.0.0.1:9" },
                { acme: "eu-1", ghost: "gone-1" },
                {
                    elsewhere: { globex: { residency: "us", router: US_ROUTER } },
                },
            ),
        );
        usRouter = routerOf({
            serial: 1,
            residency: "us",
            cells: { "us-1": { residency: "us", ingestUrl: us.url, exportUrl: `${us.url}/export-service` } },
            tenants: { globex: "us-1" },
            elsewhere: { acme: { residency: "eu", router: "https://eu.prod.cellplane.example" } },
            overrides: {},
        });
    });
    afterAll(async () => {
        await Promise.all([eu.app.close(), us.app.close(), router.close(), usRouter.close()]);
    });

    const send = (tenant: string | undefined, url: string, payload = "[]", to = router) =>
        to.inject({
            method: "POST",
            url,
            payload,
            headers: { "content-type": "application/json", ...(tenant ? { authorization: `Bearer ${key(tenant)}` } : {}) },
        });

    test("each tenant's request reaches its own cell's service only, body and key unchanged, with the router's proof", async () => {
        expect((await send("acme", "/v1/events", '[{"a":1}]')).json()).toEqual({ cell: "eu-1" });
        expect((await send("globex", "/v1/schedules", "{}", usRouter)).json()).toEqual({ cell: "us-1" });
        expect(eu.seen).toEqual([{ url: "/v1/events", body: '[{"a":1}]', tenantKey: `Bearer ${key("acme")}` }]);
        expect(us.seen.map((s) => s.url)).toEqual(["/export-service/v1/schedules"]);
    });

    test("another residency's tenant gets 421 and its own router, for any path or body, and no byte reaches a cell", async () => {
        const before = eu.seen.length + us.seen.length;
        for (const [url, payload] of [
            ["/v1/events", '[{"secret":"of globex"}]'],
            ["/v1/exports", "{}"],
            ["/v1/not-a-route", ""],
            ["/v1/events", "x".repeat(MAX_BODY_BYTES + 1)],
        ]) {
            const answer = await send("globex", url, payload);
            expect([url, answer.statusCode]).toEqual([url, 421]);
            expect(answer.json()).toEqual({
                error: `tenant globex is served in residency us, not eu; send its requests to ${US_ROUTER}`,
                residency: "us",
                router: US_ROUTER,
            });
        }
        expect(eu.seen.length + us.seen.length).toBe(before);
        expect((await router.inject({ url: "/healthz" })).json()).toMatchObject({
            residency: "eu",
            misdirected: 4,
            table: { serial: 1, tenants: 2 },
        });
    });

    test("property: whatever the tenants, paths and bodies, a foreign tenant is 421 and never forwarded, an own tenant never 421", async () => {
        // As API keys name tenants (apps/shared/apiKeys.ts).
        const tenantId = fc.stringMatching(/^[a-z][a-z0-9-]{2,31}$/);
        await fc.assert(
            fc.asyncProperty(
                fc.uniqueArray(tenantId, { minLength: 2, maxLength: 6 }),
                fc.constantFrom("/v1/events", "/v1/metrics", "/v1/exports", "/v1/jobs", "/v1/x"),
                fc.string({ maxLength: 200 }),
                async (tenants, url, payload) => {
                    const [own, ...foreign] = tenants;
                    const local = routerOf(
                        euTable(
                            { "eu-1": eu.url },
                            { [own]: "eu-1" },
                            {
                                elsewhere: Object.fromEntries(foreign.map((t) => [t, { residency: "us", router: US_ROUTER }])),
                            },
                        ),
                    );
                    const before = eu.seen.length;
                    for (const tenant of foreign) expect((await send(tenant, url, payload, local)).statusCode).toBe(421);
                    expect(eu.seen.length).toBe(before);
                    expect((await send(own, url, payload, local)).statusCode).not.toBe(421);
                    await local.close();
                },
            ),
            { numRuns: 40 },
        );
    });

    test("no key and a tenant no cell holds get the same 401; nothing is forwarded", async () => {
        const before = eu.seen.length + us.seen.length;
        const answers = [await send(undefined, "/v1/events"), await send("nobody", "/v1/events")];
        expect(answers.map((a) => a.statusCode)).toEqual([401, 401]);
        expect(answers[0].json()).toEqual(answers[1].json());
        expect(eu.seen.length + us.seen.length).toBe(before);
    });

    test("/metrics is the router's own (refusals by reason, the table's serial, answers by class), never forwarded", async () => {
        const before = eu.seen.length;
        await send("globex", "/v1/events");
        const metrics = await router.inject({ url: "/metrics" });
        expect(metrics.statusCode).toBe(200);
        expect(metrics.body).toMatch(/^router_requests_refused_total\{reason="misdirected"\} [1-9]\d*$/m);
        expect(metrics.body).toMatch(/^router_requests_refused_total\{reason="quarantined"\} 0$/m);
        expect(metrics.body).toMatch(/^router_routing_table_serial 1$/m);
        expect(metrics.body).toMatch(/^http_responses_total\{class="4xx"\} [1-9]\d*$/m);
        expect(eu.seen.length).toBe(before);
    });

    test("a job's files go to the tenant's export service, and only a job id's", async () => {
        const job = "0e4f8a52-3c1d-4b7a-9e2f-5a6b7c8d9e0f";
        const get = (url: string) => usRouter.inject({ method: "GET", url, headers: { authorization: `Bearer ${key("globex")}` } });
        expect((await get(`/v1/jobs/${job}/files`)).json()).toEqual({ cell: "us-1" });
        expect(us.seen.map((s) => s.url)).toContain(`/export-service/v1/jobs/${job}/files`);
        for (const path of [`/v1/jobs/${job}/files/`, `/v1/jobs/${job}/files/x`, "/v1/jobs/files"])
            expect((await get(path)).statusCode).toBe(404);
    });

    test.each(["/v1/events/", "/v1//events", "/v1/%65vents", "/v1/jobs/not-an-id"])(
        "%s is no route: 404, never forwarded",
        async (path) => {
            const before = eu.seen.length;
            expect((await send("acme", path)).statusCode).toBe(404);
            expect(eu.seen.length).toBe(before);
        },
    );

    test("a body over the cells' limit is 413 before a byte is forwarded", async () => {
        const before = eu.seen.length;
        expect((await send("acme", "/v1/events", "x".repeat(MAX_BODY_BYTES + 1))).statusCode).toBe(413);
        expect(eu.seen.length).toBe(before);
    });

    test("a cell that does not answer is 503 with Retry-After, naming the cell; no other cell is tried", async () => {
        // Over a real socket: app.inject's request stream fails along with the upstream, which a client's never does.
        const url = await router.listen({ port: 0, host: "127.0.0.1" });
        const before = eu.seen.length + us.seen.length;
        const answer = await fetch(`${url}/v1/events`, {
            method: "POST",
            body: "[]",
            headers: { authorization: `Bearer ${key("ghost")}` },
        });
        expect(answer.status).toBe(503);
        expect(answer.headers.get("retry-after")).toBe("7");
        expect(await answer.json()).toMatchObject({ cell: "gone-1" });
        expect(eu.seen.length + us.seen.length).toBe(before);
    });

    test("a slow cell fills only its own share of the router: its tenants get 503 beyond it, other cells' answer at once", async () => {
        const slow = Fastify();
        let release!: () => void;
        const held = new Promise<void>((resolve) => (release = resolve));
        slow.all("/*", async () => {
            await held;
            return { cell: "slow-1" };
        });
        const slowUrl = await slow.listen({ port: 0, host: "127.0.0.1" });
        const limited = routerOf(euTable({ "eu-1": eu.url, "slow-1": slowUrl }, { acme: "eu-1", stuck: "slow-1" }), {
            RETRY_AFTER_SECONDS: 3,
            UPSTREAM_TIMEOUT_MS: 10_000,
            MAX_IN_FLIGHT_PER_CELL: 2,
        });
        const pending = [send("stuck", "/v1/events", "[]", limited), send("stuck", "/v1/events", "[]", limited)];
        await new Promise((resolve) => setTimeout(resolve, 200));
        const refused = await send("stuck", "/v1/events", "[]", limited);
        expect(refused.statusCode).toBe(503);
        expect(refused.headers["retry-after"]).toBe("3");
        expect(refused.json().error).toMatch(/^cell slow-1 already has 2 requests in flight through this router, its limit/);
        expect((await send("acme", "/v1/events", "[]", limited)).json()).toEqual({ cell: "eu-1" });
        release();
        expect((await Promise.all(pending)).map((r) => r.statusCode)).toEqual([200, 200]);
        // Answered requests give their places back.
        expect((await send("stuck", "/v1/events", "[]", limited)).statusCode).toBe(200);
        await Promise.all([limited.close(), slow.close()]);
    });

    test("property: any query string the router forwards carries a proof the cell accepts for exactly that request line", async () => {
        await fc.assert(
            fc.asyncProperty(
                fc.webQueryParameters(),
                fc.constantFrom("/v1/events", "/v1/metrics", "/v1/schedules"),
                async (query, path) => {
                    const url = `${path}?${query}`;
                    const answer = await send("acme", url, "[]");
                    expect([url, answer.statusCode]).toEqual([url, 200]);
                    expect(
                        eu.seen
                            .at(-1)!
                            .url.split("?")[0]
                            .replace(/^\/export-service/, ""),
                    ).toBe(path);
                },
            ),
            { numRuns: 200 },
        );
    });

    test("operators' overrides come before the placement: a quarantined tenant gets 423 with the reason, a pinned one its pinned cell", async () => {
        const other = await cell("eu-2");
        const overridden = routerOf(
            euTable(
                { "eu-1": eu.url, "eu-2": other.url },
                { acme: "eu-1", initech: "eu-1", hooli: "eu-1" },
                {
                    overrides: {
                        initech: { action: "quarantine", reason: "abuse report #42" },
                        hooli: { action: "pin", cell: "eu-2", reason: "moving to eu-2" },
                    },
                },
            ),
        );
        const before = eu.seen.length;
        const quarantined = await send("initech", "/v1/events", "[]", overridden);
        expect(quarantined.statusCode).toBe(423);
        expect(quarantined.json().error).toBe("tenant initech is quarantined by the operators of residency eu: abuse report #42");
        expect((await send("hooli", "/v1/events", "[]", overridden)).json()).toEqual({ cell: "eu-2" });
        expect((await send("acme", "/v1/events", "[]", overridden)).json()).toEqual({ cell: "eu-1" });
        expect(eu.seen.length).toBe(before + 1);
        expect(other.seen.map((s) => s.tenantKey)).toEqual([`Bearer ${key("hooli")}`]);
        expect((await overridden.inject({ url: "/healthz" })).json()).toMatchObject({ quarantined: 1 });
        await Promise.all([overridden.close(), other.app.close()]);
    });
});

describe("a router's routing table file", () => {
    const dir = fs.mkdtempSync(join(os.tmpdir(), "cellplane-routing-"));
    const file = join(dir, "routing.json");
    afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));
    const good = (serial: number, tenants: Record<string, string>) => euTable({ "eu-1": "https://eu-1.example.test" }, tenants, { serial });
    /** The same table, as residency us's. */
    const ofUs = (table: RoutingDocument): RoutingDocument => ({
        ...table,
        residency: "us",
        cells: Object.fromEntries(Object.entries(table.cells).map(([id, routed]) => [id, { ...routed, residency: "us" }])),
    });
    const write = (content: unknown) => fs.writeFileSync(file, typeof content === "string" ? content : JSON.stringify(content));

    test("a router without a good first table does not start, and says which file and why", () => {
        write(ofUs(good(1, {})));
        expect(() => new RoutingTable(file, "eu")).toThrow(`${file} is the table of residency us, not of this router's eu`);
        write(good(1, { acme: "eu-9" }));
        expect(() => new RoutingTable(file, "eu")).toThrow("tenants.acme: names cell eu-9, which is not in cells");
    });

    test("keeps its last good table when a new one is missing, unparseable, of another residency, older or empty", () => {
        write(good(2, { acme: "eu-1" }));
        const table = new RoutingTable(file, "eu");
        const bad: [string, () => void, RegExp][] = [
            ["missing", () => fs.rmSync(file), /is missing/],
            ["unparseable", () => write('{"serial": 3, "resid'), /is not JSON/],
            ["not a table", () => write({ serial: 3 }), /is not a routing table: residency/],
            ["another residency's", () => write(ofUs(good(3, { acme: "eu-1" }))), /residency us/],
            ["older", () => write(good(1, { acme: "eu-1", initech: "eu-1" })), /serial 1, older than the table in use \(2\)/],
            ["empty", () => write(good(3, {})), /has no tenants, where the table in use has 1/],
        ];
        for (const [what, damage, reason] of bad) {
            damage();
            expect([what, table.reload()]).toEqual([what, false]);
            expect(table.refused.at(-1)!.reason).toMatch(reason);
            expect(table.current).toEqual(good(2, { acme: "eu-1" }));
        }
        write(good(3, { acme: "eu-1", initech: "eu-1" }));
        expect(table.reload()).toBe(true);
        expect(table.current.serial).toBe(3);
        expect(Object.keys(table.current.tenants)).toEqual(["acme", "initech"]);
    });

    test("property: whatever is written, the table in use is always a good one, and never older", () => {
        write(good(5, { acme: "eu-1" }));
        const table = new RoutingTable(file, "eu");
        const content = fc.oneof(
            fc.integer({ min: 1, max: 9 }).map((serial) => good(serial, { acme: "eu-1", [`t${serial}`]: "eu-1" })),
            fc.integer({ min: 1, max: 9 }).map((serial) => good(serial, {})),
            fc.string({ maxLength: 50 }),
            fc.jsonValue({ maxDepth: 3 }).map((value) => JSON.stringify(value)),
        );
        fc.assert(
            fc.property(fc.array(content, { minLength: 1, maxLength: 10 }), (writes) => {
                for (const next of writes) {
                    const before = table.current;
                    write(next);
                    table.reload();
                    expect(table.current.serial).toBeGreaterThanOrEqual(before.serial);
                    expect(Object.keys(table.current.tenants).length).toBeGreaterThan(0);
                    if (table.current !== before) expect(table.current).toEqual(next);
                }
            }),
            { numRuns: 100 },
        );
    });
});
