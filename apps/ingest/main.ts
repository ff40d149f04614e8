/** The ingest API of one cell: HTTP → Kafka; the consumer (consumerMain.ts) takes events on to ClickHouse. Configured by environment variables (config.ts). */
import { Kafka, logLevel } from "kafkajs";
import { Pool } from "pg";
import { clickhouseOf } from "../shared/analytics";
import { API_KEYS_DDL, ApiKeys } from "../shared/apiKeys";
import { Quotas, QUOTAS_DDL } from "../shared/quotas";
import { ensureSchema } from "../shared/schema";
import { runService } from "../shared/service";
import { loadIngestConfig } from "./config";
import { apiMetrics } from "./metrics";
import { CoalescingProducer } from "./producer";
import { ingestServer } from "./server";
import { StorageMeter } from "./storage";

runService(async () => {
    const config = loadIngestConfig();
    const pool = new Pool({ connectionString: config.POSTGRES_URL, max: 4 });
    await ensureSchema(pool, API_KEYS_DDL, ...QUOTAS_DDL);
    const clickhouse = clickhouseOf(config);
    const kafka = new Kafka({
        clientId: `ingest-${config.CELL_ID}`,
        brokers: config.KAFKA_BOOTSTRAP.split(","),
        logLevel: logLevel.WARN,
        retry: { retries: 10 },
    });
    const producer = kafka.producer({ idempotent: true, maxInFlightRequests: 1 });
    await producer.connect();
    const storage = new StorageMeter(clickhouse, 10_000, (error) => console.error("storage meter:", (error as Error).message));
    const app = ingestServer({
        config,
        keys: new ApiKeys(pool),
        quotas: new Quotas(pool),
        storage,
        producer: new CoalescingProducer(producer, config.KAFKA_TOPIC),
        clickhouse,
        metrics: apiMetrics(),
    });
    const address = await app.listen({ port: config.PORT, host: config.HOST });
    console.log(`ingest of cell ${config.CELL_ID} listening on ${address}`);

    return async () => {
        await app.close();
        await Promise.allSettled([producer.disconnect(), clickhouse.close(), pool.end()]);
    };
});
