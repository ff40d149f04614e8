import type { ClickHouseClient } from "@clickhouse/client";
import Fastify, { FastifyInstance } from "fastify";
import { z } from "zod";
import { MAX_BATCH_EVENTS, MAX_BODY_BYTES, StoredEvent, validateEvents } from "../shared/events";
import type { ApiKeys } from "../shared/apiKeys";
import { tenantAuth } from "../shared/auth";
import type { IngestConfig } from "./config";
import type { ApiMetrics } from "./metrics";
import { RateLimiter } from "./rateLimit";
import { eventHeaders } from "./consumer";
import type { CoalescingProducer } from "./producer";
import { queryMetrics } from "./rollups";

export interface IngestDeps {
    config: Pick<IngestConfig, "CELL_ID" | "TENANTS" | "CELL_URLS">;
    keys: ApiKeys;
    producer: CoalescingProducer;
    clickhouse: ClickHouseClient;
    metrics: ApiMetrics;
}

const metricsQuery = z.strictObject({
    from: z.iso.datetime({ offset: true }),
    to: z.iso.datetime({ offset: true }),
    granularity: z.enum(["hour", "day"]).default("hour"),
    event_type: z.string().max(64).optional(),
});

/**
 * The ingest API of one cell. `POST /v1/events` takes one event or an array; a batch with an invalid event is
 * refused whole (400) unless `?partial=true`, which stores the valid ones and reports the rest. 202 means
 * Kafka has the events (acks=all).
 */
export function ingestServer(deps: IngestDeps): FastifyInstance {
    const { config, keys, producer, clickhouse, metrics } = deps;
    const limiter = new RateLimiter((tenant) => config.TENANTS[tenant]?.eventsPerSecond ?? 1);
    const app = Fastify({ bodyLimit: MAX_BODY_BYTES });

    const tenantOf = tenantAuth({
        cellId: config.CELL_ID, keys, tenants: config.TENANTS, cellUrls: config.CELL_URLS,
        onMisdirected: () => metrics.rejected.inc({ reason: "misdirected" }),
    });

    app.post<{ Querystring: { partial?: string } }>("/v1/events", async (request, reply) => {
        const tenant = await tenantOf(request, reply);
        if (!tenant) return reply;
        const items = Array.isArray(request.body) ? request.body : [request.body];
        if (items.length > MAX_BATCH_EVENTS) {
            metrics.rejected.inc({ reason: "too_large" }, items.length);
            return reply.code(413).send({ error: `${items.length} events in one request; send at most ${MAX_BATCH_EVENTS}` });
        }
        const foreign = items.flatMap((item, index) => (isObject(item) && "org_id" in item && item.org_id !== tenant ? [index] : []));
        if (foreign.length > 0) {
            metrics.rejected.inc({ reason: "foreign_org" }, items.length);
            return reply.code(403).send({ error: `events ${foreign.join(", ")} name another org_id than the API key's tenant ${tenant}; nothing was stored` });
        }
        const { valid, problems } = validateEvents(items);
        if (problems.length > 0 && request.query.partial !== "true") {
            metrics.rejected.inc({ reason: "invalid" }, items.length);
            return reply.code(400).send({ error: "invalid events; nothing was stored (send ?partial=true to store the valid ones)", problems });
        }
        metrics.rejected.inc({ reason: "invalid" }, items.length - valid.length);
        const allowed = limiter.take(tenant, valid.length);
        if (!allowed.ok) {
            metrics.rejected.inc({ reason: "rate_limited" }, valid.length);
            return reply.code(429).header("retry-after", String(allowed.retryAfterSeconds)).send({ error: `tenant ${tenant} is over its quota of ${config.TENANTS[tenant].eventsPerSecond} events/s` });
        }
        const receivedAt = new Date().toISOString();
        const stored: StoredEvent[] = valid.map(({ event }) => ({ ...event, received_at: receivedAt, _processing_time: receivedAt }));
        if (stored.length > 0) {
            await producer.send(stored.map((e) => ({ key: e.session_id, value: JSON.stringify(e), headers: eventHeaders(e) })));
        }
        metrics.accepted.inc(stored.length);
        return reply.code(202).send({ accepted: stored.length, rejected: problems });
    });

    app.get("/v1/metrics", async (request, reply) => {
        const tenant = await tenantOf(request, reply);
        if (!tenant) return reply;
        const query = metricsQuery.safeParse(request.query);
        if (!query.success) return reply.code(400).send({ error: "bad query", problems: query.error.issues.map((i) => ({ field: i.path.join("."), reason: i.message })) });
        const { from, to, granularity, event_type: eventType } = query.data;
        return { tenant, granularity, rows: await queryMetrics(clickhouse, { org: tenant, from, to, granularity, eventType }) };
    });

    app.get("/healthz", async () => ({ status: "ok", cell: config.CELL_ID }));

    app.get("/metrics", async (_request, reply) => reply.type(metrics.registry.contentType).send(await metrics.registry.metrics()));

    return app;
}

function isObject(value: unknown): value is Record<string, unknown> {
    return value !== null && typeof value === "object";
}
