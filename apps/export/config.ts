import { z } from "zod";
import { cellEnvironment, loadConfig, requireBothOrNeither, routerKeyEnvironment } from "../shared/config";
import { clickhouseEnvironment, objectStoreEnvironment, postgresEnvironment, requireConnectionSecrets } from "../shared/connections";

/** The export service's configuration: environment variables, checked once at start-up. */
const configSchema = z
    .object({
        ...cellEnvironment,
        ...routerKeyEnvironment,
        ...postgresEnvironment,
        ...clickhouseEnvironment,
        ...objectStoreEnvironment,
        PORT: z.coerce.number().int().min(0).max(65_535).default(8081),
        /** How often due schedules are looked for. */
        SCHEDULER_INTERVAL_MS: z.coerce.number().int().min(100).default(5_000),
        /** The longest one run of a job may take before it fails (and is tried again). */
        JOB_TIME_LIMIT_MS: z.coerce.number().int().min(1_000).max(86_400_000).default(1_800_000),
        /** How often months past the retention are looked for, archived and dropped (apps/export/archive.ts). */
        ARCHIVE_INTERVAL_MS: z.coerce.number().int().min(1_000).default(3_600_000),
        /** How often the daily reports ClickHouse computed are copied into the cell's Postgres. */
        DAILY_REPORTS_INTERVAL_MS: z.coerce.number().int().min(1_000).default(300_000),
        /** How long a file's signed download URL works: short, since anyone holding it can read the file. */
        DOWNLOAD_URL_SECONDS: z.coerce.number().int().min(1).max(3_600).default(900),
        /** The cell's Iceberg warehouse as ClickHouse reads it; absent, the cell has no lake to query. */
        LAKE_WAREHOUSE: z.url().optional(),
        /** What the tenants' lake readers' passwords derive from (`apps/lakehouse/lakeSql.ts`). */
        LAKE_QUERY_SECRET: z.string().min(32).optional(),
    })
    .superRefine((config, ctx) => {
        if (Boolean(config.LAKE_WAREHOUSE) !== Boolean(config.LAKE_QUERY_SECRET))
            ctx.addIssue({
                code: "custom",
                path: [config.LAKE_WAREHOUSE ? "LAKE_QUERY_SECRET" : "LAKE_WAREHOUSE"],
                message: "is required with the other: LAKE_WAREHOUSE and LAKE_QUERY_SECRET are set together, or neither",
            });
    })
    .superRefine(requireConnectionSecrets)
    .superRefine(requireBothOrNeither);

export type ExportConfig = z.output<typeof configSchema>;

export const loadExportConfig = (env: NodeJS.ProcessEnv = process.env): ExportConfig => loadConfig("export", configSchema, env);
