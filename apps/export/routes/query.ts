import type { FastifyInstance } from "fastify";
import { z } from "zod";
import { QUERY_GUARDRAILS } from "../../lakehouse/lakeSql";
import { requestsRate } from "../../shared/quotas";
import type { ExportDeps } from "../server";
import { badRequest, zodProblems } from "../requests";

const queryBody = z.strictObject({
    sql: z
        .string()
        .min(1, "is empty: send one SELECT over events, sessions, daily_metrics or daily_events_by_type")
        .refine((sql) => Buffer.byteLength(sql) <= QUERY_GUARDRAILS.maxSqlBytes, `is longer than ${QUERY_GUARDRAILS.maxSqlBytes} bytes`),
});

/**
 * SQL over the cell's lake (seed 004): read-only, the tenant's own rows, within the statement timeout, the row limit,
 * and its own rate of queries per minute beside its API quota.
 */
export function queryRoutes(api: FastifyInstance, { lake, quotas, config }: ExportDeps): void {
    api.post("/v1/query", async (request, reply) => {
        if (!lake) return reply.code(404).send({ error: `cell ${config.CELL_ID} has no lakehouse tables to query` });
        const parsed = queryBody.safeParse(request.body);
        if (!parsed.success) return badRequest(reply, zodProblems(parsed.error, request.body));
        const rate = requestsRate(QUERY_GUARDRAILS.queriesPerMinute);
        const take = await quotas.take(request.tenant, "lake_queries", rate, 1);
        if (!take.ok) {
            return reply
                .code(429)
                .header("retry-after", String(take.retryAfterSeconds))
                .send({
                    error: `tenant ${request.tenant} is over its ${QUERY_GUARDRAILS.queriesPerMinute} lake queries per minute; retry in ${take.retryAfterSeconds} s`,
                });
        }
        try {
            return await lake.run(request.tenant, parsed.data.sql);
        } catch (error) {
            if ((error as Error).name !== "QueryRefused") throw error;
            const refused = error as Error & { status: number };
            return reply.code(refused.status).send({ error: refused.message });
        }
    });
}
