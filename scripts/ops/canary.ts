import type { Pool } from "pg";
import { v7 as uuidv7 } from "uuid";
import { installApiKey } from "../../apps/shared/apiKeys";
import type { AnalyticsEvent } from "../../apps/shared/events";
import { canaryKeyOf, canaryTenantOf } from "../../model/canary";
import { clickhouseOfCell, exportFilesOf, withCellPostgres } from "./cellClients";
import type { HealthCheck } from "./health";
import { fetchTrusting } from "./https";
import type { CellOutputs } from "./keys";

/** Seed 002's freshness objective: an accepted event is queryable within 30 s. */
export const FRESHNESS_BUDGET_MS = 30_000;
/** Over this, the cell still meets its objective but is slipping. */
const FRESHNESS_WARNING_MS = 10_000;
const EXPORT_BUDGET_MS = 60_000;
const POLL_MS = 250;

/** Where a cell's tenants send their requests: the router of its residency. */
export interface RouterAccess {
    url: string;
    ca?: string;
}

const red = (name: string, detail: string): HealthCheck => ({ name, verdict: "red", detail });
const seconds = (ms: number) => `${(ms / 1000).toFixed(1)} s`;

/**
 * Drives the cell's canary tenant end to end, as a tenant would: one event in through the router, visible in
 * ClickHouse, counted in the rollup `/v1/metrics` serves, and exported to the cell's bucket (the file is then
 * deleted, so a probe a minute leaves nothing behind). Each step is a check of its own, and a step that fails stops
 * the ones after it.
 */
export async function canaryChecks(cell: string, outputs: CellOutputs, router: RouterAccess): Promise<HealthCheck[]> {
    const key = canaryKeyOf(cell, outputs.credentials.routerKey);
    const installed = await installKey(outputs, key);
    if (installed.verdict === "red") return [installed];
    const api = routerApi(router, key);
    const checks = [installed];
    const day = new Date().toISOString().slice(0, 10);
    const countedBefore = await api.counted(day).catch(() => 0);
    const event = canaryEvent(cell);
    const sentAt = Date.now();
    const accepted = await api.send(event);
    if (accepted) return [...checks, red("canary", accepted)];
    const seen = await visibleIn(outputs, event, sentAt);
    checks.push(seen);
    if (seen.verdict === "red") return checks;
    checks.push(await countedInRollup(api, day, countedBefore));
    checks.push(await exported(outputs, api, day));
    return checks;
}

/** The probe's own Postgres connection: one that does not answer in 5 s is a red check, not a hung probe. */
const withPostgres = <T>(outputs: CellOutputs, run: (pool: Pool) => Promise<T>) =>
    withCellPostgres(outputs, run, { connectTimeoutMs: 5_000 });

/** The canary's derived key, stored in the cell's Postgres: the probe's proof that Postgres answers and takes writes. */
async function installKey(outputs: CellOutputs, key: string): Promise<HealthCheck> {
    try {
        await withPostgres(outputs, (pool) => installApiKey(pool, key));
        return { name: "postgres", verdict: "green", detail: "answers and stores the canary's key" };
    } catch (error) {
        return red(
            "postgres",
            `does not answer at ${outputs.endpoints.postgres.host}:${outputs.endpoints.postgres.port}: ${(error as Error).message}`,
        );
    }
}

function canaryEvent(cell: string): AnalyticsEvent {
    const now = Date.now();
    return {
        event_id: uuidv7({ msecs: now }),
        org_id: canaryTenantOf(cell),
        user_id: "canary",
        session_id: `canary-${now}`,
        event_type: "code_generated",
        event_category: "usage",
        timestamp: new Date(now).toISOString(),
        region: cell,
        environment: "production",
        metadata: { probe: true },
    };
}

/** The canary's calls to its cell, through the router as every tenant's. */
function routerApi(router: RouterAccess, key: string) {
    const fetch = fetchTrusting(router.ca);
    const call = (path: string, init: RequestInit = {}) =>
        fetch(`${router.url}${path}`, {
            ...init,
            headers: { authorization: `Bearer ${key}`, "content-type": "application/json" },
            signal: AbortSignal.timeout(10_000),
        });
    const json = async <T>(answer: Response): Promise<T> => {
        if (!answer.ok) throw new Error(`${answer.status} ${(await answer.text()).slice(0, 200)}`);
        return (await answer.json()) as T;
    };
    return {
        /** Undefined once the router answered 202, else what went wrong. */
        async send(event: AnalyticsEvent): Promise<string | undefined> {
            try {
                const answer = await call("/v1/events", { method: "POST", body: JSON.stringify(event) });
                return answer.status === 202
                    ? undefined
                    : `the router answered ${answer.status} to the canary's event: ${(await answer.text()).slice(0, 200)}`;
            } catch (error) {
                return `the router at ${router.url} does not answer: ${(error as Error).message}`;
            }
        },
        async counted(day: string): Promise<number> {
            const query = `from=${day}T00:00:00Z&to=${new Date(Date.parse(day) + 86_400_000).toISOString()}&granularity=day`;
            const { rows } = await json<{ rows: { events: number }[] }>(await call(`/v1/metrics?${query}`));
            return rows.reduce((n, row) => n + row.events, 0);
        },
        async exportDay(day: string): Promise<{ id: string }> {
            return json(await call("/v1/exports", { method: "POST", body: JSON.stringify({ from: day, to: day }) }));
        },
        async job(id: string): Promise<{ status: string; files: string[] | null; error: string | null }> {
            return json(await call(`/v1/jobs/${id}`));
        },
    };
}

