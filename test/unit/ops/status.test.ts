import * as http from "http";
import type { AddressInfo } from "net";
import { parse as parseYaml } from "yaml";
import { prometheusConfig } from "../../../components/local/prometheusServer";
import { type EnvironmentStatus, lastingFor, MetricsClient, statusText, verdictOf } from "../../../scripts/ops/status";
import { listen, statusPageServer } from "../../../scripts/ops/statusPage";

const STATUS: EnvironmentStatus = {
    env: "local",
    at: "2026-11-27T10:00:00.000Z",
    lastDriftCheck: { at: "2026-11-27T09:00:00.000Z", stacks: 1, drifted: 2, failed: 0 },
    cells: [
        {
            cell: "local-eu",
            residency: "eu",
            verdict: "red",
            reasons: ["kafka does not answer"],
            targets: [
                { job: "ingest", up: true },
                { job: "kafka", up: false },
            ],
            alerts: [],
            eventsPerSecond: 12.5,
            lag: 3,
            routers: [{ residency: "eu", url: "https://127.0.0.1:15408" }],
            tenants: ["acme", "hooli"],
            metricsUrl: "https://127.0.0.1:15419",
        },
    ],
};

describe("status", () => {
    test("a target down or a paging alert is red, a ticket alert amber, nothing is green; each reason is named", () => {
        expect(verdictOf([{ job: "ingest", up: true }], [])).toEqual({ verdict: "green", reasons: [] });
        expect(verdictOf([{ job: "kafka", up: false }], [])).toEqual({ verdict: "red", reasons: ["kafka does not answer"] });
        const ticket = { name: "CellplaneDeadLettersGrowing", severity: "ticket", summary: "3 events set aside" };
        expect(verdictOf([{ job: "ingest", up: true }], [ticket])).toEqual({ verdict: "amber", reasons: ["3 events set aside"] });
        const page = { name: "CellplanePipelineStalled", severity: "page", summary: "stalled" };
        expect(verdictOf([{ job: "ingest", up: true }], [ticket, page]).verdict).toBe("red");
    });

    test("the text report names each cell's verdict, reasons, numbers, targets, routers and tenants, and the last drift check", () => {
        expect(statusText(STATUS).split("\n")).toEqual([
            "environment local at 2026-11-27T10:00:00.000Z; last drift check: 2026-11-27T09:00:00.000Z (2 drifted resources in 1 stacks)",
            "RED   local-eu (eu)  metrics: https://127.0.0.1:15419",
            "      ! kafka does not answer",
            "      events/s 12.5  lag 3  freshness p99 —  dead letters (1 h) —",
            "      targets  ingest up, kafka DOWN",
            "      routers  eu at https://127.0.0.1:15408",
            "      tenants  acme, hooli",
        ]);
    });

    test("the page server serves the page, the status and the charts from each cell's metrics server, and names its paths", async () => {
        const prometheus = http.createServer((request, response) => {
            const url = new URL(request.url!, "http://x");
            expect(url.pathname).toBe("/api/v1/query_range");
            expect(Number(url.searchParams.get("end")) - Number(url.searchParams.get("start"))).toBe(3600);
            response.end(
                JSON.stringify({
                    status: "success",
                    data: {
                        result: [
                            {
                                values: [
                                    [1, "2"],
                                    [61, "NaN"],
                                ],
                            },
                        ],
                    },
                }),
            );
        });
        const prometheusUrl = (await listen(prometheus, 0)).replace(/\/$/, "");
        const page = statusPageServer({
            status: async () => STATUS,
            metricsServers: async () => new Map([["local-eu", new MetricsClient(prometheusUrl)]]),
        });
        const base = await listen(page, 0);
        try {
            const html = await fetch(base);
            expect(html.headers.get("content-type")).toBe("text/html; charset=utf-8");
            expect(await html.text()).toContain("<title>Cellplane status</title>");
            expect(await (await fetch(`${base}api/status`)).json()).toEqual(STATUS);
            const charts = (await (await fetch(`${base}api/charts`)).json()) as Record<string, Record<string, unknown>>;
            expect(Object.keys(charts["local-eu"])).toEqual(["events accepted / s", "consumer lag", "freshness p99 (s)"]);
            expect(charts["local-eu"]["consumer lag"]).toEqual([
                [1, 2],
                [61, null],
            ]);
            // Another site's page, its name rebound to loopback, is refused before anything is read.
            const rebound = await new Promise<number>((resolve, reject) =>
                http
                    .get(`${base}api/status`, { headers: { host: "attacker.example:80" } }, (answer) => {
                        answer.resume();
                        resolve(answer.statusCode!);
                    })
                    .on("error", reject),
            );
            expect(rebound).toBe(421);
            const missing = await fetch(`${base}nothing`);
            expect(missing.status).toBe(404);
            expect(((await missing.json()) as { error: string }).error).toBe("/nothing: the page reads / , /api/status and /api/charts");
        } finally {
            for (const server of [page, prometheus]) {
                server.closeAllConnections();
                server.close();
            }
        }
    });

    test("a metrics server that answers an error is an error naming the server and the query's path", async () => {
        const failing = http.createServer((_request, response) => response.end(JSON.stringify({ status: "error", error: "bad query" })));
        await new Promise<void>((resolve) => failing.listen(0, "127.0.0.1", resolve));
        const url = `http://127.0.0.1:${(failing.address() as AddressInfo).port}`;
        try {
            await expect(new MetricsClient(url).scalar("up")).rejects.toThrow(`${url}/api/v1/query?query=up: bad query`);
        } finally {
            failing.closeAllConnections();
            failing.close();
        }
    });
});

describe("lastingFor", () => {
    test("callers within the period share one read, a later caller reads again, and a failed read is not kept", async () => {
        let reads = 0;
        let failNext = false;
        const read = lastingFor(50, async () => {
            reads += 1;
            if (failNext) throw new Error("stack unreachable");
            return reads;
        });
        expect(await Promise.all([read(), read(), read()])).toEqual([1, 1, 1]);
        await new Promise((resolve) => setTimeout(resolve, 80));
        failNext = true;
        await expect(read()).rejects.toThrow("stack unreachable");
        failNext = false;
        expect(await read()).toBe(3);
    });
});

describe("a local cell's Prometheus configuration", () => {
    test("one job per target, each series labelled with the cell, HTTPS targets verified against the stack's CA", () => {
        const config = parseYaml(
            prometheusConfig({
                label: "prometheus of cell eu-1",
                dir: "/state/eu-1/metrics",
                port: 15419,
                cell: "eu-1",
                rules: "groups: []",
                targets: [
                    { job: "ingest", port: 15406, https: true },
                    { job: "kafka", port: 15420, https: false },
                ],
            }),
        );
        expect(config.rule_files).toEqual(["/state/eu-1/metrics/rules.yml"]);
        expect(config.scrape_configs).toEqual([
            {
                job_name: "ingest",
                scheme: "https",
                tls_config: { ca_file: "/state/eu-1/metrics/ca.pem" },
                static_configs: [{ targets: ["127.0.0.1:15406"], labels: { cell: "eu-1" } }],
            },
            { job_name: "kafka", scheme: "http", static_configs: [{ targets: ["127.0.0.1:15420"], labels: { cell: "eu-1" } }] },
        ]);
    });
});
