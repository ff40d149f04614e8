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

/**
 * Where a service listens, and its certificate where it serves HTTPS itself (local cells; in clusters the ingress
 * ends TLS). Both PEMs or neither: `requireBothOrNeither` checks it.
 */
export const listenEnvironment = {
    PORT: z.coerce.number().int().min(0).max(65_535).default(8080),
    /** 127.0.0.1 for a local cell; 0.0.0.0 in a pod. */
    HOST: z.string().default("127.0.0.1"),
    TLS_CERT: z.string().startsWith("-----BEGIN").optional(),
    TLS_KEY: z.string().min(1).optional(),
};

/** A service's certificate and key, when it serves HTTPS. */
export const tlsOf = (config: { TLS_CERT?: string; TLS_KEY?: string }) =>
    config.TLS_CERT && config.TLS_KEY ? { cert: config.TLS_CERT, key: config.TLS_KEY } : undefined;

export function requireBothOrNeither(config: { TLS_CERT?: string; TLS_KEY?: string }, ctx: z.RefinementCtx): void {
    if (Boolean(config.TLS_CERT) !== Boolean(config.TLS_KEY))
        ctx.addIssue({
            code: "custom",
            path: [config.TLS_CERT ? "TLS_KEY" : "TLS_CERT"],
            message: "is required with the other: HTTPS needs both the certificate and its key (PEM), plain HTTP neither",
        });
}

/** What every app of a cell is told about the cell: who it is and where its tenants live (its stores: `connections.ts`). */
export const cellEnvironment = {
    ...listenEnvironment,
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
    /** cell id → the URL of the router that serves it, for the 421 answer to a tenant of another cell. */
    ROUTER_URLS: json(z.record(z.string(), z.url())).default({}),
};

/** The key the cell's residency router signs its requests with (`routerProof.ts`): the tenant APIs answer nothing else. */
export const routerKeyEnvironment = {
    ROUTER_KEY: z.string().min(32, "must be at least 32 characters: the residency router's signing key, a Pulumi secret"),
};

/** Parses an app's environment once, at start-up; every problem is named with its variable. */
export function loadConfig<T extends z.ZodType>(app: string, schema: T, env: NodeJS.ProcessEnv = process.env): z.output<T> {
    const result = schema.safeParse(env);
    if (result.success) return result.data;
    const problems = result.error.issues.map((i) => `  - ${i.path.join(".")}: ${i.message}`).join("\n");
    throw new Error(`${app}: invalid configuration (environment variables):\n${problems}`);
}
