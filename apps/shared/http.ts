import { randomUUID } from "crypto";
import Fastify, { FastifyError, FastifyInstance } from "fastify";

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
export function serviceApp(options: { bodyLimit?: number; tls?: { cert: string; key: string } } = {}): FastifyInstance {
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
    app.setErrorHandler((error: FastifyError, request, reply) => {
        if (error instanceof Unavailable) {
            request.log.warn({ reason: error.message, cause: String(error.cause ?? "") }, "unavailable");
            return reply
                .code(503)
                .header("retry-after", String(error.retryAfterSeconds))
                .send({ error: error.message, requestId: request.id });
        }
        const status = error.statusCode ?? 500;
        if (status < 500) return reply.code(status).send({ error: error.message, requestId: request.id });
        request.log.error({ err: error }, "request failed");
        return reply
            .code(500)
            .send({ error: `internal error; quote request id ${request.id} to the cell's operators`, requestId: request.id });
    });
    return app;
}
