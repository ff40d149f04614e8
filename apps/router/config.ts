import { z } from "zod";
import { json, loadConfig } from "../shared/config";

/** One tenant's route, as the stack's `routing` output holds it (only what the router reads). */
const routeSchema = z.object({
    cell: z.string().min(1),
    residency: z.string().min(1),
    endpoints: z.object({ ingestUrl: z.url(), exportUrl: z.url() }),
});
export type TenantRoute = z.output<typeof routeSchema>;

/** A tenant another residency's router serves. */
const elsewhereSchema = z.object({ residency: z.string().min(1), router: z.url() });
export type ForeignTenant = z.output<typeof elsewhereSchema>;

/** The router's configuration: environment variables, checked once at start-up. */
const configSchema = z.object({
    PORT: z.coerce.number().int().min(0).max(65_535).default(8080),
    HOST: z.string().default("127.0.0.1"),
    /** The residency whose tenants this router serves; it forwards nothing of any other. */
    RESIDENCY: z.string().min(1),
    /** The routing table of the residency's tenants: tenant → its cell (from the stack's `routing` output). */
    ROUTES: json(z.record(z.string(), routeSchema)),
    /** Every other tenant of the environment: its residency and the router that serves it. */
    ELSEWHERE: json(z.record(z.string(), elsewhereSchema)),
    /** What a caller is told to wait when its cell does not answer. */
    RETRY_AFTER_SECONDS: z.coerce.number().int().positive().default(5),
    UPSTREAM_TIMEOUT_MS: z.coerce.number().int().positive().default(30_000),
    /** Requests to one cell the router holds open at once; beyond them its tenants get 503, and other cells are unaffected. */
    MAX_IN_FLIGHT_PER_CELL: z.coerce.number().int().positive().default(256),
});

export type RouterConfig = z.output<typeof configSchema>;

export const loadRouterConfig = (env: NodeJS.ProcessEnv = process.env): RouterConfig => loadConfig("router", configSchema, env);
