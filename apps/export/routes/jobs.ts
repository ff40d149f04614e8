import type { FastifyInstance, FastifyReply } from "fastify";
import { z } from "zod";
import { tenantDownload } from "../downloads";
import type { ExportDeps } from "../server";
import { badRequest, EXPORT_LIMITS, exportBody, idOf, notFound, objectProblems, zodProblems } from "../requests";

/** Queues a job unless the tenant already has its fill of unfinished ones (429). */
export async function queueJob(
    { store, runner }: Pick<ExportDeps, "store" | "runner">,
    reply: FastifyReply,
    tenant: string,
    scheduleId: string | null,
    from: string,
    to: string,
    objectList: string[],
) {
    const unfinished = await store.unfinishedJobCount(tenant);
    if (unfinished >= EXPORT_LIMITS.unfinishedJobsPerTenant) {
        return reply
            .code(429)
            .header("retry-after", "60")
            .send({ error: `tenant ${tenant} has ${unfinished} exports queued or running, the most it may; wait for them to finish` });
    }
    const job = await store.createJob(tenant, scheduleId, from, to, objectList);
    runner.enqueue(job);
    return reply.code(202).send(job);
}

/** On-demand exports, and the jobs every run leaves. */
export function jobRoutes(api: FastifyInstance, deps: ExportDeps): void {
    const { pool, store } = deps;
    api.post("/v1/exports", async (request, reply) => {
        const parsed = exportBody.safeParse(request.body);
        if (!parsed.success) return badRequest(reply, zodProblems(parsed.error, request.body));
        const problems = await objectProblems(pool, parsed.data.objects);
        if (problems.length > 0) return badRequest(reply, problems);
        return queueJob(deps, reply, request.tenant, null, parsed.data.from, parsed.data.to, parsed.data.objects);
    });

    api.get<{ Querystring: { schedule?: string } }>("/v1/jobs", async (request, reply) => {
        const schedule = request.query.schedule;
        if (schedule !== undefined && !z.uuid().safeParse(schedule).success)
            return badRequest(reply, [{ field: "schedule", value: schedule, reason: "is not a schedule id (UUID)" }]);
        return { jobs: await store.jobs(request.tenant, schedule) };
    });

    api.get("/v1/jobs/:id", async (request, reply) => {
        const id = idOf(request, reply, "job");
        if (!id) return reply;
        return (await store.job(request.tenant, id)) ?? notFound(reply, "job", id);
    });

    /** The job's files with their sizes and signed, short-lived URLs from the cell's own store. */
    api.get("/v1/jobs/:id/files", async (request, reply) => {
        const id = idOf(request, reply, "job");
        if (!id) return reply;
        const job = await store.job(request.tenant, id);
        if (!job) return notFound(reply, "job", id);
        if (job.status !== "succeeded")
            return reply.code(409).send({ error: `job ${id} is ${job.status}; its files can be fetched once it has succeeded` });
        const seconds = deps.config.DOWNLOAD_URL_SECONDS;
        const expiresAt = new Date(Date.now() + seconds * 1000).toISOString();
        const files = await Promise.all(
            (job.files ?? []).map(async (key) => ({
                key,
                bytes: job.fileBytes?.[key] ?? null,
                url: await tenantDownload(deps.downloads, request.tenant, key, seconds),
            })),
        );
        return { job: id, expiresAt, files };
    });
}
