import * as path from "path";
import { stopService } from "../../components/local/supervisor";
import { isolatedLocalStack } from "../engine/project";
import { apiKeyFor, CellOutput, deployCells, destroyCells, eventOf, eventually, postEvents, storedEvents } from "./cell";
import { tenantFootprint } from "./residency";

/** The environment's router (hosted by the eu cell) in front of a real eu and us cell. */
describe("the router of a local environment", () => {
    const stack = isolatedLocalStack("cellplane-router-", (config) => {
        config["cellplane:tenants"] = [{ id: "acme", residency: "eu" }, { id: "globex", residency: "us" }];
    });
    let eu: CellOutput;
    let us: CellOutput;
    let router: string;
    const keys: Record<string, string> = {};

    beforeAll(async () => {
        ({ "local-eu": eu, "local-us": us } = deployCells(stack));
        router = JSON.parse(stack.pulumi("stack", "output", "router", "--json").stdout).url;
        keys.acme = await apiKeyFor(eu, "acme");
        keys.globex = await apiKeyFor(us, "globex");
    }, 240_000);

    afterAll(() => destroyCells(stack), 120_000);

    test("sends each tenant's events and metrics to its own cell", async () => {
        expect((await postEvents(router, keys.acme, Array.from({ length: 5 }, () => eventOf("acme")))).status).toBe(202);
        expect((await postEvents(router, keys.globex, Array.from({ length: 3 }, () => eventOf("globex", { region: "us-local" })))).status).toBe(202);
        expect(await eventually(async () => (await storedEvents(eu, "acme")).rows === 5 && (await storedEvents(us, "globex")).rows === 3)).toBe(true);
        const from = new Date(Date.now() - 7_200_000).toISOString();
        const metrics = await fetch(`${router}/v1/metrics?from=${from}&to=${new Date(Date.now() + 3_600_000).toISOString()}`, { headers: { authorization: `Bearer ${keys.globex}` } });
        expect(((await metrics.json()) as any).rows.reduce((n: number, r: any) => n + r.events, 0)).toBe(3);
    });

    test("answers 401 without a key and 404 for a tenant no cell holds, without asking any cell", async () => {
        expect((await postEvents(router, undefined, eventOf("acme"))).status).toBe(401);
        const unknown = await postEvents(router, "cp_nobody_abc", eventOf("nobody"));
        expect(unknown.status).toBe(404);
        expect(((await unknown.json()) as any).error).toBe("tenant nobody is not placed on any cell of this environment");
    });

    test("an eu tenant's events, sent to the us cell or the router, end up only in the eu cell", async () => {
        const misdirected = await postEvents(us.endpoints.ingestUrl, keys.acme, eventOf("acme"));
        expect(misdirected.status).toBe(421);
        expect(((await misdirected.json()) as any).url).toBe(eu.endpoints.ingestUrl);
        expect((await postEvents(router, keys.acme, eventOf("acme"))).status).toBe(202);
        const exported = await fetch(`${router}/v1/exports`, {
            method: "POST", headers: { authorization: `Bearer ${keys.acme}`, "content-type": "application/json" },
            body: JSON.stringify({ from: new Date().toISOString().slice(0, 10), to: new Date().toISOString().slice(0, 10) }),
        });
        expect(exported.status).toBe(202);
        const job = `${router}/v1/jobs/${((await exported.json()) as any).id}`;
        const status = async () => ((await (await fetch(job, { headers: { authorization: `Bearer ${keys.acme}` } })).json()) as any).status;
        expect(await eventually(async () => (await status()) === "succeeded")).toBe(true);
        const home = await tenantFootprint(eu, "acme");
        for (const store of ["clickhouse", "kafka", "objects", "postgres"] as const) expect(home[store]).toBeGreaterThan(0);
        expect(await tenantFootprint(us, "acme")).toEqual({ clickhouse: 0, kafka: 0, objects: 0, postgres: 0 });
        expect(await tenantFootprint(eu, "globex")).toEqual({ clickhouse: 0, kafka: 0, objects: 0, postgres: 0 });
    }, 90_000);

    test("a cell that does not answer gets its tenants 503 with Retry-After, never another cell", async () => {
        await stopService(path.join(stack.state, "e2e", "local-us", "ingest"));
        const refused = await postEvents(router, keys.globex, eventOf("globex"));
        expect(refused.status).toBe(503);
        expect(refused.headers.get("retry-after")).toBe("5");
        expect(((await refused.json()) as any).cell).toBe("local-us");
        expect((await postEvents(router, keys.acme, eventOf("acme"))).status).toBe(202);
        expect((await tenantFootprint(eu, "globex")).kafka).toBe(0);

        stack.ok("up", "--yes", "--skip-preview", "--refresh");
        expect((await postEvents(router, keys.globex, eventOf("globex"))).status).toBe(202);
    }, 120_000);
});
