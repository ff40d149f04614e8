import replyFrom from "@fastify/reply-from";
import Fastify, { FastifyInstance } from "fastify";
import { claimedTenant } from "../shared/apiKeys";
import { bearerKey } from "../shared/auth";
import type { RouterConfig, TenantRoute } from "./config";

/** Which service of a cell answers a path: ingest takes events and metrics, export the rest of the API. */
const SERVICES: [RegExp, (route: TenantRoute) => string][] = [
    [/^\/v1\/(events|metrics)(\/|\?|$)/, (route) => route.endpoints.ingestUrl],
    [/^\/v1\/(schedules|exports|jobs)(\/|\?|$)/, (route) => route.endpoints.exportUrl],
];

/**
 * The residency front door: sends each request to the cell of the tenant its API key names, streaming bodies
 * through without reading or keeping them. The cell checks the key. A tenant is only ever sent to its own cell:
 * when that cell does not answer, the caller gets 503 and Retry-After, never another cell.
 */
export function routerServer(config: Pick<RouterConfig, "ROUTES" | "RETRY_AFTER_SECONDS" | "UPSTREAM_TIMEOUT_MS">): FastifyInstance {
    const app = Fastify({ bodyLimit: 64 * 1024 * 1024 });
    app.register(replyFrom, { http: { requestOptions: { timeout: config.UPSTREAM_TIMEOUT_MS } } });
    // Bodies stay streams: the router forwards them and never parses or stores event data.
    app.removeAllContentTypeParsers();
    app.addContentTypeParser("*", (_request, payload, done) => done(null, payload));

    app.get("/healthz", async () => ({ status: "ok", tenants: Object.keys(config.ROUTES).length }));

    app.all("/v1/*", async (request, reply) => {
        const service = SERVICES.find(([path]) => path.test(request.url))?.[1];
        if (!service) return reply.code(404).send({ error: `no API at ${request.url.split("?")[0]}` });
        const tenant = claimedTenant(bearerKey(request));
        if (!tenant) return reply.code(401).send({ error: "missing API key: send Authorization: Bearer <key>" });
        const route = config.ROUTES[tenant];
        if (!route) return reply.code(404).send({ error: `tenant ${tenant} is not placed on any cell of this environment` });
        return reply.from(`${service(route).replace(/\/$/, "")}${request.url}`, {
            onError: (failed, { error }) => {
                request.log.warn({ cell: route.cell, error: error.message }, "cell unreachable");
                failed.code(503).header("retry-after", String(config.RETRY_AFTER_SECONDS)).send({
                    error: `cell ${route.cell} (residency ${route.residency}) of tenant ${tenant} does not answer; retry in ${config.RETRY_AFTER_SECONDS} s. Requests are never sent to another cell.`,
                    cell: route.cell,
                });
            },
        });
    });

    return app;
}
