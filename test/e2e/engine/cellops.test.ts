import { spawn } from "child_process";
import { createHash } from "crypto";
import * as fs from "fs";
import * as path from "path";
import { eventOf, eventually } from "../apps/cell";
import { clickhouseOfCell, exportFilesOf } from "../../../scripts/ops/cellClients";
import { call, trustStack } from "../../support/cellClient";
import { CELLPLANE, cellplane } from "../../support/cli";
import { isolatedLocalStack } from "../../support/project";
import { PORTS_PER_LOCAL_CELL } from "../../../model/config";
import type { ResourceProps } from "../../../model/resourceProps";

/**
 * Changing cells one at a time on a local environment of two eu cells:
 * - a release rolled out cell by cell: a bad ingest bundle is caught by the first cell's health gate, the other cell
 *   keeps the old build, and the fixed release resumes and completes;
 * - a tenant moved online under a steady trickle of events, its move killed mid-way and resumed;
 * - a cell drained of its tenants.
 */
describe("cellplane rollout, tenant move and cell drain on two cells of one residency", () => {
    const stack = isolatedLocalStack(
        "cellplane-rollout-",
        (config) => {
            const [eu] = config["cellplane:cells"];
            config["cellplane:cells"] = [eu, { ...eu, id: "local-eu-2", portBase: eu.portBase + PORTS_PER_LOCAL_CELL }];
            config["cellplane:tenants"] = [{ id: "acme", residency: "eu", cell: "local-eu" }];
        },
        { copySources: true },
    );
    const run = (...args: string[]) => cellplane(stack.dir, args, { ...stack.env, CELLPLANE_STATE_HOME: stack.dir });
    const ingestSource = path.join(stack.dir, "apps", "ingest", "server.ts");
    const mainSource = path.join(stack.dir, "apps", "ingest", "main.ts");
    const original = { server: fs.readFileSync(ingestSource, "utf8"), main: fs.readFileSync(mainSource, "utf8") };
    let cells: Record<string, ResourceProps>;
    let routerUrl: string;
    let acmeKey: string;
    const versionOf = async (cell: string) =>
        ((await (await call(`${cells[cell].endpoints.ingestUrl}/healthz`)).json()) as { version: string }).version;
    let oldVersion: string;

    afterAll(() => {
        stack.pulumi("destroy", "--yes", "--skip-preview");
        fs.rmSync(stack.dir, { recursive: true, force: true });
    });

    test("reconcile deploys both cells with the same build, and a rollout plan of the unchanged program has nothing to do", () => {
        expect(run("reconcile", "--env", "local").code).toBe(0);
        cells = JSON.parse(stack.pulumi("stack", "output", "cells", "--json", "--show-secrets").stdout);
        routerUrl = JSON.parse(stack.pulumi("stack", "output", "routers", "--json").stdout).eu.url;
        trustStack(cells as never, [routerUrl]);
        acmeKey = JSON.parse(run("key", "create", "--env", "local", "--tenant", "acme", "--json").stdout).key;
        const planned = run("rollout", "--env", "local", "--plan");
        expect(planned.code).toBe(0);
        expect(planned.stdout).toContain("nothing to roll out: the preview finds no change");
    }, 300_000);

    test("the plan of a new ingest bundle: the emptier cell is the canary, the other follows, and the routers go last", async () => {
        oldVersion = await versionOf("local-eu");
        expect(await versionOf("local-eu-2")).toBe(oldVersion);
        // The bad release: its ingest starts and is ready, then answers 500 to every batch of events.
        fs.writeFileSync(
            ingestSource,
            original.server.replace(
                "const tenant = request.tenant;",
                'if (request.tenant) throw new Error("bad release");\n const tenant = request.tenant;',
            ),
        );
        const planned = run("rollout", "--env", "local", "--plan", "--json");
        expect(planned.code).toBe(0);
        const [plan] = JSON.parse(planned.stdout).stacks;
        expect(plan.waves).toEqual([
            { name: "canary local-eu-2", steps: [["local-eu-2"]] },
            { name: "batch 1", steps: [["local-eu"]] },
            // Before the cells are updated, a preview cannot know their endpoints, which the routers' tables hold.
            { name: "routers", steps: [["routers"]] },
        ]);
        expect(plan.refused).toEqual([]);
    }, 120_000);

    test("the rollout halts after the canary cell, naming the failed gate; the other cell keeps serving the old build", async () => {
        const rolled = run("rollout", "--env", "local", "--bake", "5", "--sample", "3");
        expect(rolled.code).toBe(1);
        expect(rolled.stdout).toMatch(/rollout of e2e HALTED at local-eu-2: gate local-eu-2: canary failed: red: the router answered 500/);
        expect(await versionOf("local-eu-2")).not.toBe(oldVersion);
        expect(await versionOf("local-eu")).toBe(oldVersion);
        const posted = await call(`${routerUrl}/v1/events`, {
            method: "POST",
            headers: { authorization: `Bearer ${acmeKey}`, "content-type": "application/json" },
            body: JSON.stringify(eventOf("acme")),
        });
        expect(posted.status).toBe(202);
        const again = run("rollout", "--env", "local", "--bake", "5");
        expect(again.code).toBe(1);
        expect(again.stderr).toMatch(
            /the last rollout of e2e halted at local-eu-2 \(local-eu-2: canary: .*\)\. Fix it, then run again with --resume/,
        );
    }, 300_000);

    test("--resume after a fix completes: both cells run the fixed build and their gates hold green", async () => {
        fs.writeFileSync(ingestSource, original.server);
        fs.writeFileSync(mainSource, original.main.replace("listening on", "serving on"));
        const resumed = run("rollout", "--env", "local", "--resume", "--bake", "5", "--sample", "3");
        expect(resumed.code).toBe(0);
        expect(resumed.stdout).toMatch(/rollout of e2e complete: 2 step\(s\) done/);
        expect(resumed.stderr).toMatch(/gate local-eu-2: green/);
        expect(resumed.stderr).toMatch(/gate local-eu: green/);
        expect(resumed.stderr).toContain("routers: routers unchanged");
        const fixed = await versionOf("local-eu");
        expect(fixed).not.toBe(oldVersion);
        expect(await versionOf("local-eu-2")).toBe(fixed);
        const journal = JSON.parse(fs.readFileSync(path.join(stack.dir, "rollouts", "local", "e2e.json"), "utf8"));
        expect(journal).toMatchObject({ done: [["local-eu-2"], ["local-eu"]], finishedAt: expect.any(String) });
        expect(journal.halted).toBeUndefined();
    }, 400_000);

    const DAY_MS = 86_400_000;
    const today = new Date().toISOString().slice(0, 10);
    const yesterday = new Date(Date.now() - DAY_MS).toISOString().slice(0, 10);
    const viaRouter = (route: string, init: RequestInit = {}) =>
        call(`${routerUrl}${route}`, {
            ...init,
            headers: { authorization: `Bearer ${acmeKey}`, "content-type": "application/json" },
        });
    const metricsOfYesterday = async () =>
        (await viaRouter(`/v1/metrics?from=${yesterday}T00:00:00Z&to=${today}T00:00:00Z&granularity=hour`)).json();
    const sha256 = (body: Buffer) => createHash("sha256").update(body).digest("hex");
    const acmeEvents = async (cell: string) => {
        const clickhouse = clickhouseOfCell(cells[cell] as never);
        try {
            const result = await clickhouse.query({
                query: "SELECT count() AS rows, uniqExact(event_id) AS ids FROM analytics.events WHERE org_id = 'acme'",
                format: "JSONEachRow",
            });
            const [row] = await result.json<{ rows: string; ids: string }>();
            return { rows: Number(row.rows), ids: Number(row.ids) };
        } finally {
            await clickhouse.close();
        }
    };

    /** Sends one new event after another through the router, each resent with its id until it is answered 202. */
    function trickle() {
        const accepted: string[] = [];
        const refusals: Record<number, number> = {};
        let running = true;
        const done = (async () => {
            while (running) {
                const event = eventOf("acme");
                for (;;) {
                    const answer = await viaRouter("/v1/events", { method: "POST", body: JSON.stringify(event) }).catch(() => undefined);
                    if (answer?.status === 202) break;
                    if (answer) refusals[answer.status] = (refusals[answer.status] ?? 0) + 1;
                    if (answer && ![421, 502, 503, 504].includes(answer.status))
                        throw new Error(`the router answered ${answer.status}: ${await answer.text()}`);
                    await new Promise((resolve) => setTimeout(resolve, 250));
                }
                accepted.push(event.event_id);
                await new Promise((resolve) => setTimeout(resolve, 100));
            }
        })();
        return { accepted, refusals, stop: async () => ((running = false), await done) };
    }

    let exportFile: { name: string; sha: string; job: string };
    let metricsBefore: unknown;
    let eventsBefore: number;

    test("acme has a day of events and an export on local-eu before the move", async () => {
        const history = Array.from({ length: 48 }, (_, i) =>
            eventOf("acme", { timestamp: new Date(Date.parse(`${yesterday}T00:30:00Z`) + i * 1_800_000).toISOString() }),
        );
        expect((await viaRouter("/v1/events", { method: "POST", body: JSON.stringify(history) })).status).toBe(202);
        expect(await eventually(async () => (await acmeEvents("local-eu")).ids >= 49, 30_000)).toBe(true);
        // The rollups are computed a round after the events are stored: wait for yesterday's (the last is today's midnight).
        const ofYesterday = history.filter((e) => e.timestamp.startsWith(yesterday)).length;
        const countedYesterday = async () => {
            metricsBefore = await metricsOfYesterday();
            return (metricsBefore as { rows: { events: number }[] }).rows.reduce((n, r) => n + r.events, 0) === ofYesterday;
        };
        expect(await eventually(countedYesterday, 30_000)).toBe(true);
        const job = (await (
            await viaRouter("/v1/exports", { method: "POST", body: JSON.stringify({ from: yesterday, to: yesterday }) })
        ).json()) as { id: string };
        let files: string[] = [];
        expect(
            await eventually(async () => {
                const state = (await (await viaRouter(`/v1/jobs/${job.id}`)).json()) as { status: string; files: string[] | null };
                files = state.files ?? [];
                return state.status === "succeeded";
            }, 60_000),
        ).toBe(true);
        expect(files).toHaveLength(1);
        exportFile = { name: files[0], sha: sha256(await exportFilesOf(cells["local-eu"] as never).read(files[0])), job: job.id };
        eventsBefore = (await acmeEvents("local-eu")).ids;
    }, 120_000);

    test("tenant move --execute, killed mid-clone under a trickle of events and run again, moves acme whole: nothing lost, nothing twice", async () => {
        const sending = trickle();
        const move = ["tenant", "move", "--env", "local", "--id", "acme", "--to", "local-eu-2", "--execute", "--bake", "3"];
        const first = spawn(CELLPLANE, ["-C", stack.dir, ...move], { env: { ...stack.env, CELLPLANE_STATE_HOME: stack.dir } });
        let progress = "";
        const killed = await new Promise<boolean>((resolve) => {
            first.stderr.on("data", (chunk) => {
                progress += chunk;
                if (progress.includes("postgres: copied")) resolve(first.kill("SIGKILL"));
            });
            first.on("exit", () => resolve(false));
        });
        expect({ killed, progress }).toMatchObject({ killed: true });
        const resumed = run(...move);
        expect(resumed.code).toBe(0);
        expect(resumed.stderr).toContain("resuming the move of acme from local-eu to local-eu-2 after step drain");
        expect(resumed.stdout).toContain("moved tenant acme: local-eu → local-eu-2");
        await new Promise((resolve) => setTimeout(resolve, 3_000));
        await sending.stop();
        // The fence was felt (503s), and events flowed again on the new cell.
        expect(sending.refusals[503]).toBeGreaterThan(0);
        expect(sending.accepted.length).toBeGreaterThan(20);

        const expected = eventsBefore + sending.accepted.length;
        expect(await eventually(async () => (await acmeEvents("local-eu-2")).ids === expected, 60_000)).toBe(true);
        expect(await acmeEvents("local-eu-2")).toEqual({ rows: expected, ids: expected });
        expect(await acmeEvents("local-eu")).toEqual({ rows: 0, ids: 0 });
        expect(await metricsOfYesterday()).toEqual(metricsBefore);
        expect(sha256(await exportFilesOf(cells["local-eu-2"] as never).read(exportFile.name))).toBe(exportFile.sha);
        expect(await exportFilesOf(cells["local-eu"] as never).count("tenant=acme/")).toBe(0);
        expect(await (await viaRouter(`/v1/jobs/${exportFile.job}`)).json()).toMatchObject({
            status: "succeeded",
            files: [exportFile.name],
        });
        const misdirected = await call(`${cells["local-eu"].endpoints.ingestUrl}/v1/events`, {
            method: "POST",
            headers: { authorization: `Bearer ${acmeKey}`, "content-type": "application/json" },
            body: JSON.stringify(eventOf("acme")),
        });
        expect(misdirected.status).toBe(421);
        expect(await misdirected.json()).toMatchObject({ cell: "local-eu-2" });
    }, 600_000);

    test("cell drain empties a cell: its tenant moves to the other cell of its residency, with all its events", async () => {
        const drained = run("cell", "drain", "--env", "local", "--id", "local-eu-2", "--bake", "1");
        expect(drained.code).toBe(0);
        expect(drained.stdout).toContain("cell local-eu-2 holds no tenant (acme → local-eu)");
        const listed = JSON.parse(run("cell", "list", "--env", "local", "--json").stdout);
        expect(listed.map((c: ResourceProps) => [c.id, c.tenants])).toEqual([
            ["local-eu", ["acme"]],
            ["local-eu-2", []],
        ]);
        const { ids } = await acmeEvents("local-eu");
        expect(await acmeEvents("local-eu-2")).toEqual({ rows: 0, ids: 0 });
        expect(ids).toBeGreaterThan(eventsBefore);
        expect((await viaRouter("/v1/events", { method: "POST", body: JSON.stringify(eventOf("acme")) })).status).toBe(202);
    }, 600_000);
});
