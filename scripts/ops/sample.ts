import { sampleEvents } from "../../apps/shared/sampleEvents";
import { createTenantKey } from "./keys";
import { Refusal } from "./environment";

export interface SampleSent {
    tenant: string;
    cell: string;
    routerUrl: string;
    keyId: string;
    sent: number;
    /** Events `/v1/metrics` counts for the last hour once the cell stored them; fewer if it had not within the wait. */
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
    const events = sampleEvents(tenant, `${env}-sample`, count);
    progress(`sending ${count} events of ${tenant} to ${key.routerUrl}/v1/events (cell ${key.cell}, new key ${key.id})…`);
    const response = await fetch(`${key.routerUrl}/v1/events`, {
        method: "POST",
        headers: { ...auth, "content-type": "application/json" },
        body: JSON.stringify(events),
    });
    if (response.status !== 202) throw new Refusal(`the router answered ${response.status}: ${await response.text()}`);

    const from = new Date(started - 2 * HOUR_MS).toISOString();
    const to = new Date(Date.now() + HOUR_MS).toISOString();
    const metricsUrl = `${key.routerUrl}/v1/metrics?from=${from}&to=${to}`;
    progress(`accepted; waiting for the cell to store them (GET ${key.routerUrl}/v1/metrics)…`);
    let counted = 0;
    while (counted < count && Date.now() - started < waitMs) {
        await new Promise((resolve) => setTimeout(resolve, 1_000));
        const metrics = await fetch(metricsUrl, { headers: auth });
        if (metrics.ok) counted = ((await metrics.json()) as { rows: { events: number }[] }).rows.reduce((n, r) => n + r.events, 0);
    }
    return {
        tenant,
        cell: key.cell,
        routerUrl: key.routerUrl,
        keyId: key.id,
        sent: count,
        counted,
        seconds: (Date.now() - started) / 1000,
    };
}
