import { Cron } from "croner";
import type { FastifyReply, FastifyRequest } from "fastify";
import type { Pool } from "pg";
import { z } from "zod";
import { EVENTS_OBJECT, objectProblem } from "./runner";
import { nextRunOf } from "../shared/cron";
import type { NewSchedule } from "./store";

/** What one tenant may ask of its cell's exports, so no tenant can starve the others' (the runner takes tenants in turn). */
export const EXPORT_LIMITS = {
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
export const exportBody = z
    .strictObject({ from: isoDay, to: isoDay, objects: objectsField })
    .refine((b) => b.from <= b.to, { message: "from is after to", path: ["from"] })
    .refine((b) => Date.parse(b.to) - Date.parse(b.from) < EXPORT_LIMITS.maxDays * DAY_MS, {
        message: `spans more than ${EXPORT_LIMITS.maxDays} days; split it into several exports`,
        path: ["to"],
    })
    .refine((b) => Date.parse(b.to) <= Date.now() + DAY_MS, { message: "is in the future", path: ["to"] });
const uuid = z.strictObject({ id: z.uuid() });

export type Problem = { field: string; value?: unknown; reason: string };
export const badRequest = (reply: FastifyReply, problems: Problem[]) => reply.code(400).send({ error: "bad request", problems });
/** Each problem with the field's path, the value sent there (if any) and zod's reason. */
export const zodProblems = (error: z.ZodError, body: unknown) =>
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

/** A valid schedule body as stored, or the 400 naming each bad field. */
export async function scheduleOf(pool: Pool, body: unknown, reply: FastifyReply): Promise<NewSchedule | undefined> {
    const parsed = scheduleBody.safeParse(body);
    if (!parsed.success) return void badRequest(reply, zodProblems(parsed.error, body));
    const { name, cron, objects, lookbackDays, paused } = parsed.data;
    const cronReason = cronProblem(cron);
    const problems: Problem[] = [
        ...(cronReason ? [{ field: "cron", value: cron, reason: cronReason }] : []),
        ...(await objectProblems(pool, objects)),
    ];
    if (problems.length > 0) return void badRequest(reply, problems);
    return { name, cron, params: { objects, lookbackDays }, paused, nextRunAt: nextRunOf(cron, new Date()) };
}

export async function objectProblems(pool: Pool, list: string[]): Promise<Problem[]> {
    const found = await Promise.all(list.map(async (object, i) => ({ i, object, reason: await objectProblem(pool, object) })));
    return found.flatMap(({ i, object, reason }) => (reason ? [{ field: `objects.${i}`, value: object, reason }] : []));
}

export const notFound = (reply: FastifyReply, what: string, id: string) =>
    reply.code(404).send({ error: `no ${what} ${id} for this tenant` });

/** The id in the path; a malformed id is as unknown as another tenant's. */
export function idOf(request: FastifyRequest, reply: FastifyReply, what: string): string | undefined {
    const id = uuid.safeParse(request.params);
    if (id.success) return id.data.id;
    notFound(reply, what, String((request.params as { id?: string }).id));
    return undefined;
}
