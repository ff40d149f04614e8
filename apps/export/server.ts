import Fastify, { FastifyInstance, FastifyReply, FastifyRequest } from "fastify";
import type { Pool } from "pg";
import { z } from "zod";
import type { ApiKeys } from "../shared/apiKeys";
import { tenantAuth } from "../shared/auth";
import type { ExportConfig } from "./config";
import { EVENTS_OBJECT, ExportRunner, nextRunOf, objectProblem, planRun } from "./runner";
import type { ExportStore, NewSchedule } from "./store";

export interface ExportDeps {
    config: Pick<ExportConfig, "CELL_ID" | "TENANTS" | "CELL_URLS">;
    keys: ApiKeys;
    pool: Pool;
    store: ExportStore;
    runner: ExportRunner;
}

const isoDay = z.iso.date();
const objects = z.array(z.string()).min(1).max(20).default([EVENTS_OBJECT]);
const scheduleBody = z.strictObject({
    name: z.string().regex(/^[a-z0-9][a-z0-9-]{0,62}$/, "lower-case letters, digits and dashes, at most 63"),
    cron: z.string().min(1),
    objects,
    lookbackDays: z.number().int().min(0).max(366).default(1),
    paused: z.boolean().default(false),
});
const exportBody = z.strictObject({ from: isoDay, to: isoDay, objects }).refine((b) => b.from <= b.to, { message: "from is after to", path: ["from"] });
const uuid = z.strictObject({ id: z.uuid() });

type Problem = { field: string; value?: unknown; reason: string };
const badRequest = (reply: FastifyReply, problems: Problem[]) => reply.code(400).send({ error: "bad request", problems });
/** Each problem with the field's path, the value sent there (if any) and zod's reason. */
const zodProblems = (error: z.ZodError, body: unknown) => error.issues.map((i) => ({
    field: i.path.join("."),
    value: i.path.reduce<unknown>((at, key) => (at !== null && typeof at === "object" ? (at as Record<PropertyKey, unknown>)[key] : undefined), body),
    reason: i.message,
}));

/**
 * The export API of one cell (seed 000 §2.3): a tenant's schedules (create, list, read, update, delete, trigger,
 * pause, resume), on-demand exports, and the jobs every run leaves. Tenants come from API keys.
 */
