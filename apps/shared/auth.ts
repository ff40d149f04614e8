import type { FastifyInstance, FastifyReply, FastifyRequest } from "fastify";
import { ApiKeys, claimedTenant } from "./apiKeys";
import { Unavailable } from "./http";
import { Quotas, requestsRate } from "./quotas";
import { routerOnly } from "./routerProof";

declare module "fastify" {
    interface FastifyRequest {
        /** The caller's tenant, proven by its API key (set on a tenant API's routes only). */
        tenant: string;
    }
}

export interface TenantApiOptions {
    /**
     * The cell, its tenants (→ their cell and quotas, from the tenant directory), each cell's router for the 421
     * answer, and the key of the residency router's proof, without which a request gets 401 (`routerProof.ts`).
     */
    config: {
        CELL_ID: string;
        TENANTS: Record<string, { cell: string; apiRequestsPerMinute: number }>;
        ROUTER_URLS: Record<string, string>;
        ROUTER_KEY: string;
    };
    keys: ApiKeys;
    quotas: Quotas;
    onRefused?: (reason: "not_from_router" | "unauthorized" | "misdirected" | "over_request_quota") => void;
}

export const bearerKey = (request: FastifyRequest) => {
    const header = request.headers.authorization;
    return header?.startsWith("Bearer ") ? header.slice(7) : "";
};

/** The one answer to a missing key, a bad key and a tenant no cell holds, so tenants cannot be enumerated. */
export const UNAUTHORIZED = { error: "missing or unknown API key: send Authorization: Bearer <key>" };

/**
 * Makes every route of `api` a tenant's: before the body is read, the router's proof is checked (401), then the API
 * key (401, or 421 naming the router of the tenant's cell) and a request is taken from the tenant's `apiRequestsPerMinute` (429 with Retry-After);
 * answers carry `X-RateLimit-Remaining`.
 */
export function tenantApi(api: FastifyInstance, options: TenantApiOptions): void {
    api.decorateRequest("tenant", "");
    routerOnly(api, {
        cellId: options.config.CELL_ID,
        routerKey: options.config.ROUTER_KEY,
        onRefused: () => options.onRefused?.("not_from_router"),
    });
    api.addHook("onRequest", async (request, reply) => {
        const tenant = await metadataStore(() => authenticate(request, reply, options));
        if (tenant === undefined) return reply;
        const take = await metadataStore(() =>
            options.quotas.take(tenant, "requests", requestsRate(options.config.TENANTS[tenant].apiRequestsPerMinute), 1),
        );
        reply.header("x-ratelimit-remaining", String(take.remaining));
        if (!take.ok) {
            options.onRefused?.("over_request_quota");
            return reply
                .code(429)
                .header("retry-after", String(take.retryAfterSeconds))
                .send({
                    error: `tenant ${tenant} is over its quota of ${options.config.TENANTS[tenant].apiRequestsPerMinute} API requests per minute; retry in ${take.retryAfterSeconds} s`,
                });
        }
        request.tenant = tenant;
    });
}

/** Runs a step that needs the cell's Postgres; when Postgres does not answer, the caller gets 503, not 500. */
async function metadataStore<T>(step: () => Promise<T>): Promise<T> {
    try {
        return await step();
    } catch (error) {
        throw new Unavailable("the cell's metadata store does not answer; retry", 5, error);
    }
}

async function authenticate(request: FastifyRequest, reply: FastifyReply, options: TenantApiOptions): Promise<string | undefined> {
    const key = bearerKey(request);
    const claimed = claimedTenant(key);
    const { CELL_ID, TENANTS, ROUTER_URLS } = options.config;
    /** 421: the tenant's requests belong to `cell`, through the router that serves it. */
    const misdirected = (cell: string, why: string) => {
        options.onRefused?.("misdirected");
        reply.code(421).send({ error: `${why}; send its requests to ${ROUTER_URLS[cell]}`, cell, router: ROUTER_URLS[cell] });
        return undefined;
    };
    const home = claimed !== undefined && Object.hasOwn(TENANTS, claimed) ? TENANTS[claimed].cell : undefined;
    // Another cell's tenant (a router's table older than a move): its key lives there, so send it to that cell's
    // router before reading anything it sent.
    if (claimed !== undefined && home !== undefined && home !== CELL_ID)
        return misdirected(home, `tenant ${claimed} lives on cell ${home}, not ${CELL_ID}`);
    const owner = home === undefined ? undefined : await options.keys.ownerOf(key);
    if (owner === undefined) {
        options.onRefused?.("unauthorized");
        reply.code(401).send(UNAUTHORIZED);
        return undefined;
    }
    const { tenant, move } = owner;
    if (move?.state === "departed") return misdirected(move.otherCell, `tenant ${tenant} has moved to cell ${move.otherCell}`);
    if (move && !READS.has(request.method)) {
        // The fence of a move: nothing the tenant writes may land between the copy and the switch of its routing.
        reply
            .code(503)
            .header("retry-after", String(MOVE_RETRY_SECONDS))
            .send({
                error: `tenant ${tenant} is moving between cells; its writes resume within minutes, retry in ${MOVE_RETRY_SECONDS} s`,
            });
        return undefined;
    }
    return tenant;
}

const READS = new Set(["GET", "HEAD"]);
const MOVE_RETRY_SECONDS = 5;
