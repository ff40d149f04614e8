import type { FastifyReply, FastifyRequest } from "fastify";
import { ApiKeys, claimedTenant } from "./apiKeys";

export interface TenantAuthOptions {
    cellId: string;
    keys: ApiKeys;
    /** tenant → its cell, from the tenant directory. */
    tenants: Record<string, { cell: string }>;
    /** cell → the URL of its service, for the 421 answer. */
    cellUrls: Record<string, string>;
    onMisdirected?: () => void;
}

export const bearerKey = (request: FastifyRequest) => {
    const header = request.headers.authorization;
    return header?.startsWith("Bearer ") ? header.slice(7) : "";
};

/**
 * The caller's tenant, proven by its API key, if it may use this cell; otherwise the reply (401, or 421 naming
 * the tenant's own cell) is already sent and the answer is undefined.
 */
export function tenantAuth(options: TenantAuthOptions) {
    return async (request: FastifyRequest, reply: FastifyReply): Promise<string | undefined> => {
        const key = bearerKey(request);
        const claimed = claimedTenant(key);
        const home = claimed === undefined ? undefined : options.tenants[claimed]?.cell;
        if (claimed !== undefined && home !== undefined && home !== options.cellId) {
            // Another cell's tenant: its key lives there, so send it there before reading anything it sent.
            options.onMisdirected?.();
            reply.code(421).send({ error: `tenant ${claimed} lives on cell ${home}, not ${options.cellId}; send its requests there`, cell: home, url: options.cellUrls[home] });
            return undefined;
        }
        const tenant = home === undefined ? undefined : await options.keys.tenantOf(key);
        if (!tenant) {
            reply.code(401).send({ error: "missing or unknown API key: send Authorization: Bearer <key>" });
            return undefined;
        }
        return tenant;
    };
}
