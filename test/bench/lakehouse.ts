/**
 * `npm run bench:lakehouse`: rows/s the bronze job of one real local cell takes from its events topic into its
 * Iceberg lake (BENCH_ROWS events of one tenant), and beside it ClickHouse's own Parquet export of the same rows into
 * the same bucket (`INSERT INTO FUNCTION s3(…, 'Parquet')`), in the same run.
 */
import { v7 as uuidv7 } from "uuid";
import { localSpark, submitLocally } from "../../apps/lakehouse/sparkSubmit";
import { EVENTS_TOPIC } from "../../apps/shared/topics";
import { lakeBucketOf } from "../../components/bucketNames";
import { kafkaOfCell } from "../../scripts/ops/cellClients";
import { lakehouseOfCell } from "../../scripts/ops/jobs";
import { clickhouseOf, deployCells, destroyCells, eventually, storedEvents } from "../e2e/apps/cell";
import { isolatedLocalStack } from "../support/project";

const ROWS = Number(process.env.BENCH_ROWS ?? 500_000);
const BATCH = 5_000;

const eventAt = (i: number, start: number) =>
    JSON.stringify({
        event_id: uuidv7(),
        org_id: "acme",
        user_id: `u-${i % 1000}`,
        session_id: `s-${i % 50_000}`,
        event_type: "code_generated",
        event_category: "usage",
        timestamp: new Date(start + i).toISOString(),
        region: "eu-local",
        environment: "production",
        metadata: { tokens: i % 5000, model: `m-${i % 7}` },
        received_at: new Date().toISOString(),
        _processing_time: new Date().toISOString(),
    });

async function main() {
    console.log("bench:lakehouse: bringing up an isolated local cell…");
    const stack = isolatedLocalStack("cellplane-bench-lakehouse-", (config) => {
        config["cellplane:cells"] = config["cellplane:cells"].slice(0, 1);
        config["cellplane:tenants"] = [{ id: "acme", residency: "eu" }];
    });
    try {
        const eu = deployCells(stack)["local-eu"];
        console.log(`bench:lakehouse: sending ${ROWS.toLocaleString("en")} events to the cell's topic…`);
        const producer = kafkaOfCell(eu, "cellplane-bench").producer();
        const start = Date.now() - ROWS;
        for (let sent = 0; sent < ROWS; sent += BATCH) {
            const messages = Array.from({ length: Math.min(BATCH, ROWS - sent) }, (_, i) => ({
                topic: EVENTS_TOPIC,
                key: Buffer.from(`s-${(sent + i) % 50_000}`),
                value: Buffer.from(eventAt(sent + i, start)),
            }));
            await producer.send({ messages });
        }
        await producer.close();
        // The consumer stores the same messages in ClickHouse: the reference's rows.
        if (!(await eventually(async () => (await storedEvents(eu, "acme")).rows === ROWS, 600_000)))
            throw new Error("ClickHouse did not store every event within 10 minutes");

        const spark = localSpark();
        const cell = lakehouseOfCell("local-eu", eu);
        const timed = async () => {
            const started = Date.now();
            const [outcome] = await submitLocally(spark, cell, ["bronze"], () => {});
            if (!("rows" in outcome)) throw new Error(`bronze failed: ${outcome.error}`);
            return { rows: outcome.rows, seconds: (Date.now() - started) / 1000 };
        };
        console.log("bench:lakehouse: running bronze, then once more with nothing new (Spark's own start and commit)…");
        const bronze = await timed();
        const idle = await timed();
        if (bronze.rows !== ROWS) throw new Error(`bronze took ${bronze.rows} rows of ${ROWS}`);

        const clickhouse = clickhouseOf(eu);
        const { accessKeyId, secretAccessKey } = eu.credentials.objectStoreKeys;
        const target = `${eu.endpoints.objectStoreEndpoint}/${lakeBucketOf("local-eu")}/bench/events-${Date.now()}.parquet`;
        await clickhouse.command({ query: "SELECT * FROM analytics.events WHERE org_id = 'acme' FORMAT Null" });
        const started = Date.now();
        await clickhouse.command({
            query: `INSERT INTO FUNCTION s3('${target}', '${accessKeyId}', '${secretAccessKey}', 'Parquet')
                    SELECT * FROM analytics.events WHERE org_id = 'acme'`,
        });
        const reference = (Date.now() - started) / 1000;
        await clickhouse.close();

        const rate = (rows: number, seconds: number) => Math.round(rows / seconds).toLocaleString("en");
        console.log(
            `\nbronze, Kafka → Iceberg (Spark ${"local[2]"}): ${rate(bronze.rows, bronze.seconds)} rows/s (${bronze.rows.toLocaleString("en")} rows in ${bronze.seconds.toFixed(1)} s, from spark-submit to commit)`,
        );
        console.log(
            `  without Spark's start (a run with nothing new took ${idle.seconds.toFixed(1)} s): ${rate(bronze.rows, bronze.seconds - idle.seconds)} rows/s`,
        );
        console.log(
            `reference, ClickHouse → Parquet in the same bucket: ${rate(ROWS, reference)} rows/s (${ROWS.toLocaleString("en")} rows in ${reference.toFixed(1)} s)`,
        );
    } finally {
        destroyCells(stack);
    }
}

main().catch((error) => {
    console.error(error);
    process.exitCode = 1;
});
