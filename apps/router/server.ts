import replyFrom from "@fastify/reply-from";
import type { FastifyInstance, FastifyRequest } from "fastify";
import { claimedTenant } from "../shared/apiKeys";
import { bearerKey, UNAUTHORIZED } from "../shared/auth";
import { tlsOf } from "../shared/config";
import { MAX_BODY_BYTES } from "../shared/events";
import { appVersion, metricsRoute, serviceApp } from "../shared/http";
import { ROUTER_PROOF_HEADER, routerProof } from "../shared/routerProof";
import type { RouterConfig } from "./config";
import { routerMetrics } from "./metrics";
import type { RoutedCell, RoutingDocument, TableRefusal } from "./routingTable";

const ID = "[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}";

/**
 * The tenant API's paths, exactly, and the service of a cell that answers each. A path is matched as the caller
 * sent it, so anything odd (`..`, backslashes, encoded characters, doubled slashes) matches nothing and reaches no
 * cell; a cell's own `/metrics` and `/healthz` are not routes.
 */
const ROUTES: [RegExp, (cell: RoutedCell) => string][] = [
    [/^\/v1\/(events|metrics)$/, (cell) => cell.ingestUrl],
    [
        new RegExp(
            `^/v1/(exports|schedules|jobs|query|schedules/${ID}|schedules/${ID}/(pause|resume|trigger)|jobs/${ID}|jobs/${ID}/files)$`,
        ),
        (cell) => cell.exportUrl,
    ],
];

/** The largest body the router passes on: the ingest API's limit, the largest of the cells' APIs. */
const ROUTER_BODY_LIMIT = MAX_BODY_BYTES;

/** Where the router's table comes from: `routingTable.ts` keeps it, re-read while the router runs. */
export interface RoutingSource {
    readonly current: RoutingDocument;
    readonly refused: readonly TableRefusal[];
}

/**
 * A residency's front door: sends each request of the residency's tenants to the cell of the tenant its API key
 * names, streaming bodies through without reading or keeping them, with the router's proof for that cell. The cell
 * checks the key. A tenant is only ever sent to its own cell (or the one operators pinned it to): when that cell
 * does not answer, the caller gets 503 and Retry-After, never another cell. A tenant of another residency gets 421
 * and its own router's URL, decided from the key before any byte of the body is read, so nothing of it passes
 * through this residency.
 */
