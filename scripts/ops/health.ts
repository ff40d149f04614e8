import { partitionLags } from "../../apps/ingest/consumer";
import { EVENTS_TOPIC } from "../../apps/shared/topics";
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

/**
 * One cell's health from outside it: its APIs ready (they are when their stores answer), and every partition of its
 * events topic either caught up or moving. A partition behind whose consumer committed nothing over `sampleMs` is
 * stuck, the gray failure `/healthz` cannot see, and turns the cell red.
 */
export async function cellHealth(cell: string, outputs: CellOutputs, sampleMs: number): Promise<CellHealth> {
    const checks = await Promise.all([
        readiness("ingest", outputs.endpoints.ingestUrl, outputs.endpoints.appCa),
        readiness("export", outputs.endpoints.exportUrl, outputs.endpoints.appCa),
        partitions(outputs, sampleMs),
    ]);
    return { cell, residency: outputs.residency, verdict: worstOf(checks.map((c) => c.verdict)), checks };
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

/** Every deployed cell of the environment (or the one named), checked at once, worst first. */
export async function environmentHealth(projectDir: string, env: string, sampleMs: number, only?: string): Promise<CellHealth[]> {
    const cells: [string, CellOutputs][] = [];
    for (const stack of stacksOf(projectDir, env)) {
        const outputs = await (await openStack(projectDir, env, stack)).outputs();
        cells.push(...Object.entries<CellOutputs>(outputs.cells?.value ?? {}));
    }
    const chosen = only === undefined ? cells : cells.filter(([id]) => id === only);
    if (chosen.length === 0)
        throw new Refusal(
            `--cell ${only}: no deployed cell of environment ${env} has that id (cells: ${cells.map(([id]) => id).join(", ") || "none"})`,
        );
    const health = await Promise.all(chosen.map(([id, outputs]) => cellHealth(id, outputs, sampleMs)));
    return health.sort((a, b) => RANK[b.verdict] - RANK[a.verdict] || a.cell.localeCompare(b.cell));
}
