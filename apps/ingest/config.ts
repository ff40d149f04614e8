import { z } from "zod";
import { cellEnvironment, loadConfig, requireBothOrNeither, routerKeyEnvironment } from "../shared/config";
import { clickhouseEnvironment, kafkaEnvironment, postgresEnvironment, requireConnectionSecrets } from "../shared/connections";

const kafka = { ...kafkaEnvironment, KAFKA_TOPIC: z.string().min(1).default("events") };

/** The ingest API's configuration: environment variables, checked once at start-up. */
const configSchema = z
    .object({ ...cellEnvironment, ...routerKeyEnvironment, ...postgresEnvironment, ...clickhouseEnvironment, ...kafka })
    .superRefine(requireConnectionSecrets)
    .superRefine(requireBothOrNeither);

/** The consumer's: Kafka, ClickHouse, and where it answers health checks and metrics. */
const consumerConfigSchema = z
    .object({
        ...z.object(cellEnvironment).pick({ PORT: true, HOST: true, TLS_CERT: true, TLS_KEY: true, CELL_ID: true }).shape,
        ...clickhouseEnvironment,
        ...kafka,
        /** How often the rollups are computed from the events marked since: how late `/v1/metrics` may be. */
        ROLLUP_REFRESH_MS: z.coerce.number().int().min(100).max(3_600_000).default(5_000),
    })
    .superRefine(requireConnectionSecrets)
    .superRefine(requireBothOrNeither);

export type IngestConfig = z.output<typeof configSchema>;
export type ConsumerConfig = z.output<typeof consumerConfigSchema>;

export const loadIngestConfig = (env: NodeJS.ProcessEnv = process.env): IngestConfig => loadConfig("ingest", configSchema, env);
export const loadConsumerConfig = (env: NodeJS.ProcessEnv = process.env): ConsumerConfig =>
    loadConfig("ingest-consumer", consumerConfigSchema, env);
