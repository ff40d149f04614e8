import type { OutputMap } from "@pulumi/pulumi/automation";
import { stacksOf } from "./environment";
import { fetchTrusting } from "./https";
import type { CellOutputs } from "./keys";
import { type Verdict, worstOf } from "./health";
import { lastDriftCheck, type DriftSummary } from "./driftSignals";
import { openStack } from "./workspace";

/** A firing alert of the cell's rule set (`observability/rules.yml`). */
export interface FiringAlert {
    name: string;
    severity: string;
    summary: string;
}

/** One cell as its own metrics server sees it. Absent numbers are ones the server has no data for yet. */
export interface CellStatus {
    cell: string;
    residency: string;
    verdict: Verdict;
    /** Why the verdict is not green, in words. */
    reasons: string[];
    /** Each scrape job (apps and stores) and whether it answered its last scrape. */
    targets: { job: string; up: boolean }[];
    alerts: FiringAlert[];
    eventsPerSecond?: number;
    lag?: number;
    freshnessP99Seconds?: number;
    deadLettersLastHour?: number;
    /** The residencies whose router this cell hosts, with where each answers. */
    routers: { residency: string; url: string }[];
    tenants: string[];
    metricsUrl?: string;
}

export interface EnvironmentStatus {
    env: string;
    at: string;
    lastDriftCheck?: DriftSummary;
    cells: CellStatus[];
}

/** What `status --serve` charts for the last hour, by cell: PromQL over the cell's own metrics server. */
export const CHARTS = {
    "events accepted / s": "sum(rate(ingest_events_accepted_total[1m]))",
    "consumer lag": "sum(ingest_consumer_lag)",
    "freshness p99 (s)": "max(cell:ingest_freshness_seconds:p99_5m)",
} as const;

/** A deployed cell and what `status` reads of it. */
export interface StatusTarget {
    id: string;
    outputs: CellOutputs;
    routers: { residency: string; url: string }[];
    tenants: string[];
}

function targetsOf(outputs: OutputMap): StatusTarget[] {
    const cells: Record<string, CellOutputs> = outputs.cells?.value ?? {};
    const routers: Record<string, { cell: string; url: string }> = outputs.routers?.value ?? {};
    const routing: Record<string, { cell: string }> = outputs.routing?.value ?? {};
    return Object.entries(cells).map(([id, cell]) => ({
        id,
        outputs: cell,
        routers: Object.entries(routers)
            .filter(([, router]) => router.cell === id)
            .map(([residency, router]) => ({ residency, url: router.url })),
        tenants: Object.entries(routing)
            .filter(([, route]) => route.cell === id)
            .map(([tenant]) => tenant)
            .sort(),
    }));
}

/** A cell's metrics server, trusting the cell's CA. */
export class MetricsClient {
    constructor(
        readonly url: string,
        private readonly ca?: string,
    ) {}

    private async api<T>(path: string): Promise<T> {
        const answer = await fetchTrusting(this.ca)(`${this.url}${path}`, { signal: AbortSignal.timeout(5_000) });
        const body = (await answer.json()) as { status: string; data: T; error?: string };
        if (body.status !== "success") throw new Error(`${this.url}${path}: ${body.error ?? answer.status}`);
        return body.data;
    }

    async vector(query: string): Promise<{ metric: Record<string, string>; value: number }[]> {
        const data = await this.api<{ result: { metric: Record<string, string>; value: [number, string] }[] }>(
            `/api/v1/query?query=${encodeURIComponent(query)}`,
        );
        return data.result.map((r) => ({ metric: r.metric, value: Number(r.value[1]) }));
    }

    /** The query's one number, or undefined when it has no data (or NaN, as a quantile of nothing). */
    async scalar(query: string): Promise<number | undefined> {
        const [first] = await this.vector(query);
        return first === undefined || Number.isNaN(first.value) ? undefined : first.value;
    }

    async firingAlerts(): Promise<FiringAlert[]> {
        const data = await this.api<{ alerts: { labels: Record<string, string>; annotations: Record<string, string>; state: string }[] }>(
            "/api/v1/alerts",
        );
        return data.alerts
            .filter((alert) => alert.state === "firing")
            .map((alert) => ({ name: alert.labels.alertname, severity: alert.labels.severity, summary: alert.annotations.summary }));
    }

    /** The last hour of a query, one point a minute: [unix seconds, value][]. */
    async lastHour(query: string, now = Date.now() / 1000): Promise<[number, number][]> {
        const range = `start=${now - 3600}&end=${now}&step=60`;
        const data = await this.api<{ result: { values: [number, string][] }[] }>(
            `/api/v1/query_range?query=${encodeURIComponent(query)}&${range}`,
        );
        return (data.result[0]?.values ?? []).map(([t, v]) => [t, Number(v)]);
    }
}

export const metricsOf = (outputs: CellOutputs) =>
    outputs.endpoints.metricsUrl === undefined ? undefined : new MetricsClient(outputs.endpoints.metricsUrl, outputs.endpoints.appCa);

/**
 * The verdict from what the metrics server says: red when it does not answer, a target is down or a paging alert
 * fires; amber on a ticket alert.
 */
