import { call } from "../support/cellClient";
/**
 * `npm run bench:router`: the same load sent straight to a real local cell's ingest API and through its residency's
 * router, in one run, in alternating rounds so both see the same machine: events/s and p50/p99 request latency of each, and
 * the router's overhead. The router, the cell and the load share this machine's cores, so the overhead includes the
 * router's CPU taken from the cell.
 */
import { apiKeyFor, deployCells, destroyCells, eventOf } from "../e2e/apps/cell";
import { isolatedLocalStack } from "../support/project";
import { percentile } from "./stats";

const SECONDS = Number(process.env.BENCH_SECONDS ?? 10);
const ROUNDS = 4;
const SENDERS = 8;
const BATCH = 500;

interface Result {
    events: number;
    seconds: number;
    latencies: number[];
}

/** `SENDERS` clients posting batches to `url` for `SECONDS`; every answer must be 202. */
async function load(url: string, key: string): Promise<Result> {
    const bodies = Array.from({ length: 64 }, () => JSON.stringify(Array.from({ length: BATCH }, () => eventOf("acme"))));
    const latencies: number[] = [];
    let events = 0;
    const started = Date.now();
    const until = started + SECONDS * 1000;
    await Promise.all(
        Array.from({ length: SENDERS }, async (_, sender) => {
            for (let n = sender; Date.now() < until; n += SENDERS) {
                const sent = performance.now();
                const response = await call(`${url}/v1/events`, {
                    method: "POST",
                    headers: { "content-type": "application/json", authorization: `Bearer ${key}` },
                    body: bodies[n % bodies.length],
                });
                if (response.status !== 202) throw new Error(`${url} answered ${response.status}: ${await response.text()}`);
                latencies.push(performance.now() - sent);
                events += BATCH;
            }
        }),
    );
    return { events, seconds: (Date.now() - started) / 1000, latencies };
}

const merge = (results: Result[]): Result => ({
    events: results.reduce((n, r) => n + r.events, 0),
    seconds: results.reduce((n, r) => n + r.seconds, 0),
    latencies: results.flatMap((r) => r.latencies),
});

function report(name: string, { events, seconds, latencies }: Result): number {
    const rate = events / seconds;
    console.log(
        `${name.padEnd(16)} ${Math.round(rate).toLocaleString("en").padStart(9)} events/s   p50 ${percentile(latencies, 50).toFixed(1)} ms   p99 ${percentile(latencies, 99).toFixed(1)} ms   (${latencies.length} batches of ${BATCH})`,
    );
    return rate;
}

async function main() {
    console.log("bench:router: bringing up an isolated local cell with its residency's router…");
    const stack = isolatedLocalStack("cellplane-bench-router-", (config) => {
        config["cellplane:cells"] = config["cellplane:cells"].slice(0, 1);
        config["cellplane:tenants"] = [
            { id: "acme", residency: "eu", quotas: { eventsPerSecond: 1_000_000, apiRequestsPerMinute: 1_000_000 } },
        ];
    });
    try {
        const eu = deployCells(stack)["local-eu"];
        const routers = JSON.parse(stack.pulumi("stack", "output", "routers", "--json").stdout);
        const key = await apiKeyFor(eu, "acme");
        const direct: Result[] = [];
        const routed: Result[] = [];
        for (let round = 1; round <= ROUNDS; round++) {
            console.log(`bench:router: round ${round} of ${ROUNDS}: ${SENDERS} senders × batches of ${BATCH}, ${SECONDS} s each way…`);
            // Each goes first in every other round, so neither always meets the backlog the other left.
            const order = round % 2 === 1 ? [direct, routed] : [routed, direct];
            for (const results of order) results.push(await load(results === direct ? eu.endpoints.ingestUrl : routers.eu.url, key));
        }
        console.log("");
        const straight = report("straight to cell", merge(direct));
        const through = report("through router", merge(routed));
        console.log(`\nthe router costs ${((1 - through / straight) * 100).toFixed(1)}% of the cell's events/s (the limit is 15%)`);
    } finally {
        destroyCells(stack);
    }
}

main().catch((error) => {
    console.error(error);
    process.exitCode = 1;
});
