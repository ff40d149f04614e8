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

describe("the router (app.inject, real cells behind it)", () => {
    let eu: Awaited<ReturnType<typeof cell>>;
    let us: Awaited<ReturnType<typeof cell>>;
    let router: FastifyInstance;

    beforeAll(async () => {
        [eu, us] = await Promise.all([cell("eu-1"), cell("us-1")]);
        const route = (name: string, url: string, residency: string) => ({
            cell: name,
            residency,
            endpoints: { ingestUrl: url, exportUrl: `${url}/export-service` },
        });
        router = routerServer({
            ROUTES: {
                acme: route("eu-1", eu.url, "eu"),
                globex: route("us-1", us.url, "us"),
                ghost: route("gone-1", "http://127.0.0.1:9", "eu"),
            },
            RETRY_AFTER_SECONDS: 7,
            UPSTREAM_TIMEOUT_MS: 2_000,
        });
    });
    afterAll(async () => {
        await Promise.all([eu.app.close(), us.app.close(), router.close()]);
    });

    const send = (tenant: string | undefined, url: string, payload = "[]") =>
        router.inject({
            method: "POST",
            url,
            payload,
            headers: { "content-type": "application/json", ...(tenant ? { authorization: `Bearer ${key(tenant)}` } : {}) },
        });

    test("each tenant's request reaches its own cell's service only, body and key unchanged", async () => {
        expect((await send("acme", "/v1/events", '[{"a":1}]')).json()).toEqual({ cell: "eu-1" });
        expect((await send("globex", "/v1/schedules", "{}")).json()).toEqual({ cell: "us-1" });
        expect(eu.seen).toEqual([{ url: "/v1/events", body: '[{"a":1}]', tenantKey: `Bearer ${key("acme")}` }]);
        expect(us.seen.map((s) => s.url)).toEqual(["/export-service/v1/schedules"]);
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
});