/** Freshness: how long the accepted event took to be queryable in the cell's ClickHouse. */
async function visibleIn(outputs: CellOutputs, event: AnalyticsEvent, sentAt: number): Promise<HealthCheck> {
    const clickhouse = clickhouseOfCell(outputs);
    try {
        while (Date.now() - sentAt < FRESHNESS_BUDGET_MS) {
            const result = await clickhouse.query({
                query: "SELECT count() AS n FROM analytics.events WHERE org_id = {org:String} AND event_id = {id:UUID}",
                query_params: { org: event.org_id, id: event.event_id },
                format: "JSONEachRow",
            });
            if (Number((await result.json<{ n: string }>())[0].n) > 0) {
                const took = Date.now() - sentAt;
                const verdict = took > FRESHNESS_WARNING_MS ? "amber" : "green";
                return { name: "freshness", verdict, detail: `the canary's event was queryable ${seconds(took)} after its 202` };
            }
            await new Promise((resolve) => setTimeout(resolve, POLL_MS));
        }
        return red("freshness", `the canary's event, accepted with 202, is not in ClickHouse after ${seconds(FRESHNESS_BUDGET_MS)}`);
    } catch (error) {
        return red("clickhouse", `does not answer at ${outputs.endpoints.clickhouseUrl}: ${(error as Error).message}`);
    } finally {
        await clickhouse.close();
    }
}

/** The canary's event counted by `/v1/metrics`, whose rollups are computed every few seconds from what is stored. */
async function countedInRollup(api: ReturnType<typeof routerApi>, day: string, before: number): Promise<HealthCheck> {
    const started = Date.now();
    let after: number | Error;
    do {
        after = await api.counted(day).catch((error: Error) => error);
        if (typeof after === "number" && after > before)
            return {
                name: "rollup",
                verdict: "green",
                detail: `/v1/metrics counts ${after} canary events today, ${seconds(Date.now() - started)} after it was stored`,
            };
        await new Promise((resolve) => setTimeout(resolve, POLL_MS));
    } while (Date.now() - started < FRESHNESS_BUDGET_MS);
    return red(
        "rollup",
        `/v1/metrics did not count the canary's event in ${seconds(FRESHNESS_BUDGET_MS)}: ${String(after)} events today, ${before} before it`,
    );
}

/** An export of the canary's day, run by the cell and found in its bucket; its files and job are deleted once found. */
async function exported(outputs: CellOutputs, api: ReturnType<typeof routerApi>, day: string): Promise<HealthCheck> {
    const started = Date.now();
    try {
        const { id } = await api.exportDay(day);
        for (;;) {
            const job = await api.job(id);
            if (job.status === "failed") return red("exported", `export job ${id} failed: ${job.error}`);
            if (job.status === "succeeded") {
                const files = exportFilesOf(outputs);
                const found = await Promise.all((job.files ?? []).map((file) => files.count(file)));
                if (found.length === 0 || found.some((n) => n === 0))
                    return red(
                        "exported",
                        `export job ${id} succeeded, but its files are not in bucket ${outputs.endpoints.bucket}: ${job.files}`,
                    );
                // A probe a minute would leave 1,440 files and jobs a day: it takes its own away once checked.
                for (const file of job.files!) await files.deleteAll(file);
                await withPostgres(outputs, (pool) =>
                    pool.query("DELETE FROM cellplane.export_jobs WHERE id = $1 AND tenant_id LIKE 'canary-%'", [id]),
                );
                return {
                    name: "exported",
                    verdict: "green",
                    detail: `exported the canary's day to the bucket in ${seconds(Date.now() - started)}`,
                };
            }
            if (Date.now() - started > EXPORT_BUDGET_MS)
                return red("exported", `export job ${id} still ${job.status} after ${seconds(EXPORT_BUDGET_MS)}`);
            await new Promise((resolve) => setTimeout(resolve, 500));
        }
    } catch (error) {
        return red("exported", `the canary's export failed: ${(error as Error).message}`);
    }
}