export function exportServer(deps: ExportDeps): FastifyInstance {
    const { config, keys, pool, store, runner } = deps;
    const tenantOf = tenantAuth({ cellId: config.CELL_ID, keys, tenants: config.TENANTS, cellUrls: config.CELL_URLS });
    const app = Fastify();

    /** A valid schedule body as stored, or the 400 naming each bad field. */
    async function scheduleOf(body: unknown, reply: FastifyReply): Promise<NewSchedule | undefined> {
        const parsed = scheduleBody.safeParse(body);
        if (!parsed.success) return void badRequest(reply, zodProblems(parsed.error, body));
        const { name, cron, objects, lookbackDays, paused } = parsed.data;
        const problems: Problem[] = [];
        let nextRunAt: Date | null = null;
        try {
            nextRunAt = nextRunOf(cron, new Date());
        } catch (error) {
            problems.push({ field: "cron", value: cron, reason: `${(error as Error).message}; use five fields (minute hour day month weekday, UTC) or six with seconds first` });
        }
        problems.push(...await objectProblems(objects));
        if (problems.length > 0) return void badRequest(reply, problems);
        return { name, cron, params: { objects, lookbackDays }, paused, nextRunAt };
    }

    async function objectProblems(list: string[]): Promise<Problem[]> {
        const found = await Promise.all(list.map(async (object, i) => ({ i, object, reason: await objectProblem(pool, object) })));
        return found.flatMap(({ i, object, reason }) => (reason ? [{ field: `objects.${i}`, value: object, reason }] : []));
    }

    const notFound = (reply: FastifyReply, what: string, id: string) => reply.code(404).send({ error: `no ${what} ${id} for this tenant` });

    /** The caller's tenant and the id in the path; a malformed id is as unknown as another tenant's. */
    async function tenantAndId(request: FastifyRequest, reply: FastifyReply, what: string): Promise<{ tenant: string; id: string } | undefined> {
        const tenant = await tenantOf(request, reply);
        if (!tenant) return undefined;
        const id = uuid.safeParse(request.params);
        if (id.success) return { tenant, id: id.data.id };
        notFound(reply, what, String((request.params as { id?: string }).id));
        return undefined;
    }

    app.post("/v1/schedules", async (request, reply) => {
        const tenant = await tenantOf(request, reply);
        const schedule = tenant && (await scheduleOf(request.body, reply));
        if (!tenant || !schedule) return reply;
        try {
            return reply.code(201).send(await store.createSchedule(tenant, schedule));
        } catch (error) {
            if ((error as { code?: string }).code === "23505") return reply.code(409).send({ error: `schedule "${schedule.name}" already exists; update it with PUT /v1/schedules/<id>` });
            throw error;
        }
    });

    app.get("/v1/schedules", async (request, reply) => {
        const tenant = await tenantOf(request, reply);
        return tenant ? { schedules: await store.schedules(tenant) } : reply;
    });

    app.get("/v1/schedules/:id", async (request, reply) => {
        const owned = await tenantAndId(request, reply, "schedule");
        if (!owned) return reply;
        return (await store.schedule(owned.tenant, owned.id)) ?? notFound(reply, "schedule", owned.id);
    });

    app.put("/v1/schedules/:id", async (request, reply) => {
        const owned = await tenantAndId(request, reply, "schedule");
        const schedule = owned && (await scheduleOf(request.body, reply));
        if (!owned || !schedule) return reply;
        return (await store.updateSchedule(owned.tenant, owned.id, schedule)) ?? notFound(reply, "schedule", owned.id);
    });

    app.delete("/v1/schedules/:id", async (request, reply) => {
        const owned = await tenantAndId(request, reply, "schedule");
        if (!owned) return reply;
        if (!(await store.deleteSchedule(owned.tenant, owned.id))) return notFound(reply, "schedule", owned.id);
        return reply.code(204).send();
    });

    for (const action of ["pause", "resume", "trigger"] as const) {
        app.post(`/v1/schedules/:id/${action}`, async (request, reply) => {
            const owned = await tenantAndId(request, reply, "schedule");
            if (!owned) return reply;
            const { tenant, id } = owned;
            const schedule = await store.schedule(tenant, id);
            if (!schedule) return notFound(reply, "schedule", id);
            if (action === "trigger") {
                const { from, to } = planRun(schedule, new Date());
                const job = await store.createJob(tenant, schedule.id, from, to, schedule.params.objects);
                runner.enqueue(job);
                return reply.code(202).send(job);
            }
            const { name, cron, params } = schedule;
            const paused = action === "pause";
            return store.updateSchedule(tenant, schedule.id, { name, cron, params, paused, nextRunAt: paused ? null : nextRunOf(cron, new Date()) });
        });
    }

    app.post("/v1/exports", async (request, reply) => {
        const tenant = await tenantOf(request, reply);
        if (!tenant) return reply;
        const parsed = exportBody.safeParse(request.body);
        if (!parsed.success) return badRequest(reply, zodProblems(parsed.error, request.body));
        const problems = await objectProblems(parsed.data.objects);
        if (problems.length > 0) return badRequest(reply, problems);
        const job = await store.createJob(tenant, null, parsed.data.from, parsed.data.to, parsed.data.objects);
        runner.enqueue(job);
        return reply.code(202).send(job);
    });

    app.get<{ Querystring: { schedule?: string } }>("/v1/jobs", async (request, reply) => {
        const tenant = await tenantOf(request, reply);
        if (!tenant) return reply;
        const schedule = request.query.schedule;
        if (schedule !== undefined && !z.uuid().safeParse(schedule).success) return badRequest(reply, [{ field: "schedule", value: schedule, reason: "is not a schedule id (UUID)" }]);
        return { jobs: await store.jobs(tenant, schedule) };
    });

    app.get("/v1/jobs/:id", async (request, reply) => {
        const owned = await tenantAndId(request, reply, "job");
        if (!owned) return reply;
        return (await store.job(owned.tenant, owned.id)) ?? notFound(reply, "job", owned.id);
    });

    app.get("/healthz", async () => ({ status: "ok", cell: config.CELL_ID }));

    return app;
}
