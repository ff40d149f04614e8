import { z } from "zod";

/** An environment variable holding JSON, parsed and then checked with `schema`. */
export const json = <T extends z.ZodType>(schema: T) =>
    z
        .string()
        .transform((text, ctx) => {
            try {
                return JSON.parse(text);
            } catch {
                ctx.addIssue({ code: "custom", message: "is not JSON" });
                return z.NEVER;
            }
        })
        .pipe(schema);

/** What every app of a cell is told about the cell: who it is and where its tenants live (its stores: `connections.ts`). */
export const cellEnvironment = {
    PORT: z.coerce.number().int().min(0).max(65_535).default(8080),
    /** 127.0.0.1 for a local cell; 0.0.0.0 in a pod. */
    HOST: z.string().default("127.0.0.1"),
    CELL_ID: z.string().min(1),
    /** tenant id → its cell and its quotas, from the stack's tenant directory. */
    TENANTS: json(
        z.record(
            z.string(),
            z.object({
                cell: z.string(),
                eventsPerSecond: z.number().int().positive(),
                apiRequestsPerMinute: z.number().int().positive(),
                maxStorageGb: z.number().positive(),
            }),
        ),
    ),
    /** cell id → the public URL of its ingest service, for the 421 answer to a tenant of another cell. */
    CELL_URLS: json(z.record(z.string(), z.url())).default({}),
};

/** Parses an app's environment once, at start-up; every problem is named with its variable. */
export function loadConfig<T extends z.ZodType>(app: string, schema: T, env: NodeJS.ProcessEnv = process.env): z.output<T> {
    const result = schema.safeParse(env);
    if (result.success) return result.data;
    const problems = result.error.issues.map((i) => `  - ${i.path.join(".")}: ${i.message}`).join("\n");
    throw new Error(`${app}: invalid configuration (environment variables):\n${problems}`);
}
