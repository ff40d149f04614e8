import * as path from "path";
import { call } from "../../support/cellClient";
import { SERVER_TIMEOUTS } from "../../../apps/shared/http";
import * as fs from "fs";
import { runningPid, stopService } from "../../../components/local/supervisor";
import { NOT_FROM_ROUTER } from "../../../apps/shared/routerProof";
import { fromRouter } from "../../support/routerProof";
import { isolatedLocalStack } from "../../support/project";
import { apiKeyFor, CellOutput, deployCells, destroyCells, eventOf, eventually, postEvents, storedEvents } from "./cell";
import { tenantFootprint } from "./residency";
import type { JsonBody } from "../../support/json";

/** The environment's routers (eu on the eu cell, us on the us cell) in front of a real eu and us cell. */
describe("the routers of a local environment", () => {
    const stack = isolatedLocalStack("cellplane-router-", (config) => {
        config["cellplane:tenants"] = [
            { id: "acme", residency: "eu" },
            { id: "globex", residency: "us" },
        ];
    });
    let eu: CellOutput;
    let us: CellOutput;
    let router: string;
    let usRouter: string;
    const keys: Record<string, string> = {};

    beforeAll(async () => {
        ({ "local-eu": eu, "local-us": us } = deployCells(stack));
        const routers = JSON.parse(stack.pulumi("stack", "output", "routers", "--json").stdout);
        expect(routers.eu.cell).toBe("local-eu");
        expect(routers.us.cell).toBe("local-us");
        ({
            eu: { url: router },
            us: { url: usRouter },
        } = routers);
        keys.acme = await apiKeyFor(eu, "acme");
        keys.globex = await apiKeyFor(us, "globex");
    }, 240_000);

    afterAll(() => destroyCells(stack), 120_000);

    test("sends each tenant's events and metrics to its own cell", async () => {
        expect(
            (
                await postEvents(
                    router,
                    keys.acme,
                    Array.from({ length: 5 }, () => eventOf("acme")),
                )
            ).status,
        ).toBe(202);
        expect(
            (
                await postEvents(
                    usRouter,
                    keys.globex,
                    Array.from({ length: 3 }, () => eventOf("globex", { region: "us-local" })),
                )
            ).status,
        ).toBe(202);
        expect(
            await eventually(async () => (await storedEvents(eu, "acme")).rows === 5 && (await storedEvents(us, "globex")).rows === 3),
        ).toBe(true);
        const from = new Date(Date.now() - 7_200_000).toISOString();
        const counted = async () => {
            const metrics = await call(`${usRouter}/v1/metrics?from=${from}&to=${new Date(Date.now() + 3_600_000).toISOString()}`, {
                headers: { authorization: `Bearer ${keys.globex}` },
            });
            return ((await metrics.json()) as JsonBody).rows.reduce((n: number, r: JsonBody) => n + r.events, 0);
        };
        expect(await eventually(async () => (await counted()) === 3)).toBe(true);
    });

    test("the routers and the cells' apps answer HTTPS only, under a certificate of the stack's CA", async () => {
        for (const url of [router, usRouter, eu.endpoints.ingestUrl, eu.endpoints.exportUrl]) {
            expect(url).toMatch(/^https:\/\/127\.0\.0\.1:\d+$/);
            expect((await call(`${url}/healthz`)).status).toBe(200);
            // No CA, no trust: the certificate is the stack's own, not a public one.
            await expect(fetch(`${url}/healthz`)).rejects.toThrow();
            await expect(fetch(`${url.replace("https:", "http:")}/healthz`)).rejects.toThrow();
        }
    });

    test("a request straight to a cell, without its router's proof, gets 401 and stores nothing", async () => {
        const before = await storedEvents(eu, "acme");
        const proofs: Record<string, Record<string, string>> = {
            none: {},
            "another cell's": fromRouter("local-us", "POST", "/v1/events", us.credentials.routerKey),
            "the us router's key": fromRouter("local-eu", "POST", "/v1/events", us.credentials.routerKey),
        };
        for (const [what, proof] of Object.entries(proofs)) {
            const direct = await call(
                `${eu.endpoints.ingestUrl}/v1/events`,
                {
                    method: "POST",
                    headers: { authorization: `Bearer ${keys.acme}`, "content-type": "application/json", ...proof },
                    body: JSON.stringify([eventOf("acme")]),
                },
                { asRouter: false },
            );
            expect([what, direct.status, await direct.json()]).toEqual([what, 401, NOT_FROM_ROUTER]);
        }
        const exports = await call(
            `${eu.endpoints.exportUrl}/v1/jobs`,
            { headers: { authorization: `Bearer ${keys.acme}` } },
            { asRouter: false },
        );
        expect(exports.status).toBe(401);
        // The same request through the router is stored.
        expect((await postEvents(router, keys.acme, [eventOf("acme")])).status).toBe(202);
        expect(await eventually(async () => (await storedEvents(eu, "acme")).rows === before.rows + 1)).toBe(true);
    });

    test("a new table reaches the running router without a restart; a bad, older or empty one is refused and the last good kept", async () => {
        const file = path.join(stack.state, "e2e", "local-eu", "router", "files", "ROUTING_FILE");
        const good = fs.readFileSync(file, "utf8");
        const table = JSON.parse(good);
        const health = async () => (await (await call(`${router}/healthz`)).json()) as JsonBody;
        const pid = runningPid(path.join(stack.state, "e2e", "local-eu", "router"));
        const refusedAfter = async (content: string, reason: RegExp) => {
            const before = (await health()).tablesRefused.length;
            fs.writeFileSync(file, content);
            expect(await eventually(async () => (await health()).tablesRefused.length > before, 10_000)).toBe(true);
            expect((await health()).tablesRefused.at(-1).reason).toMatch(reason);
            expect((await postEvents(router, keys.acme, eventOf("acme"))).status).toBe(202);
        };
        const { serial } = table;
        const inUse = async (expected: number) => eventually(async () => (await health()).table.serial === expected, 10_000);
        try {
            fs.writeFileSync(file, JSON.stringify({ ...table, serial: serial + 1 }));
            expect(await inUse(serial + 1)).toBe(true);
            await refusedAfter("{ not json", /is not JSON/);
            await refusedAfter(JSON.stringify(table), new RegExp(`serial ${serial}, older than the table in use \\(${serial + 1}\\)`));
            await refusedAfter(JSON.stringify({ ...table, serial: serial + 2, tenants: {} }), /has no tenants/);
            fs.writeFileSync(
                file,
                JSON.stringify({ ...table, serial: serial + 2, overrides: { acme: { action: "quarantine", reason: "drill" } } }),
            );
            expect(await inUse(serial + 2)).toBe(true);
            const quarantined = await postEvents(router, keys.acme, eventOf("acme"));
            expect([quarantined.status, ((await quarantined.json()) as JsonBody).error]).toEqual([
                423,
                "tenant acme is quarantined by the operators of residency eu: drill",
            ]);
            expect(runningPid(path.join(stack.state, "e2e", "local-eu", "router"))).toBe(pid);
        } finally {
            fs.writeFileSync(file, JSON.stringify({ ...table, serial: serial + 3 }));
        }
        expect(await eventually(async () => (await postEvents(router, keys.acme, eventOf("acme"))).status === 202, 10_000)).toBe(true);
    }, 90_000);

    test("a missing key, a bad key and a tenant no cell holds get the same 401, so tenants cannot be enumerated", async () => {
        const answers = [];
        for (const key of [undefined, "cp_acme_abc", `cp_nobody_${"a".repeat(43)}`, `cp_acme_${"a".repeat(43)}`]) {
            const response = await postEvents(router, key, eventOf("acme"));
            answers.push({ status: response.status, body: await response.json() });
        }
        expect(new Set(answers.map((a) => JSON.stringify(a))).size).toBe(1);
        expect(answers[0]).toEqual({ status: 401, body: { error: "missing or unknown API key: send Authorization: Bearer <key>" } });
    });

    test("any key prefix, prototype names included, gets 401, never 500", async () => {
        for (const tenant of ["constructor", "__proto__", "toString", "hasOwnProperty", "valueOf", "prototype"]) {
            const response = await postEvents(router, `cp_${tenant}_${"a".repeat(43)}`, eventOf("acme"));
            expect([tenant, response.status]).toEqual([tenant, 401]);
        }
    });

    test("only the tenant API's own paths reach a cell: odd paths and a cell's /metrics and /healthz are 404 at the router", async () => {
        const { request } = await import("https");
        const raw = (target: string) =>
            new Promise<number>((resolve, reject) => {
                const req = request(
                    `${router}/`,
                    { method: "GET", path: target, headers: { authorization: `Bearer ${keys.acme}` }, ca: eu.endpoints.appCa },
                    (res) => {
                        res.resume();
                        resolve(res.statusCode!);
                    },
                );
                req.on("error", reject);
                req.end();
            });
        for (const target of [
            "/v1/events/x\\..\\..\\..\\metrics",
            "/v1/events/../../metrics",
            "/v1/events/%2e%2e/%2e%2e/metrics",
            "/v1/events%2f..%2f..%2fmetrics",
            "/v1/events%5c..%5cmetrics",
            "/v1//events",
            "/v1/events/",
            "/v1/metrics/../../healthz",
            "/v1/jobs/not-a-uuid",
            "/v1/schedules/x/trigger",
            "/v1/../healthz",
            "/v1/events;x",
        ]) {
            expect([target, await raw(target)]).toEqual([target, 404]);
        }
        expect(await raw("/v1/jobs")).toBe(200);
        expect(await raw(`/v1/metrics?from=${new Date(Date.now() - 3_600_000).toISOString()}&to=${new Date().toISOString()}`)).toBe(200);
    });

    test("a client that trickles its headers or its body is cut off: no socket is held open for ever", async () => {
        const { connect } = await import("tls");
        const { port } = new URL(router);
        const heldFor = (send: (socket: import("tls").TLSSocket) => void) =>
            new Promise<{ seconds: number; answer: string }>((resolve) => {
                const started = Date.now();
                let answer = "";
                const socket = connect({ port: Number(port), host: "127.0.0.1", ca: eu.endpoints.appCa }, () => send(socket));
                socket.on("data", (chunk) => (answer += chunk));
                socket.on("close", () => resolve({ seconds: (Date.now() - started) / 1000, answer }));
                socket.on("error", () => undefined);
            });
        const headers = await heldFor((s) => s.write("POST /v1/events HTTP/1.1\r\nHost: router\r\n"));
        expect(headers.seconds).toBeGreaterThanOrEqual(SERVER_TIMEOUTS.headersTimeoutMs / 1000 - 1);
        expect(headers.seconds).toBeLessThan(SERVER_TIMEOUTS.headersTimeoutMs / 1000 + 5);
        expect(headers.answer).toMatch(/^HTTP\/1.1 408/);
        const body = await heldFor((s) =>
            s.write(
                `POST /v1/events HTTP/1.1\r\nHost: router\r\nAuthorization: Bearer ${keys.acme}\r\nContent-Type: application/json\r\nContent-Length: 1000\r\n\r\n[`,
            ),
        );
        expect(body.seconds).toBeLessThan(SERVER_TIMEOUTS.requestTimeoutMs / 1000 + 5);
    }, 90_000);

    test("bodies over the cells' limit, or of unknown length, are refused at the router before any cell sees them", async () => {
        const big = "x".repeat(2 * 1024 * 1024);
        const declared = await call(`${router}/v1/events`, {
            method: "POST",
            headers: { authorization: `Bearer ${keys.acme}`, "content-type": "application/json" },
            body: big,
        });
        expect(declared.status).toBe(413);
        // The router answers before reading a body of unknown length and closes the connection, so a client still
        // sending sees either the 411 or the closed connection.
        const chunked = await call(`${router}/v1/events`, {
            method: "POST",
            headers: { authorization: `Bearer ${keys.acme}`, "content-type": "application/json" },
            duplex: "half",
            body: new ReadableStream({
                start(controller) {
                    for (let i = 0; i < 32; i++) controller.enqueue(new TextEncoder().encode(big.slice(0, 65_536)));
                    controller.close();
                },
            }),
        }).then(
            (r) => String(r.status),
            (e: Error) => (e.cause as { code?: string })?.code,
        );
        expect(["411", "EPIPE", "ECONNRESET"]).toContain(chunked);
        const small = await call(`${router}/v1/events`, {
            method: "POST",
            headers: { authorization: `Bearer ${keys.acme}`, "content-type": "application/json" },
            duplex: "half",
            body: new ReadableStream({
                start(controller) {
                    controller.enqueue(new TextEncoder().encode(JSON.stringify(eventOf("acme"))));
                    controller.close();
                },
            }),
        });
        expect(small.status).toBe(411);
        expect((await postEvents(router, keys.acme, eventOf("acme"))).status).toBe(202);
    });

    test("an eu tenant's events, sent to the us cell or the router, end up only in the eu cell", async () => {
        // As the us router would send it with a stale table: the cell names the tenant's router, never a cell.
        const misdirected = await postEvents(us.endpoints.ingestUrl, keys.acme, eventOf("acme"));
        expect(misdirected.status).toBe(421);
        expect(((await misdirected.json()) as JsonBody).router).toBe(router);
        expect((await postEvents(router, keys.acme, eventOf("acme"))).status).toBe(202);
        const exported = await call(`${router}/v1/exports`, {
            method: "POST",
            headers: { authorization: `Bearer ${keys.acme}`, "content-type": "application/json" },
            body: JSON.stringify({ from: new Date().toISOString().slice(0, 10), to: new Date().toISOString().slice(0, 10) }),
        });
        expect(exported.status).toBe(202);
        const job = `${router}/v1/jobs/${((await exported.json()) as JsonBody).id}`;
        const status = async () =>
            ((await (await call(job, { headers: { authorization: `Bearer ${keys.acme}` } })).json()) as JsonBody).status;
        expect(await eventually(async () => (await status()) === "succeeded")).toBe(true);
        const home = await tenantFootprint(eu, "acme");
        for (const store of ["clickhouse", "kafka", "objects", "postgres"] as const) expect(home[store]).toBeGreaterThan(0);
        expect(await tenantFootprint(us, "acme")).toEqual({ clickhouse: 0, kafka: 0, objects: 0, postgres: 0 });
        expect(await tenantFootprint(eu, "globex")).toEqual({ clickhouse: 0, kafka: 0, objects: 0, postgres: 0 });
    }, 90_000);

    test("a tenant sent to the other residency's router gets 421 with its own router, and not a byte of it passes", async () => {
        const health = async (url: string) => ((await (await call(`${url}/healthz`)).json()) as JsonBody).misdirected;
        const before = await health(router);
        const misdirected = await postEvents(router, keys.globex, eventOf("globex", { region: "us-local" }));
        expect(misdirected.status).toBe(421);
        expect(await misdirected.json()).toMatchObject({ residency: "us", router: usRouter });
        // fetch (undici) retries a 421 once on a new connection, as HTTP allows; each try is refused alike.
        expect(await health(router)).toBeGreaterThan(before);
        const back = await postEvents(usRouter, keys.acme, eventOf("acme"));
        expect(back.status).toBe(421);
        expect(((await back.json()) as JsonBody).router).toBe(router);
        // Nothing of globex's reached the eu cell's stores, whatever door it knocked on.
        expect(await tenantFootprint(eu, "globex")).toEqual({ clickhouse: 0, kafka: 0, objects: 0, postgres: 0 });
    });

    test("a cell that does not answer gets its tenants 503 with Retry-After, never another cell", async () => {
        await stopService(path.join(stack.state, "e2e", "local-us", "ingest"));
        const refused = await postEvents(usRouter, keys.globex, eventOf("globex"));
        expect(refused.status).toBe(503);
        expect(refused.headers.get("retry-after")).toBe("5");
        expect(((await refused.json()) as JsonBody).cell).toBe("local-us");
        expect((await postEvents(router, keys.acme, eventOf("acme"))).status).toBe(202);
        expect((await tenantFootprint(eu, "globex")).kafka).toBe(0);

        stack.ok("up", "--yes", "--skip-preview", "--refresh");
        expect((await postEvents(usRouter, keys.globex, eventOf("globex"))).status).toBe(202);
    }, 120_000);
});
