/** The ingest API of one cell: HTTP → Kafka; the consumer (consumerMain.ts) takes events on to ClickHouse. Configured by environment variables (config.ts). */
import { clickhouseOf, kafkaOf, postgresPoolOf } from "../shared/connections";
import { ApiKeys } from "../shared/apiKeys";
import { Quotas } from "../shared/quotas";
import { migrate } from "../shared/migrations";
import { Readiness } from "../shared/readiness";
import { runService } from "../shared/service";
import { loadIngestConfig } from "./config";
import { apiMetrics } from "./metrics";
import { CoalescingProducer } from "./producer";
import { ingestServer } from "./server";
import { StorageMeter } from "./storage";

runService(async () => {
    const config = loadIngestConfig();
    const pool = postgresPoolOf(config);
    const clickhouse = clickhouseOf(config);
    const producer = kafkaOf(config, `ingest-${config.CELL_ID}`).producer();
    const storage = new StorageMeter(
        clickhouse,
        10_000,
        (error) => console.error("storage meter:", (error as Error).message),
        config.CLICKHOUSE.cluster,
    );
    const app = ingestServer({
        config,
        keys: new ApiKeys(pool),
        quotas: new Quotas(pool),
        storage,
        producer: new CoalescingProducer(producer, config.KAFKA_TOPIC),
        clickhouse,
        metrics: apiMetrics(),
    });
    const readiness = new Readiness();
    readiness.guard(app);
    const address = await app.listen({ port: config.PORT, host: config.HOST });
    console.log(`ingest of cell ${config.CELL_ID} listening on ${address}; ready once Postgres and Kafka answer (${address}/readyz)`);
    void readiness.bringUp([
        ["postgres", () => migrate(pool)],
        // Reached, authenticated and allowed to see the topic.
        ["kafka", () => producer.metadata({ topics: [config.KAFKA_TOPIC] }).then(() => undefined)],
    ]);

    return async () => {
        await app.close();
        await Promise.allSettled([producer.close(), clickhouse.close(), pool.end()]);
    };
});
