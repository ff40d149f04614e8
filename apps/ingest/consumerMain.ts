/** The ingest consumer of one cell: Kafka → ClickHouse, exactly once (consumer.ts), the rollups computed from what it stored (rollups.ts), and the streaming job's windows (windowLoader.ts). Its own process, so it has a core of its own. */
import { ensureAnalyticsSchema } from "../shared/analytics";
import { tlsOf } from "../shared/config";
import { clickhouseOf, kafkaOf } from "../shared/connections";
import { healthRoute, metricsRoute, serviceApp } from "../shared/http";
import { Readiness } from "../shared/readiness";
import { runService } from "../shared/service";
import { loadConsumerConfig } from "./config";
import { EventConsumer, watchLag } from "./consumer";
import { consumerMetrics } from "./metrics";
import { RollupRefresher } from "./rollups";
import { WindowLoader } from "./windowLoader";

runService(async () => {
    const config = loadConsumerConfig();
    // Under the consumer group's rebalance timeout (60 s), so an insert never outlives this consumer's hold on its partition.
    const clickhouse = clickhouseOf(config, { request_timeout: 20_000 });
    const kafka = kafkaOf(config, `ingest-consumer-${config.CELL_ID}`);
    const metrics = consumerMetrics();
    const app = serviceApp({ tls: tlsOf(config) });
    const readiness = new Readiness();
    readiness.guard(app);
    healthRoute(app, config.CELL_ID);
    metricsRoute(app, metrics.registry);
    const address = await app.listen({ port: config.PORT, host: config.HOST });
    console.log(
        `ingest consumer of cell ${config.CELL_ID}: ${config.KAFKA_TOPIC} → ClickHouse; health, readiness and metrics on ${address}`,
    );

    let running: EventConsumer | undefined;
    let lag: { stop(): Promise<void> } | undefined;
    let windows: WindowLoader | undefined;
    // A client of its own: a round's recomputation may outlast the inserts' 20 s (a cell's first, over all it holds).
    const rollupsClickhouse = clickhouseOf(config, { request_timeout: 600_000 });
    const rollups = new RollupRefresher(rollupsClickhouse, metrics);
    void readiness
        .bringUp([
            [
                "clickhouse",
                async () => {
                    await ensureAnalyticsSchema(clickhouse, config.CLICKHOUSE.cluster);
                    rollups.start(config.ROLLUP_REFRESH_MS);
                },
            ],
            ["kafka", async () => void (running = await EventConsumer.start({ kafka, topic: config.KAFKA_TOPIC, clickhouse, metrics }))],
        ])
        .then(() => {
            lag = watchLag(kafka, config.KAFKA_TOPIC, metrics);
            windows = WindowLoader.start({ kafka, topic: config.KAFKA_TOPIC, clickhouse });
        });

    return async () => {
        await app.close();
        await Promise.allSettled([running?.close(), lag?.stop(), rollups.stop(), windows?.close()]);
        await Promise.allSettled([clickhouse.close(), rollupsClickhouse.close()]);
    };
});
