import { sampleEvents } from "../../apps/shared/sampleEvents";
import { createTenantKey } from "./keys";
import { Refusal } from "./environment";
import { fetchTrusting } from "./https";

export interface SampleSent {
    tenant: string;
    cell: string;
    routerUrl: string;
    keyId: string;
    /** The new API key itself (only its hash is stored). */
    key: string;
    /** The tenant's metrics around the events, through the router. */
    metricsUrl: string;
    sent: number;
    /** How many more events `/v1/metrics` counts than before the send; fewer than `sent` if the wait ran out. */
    counted: number;
    seconds: number;
}

const HOUR_MS = 3_600_000;

/**
 * Sends `count` sample events of a tenant through the environment's router with a new key of its own, then waits
 * until `/v1/metrics` counts them: the quick start's proof that a cell stores what it accepts.
 */
export async function sendSample(
    projectDir: string,
    env: string,
    tenant: string,
    count: number,
    progress: (line: string) => void,
    waitMs = 60_000,
): Promise<SampleSent> {
    const started = Date.now();
    const key = await createTenantKey(projectDir, env, tenant);
    const auth = { authorization: `Bearer ${key.key}` };
    const fetch = fetchTrusting(key.routerCa);
    const from = new Date(started - 2 * HOUR_MS).toISOString();
    const to = new Date(started + HOUR_MS).toISOString();
    const metricsUrl = `${key.routerUrl}/v1/metrics?from=${from}&to=${to}`;
    const counted = async (): Promise<number | undefined> => {
        const metrics = await fetch(metricsUrl, { headers: auth });
        if (!metrics.ok) return undefined;
        return ((await metrics.json()) as { rows: { events: number }[] }).rows.reduce((n, r) => n + r.events, 0);
    };
    // The tenant may have events in the window already: what counts is how many more there are.
    const before = (await counted()) ?? 0;

    progress(`sending ${count} events of ${tenant} to ${key.routerUrl}/v1/events (cell ${key.cell}, new key ${key.id})…`);
    const response = await fetch(`${key.routerUrl}/v1/events`, {
        method: "POST",
        headers: { ...auth, "content-type": "application/json" },
        body: JSON.stringify(sampleEvents(tenant, `${env}-sample`, count)),
    });
    if (response.status !== 202) throw new Refusal(`the router answered ${response.status}: ${await response.text()}`);

    progress(`accepted; waiting for the cell to store them (GET ${key.routerUrl}/v1/metrics)…`);
    let stored = 0;
    while (stored < count && Date.now() - started < waitMs) {
        await new Promise((resolve) => setTimeout(resolve, 1_000));
        stored = ((await counted()) ?? before) - before;
    }
    const seconds = (Date.now() - started) / 1000;
    return {
        tenant,
        cell: key.cell,
        routerUrl: key.routerUrl,
        keyId: key.id,
        key: key.key,
        metricsUrl,
        sent: count,
        counted: stored,
        seconds,
    };
}
