import type { OutputMap } from "@pulumi/pulumi/automation";
import { partitionLags } from "../../apps/ingest/consumer";
import { EVENTS_TOPIC } from "../../apps/shared/topics";
import { canaryChecks, RouterAccess } from "./canary";
import { kafkaOfCell } from "./cellClients";
import { Refusal, stacksOf } from "./environment";
import { fetchTrusting } from "./https";
import type { CellOutputs } from "./keys";
import { openStack } from "./workspace";

export type Verdict = "green" | "amber" | "red";

export interface HealthCheck {
    name: string;
    verdict: Verdict;
    detail: string;
}

export interface CellHealth {
    cell: string;
    residency: string;
    /** The worst of its checks. */
    verdict: Verdict;
    checks: HealthCheck[];
}

const RANK: Record<Verdict, number> = { green: 0, amber: 1, red: 2 };
export const worstOf = (verdicts: Verdict[]): Verdict => verdicts.reduce((a, b) => (RANK[b] > RANK[a] ? b : a), "green");

/** A partition this far behind, though moving, is amber: freshness is slipping. */
const LAG_WARNING = 10_000;

/** Over these shares of 5xx answers while the probe ran, the cell is amber, then red. */
const ERROR_RATE = { amber: 0.01, red: 0.05 };

/**
 * One cell's health from outside it: its APIs ready (they are when their stores answer), its canary tenant driven
 * end to end through the router (`canary.ts`: Postgres, freshness in ClickHouse, the rollup, an export to the bucket),
 * the share of 5xx answers meanwhile, and every partition of its events topic caught up or moving. A partition behind
 * whose consumer committed nothing over `sampleMs` is stuck, the gray failure `/healthz` cannot see.
 */
export async function cellHealth(cell: string, outputs: CellOutputs, router: RouterAccess, sampleMs: number): Promise<CellHealth> {
    const apps = [outputs.endpoints.ingestUrl, outputs.endpoints.exportUrl];
    const answersBefore = await answerCounts(apps, outputs.endpoints.appCa);
    const [ingest, exporter, partitionCheck, canary] = await Promise.all([
        readiness("ingest", outputs.endpoints.ingestUrl, outputs.endpoints.appCa),
        readiness("export", outputs.endpoints.exportUrl, outputs.endpoints.appCa),
        partitions(outputs, sampleMs),
        canaryChecks(cell, outputs, router),
    ]);
    const errors = errorRate(answersBefore, await answerCounts(apps, outputs.endpoints.appCa));
    const checks = [ingest, exporter, ...canary, errors, partitionCheck];
    return { cell, residency: outputs.residency, verdict: worstOf(checks.map((c) => c.verdict)), checks };
}

interface AnswerCounts {
    all: number;
    failed: number;
}

/** The apps' answers so far, from their `http_responses_total`; undefined if one does not answer. */
async function answerCounts(urls: string[], ca: string | undefined): Promise<AnswerCounts | undefined> {
    try {
        const texts = await Promise.all(
            urls.map(async (url) => (await fetchTrusting(ca)(`${url}/metrics`, { signal: AbortSignal.timeout(5_000) })).text()),
        );
        const counts = { all: 0, failed: 0 };
        for (const match of texts.join("\n").matchAll(/^http_responses_total\{class="(\d)xx"\} (\d+)/gm)) {
            counts.all += Number(match[2]);
            if (match[1] === "5") counts.failed += Number(match[2]);
        }
        return counts;
    } catch {
        return undefined;
    }
}

function errorRate(before: AnswerCounts | undefined, after: AnswerCounts | undefined): HealthCheck {
    if (!before || !after) return { name: "errors", verdict: "red", detail: "the apps' /metrics do not answer" };
    const [all, failed] = [after.all - before.all, after.failed - before.failed];
    const rate = all === 0 ? 0 : failed / all;
    const verdict = rate > ERROR_RATE.red ? "red" : rate > ERROR_RATE.amber ? "amber" : "green";
    return { name: "errors", verdict, detail: `${failed} of ${all} answers were 5xx (${(rate * 100).toFixed(1)}%) while the probe ran` };
}

async function readiness(app: string, url: string, ca: string | undefined): Promise<HealthCheck> {
    try {
        const answer = await fetchTrusting(ca)(`${url}/readyz`, { signal: AbortSignal.timeout(5_000) });
        return answer.ok
            ? { name: app, verdict: "green", detail: "ready: its stores answer" }
            : { name: app, verdict: "red", detail: `not ready (${answer.status}): ${(await answer.text()).slice(0, 300)}` };
    } catch (error) {
        return { name: app, verdict: "red", detail: `does not answer at ${url}: ${(error as Error).message}` };
    }
}

async function partitions(outputs: CellOutputs, sampleMs: number): Promise<HealthCheck> {
    const kafka = kafkaOfCell(outputs, "cellplane-health");
    const admin = kafka.admin();
    try {
        const before = await partitionLags(admin, EVENTS_TOPIC);
        await new Promise((resolve) => setTimeout(resolve, sampleMs));
        const after = await partitionLags(admin, EVENTS_TOPIC);
        const stuck = after.filter((p) => p.lag > 0 && p.committed === before.find((b) => b.partition === p.partition)?.committed);
        const slow = after.filter((p) => p.lag > LAG_WARNING && !stuck.includes(p));
        const behind = (list: typeof after) => list.map((p) => `partition ${p.partition} ${p.lag} behind`).join(", ");
        if (stuck.length > 0)
            return { name: "partitions", verdict: "red", detail: `no progress in ${sampleMs / 1000} s: ${behind(stuck)}` };
        if (slow.length > 0) return { name: "partitions", verdict: "amber", detail: `moving but behind: ${behind(slow)}` };
        return { name: "partitions", verdict: "green", detail: `${after.length} partitions caught up or moving` };
    } catch (error) {
        return { name: "partitions", verdict: "red", detail: `Kafka does not answer: ${(error as Error).message}` };
    } finally {
        await admin.close();
    }
}

/** A deployed cell to probe: its id, its outputs, and the router its canary comes in through. */
export type ProbeTarget = [string, CellOutputs, RouterAccess];

/** Every deployed cell of a stack's outputs, each with its residency's router. */
export function probeTargetsOf(outputs: OutputMap): ProbeTarget[] {
    const deployed: Record<string, CellOutputs> = outputs.cells?.value ?? {};
    const routers: Record<string, { cell: string; url: string }> = outputs.routers?.value ?? {};
    return Object.entries(deployed).map(([id, cell]) => {
        const router = routers[cell.residency];
        return [id, cell, { url: router?.url, ca: deployed[router?.cell]?.endpoints.appCa }];
    });
}

/** Every deployed cell of the environment (or the one named), checked at once, worst first. */
export async function environmentHealth(projectDir: string, env: string, sampleMs: number, only?: string): Promise<CellHealth[]> {
    const cells: ProbeTarget[] = [];
    for (const stack of stacksOf(projectDir, env)) cells.push(...probeTargetsOf(await (await openStack(projectDir, env, stack)).outputs()));
    const chosen = only === undefined ? cells : cells.filter(([id]) => id === only);
    if (chosen.length === 0)
        throw new Refusal(
            `--cell ${only}: no deployed cell of environment ${env} has that id (cells: ${cells.map(([id]) => id).join(", ") || "none"})`,
        );
    const health = await Promise.all(chosen.map(([id, outputs, router]) => cellHealth(id, outputs, router, sampleMs)));
    return health.sort((a, b) => RANK[b.verdict] - RANK[a.verdict] || a.cell.localeCompare(b.cell));
}
