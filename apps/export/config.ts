import { z } from "zod";
import { cellEnvironment, loadConfig } from "../shared/config";

/** The export service's configuration: environment variables, checked once at start-up. */
const configSchema = z.object({
    ...cellEnvironment,
    PORT: z.coerce.number().int().min(0).max(65_535).default(8081),
    S3_ENDPOINT: z.url(),
    S3_BUCKET: z.string().min(1),
    /** Static keys where the store has them (SeaweedFS); cloud stores are reached with the cell's identity. */
    S3_ACCESS_KEY_ID: z.string().min(1).optional(),
    S3_SECRET_ACCESS_KEY: z.string().min(1).optional(),
    /** Postgres as ClickHouse reaches it (`host:port`), when that differs from POSTGRES_URL's host. */
    POSTGRES_ADDRESS_FOR_CLICKHOUSE: z.string().min(1).optional(),
    /** How often due schedules are looked for. */
    SCHEDULER_INTERVAL_MS: z.coerce.number().int().min(100).default(5_000),
});

export type ExportConfig = z.output<typeof configSchema>;

export const loadExportConfig = (env: NodeJS.ProcessEnv = process.env): ExportConfig => loadConfig("export", configSchema, env);
