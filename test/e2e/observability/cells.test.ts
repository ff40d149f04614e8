import { spawn, spawnSync } from "child_process";
import * as fs from "fs";
import * as path from "path";
import { runningPid, stopService } from "../../../components/local/supervisor";
import { MetricsClient } from "../../../scripts/ops/status";
import { trustStack } from "../../support/cellClient";
import { CELLPLANE, cellplane } from "../../support/cli";
import { isolatedLocalStack } from "../../support/project";
import type { ResourceProps } from "../../../model/resourceProps";
import { eventOf, eventually, postEvents } from "../apps/cell";

/** Where the status page's screenshots are kept (ignored by git, kept by CI as the test's artifacts). */
const ARTIFACTS = path.join(__dirname, "..", "..", "..", "test-artifacts", "status-page");

/**
 * Both local cells with their Prometheus: the rule set's alerts fire on a stalled pipeline and a dead store and
 * resolve after `reconcile`, and `status --serve` shows every cell in a real browser, a stopped one red.
 */
describe("each local cell's metrics, alerts and the status page", () => {
    const {
        dir: project,
        env,
        pulumi,
        state,
    } = isolatedLocalStack("cellplane-observe-", (config) => {
        config["cellplane:localMetrics"] = true;
    });
    const run = (...args: string[]) => cellplane(project, args, { ...env, CELLPLANE_STATE_HOME: project });
    const partOf = (cell: string, part: string) => path.join(state, "e2e", cell, part);
    let cells: Record<string, { endpoints: ResourceProps }>;
    const metricsOf = (cell: string) => new MetricsClient(cells[cell].endpoints.metricsUrl, cells[cell].endpoints.appCa);
    const firing = async (cell: string, alert: string) =>
        (await metricsOf(cell).firingAlerts()).filter((a) => a.name === alert).map((a) => a.summary);

    beforeAll(() => {
        const reconciled = run("reconcile", "--env", "local");
        if (reconciled.code !== 0) throw new Error(reconciled.out);
        cells = JSON.parse(pulumi("stack", "output", "cells", "--json", "--show-secrets").stdout);
        const routers = JSON.parse(pulumi("stack", "output", "routers", "--json").stdout) as Record<string, { url: string }>;
        trustStack(
            cells as never,
            Object.values(routers).map((r) => r.url),
        );
        fs.mkdirSync(ARTIFACTS, { recursive: true });
    }, 600_000);

    afterAll(() => {
        const destroyed = pulumi("destroy", "--yes", "--skip-preview");
        if (destroyed.code !== 0) throw new Error(`the stack's servers may still run: ${destroyed.out}`);
        fs.rmSync(project, { recursive: true, force: true });
    });

    test("every cell's Prometheus scrapes each of its apps and stores, all up", async () => {
        for (const [cell, jobs] of [
            ["local-eu", ["clickhouse", "export", "ingest", "ingest-consumer", "kafka", "object-store", "postgres", "router"]],
            ["local-us", ["clickhouse", "export", "ingest", "ingest-consumer", "kafka", "postgres", "router"]],
        ] as const) {
            const allUp = async () => {
                const up = await metricsOf(cell).vector("up");
                return up.filter((u) => u.value === 1 && u.metric.cell === cell).length === jobs.length;
            };
            expect(await eventually(allUp, 60_000)).toBe(true);
            const up = await metricsOf(cell).vector("up");
            expect(up.map((u) => u.metric.job).sort()).toEqual([...jobs]);
            // Each store speaks through its own exporter: the broker's JMX, Postgres's statistics, ClickHouse's tables.
            for (const series of ['kafka_server_replicamanager_value{name="PartitionCount"}', "pg_up", "ClickHouseProfileEvents_Query"])
                expect(await metricsOf(cell).scalar(`sum(${series})`)).toBeGreaterThan(0);
        }
    }, 120_000);

    test("a consumer stopped under load pages as a stalled pipeline within 3 minutes, and the alert resolves after reconcile", async () => {
        const { key, routerUrl } = JSON.parse(run("key", "create", "--env", "local", "--tenant", "globex", "--json").stdout);
        const post = () =>
            postEvents(
                routerUrl,
                key,
                Array.from({ length: 20 }, () => eventOf("globex")),
            );
        let loading = true;
        const load = (async () => {
            while (loading) {
                expect((await post()).status).toBe(202);
                await new Promise((r) => setTimeout(r, 2_000));
            }
        })();
        try {
            // Stored while it runs, so the alert has a pipeline that worked before it stopped.
            expect(
                await eventually(async () => ((await metricsOf("local-us").scalar("sum(ingest_events_stored_total)")) ?? 0) > 0, 60_000),
            ).toBe(true);
            await stopService(partOf("local-us", "ingest-consumer"));
            const stopped = Date.now();
            expect(await eventually(async () => (await firing("local-us", "CellplanePipelineStalled")).length > 0, 180_000)).toBe(true);
            expect(Date.now() - stopped).toBeLessThan(180_000);
            expect(await firing("local-us", "CellplanePipelineStalled")).toEqual([
                "cell local-us: events are accepted but none has been stored for 2 minutes",
            ]);
            expect(await firing("local-eu", "CellplanePipelineStalled")).toEqual([]);

            const status = JSON.parse(run("status", "--env", "local", "--json").stdout);
            expect(status.cells.find((c: ResourceProps) => c.cell === "local-us")).toMatchObject({ verdict: "red" });

            expect(run("reconcile", "--env", "local").code).toBe(0);
            expect(await eventually(async () => (await firing("local-us", "CellplanePipelineStalled")).length === 0, 120_000)).toBe(true);
        } finally {
            loading = false;
            await load;
        }
    }, 480_000);

    test("a killed Kafka pages as a store down, and reconcile brings it back", async () => {
        process.kill(runningPid(partOf("local-eu", "kafka"))!, "SIGKILL");
        const down = async () => (await firing("local-eu", "CellplaneStoreDown")).some((summary) => summary.includes("kafka at 127.0.0.1"));
        expect(await eventually(down, 150_000)).toBe(true);
        const status = run("status", "--env", "local");
        expect(status.code).toBe(1);
        expect(status.stdout).toMatch(/^RED {3}local-eu \(eu\).*\n {6}! kafka does not answer/m);

        expect(run("reconcile", "--env", "local").code).toBe(0);
        expect(await eventually(async () => !(await down()), 120_000)).toBe(true);
    }, 360_000);

    test("status --serve shows both cells, their routers and tenants in Chromium, and a stopped cell turns red", async () => {
        const server = spawn(CELLPLANE, ["-C", project, "status", "--env", "local", "--serve", "0"], {
            env: { ...env, CELLPLANE_STATE_HOME: project },
        });
        try {
            const url = await new Promise<string>((resolve, reject) => {
                let said = "";
                server.stderr.on("data", (chunk) => {
                    said += chunk;
                    const found = /at (http:\/\/127\.0\.0\.1:\d+\/)/.exec(said);
                    if (found) resolve(found[1]);
                });
                server.once("exit", (code) => reject(new Error(`status --serve exited (${code}): ${said}`)));
            });
            const green = cardsOf(browse(url, path.join(ARTIFACTS, "both-cells.png")));
            expect(green.map((c) => [c.cell, c.verdict])).toEqual([
                ["local-eu", "green"],
                ["local-us", "green"],
            ]);
            expect(green[0].html).toContain("eu at https://127.0.0.1:");
            expect(green[0].html).toMatch(/<dd class="tenants">[^<]*acme/);
            expect(green[1].html).toContain("us at https://127.0.0.1:");
            expect(green[1].html).toMatch(/<dd class="tenants">[^<]*globex/);
            expect(green[0].html).toMatch(/events accepted \/ s(: no data yet| \(last hour, max [\d.]+\))/);

            const parts = fs
                .readdirSync(path.join(state, "e2e", "local-us"), { withFileTypes: true })
                .filter((entry) => entry.isDirectory());
            for (const part of parts) await stopService(partOf("local-us", part.name));
            const red = cardsOf(browse(url, path.join(ARTIFACTS, "local-us-stopped.png")));
            expect(red.map((c) => [c.cell, c.verdict])).toEqual([
                ["local-eu", "green"],
                ["local-us", "red"],
            ]);
            expect(red[1].html).toContain("its metrics server does not answer");
        } finally {
            server.kill();
            // The stopped cell's servers come back, so that the stack is destroyed whole.
            expect(run("reconcile", "--env", "local").code).toBe(0);
        }
    }, 360_000);
});

/** The page as headless Chromium renders it once its script has run, with a screenshot of it. */
function browse(url: string, screenshot: string): string {
    const chromium = (...args: string[]) =>
        spawnSync(
            "chromium",
            ["--headless", "--no-sandbox", "--disable-gpu", "--window-size=1280,900", "--virtual-time-budget=15000", ...args, url],
            {
                encoding: "utf8",
                timeout: 90_000,
            },
        );
    const dom = chromium("--dump-dom");
    if (dom.status !== 0) throw new Error(`chromium: ${dom.stderr}`);
    chromium(`--screenshot=${screenshot}`);
    expect(fs.statSync(screenshot).size).toBeGreaterThan(10_000);
    return dom.stdout;
}

function cardsOf(dom: string): { cell: string; verdict: string; html: string }[] {
    return [...dom.matchAll(/<section class="cell \w+" data-cell="([\w-]+)" data-verdict="(\w+)">([\s\S]*?)<\/section>/g)].map((m) => ({
        cell: m[1],
        verdict: m[2],
        html: m[3],
    }));
}
