import { Cron } from "croner";
import type { FastifyInstance, FastifyReply, FastifyRequest } from "fastify";
import type { Pool } from "pg";
import { z } from "zod";
import type { ApiKeys } from "../shared/apiKeys";
import { tenantApi } from "../shared/auth";
import { serviceApp } from "../shared/http";
import type { Quotas } from "../shared/quotas";
import type { ExportConfig } from "./config";
import { EVENTS_OBJECT, ExportRunner, nextRunOf, objectProblem, planRun } from "./runner";
import type { ExportStore, NewSchedule } from "./store";

export interface ExportDeps {
    config: Pick<ExportConfig, "CELL_ID" | "TENANTS" | "CELL_URLS">;
    keys: ApiKeys;
    quotas: Quotas;
    pool: Pool;
    store: ExportStore;
    runner: ExportRunner;
}

/** What one tenant may ask of its cell's exports, so no tenant can starve the others' (the runner takes tenants in turn). */
const EXPORT_LIMITS = {
    schedulesPerTenant: 20,
    /** Shortest time between two runs of a schedule. */
    minCronIntervalMinutes: 15,
    /** Most days a run exports: a schedule's look-back and an on-demand range. */
    maxDays: 31,
    /** Most of a tenant's jobs queued or running at once. */
    unfinishedJobsPerTenant: 10,
};

const isoDay = z.iso.date();
const objectsField = z.array(z.string()).min(1).max(20).default([EVENTS_OBJECT]);
const scheduleBody = z.strictObject({
    name: z.string().regex(/^[a-z0-9][a-z0-9-]{0,62}$/, "lower-case letters, digits and dashes, at most 63"),
    cron: z.string().min(1).max(200),
    objects: objectsField,
    lookbackDays: z
        .number()
        .int()
        .min(0)
        .max(EXPORT_LIMITS.maxDays - 1, `at most ${EXPORT_LIMITS.maxDays - 1}: a run exports at most ${EXPORT_LIMITS.maxDays} days`)
        .default(1),
    paused: z.boolean().default(false),
});
const DAY_MS = 86_400_000;
const exportBody = z
    .strictObject({ from: isoDay, to: isoDay, objects: objectsField })
    .refine((b) => b.from <= b.to, { message: "from is after to", path: ["from"] })
    .refine((b) => Date.parse(b.to) - Date.parse(b.from) < EXPORT_LIMITS.maxDays * DAY_MS, {
        message: `spans more than ${EXPORT_LIMITS.maxDays} days; split it into several exports`,
        path: ["to"],
    })
    .refine((b) => Date.parse(b.to) <= Date.now() + DAY_MS, { message: "is in the future", path: ["to"] });
const uuid = z.strictObject({ id: z.uuid() });

type Problem = { field: string; value?: unknown; reason: string };
const badRequest = (reply: FastifyReply, problems: Problem[]) => reply.code(400).send({ error: "bad request", problems });
/** Each problem with the field's path, the value sent there (if any) and zod's reason. */
const zodProblems = (error: z.ZodError, body: unknown) =>
    error.issues.map((i) => ({
        field: i.path.join("."),
        value: i.path.reduce<unknown>(
            (at, key) => (at !== null && typeof at === "object" ? (at as Record<PropertyKey, unknown>)[key] : undefined),
            body,
        ),
        reason: i.message,
    }));

/** Why a cron expression may not drive a schedule, or undefined: croner must read it, and runs must be far enough apart. */
function cronProblem(cron: string): string | undefined {
    let runs: Date[];
    try {
        runs = new Cron(cron, { timezone: "UTC", paused: true }).nextRuns(50);
    } catch (error) {
        return `${(error as Error).message}; use five fields (minute hour day month weekday, UTC) or six with seconds first`;
    }
    if (runs.length === 0) return "never fires";
    const shortest = Math.min(...runs.slice(1).map((run, i) => run.getTime() - runs[i].getTime()));
    if (shortest < EXPORT_LIMITS.minCronIntervalMinutes * 60_000) {
        return `fires ${Math.round(shortest / 1000)} s apart; runs must be at least ${EXPORT_LIMITS.minCronIntervalMinutes} minutes apart (e.g. "*/${EXPORT_LIMITS.minCronIntervalMinutes} * * * *")`;
    }
    return undefined;
}

/**
 * The export API of one cell (seed 000 §2.3): a tenant's schedules (create, list, read, update, delete, trigger,
 * pause, resume), on-demand exports, and the jobs every run leaves. Tenants come from API keys.
 */
