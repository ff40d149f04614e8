import { z } from "zod";
import { json, listenEnvironment, loadConfig, requireBothOrNeither } from "../shared/config";

/** The router's configuration: environment variables, checked once at start-up. */
const configSchema = z
    .object({
        ...listenEnvironment,
        /** The residency whose tenants this router serves; it forwards nothing of any other. */
        RESIDENCY: z.string().min(1),
        /** The routing table (`routingTable.ts`), a file the router re-reads while it runs. */
        ROUTING_FILE: z.string().min(1),
        ROUTING_POLL_MS: z.coerce.number().int().min(100).default(2_000),
        /** cell → the key its proof is signed with (`../shared/routerProof.ts`): the residency's cells only. A secret. */
        ROUTER_KEYS: json(z.record(z.string(), z.string().min(32))),
        /** The CA bundle (PEM) the cells' HTTPS is verified with, where it is not the system's roots (local cells). */
        UPSTREAM_CA: z.string().startsWith("-----BEGIN").optional(),
        /** What a caller is told to wait when its cell does not answer. */
        RETRY_AFTER_SECONDS: z.coerce.number().int().positive().default(5),
        UPSTREAM_TIMEOUT_MS: z.coerce.number().int().positive().default(30_000),
        /** Requests to one cell the router holds open at once; beyond them its tenants get 503, and other cells are unaffected. */
        MAX_IN_FLIGHT_PER_CELL: z.coerce.number().int().positive().default(256),
    })
    .superRefine(requireBothOrNeither);

export type RouterConfig = z.output<typeof configSchema>;

export const loadRouterConfig = (env: NodeJS.ProcessEnv = process.env): RouterConfig => loadConfig("router", configSchema, env);
