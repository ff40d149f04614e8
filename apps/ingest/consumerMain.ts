/** The ingest consumer of one cell: Kafka → ClickHouse, exactly once (consumer.ts). Its own process, so it has a core of its own. */
import Fastify from "fastify";
import { ensureAnalyticsSchema } from "../shared/analytics";
import { clickhouseOf, kafkaOf } from "../shared/connections";
import { runService } from "../shared/service";
import { loadConsumerConfig } from "./config";
import { startConsumer, watchLag } from "./consumer";
import { consumerMetrics } from "./metrics";

runService(async () => {
    const config = loadConsumerConfig();
    // Under the consumer group's rebalance timeout (60 s), so an insert never outlives this consumer's hold on its partition.
    const clickhouse = clickhouseOf(config, { request_timeout: 20_000 });
    await ensureAnalyticsSchema(clickhouse);
    const kafka = kafkaOf(config, `ingest-consumer-${config.CELL_ID}`);
    const metrics = consumerMetrics();
    const { consumer, producer } = await startConsumer({ kafka, topic: config.KAFKA_TOPIC, clickhouse, metrics });
    const lag = watchLag(kafka, config.KAFKA_TOPIC, metrics);
    const app = Fastify();
    app.get("/healthz", async () => ({ status: "ok", cell: config.CELL_ID }));
    app.get("/metrics", async (_request, reply) => reply.type(metrics.registry.contentType).send(await metrics.registry.metrics()));
    const address = await app.listen({ port: config.PORT, host: config.HOST });
    console.log(`ingest consumer of cell ${config.CELL_ID}: ${config.KAFKA_TOPIC} → ClickHouse; health and metrics on ${address}`);

    return async () => {
        await app.close();
        await Promise.allSettled([consumer.disconnect(), producer.disconnect(), lag.stop(), clickhouse.close()]);
    };
});
