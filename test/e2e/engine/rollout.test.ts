import * as fs from "fs";
import * as path from "path";
import { eventOf } from "../apps/cell";
import { call, trustStack } from "../../support/cellClient";
import { cellplane } from "../../support/cli";
import { isolatedLocalStack } from "../../support/project";
import type { ResourceProps } from "../../../model/resourceProps";

/**
 * A release rolled out cell by cell on a local environment of two eu cells: a bad ingest bundle is caught by the
 * first cell's health gate, the other cell keeps the old build, and the fixed release resumes and completes.
 */
describe("cellplane rollout on two cells of one residency", () => {
    const stack = isolatedLocalStack(
        "cellplane-rollout-",
        (config) => {
            const [eu] = config["cellplane:cells"];
            config["cellplane:cells"] = [eu, { ...eu, id: "local-eu-2", portBase: eu.portBase + 20 }];
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
});