export function routerServer(
    config: Pick<
        RouterConfig,
        | "RESIDENCY"
        | "ROUTER_KEYS"
        | "UPSTREAM_CA"
        | "RETRY_AFTER_SECONDS"
        | "UPSTREAM_TIMEOUT_MS"
        | "MAX_IN_FLIGHT_PER_CELL"
        | "TLS_CERT"
        | "TLS_KEY"
    >,
    routing: RoutingSource,
): FastifyInstance {
    const refused = { misdirected: 0, quarantined: 0 };
    const metrics = routerMetrics({ refused, tableSerial: () => routing.current.serial });
    const app = serviceApp({ tls: tlsOf(config), metrics });
    metricsRoute(app, metrics);
    const inFlightByCell = new Map<string, number>();
    app.addHook("onRequest", async (request, reply) => {
        if (!request.url.startsWith("/v1/")) return;
        const tenant = claimedTenant(bearerKey(request));
        const foreign = tenant === undefined ? undefined : ownValue(routing.current.elsewhere, tenant);
        if (!foreign) return;
        refused.misdirected += 1;
        // The body is never read: Node discards whatever of it arrives once the answer is sent.
        return reply.code(421).send({
            error: `tenant ${tenant} is served in residency ${foreign.residency}, not ${config.RESIDENCY}; send its requests to ${foreign.router}`,
            residency: foreign.residency,
            router: foreign.router,
        });
    });
    app.register(replyFrom, {
        undici: {
            headersTimeout: config.UPSTREAM_TIMEOUT_MS,
            bodyTimeout: config.UPSTREAM_TIMEOUT_MS,
            ...(config.UPSTREAM_CA ? { connect: { ca: config.UPSTREAM_CA } } : {}),
        },
    });
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

    app.get("/healthz", async () => {
        const table = routing.current;
        return {
            status: "ok",
            residency: config.RESIDENCY,
            version: appVersion(),
            table: { serial: table.serial, tenants: Object.keys(table.tenants).length, overrides: table.overrides },
            tablesRefused: routing.refused,
            ...refused,
        };
    });

    app.all("/v1/*", async (request, reply) => {
        const path = request.url.split("?")[0];
        const service = ROUTES.find(([pattern]) => pattern.test(path))?.[1];
        if (!service) return reply.code(404).send({ error: `no API at ${JSON.stringify(path.slice(0, 200))}` });
        const table = routing.current;
        const tenant = claimedTenant(bearerKey(request));
        const placed = tenant === undefined ? undefined : ownValue(table.tenants, tenant);
        // A tenant no cell holds gets the answer of a bad key, so tenant ids cannot be probed.
        if (tenant === undefined || placed === undefined) return reply.code(401).send(UNAUTHORIZED);
        const override = ownValue(table.overrides, tenant);
        if (override?.action === "quarantine") {
            refused.quarantined += 1;
            return reply
                .code(423)
                .send({ error: `tenant ${tenant} is quarantined by the operators of residency ${config.RESIDENCY}: ${override.reason}` });
        }
        const cellId = override?.action === "pin" ? override.cell : placed;
        const cell = table.cells[cellId];
        // A slow cell holds at most its share of the router's sockets and memory; the other cells keep theirs.
        const inFlight = inFlightByCell.get(cellId) ?? 0;
        if (inFlight >= config.MAX_IN_FLIGHT_PER_CELL)
            return reply
                .code(503)
                .header("retry-after", String(config.RETRY_AFTER_SECONDS))
                .send({
                    error: `cell ${cellId} already has ${inFlight} requests in flight through this router, its limit; retry in ${config.RETRY_AFTER_SECONDS} s`,
                    cell: cellId,
                });
        inFlightByCell.set(cellId, inFlight + 1);
        reply.raw.once("close", () => inFlightByCell.set(cellId, (inFlightByCell.get(cellId) ?? 1) - 1));
        const target = `${service(cell).replace(/\/$/, "")}${request.url}`;
        const key = ownValue(config.ROUTER_KEYS, cellId);
        return reply.from(target, {
            rewriteRequestHeaders: (_request, headers) => ({
                ...headers,
                [ROUTER_PROOF_HEADER]: key
                    ? routerProof(key, { cell: cellId, method: request.method, url: upstreamPath(target, request) })
                    : "",
            }),
            onError: (failed, { error }) => {
                request.log.warn({ cell: cellId, error: error.message }, "cell unreachable");
                failed
                    .code(503)
                    .header("retry-after", String(config.RETRY_AFTER_SECONDS))
                    .send({
                        error: `cell ${cellId} (residency ${config.RESIDENCY}) of tenant ${tenant} does not answer; retry in ${config.RETRY_AFTER_SECONDS} s. Requests are never sent to another cell.`,
                        cell: cellId,
                    });
            },
        });
    });

    return app;
}

/** The path and query the cell receives for `target`, as reply-from builds its request line. */
function upstreamPath(target: string, request: FastifyRequest): string {
    const url = new URL(target);
    const query = request.url.indexOf("?");
    return url.pathname + (url.search || (query > 0 ? request.url.slice(query) : ""));
}

/** A record's own entry: a tenant id such as `constructor` or `__proto__` is just an unknown tenant. */
const ownValue = <T>(record: Record<string, T>, key: string): T | undefined => (Object.hasOwn(record, key) ? record[key] : undefined);

const httpError = (statusCode: number, message: string) => Object.assign(new Error(message), { statusCode });
