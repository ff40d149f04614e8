import replyFrom from "@fastify/reply-from";
import type { FastifyInstance } from "fastify";
import { claimedTenant } from "../shared/apiKeys";
import { bearerKey, UNAUTHORIZED } from "../shared/auth";
import { MAX_BODY_BYTES } from "../shared/events";
import { serviceApp } from "../shared/http";
import type { RouterConfig, TenantRoute } from "./config";

const ID = "[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}";

/**
 * The tenant API's paths, exactly, and the service of a cell that answers each. A path is matched as the caller
 * sent it, so anything odd (`..`, backslashes, encoded characters, doubled slashes) matches nothing and reaches no
 * cell; a cell's own `/metrics` and `/healthz` are not routes.
 */
const ROUTES: [RegExp, (route: TenantRoute) => string][] = [
    [/^\/v1\/(events|metrics)$/, (route) => route.endpoints.ingestUrl],
    [
        new RegExp(`^/v1/(exports|schedules|jobs|schedules/${ID}|schedules/${ID}/(pause|resume|trigger)|jobs/${ID})$`),
        (route) => route.endpoints.exportUrl,
    ],
];

/** The largest body the router passes on: the ingest API's limit, the largest of the cells' APIs. */
const ROUTER_BODY_LIMIT = MAX_BODY_BYTES;

/**
 * A residency's front door: sends each request of the residency's tenants to the cell of the tenant its API key
 * names, streaming bodies through without reading or keeping them. The cell checks the key. A tenant is only ever
 * sent to its own cell: when that cell does not answer, the caller gets 503 and Retry-After, never another cell. A
 * tenant of another residency gets 421 and its own router's URL, decided from the key before any byte of the body
 * is read, so nothing of it passes through this residency.
 */
export function routerServer(
    config: Pick<
        RouterConfig,
        "RESIDENCY" | "ROUTES" | "ELSEWHERE" | "RETRY_AFTER_SECONDS" | "UPSTREAM_TIMEOUT_MS" | "MAX_IN_FLIGHT_PER_CELL"
    >,
): FastifyInstance {
    const app = serviceApp();
    const routes = new Map(Object.entries(config.ROUTES));
    const elsewhere = new Map(Object.entries(config.ELSEWHERE));
    let misdirected = 0;
    const inFlightByCell = new Map<string, number>();
    app.addHook("onRequest", async (request, reply) => {
        if (!request.url.startsWith("/v1/")) return;
        const tenant = claimedTenant(bearerKey(request));
        const foreign = tenant === undefined ? undefined : elsewhere.get(tenant);
        if (!foreign) return;
        misdirected += 1;
        // The body is never read: Node discards whatever of it arrives once the answer is sent.
        return reply.code(421).send({
            error: `tenant ${tenant} is served in residency ${foreign.residency}, not ${config.RESIDENCY}; send its requests to ${foreign.router}`,
            residency: foreign.residency,
            router: foreign.router,
        });
    });
    app.register(replyFrom, { undici: { headersTimeout: config.UPSTREAM_TIMEOUT_MS, bodyTimeout: config.UPSTREAM_TIMEOUT_MS } });
    // Bodies stay streams: the router forwards them and never parses or stores event data. A body must declare its
    // length, which the HTTP parser then holds it to, so the limit is checked before a byte is forwarded.
    app.removeAllContentTypeParsers();
    app.addContentTypeParser("*", (request, payload, done) => {
        const length = request.headers["content-length"];
        if (length === undefined)
            return done(
                httpError(411, "send the body with a Content-Length header; bodies of unknown length are not forwarded"),
                undefined,
            );
        if (Number(length) > ROUTER_BODY_LIMIT)
            return done(httpError(413, `the body is over ${ROUTER_BODY_LIMIT} bytes, the most a cell takes`), undefined);
        done(null, payload);
    });

    app.get("/healthz", async () => ({ status: "ok", residency: config.RESIDENCY, tenants: routes.size, misdirected }));

    app.all("/v1/*", async (request, reply) => {
        const path = request.url.split("?")[0];
        const service = ROUTES.find(([pattern]) => pattern.test(path))?.[1];
        if (!service) return reply.code(404).send({ error: `no API at ${JSON.stringify(path.slice(0, 200))}` });
        const tenant = claimedTenant(bearerKey(request));
        const route = tenant === undefined ? undefined : routes.get(tenant);
        // A tenant no cell holds gets the answer of a bad key, so tenant ids cannot be probed.
        if (!route) return reply.code(401).send(UNAUTHORIZED);
        // A slow cell holds at most its share of the router's sockets and memory; the other cells keep theirs.
        const inFlight = inFlightByCell.get(route.cell) ?? 0;
        if (inFlight >= config.MAX_IN_FLIGHT_PER_CELL)
            return reply
                .code(503)
                .header("retry-after", String(config.RETRY_AFTER_SECONDS))
                .send({
                    error: `cell ${route.cell} already has ${inFlight} requests in flight through this router, its limit; retry in ${config.RETRY_AFTER_SECONDS} s`,
                    cell: route.cell,
                });
        inFlightByCell.set(route.cell, inFlight + 1);
        reply.raw.once("close", () => inFlightByCell.set(route.cell, (inFlightByCell.get(route.cell) ?? 1) - 1));
        return reply.from(`${service(route).replace(/\/$/, "")}${request.url}`, {
            onError: (failed, { error }) => {
                request.log.warn({ cell: route.cell, error: error.message }, "cell unreachable");
                failed
                    .code(503)
                    .header("retry-after", String(config.RETRY_AFTER_SECONDS))
                    .send({
                        error: `cell ${route.cell} (residency ${route.residency}) of tenant ${tenant} does not answer; retry in ${config.RETRY_AFTER_SECONDS} s. Requests are never sent to another cell.`,
                        cell: route.cell,
                    });
            },
        });
    });

    return app;
}

const httpError = (statusCode: number, message: string) => Object.assign(new Error(message), { statusCode });
