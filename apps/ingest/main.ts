/** The ingest API of one cell: HTTP → Kafka; the consumer (consumerMain.ts) takes events on to ClickHouse. Configured by environment variables (config.ts). */
import { clickhouseOf, kafkaOf, postgresPoolOf } from "../shared/connections";
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
    const pool = postgresPoolOf(config);
    await ensureSchema(pool, API_KEYS_DDL, ...QUOTAS_DDL);
    const clickhouse = clickhouseOf(config);
    const producer = kafkaOf(config, `ingest-${config.CELL_ID}`).producer({ idempotent: true, maxInFlightRequests: 1 });
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
