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
    })
    .superRefine(requireConnectionSecrets)
    .superRefine(requireBothOrNeither);

export type ExportConfig = z.output<typeof configSchema>;

export const loadExportConfig = (env: NodeJS.ProcessEnv = process.env): ExportConfig => loadConfig("export", configSchema, env);