export function verdictOf(targets: CellStatus["targets"], alerts: FiringAlert[]): { verdict: Verdict; reasons: string[] } {
    const down = targets.filter((t) => !t.up).map((t) => ({ verdict: "red" as const, reason: `${t.job} does not answer` }));
    const alerting = alerts.map((a) => ({ verdict: a.severity === "page" ? ("red" as const) : ("amber" as const), reason: a.summary }));
    const all = [...down, ...alerting];
    return { verdict: worstOf(all.map((a) => a.verdict)), reasons: all.map((a) => a.reason) };
}

async function cellStatus(target: StatusTarget): Promise<CellStatus> {
    const base = {
        cell: target.id,
        residency: target.outputs.residency,
        routers: target.routers,
        tenants: target.tenants,
        metricsUrl: target.outputs.endpoints.metricsUrl,
    };
    const metrics = metricsOf(target.outputs);
    if (!metrics)
        return { ...base, verdict: "amber", reasons: ["the cell has no metrics server the program runs"], targets: [], alerts: [] };
    try {
        const [up, alerts, eventsPerSecond, lag, freshnessP99Seconds, deadLettersLastHour] = await Promise.all([
            metrics.vector("up"),
            metrics.firingAlerts(),
            metrics.scalar(CHARTS["events accepted / s"]),
            metrics.scalar(CHARTS["consumer lag"]),
            metrics.scalar(CHARTS["freshness p99 (s)"]),
            // None set aside yet means no series: 0 while the consumer answers, unknown while it does not.
            metrics.scalar('sum(increase(ingest_events_dead_lettered_total[1h])) or on () 0 * sum(up{job="ingest-consumer"} == 1)'),
        ]);
        const targets = up.map((u) => ({ job: u.metric.job, up: u.value === 1 })).sort((a, b) => a.job.localeCompare(b.job));
        return { ...base, ...verdictOf(targets, alerts), targets, alerts, eventsPerSecond, lag, freshnessP99Seconds, deadLettersLastHour };
    } catch (error) {
        return {
            ...base,
            verdict: "red",
            reasons: [`its metrics server does not answer: ${(error as Error).message}`],
            targets: [],
            alerts: [],
        };
    }
}

/** Every deployed cell of the environment, from its stacks' outputs. */
export async function deployedCells(projectDir: string, env: string): Promise<StatusTarget[]> {
    const targets: StatusTarget[] = [];
    for (const stack of stacksOf(projectDir, env)) targets.push(...targetsOf(await (await openStack(projectDir, env, stack)).outputs()));
    return targets;
}

/** Every deployed cell, read at once from each cell's own metrics server. */
export async function environmentStatus(env: string, targets: StatusTarget[]): Promise<EnvironmentStatus> {
    const cells = await Promise.all(targets.map(cellStatus));
    return {
        env,
        at: new Date().toISOString(),
        lastDriftCheck: lastDriftCheck(env),
        cells: cells.sort((a, b) => a.cell.localeCompare(b.cell)),
    };
}

/** The deployed cells' metrics servers, for the status page's charts. */
export function metricsServers(targets: StatusTarget[]): Map<string, MetricsClient> {
    const servers = new Map<string, MetricsClient>();
    for (const target of targets) {
        const client = metricsOf(target.outputs);
        if (client) servers.set(target.id, client);
    }
    return servers;
}

/** `read`'s result, read again once it is older than `ms`; concurrent callers share one read. */
export function lastingFor<T>(ms: number, read: () => Promise<T>): () => Promise<T> {
    let last: { at: number; value: Promise<T> } | undefined;
    return () => {
        if (!last || Date.now() - last.at > ms) {
            const value = read();
            last = { at: Date.now(), value };
            value.catch(() => (last = undefined));
        }
        return last.value;
    };
}

const number = (value: number | undefined, digits = 0, unit = "") => (value === undefined ? "—" : `${value.toFixed(digits)}${unit}`);

export function statusText(status: EnvironmentStatus): string {
    const drift = status.lastDriftCheck;
    const lines = [
        `environment ${status.env} at ${status.at}; last drift check: ${
            drift
                ? `${drift.at} (${drift.drifted} drifted resources in ${drift.stacks} stacks${drift.failed ? `, ${drift.failed} not checked` : ""})`
                : "none recorded here"
        }`,
    ];
    for (const cell of status.cells) {
        lines.push(`${cell.verdict.toUpperCase().padEnd(5)} ${cell.cell} (${cell.residency})  metrics: ${cell.metricsUrl ?? "none"}`);
        for (const reason of cell.reasons) lines.push(`      ! ${reason}`);
        lines.push(
            `      events/s ${number(cell.eventsPerSecond, 1)}  lag ${number(cell.lag)}  freshness p99 ${number(cell.freshnessP99Seconds, 1, " s")}  dead letters (1 h) ${number(cell.deadLettersLastHour)}`,
        );
        lines.push(`      targets  ${cell.targets.map((t) => `${t.job} ${t.up ? "up" : "DOWN"}`).join(", ") || "—"}`);
        lines.push(`      routers  ${cell.routers.map((r) => `${r.residency} at ${r.url}`).join(", ") || "—"}`);
        lines.push(`      tenants  ${cell.tenants.join(", ") || "—"}`);
    }
    return lines.join("\n");
}
