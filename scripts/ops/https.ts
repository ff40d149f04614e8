import { Agent } from "undici";

const agents = new Map<string, Agent>();

/**
 * `fetch` that verifies HTTPS against `ca`, the stack's CA of local cells and routers, or against the system's roots
 * when there is none (cloud cells behind public certificates).
 */
export function fetchTrusting(ca: string | undefined): typeof fetch {
    if (!ca) return fetch;
    if (!agents.has(ca)) agents.set(ca, new Agent({ connect: { ca } }));
    const dispatcher = agents.get(ca);
    // Node's fetch is undici's, so it takes an undici dispatcher.
    return (input, init) => fetch(input, { ...init, dispatcher });
}
