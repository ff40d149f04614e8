import { z } from "zod";
import { cellEnvironment, loadConfig } from "../shared/config";

/** The ingest service's configuration: environment variables, checked once at start-up. */
const configSchema = z.object({
    ...cellEnvironment,
    KAFKA_BOOTSTRAP: z.string().min(1),
    KAFKA_TOPIC: z.string().min(1).default("events"),
});

export type IngestConfig = z.output<typeof configSchema>;

export const loadIngestConfig = (env: NodeJS.ProcessEnv = process.env): IngestConfig => loadConfig("ingest", configSchema, env);
