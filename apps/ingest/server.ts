import type { ClickHouseClient } from "@clickhouse/client";
import type { FastifyInstance } from "fastify";
import { z } from "zod";
import type { ApiKeys } from "../shared/apiKeys";
import { tenantApi } from "../shared/auth";
import { MAX_BATCH_EVENTS, MAX_BODY_BYTES, StoredEvent, validateEvents } from "../shared/events";
import { tlsOf } from "../shared/config";
import { healthRoute, metricsRoute, serviceApp } from "../shared/http";
import { eventsRate, Quotas } from "../shared/quotas";
import type { IngestConfig } from "./config";
import { eventHeaders } from "./eventMessages";
import type { ApiMetrics } from "./metrics";
import type { CoalescingProducer } from "./producer";
import { DAY_MEASURES, MEASURES, type Measure, queryMetrics } from "./rollups";
import type { StorageMeter } from "./storage";

export interface IngestDeps {
    config: Pick<IngestConfig, "CELL_ID" | "TENANTS" | "ROUTER_URLS" | "ROUTER_KEY" | "TLS_CERT" | "TLS_KEY">;
    keys: ApiKeys;
    quotas: Quotas;
    storage: StorageMeter;
    producer: CoalescingProducer;
    clickhouse: ClickHouseClient;
    metrics: ApiMetrics;
}

/** `measures=events,unique_users,…`: which measures to answer, `events` unless asked. */
const measuresList = z
    .string()
    .default("events")
    .transform((text) => [...new Set(text.split(",").map((m) => m.trim()))])
    .pipe(
        z.array(
            z.enum(MEASURES, { error: (issue) => `unknown measure ${JSON.stringify(issue.input)}; ask for any of ${MEASURES.join(", ")}` }),
        ),
    );

const metricsQuery = z
    .strictObject({
        from: z.iso.datetime({ offset: true }),
        to: z.iso.datetime({ offset: true }),
        granularity: z.enum(["hour", "day"]).default("hour"),
        event_type: z.string().max(64).optional(),
        measures: measuresList,
    })
    .refine((q) => q.granularity === "day" || !q.measures.some((m) => (DAY_MEASURES as readonly Measure[]).includes(m)), {
        path: ["measures"],
        message: `${DAY_MEASURES.join(", ")} are measures of whole days: ask for them with granularity=day`,
    });

/** `?partial=true` stores the valid events of a batch; any other setting is refused, not read as false. */
const EVENTS_QUERY = {
    type: "object",
    properties: { partial: { type: "string", enum: ["true", "false"] } },
    additionalProperties: false,
} as const;

const GB = 1024 ** 3;

/**
 * The ingest API of one cell. `POST /v1/events` takes one event or an array; a batch with an invalid event is
 * refused whole (400) unless `?partial=true`, which stores the valid ones and reports the rest. 202 means
 * Kafka has the events (acks=all).
 */
export function ingestServer(deps: IngestDeps): FastifyInstance {
    const { config, keys, quotas, storage, producer, clickhouse, metrics } = deps;
    const app = serviceApp({ bodyLimit: MAX_BODY_BYTES, tls: tlsOf(config), metrics: metrics.registry });

    app.register(async (api) => {
        tenantApi(api, {
            config,
            keys,
            quotas,
            onRefused: (reason) => metrics.refusedRequests.inc({ reason }),
        });

        api.post<{ Querystring: { partial?: "true" | "false" } }>(
            "/v1/events",
            { schema: { querystring: EVENTS_QUERY } },
            async (request, reply) => {
                const tenant = request.tenant;
                const quota = config.TENANTS[tenant];
                const items = Array.isArray(request.body) ? request.body : [request.body];
                if (items.length > MAX_BATCH_EVENTS) {
                    metrics.rejected.inc({ reason: "too_large" }, items.length);
                    return reply.code(413).send({ error: `${items.length} events in one request; send at most ${MAX_BATCH_EVENTS}` });
                }
                const foreign = items.flatMap((item, index) =>
                    isObject(item) && "org_id" in item && item.org_id !== tenant ? [index] : [],
                );
                if (foreign.length > 0) {
                    metrics.rejected.inc({ reason: "foreign_org" }, items.length);
                    return reply.code(403).send({
                        error: `events ${foreign.join(", ")} name another org_id than the API key's tenant ${tenant}; nothing was stored`,
                    });
                }
                const { valid, problems } = validateEvents(items);
                if (problems.length > 0 && request.query.partial !== "true") {
                    metrics.rejected.inc({ reason: "invalid" }, items.length);
                    return reply
                        .code(400)
                        .send({ error: "invalid events; nothing was stored (send ?partial=true to store the valid ones)", problems });
                }
                metrics.rejected.inc({ reason: "invalid" }, items.length - valid.length);
                const used = storage.bytesOf(tenant);
                if (used > quota.maxStorageGb * GB) {
                    metrics.rejected.inc({ reason: "over_storage_quota" }, valid.length);
                    return reply.code(403).send({
                        error: `tenant ${tenant} stores ${(used / GB).toFixed(3)} GB, over its quota of ${quota.maxStorageGb} GB; nothing was stored. Delete data or raise cellplane:tenants[].quotas.maxStorageGb`,
                    });
                }
                const allowed =
                    valid.length === 0
                        ? { ok: true as const }
                        : await quotas.take(tenant, "events", eventsRate(quota.eventsPerSecond), valid.length);
                if (!allowed.ok) {
                    metrics.rejected.inc({ reason: "rate_limited" }, valid.length);
                    return reply
                        .code(429)
                        .header("retry-after", String(allowed.retryAfterSeconds))
                        .send({ error: `tenant ${tenant} is over its quota of ${quota.eventsPerSecond} events/s; nothing was stored` });
                }
                const receivedAt = new Date().toISOString();
                const stored: StoredEvent[] = valid.map(({ event }) => ({
                    ...event,
                    received_at: receivedAt,
                    _processing_time: receivedAt,
                }));
                if (stored.length > 0) {
                    await producer.send(
                        stored.map((e) => ({
                            key: Buffer.from(e.session_id),
                            value: Buffer.from(JSON.stringify(e)),
                            headers: eventHeaders(e),
                        })),
                    );
                }
                metrics.accepted.inc(stored.length);
                return reply.code(202).send({ accepted: stored.length, rejected: problems });
            },
        );

        api.get("/v1/metrics", async (request, reply) => {
            const query = metricsQuery.safeParse(request.query);
            if (!query.success)
                return reply.code(400).send({
                    error: "bad query",
                    problems: query.error.issues.map((i) => ({ field: i.path.join("."), reason: i.message })),
                });
            const { from, to, granularity, event_type: eventType, measures } = query.data;
            return {
                tenant: request.tenant,
                granularity,
                ...(await queryMetrics(clickhouse, { org: request.tenant, from, to, granularity, eventType, measures })),
            };
        });
    });

    healthRoute(app, config.CELL_ID);
    metricsRoute(app, metrics.registry);

    return app;
}

function isObject(value: unknown): value is Record<string, unknown> {
    return value !== null && typeof value === "object";
}
