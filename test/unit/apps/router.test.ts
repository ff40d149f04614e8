import fc from "fast-check";
import Fastify, { FastifyInstance } from "fastify";
import { routerServer } from "../../../apps/router/server";
import { MAX_BODY_BYTES } from "../../../apps/shared/events";

const key = (tenant: string) => `cp_${tenant}_${"k".repeat(43)}`;

/** A cell's service that records what reaches it. */
async function cell(name: string) {
    const seen: { url: string; body: string; tenantKey?: string }[] = [];
    const app = Fastify();
    app.removeAllContentTypeParsers();
    app.addContentTypeParser("*", { parseAs: "string" }, (_request, body, done) => done(null, body));
    app.all("/*", async (request) => {
        seen.push({ url: request.url, body: String(request.body ?? ""), tenantKey: request.headers.authorization });
        return { cell: name };
    });
    const url = await app.listen({ port: 0, host: "127.0.0.1" });
    return { app, url, seen };
}

const US_ROUTER = "https://us.prod.cellplane.example";

describe("a residency's router (app.inject, real cells behind it)", () => {
    let eu: Awaited<ReturnType<typeof cell>>;
    let us: Awaited<ReturnType<typeof cell>>;
    let router: FastifyInstance;
    let usRouter: FastifyInstance;

    beforeAll(async () => {
        [eu, us] = await Promise.all([cell("eu-1"), cell("us-1")]);
        const route = (name: string, url: string, residency: string) => ({
            cell: name,
            residency,
            endpoints: { ingestUrl: url, exportUrl: `${url}/export-service` },
        });
        const settings = { RETRY_AFTER_SECONDS: 7, UPSTREAM_TIMEOUT_MS: 2_000, MAX_IN_FLIGHT_PER_CELL: 256 };
        router = routerServer({
            RESIDENCY: "eu",
            ROUTES: { acme: route("eu-1", eu.url, "eu"), ghost: route("gone-1", "http://127.0.0.1:9", "eu") },
            ELSEWHERE: { globex: { residency: "us", router: US_ROUTER } },
            ...settings,
        });
        usRouter = routerServer({
            RESIDENCY: "us",
            ROUTES: { globex: route("us-1", us.url, "us") },
            ELSEWHERE: { acme: { residency: "eu", router: "https://eu.prod.cellplane.example" } },
            ...settings,
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

    test("each tenant's request reaches its own cell's service only, body and key unchanged", async () => {
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
        expect((await router.inject({ url: "/healthz" })).json()).toMatchObject({ residency: "eu", misdirected: 4 });
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
                    const local = routerServer({
                        RESIDENCY: "eu",
                        ROUTES: { [own]: { cell: "eu-1", residency: "eu", endpoints: { ingestUrl: eu.url, exportUrl: eu.url } } },
                        ELSEWHERE: Object.fromEntries(foreign.map((t) => [t, { residency: "us", router: US_ROUTER }])),
                        RETRY_AFTER_SECONDS: 1,
                        UPSTREAM_TIMEOUT_MS: 2_000,
                        MAX_IN_FLIGHT_PER_CELL: 256,
                    });
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

    test.each(["/metrics", "/v1/events/", "/v1//events", "/v1/%65vents", "/v1/jobs/not-an-id"])(
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
        const limited = routerServer({
            RESIDENCY: "eu",
            ROUTES: {
                acme: { cell: "eu-1", residency: "eu", endpoints: { ingestUrl: eu.url, exportUrl: eu.url } },
                stuck: { cell: "slow-1", residency: "eu", endpoints: { ingestUrl: slowUrl, exportUrl: slowUrl } },
            },
            ELSEWHERE: {},
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
});
