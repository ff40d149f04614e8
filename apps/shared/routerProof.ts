import { createHmac, timingSafeEqual } from "crypto";
import type { FastifyInstance } from "fastify";

/**
 * A residency's router proves to a cell of its residency that a request passed through it: an HMAC-SHA256, under the
 * residency's router key, of the time, the cell, the method and the path with its query. A header rather than a
 * client certificate, because cloud load balancers end TLS in front of the cells. A proof is good for one cell and
 * one request line, for `PROOF_LIFETIME_SECONDS` either side of its time.
 */
export const ROUTER_PROOF_HEADER = "x-cellplane-router-proof";
export const PROOF_LIFETIME_SECONDS = 60;

export interface ProvenRequest {
    cell: string;
    method: string;
    url: string;
}

const signature = (key: string, seconds: number, request: ProvenRequest) =>
    createHmac("sha256", key)
        .update(`v1\n${seconds}\n${request.cell}\n${request.method.toUpperCase()}\n${request.url}`)
        .digest("base64url");

/** The header value a router sends with `request`. */
export function routerProof(key: string, request: ProvenRequest, now = Date.now()): string {
    const seconds = Math.floor(now / 1000);
    return `v1.${seconds}.${signature(key, seconds, request)}`;
}

/** Why `proof` does not prove `request`, or undefined when it does. */
export function proofProblem(key: string, proof: string | undefined, request: ProvenRequest, now = Date.now()): string | undefined {
    const [version, time, mac, ...rest] = (proof ?? "").split(".");
    if (version !== "v1" || !/^\d{1,12}$/.test(time ?? "") || mac === undefined || rest.length > 0)
        return `missing or malformed ${ROUTER_PROOF_HEADER}`;
    const seconds = Number(time);
    if (Math.abs(now / 1000 - seconds) > PROOF_LIFETIME_SECONDS) return `${ROUTER_PROOF_HEADER} has expired`;
    // Compared as text, so only the one canonical encoding of the MAC verifies.
    const expected = Buffer.from(signature(key, seconds, request));
    const given = Buffer.from(mac);
    return given.length === expected.length && timingSafeEqual(given, expected) ? undefined : `${ROUTER_PROOF_HEADER} does not verify`;
}

/** The answer to a request without its router's proof. It names no tenant and no router, so it tells a prober nothing. */
export const NOT_FROM_ROUTER = {
    error: "this cell answers its residency's router only: send requests to the router of your residency",
};

/**
 * Refuses, with 401 and before anything else runs, every request to `api` that does not carry its residency
 * router's proof for this cell. Health checks and metrics sit outside `api`.
 */
export function routerOnly(api: FastifyInstance, options: { cellId: string; routerKey: string; onRefused?: () => void }): void {
    api.addHook("onRequest", async (request, reply) => {
        const header = request.headers[ROUTER_PROOF_HEADER];
        const problem = proofProblem(options.routerKey, Array.isArray(header) ? header[0] : header, {
            cell: options.cellId,
            method: request.method,
            url: request.url,
        });
        if (problem === undefined) return;
        options.onRefused?.();
        request.log.warn({ problem }, "request without its router's proof");
        return reply.code(401).send(NOT_FROM_ROUTER);
    });
}
