import type { FastifyInstance } from "fastify";
import { planRun } from "../runner";
import { nextRunOf } from "../../shared/cron";
import type { ExportDeps } from "../server";
import { EXPORT_LIMITS, idOf, notFound, scheduleOf } from "../requests";
import { queueJob } from "./jobs";

/** A tenant's schedules: create, list, read, update, delete, trigger, pause and resume. */
export function scheduleRoutes(api: FastifyInstance, deps: ExportDeps): void {
    const { pool, store } = deps;
    api.post("/v1/schedules", async (request, reply) => {
        const schedule = await scheduleOf(pool, request.body, reply);
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
                return reply.code(409).send({ error: `schedule "${schedule.name}" already exists; update it with PUT /v1/schedules/<id>` });
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
        const schedule = id && (await scheduleOf(pool, request.body, reply));
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
                return queueJob(deps, reply, request.tenant, schedule.id, from, to, schedule.params.objects);
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
}

const isUniqueViolation = (error: unknown) => (error as { code?: string }).code === "23505";