export function exportServer(deps: ExportDeps): FastifyInstance {
    const { config, keys, quotas, pool, store, runner } = deps;
    const app = serviceApp();

    /** A valid schedule body as stored, or the 400 naming each bad field. */
    async function scheduleOf(body: unknown, reply: FastifyReply): Promise<NewSchedule | undefined> {
        const parsed = scheduleBody.safeParse(body);
        if (!parsed.success) return void badRequest(reply, zodProblems(parsed.error, body));
        const { name, cron, objects, lookbackDays, paused } = parsed.data;
        const cronReason = cronProblem(cron);
        const problems: Problem[] = [
            ...(cronReason ? [{ field: "cron", value: cron, reason: cronReason }] : []),
            ...(await objectProblems(objects)),
        ];
        if (problems.length > 0) return void badRequest(reply, problems);
        return { name, cron, params: { objects, lookbackDays }, paused, nextRunAt: nextRunOf(cron, new Date()) };
    }

    async function objectProblems(list: string[]): Promise<Problem[]> {
        const found = await Promise.all(list.map(async (object, i) => ({ i, object, reason: await objectProblem(pool, object) })));
        return found.flatMap(({ i, object, reason }) => (reason ? [{ field: `objects.${i}`, value: object, reason }] : []));
    }

    const notFound = (reply: FastifyReply, what: string, id: string) => reply.code(404).send({ error: `no ${what} ${id} for this tenant` });

    /** The id in the path; a malformed id is as unknown as another tenant's. */
    function idOf(request: FastifyRequest, reply: FastifyReply, what: string): string | undefined {
        const id = uuid.safeParse(request.params);
        if (id.success) return id.data.id;
        notFound(reply, what, String((request.params as { id?: string }).id));
        return undefined;
    }

    /** Queues a job unless the tenant already has its fill of unfinished ones (429). */
    async function queueJob(
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

    app.register(async (api) => {
        tenantApi(api, { cellId: config.CELL_ID, keys, quotas, tenants: config.TENANTS, cellUrls: config.CELL_URLS });

        api.post("/v1/schedules", async (request, reply) => {
            const schedule = await scheduleOf(request.body, reply);
            if (!schedule) return reply;
            if ((await store.scheduleCount(request.tenant)) >= EXPORT_LIMITS.schedulesPerTenant) {
                return reply.code(409).send({
                    error: `tenant ${request.tenant} has ${EXPORT_LIMITS.schedulesPerTenant} schedules, the most it may; delete one first`,
                });
            }
            try {
                return reply.code(201).send(await store.createSchedule(request.tenant, schedule));
            } catch (error) {
                if (isUniqueViolation(error))
                    return reply
                        .code(409)
                        .send({ error: `schedule "${schedule.name}" already exists; update it with PUT /v1/schedules/<id>` });
                throw error;
            }
        });

        api.get("/v1/schedules", async (request) => ({ schedules: await store.schedules(request.tenant) }));

        api.get("/v1/schedules/:id", async (request, reply) => {
            const id = idOf(request, reply, "schedule");
            if (!id) return reply;
            return (await store.schedule(request.tenant, id)) ?? notFound(reply, "schedule", id);
        });

        api.put("/v1/schedules/:id", async (request, reply) => {
            const id = idOf(request, reply, "schedule");
            const schedule = id && (await scheduleOf(request.body, reply));
            if (!id || !schedule) return reply;
            try {
                return (await store.updateSchedule(request.tenant, id, schedule)) ?? notFound(reply, "schedule", id);
            } catch (error) {
                if (isUniqueViolation(error))
                    return reply.code(409).send({ error: `another schedule is named "${schedule.name}"; choose another name` });
                throw error;
            }
        });

        api.delete("/v1/schedules/:id", async (request, reply) => {
            const id = idOf(request, reply, "schedule");
            if (!id) return reply;
            if (!(await store.deleteSchedule(request.tenant, id))) return notFound(reply, "schedule", id);
            return reply.code(204).send();
        });

        for (const action of ["pause", "resume", "trigger"] as const) {
            api.post(`/v1/schedules/:id/${action}`, async (request, reply) => {
                const id = idOf(request, reply, "schedule");
                if (!id) return reply;
                const schedule = await store.schedule(request.tenant, id);
                if (!schedule) return notFound(reply, "schedule", id);
                if (action === "trigger") {
                    const { from, to } = planRun(schedule, new Date());
                    return queueJob(reply, request.tenant, schedule.id, from, to, schedule.params.objects);
                }
                const { name, cron, params } = schedule;
                const paused = action === "pause";
                return store.updateSchedule(request.tenant, schedule.id, {
                    name,
                    cron,
                    params,
                    paused,
                    nextRunAt: paused ? null : nextRunOf(cron, new Date()),
                });
            });
        }

        api.post("/v1/exports", async (request, reply) => {
            const parsed = exportBody.safeParse(request.body);
            if (!parsed.success) return badRequest(reply, zodProblems(parsed.error, request.body));
            const problems = await objectProblems(parsed.data.objects);
            if (problems.length > 0) return badRequest(reply, problems);
            return queueJob(reply, request.tenant, null, parsed.data.from, parsed.data.to, parsed.data.objects);
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
    });

    app.get("/healthz", async () => ({ status: "ok", cell: config.CELL_ID }));

    return app;
}

const isUniqueViolation = (error: unknown) => (error as { code?: string }).code === "23505";
