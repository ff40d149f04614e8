import { Agent } from "undici";

const agents = new Map<string, Agent>();

/**
 * `fetch` that verifies HTTPS against `ca`, the stack's CA of local cells and routers, or against the system's roots
 * when there is none (cloud cells behind public certificates).
 */
export function fetchTrusting(ca: string | undefined): typeof fetch {
    const key = ca ?? "";
    if (!agents.has(key)) agents.set(key, agentTrusting(ca));
    return retryingReads(agents.get(key)!, ca);
}

const agentTrusting = (ca: string | undefined) => new Agent(ca ? { connect: { ca } } : {});

/**
 * Our apps keep idle connections 65 s, so a pooled socket may belong to an app a rollout has since restarted: a GET
 * on it fails at once with a network error, and is sent once more on a connection of its own. Writes are never
 * resent: the first may have been taken.
 */
function retryingReads(dispatcher: Agent, ca: string | undefined): typeof fetch {
    // Node's fetch is undici's, so it takes an undici dispatcher.
    const send = (input: Parameters<typeof fetch>[0], init: RequestInit | undefined, through: Agent) =>
        fetch(input, { ...init, dispatcher: through });
    return async (input, init) => {
        try {
            return await send(input, init, dispatcher);
        } catch (error) {
            const read = (init?.method ?? "GET").toUpperCase() === "GET";
            // fetch's network failures are TypeErrors, by name: jest's realm has a TypeError of its own.
            if (!read || (error as Error).name !== "TypeError" || init?.signal?.aborted) throw error;
            const fresh = agentTrusting(ca);
            try {
                const answer = await send(input, init, fresh);
                return new Response(await answer.arrayBuffer(), answer);
            } finally {
                await fresh.close();
            }
        }
    };
}
