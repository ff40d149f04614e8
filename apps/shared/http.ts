import { createHash, randomUUID, X509Certificate } from "crypto";
import * as fs from "fs";
import Fastify, { FastifyError, FastifyInstance } from "fastify";
import { Counter, Gauge, Registry } from "prom-client";

/** How long a client may take, so slow or idle connections cannot hold a service's sockets. */
export const SERVER_TIMEOUTS = {
    /** The whole request, body included. */
    requestTimeoutMs: 30_000,
    /** The request's headers. */
    headersTimeoutMs: 10_000,
    /** A socket with nothing moving. */
    idleTimeoutMs: 30_000,
    /**
     * An idle kept-alive connection between requests: longer than the idle timeout of the load balancers in front
     * (60 s on AWS and Azure), so they close first and never send a request on a socket this side is closing.
     */
    keepAliveTimeoutMs: 65_000,
};

/** An answer that is the cell's own fault or state, not the caller's: 503 with Retry-After. */
export class Unavailable extends Error {
    constructor(
        message: string,
        readonly retryAfterSeconds: number,
        cause?: unknown,
    ) {
        super(message, { cause });
    }
}

/**
 * A Fastify instance as every Cellplane service runs it: timeouts on every phase of a request, a request id
 * answered in `X-Request-Id`, and errors that never show a caller the text of Postgres, ClickHouse or Kafka (the
 * log has it, under the same request id).
 */
export function serviceApp(options: { bodyLimit?: number; tls?: { cert: string; key: string }; metrics?: Registry } = {}): FastifyInstance {
    // Node checks the header and request timeouts on this interval (30 s by default, which would triple them).
    const server = { headersTimeout: SERVER_TIMEOUTS.headersTimeoutMs, connectionsCheckingInterval: 1_000 };
    const app = Fastify({
        bodyLimit: options.bodyLimit,
        requestTimeout: SERVER_TIMEOUTS.requestTimeoutMs,
        connectionTimeout: SERVER_TIMEOUTS.idleTimeoutMs,
        keepAliveTimeout: SERVER_TIMEOUTS.keepAliveTimeoutMs,
        // Fastify gives an HTTPS server its `https` options only, so the timeouts go there too.
        ...(options.tls ? { https: { ...options.tls, ...server } } : { http: server }),
        genReqId: () => randomUUID(),
        // A field a route's schema does not know is refused with its name, never dropped in silence.
        ajv: { customOptions: { removeAdditional: false } },
        logger: { level: "warn" },
        // An HTTPS server's instance differs only in its Node server type; routes, hooks and `inject` are the same.
    }) as unknown as FastifyInstance;
    app.addHook("onRequest", async (request, reply) => void reply.header("x-request-id", request.id));
    if (options.metrics) countAnswers(app, options.metrics);
    if (options.metrics && options.tls) exposeCertificateExpiry(options.tls.cert, options.metrics);
    app.setErrorHandler((error: FastifyError, request, reply) => {
        if (error instanceof Unavailable) {
            request.log.warn({ reason: error.message, cause: String(error.cause ?? "") }, "unavailable");
            return reply
                .code(503)
                .header("retry-after", String(error.retryAfterSeconds))
                .send({ error: error.message, requestId: request.id });
        }
        const status = error.statusCode ?? 500;
        // A body Fastify refused before any route read it (bad JSON, a `__proto__` key): the body as a whole is at fault.
        if (status === 400)
            return reply.code(400).send({ error: error.message, problems: [{ field: "", reason: error.message }], requestId: request.id });
        if (status < 500) return reply.code(status).send({ error: error.message, requestId: request.id });
        request.log.error({ err: error }, "request failed");
        return reply
            .code(500)
            .send({ error: `internal error; quote request id ${request.id} to the cell's operators`, requestId: request.id });
    });
    return app;
}

/** Every answer by its status class (`2xx` … `5xx`): the error rate the health probe and the scrapers read. */
function countAnswers(app: FastifyInstance, registry: Registry): void {
    const answers = new Counter({
        name: "http_responses_total",
        help: "Answers by status class",
        labelNames: ["class"],
        registers: [registry],
    });
    app.addHook("onResponse", async (_request, reply) => void answers.inc({ class: `${Math.floor(reply.statusCode / 100)}xx` }));
}

/** When the certificate this app serves expires: the stores' certificates come from the same CA and rotate with it. */
function exposeCertificateExpiry(cert: string, registry: Registry): void {
    new Gauge({
        name: "tls_certificate_expiry_timestamp_seconds",
        help: "When the certificate the app serves expires, as Unix time",
        registers: [registry],
    }).set(Date.parse(new X509Certificate(cert).validTo) / 1000);
}

let version: string | undefined;

/** The running build: a hash of the script Node started, so a rollout can see which cells run which bundle. */
export function appVersion(): string {
    const script = process.argv[1];
    version ??=
        script && fs.existsSync(script) ? createHash("sha256").update(fs.readFileSync(script)).digest("hex").slice(0, 12) : "unknown";
    return version;
}

/** Liveness, with the cell and the build that answers. */
export function healthRoute(app: FastifyInstance, cellId: string): void {
    app.get("/healthz", async () => ({ status: "ok", cell: cellId, version: appVersion() }));
}

/** The registry's metrics in Prometheus's text format. */
export function metricsRoute(app: FastifyInstance, registry: Registry): void {
    app.get("/metrics", async (_request, reply) => reply.type(registry.contentType).send(await registry.metrics()));
}
