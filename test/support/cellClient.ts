import { ROUTER_PROOF_HEADER, routerProof } from "../../apps/shared/routerProof";
import { fetchTrusting } from "../../scripts/ops/https";

/** What a test knows of an app's origin: the CA of its HTTPS, and for a cell's apps the key of its router's proof. */
const origins = new Map<string, { ca?: string; proof?: { cell: string; key: string } }>();

interface DeployedCell {
    endpoints: { ingestUrl: string; exportUrl: string; appCa?: string };
    credentials: { routerKey: string };
}

/** Registers one origin: the CA of its HTTPS, and the cell and key of the router's proof it wants. */
export function trust(url: string, how: { ca?: string; proof?: { cell: string; key: string } }): void {
    origins.set(new URL(url).origin, how);
}

/** Registers a deployed stack's cells (by id) and routers, so `call` reaches them as their clients and routers do. */
export function trustStack(cells: Record<string, DeployedCell>, routerUrls: string[] = []): void {
    for (const [cell, { endpoints, credentials }] of Object.entries(cells)) {
        for (const url of [endpoints.ingestUrl, endpoints.exportUrl])
            trust(url, { ca: endpoints.appCa, proof: { cell, key: credentials.routerKey } });
        for (const url of routerUrls) trust(url, { ca: endpoints.appCa });
    }
}

/**
 * `fetch` to a deployed app: its HTTPS verified against the stack's CA and, for a cell's apps, the request signed as
 * its residency's router signs it, unless `asRouter` is false (a client that bypasses the router).
 */
export function call(url: string, init: RequestInit = {}, options: { asRouter?: boolean } = {}): Promise<Response> {
    const target = new URL(url);
    const known = origins.get(target.origin);
    const headers = new Headers(init.headers);
    if (known?.proof && options.asRouter !== false)
        headers.set(
            ROUTER_PROOF_HEADER,
            routerProof(known.proof.key, { cell: known.proof.cell, method: init.method ?? "GET", url: target.pathname + target.search }),
        );
    return fetchTrusting(known?.ca)(url, { ...init, headers });
}
