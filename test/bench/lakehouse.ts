/**
 * `npm run bench:lakehouse`: rows/s the bronze job of one real local cell takes from its events topic into its
 * Iceberg lake (BENCH_ROWS events of one tenant), and beside it ClickHouse's own Parquet export of the same rows into
 * the same bucket (`INSERT INTO FUNCTION s3(…, 'Parquet')`), in the same run. Then the query engine (seed 004): a
 * tenant's queries over the same Iceberg tables on the cell's ClickHouse (through the query API and alone) and on
 * Trino (`scripts/bootstrap.sh trino`), each engine keeping the tenant to its own rows.
 */
import { execFileSync } from "child_process";
import * as path from "path";
import { v7 as uuidv7 } from "uuid";
import { QUERY_GUARDRAILS, QUERYABLE_TABLES, tenantDatabaseOf } from "../../apps/lakehouse/lakeSql";
import { type LakehouseCell, localSpark, submitLocally } from "../../apps/lakehouse/sparkSubmit";
import { EVENTS_TOPIC } from "../../apps/shared/topics";
import { lakeBucketOf } from "../../components/bucketNames";
import { kafkaOfCell } from "../../scripts/ops/cellClients";
import { lakehouseOfCell } from "../../scripts/ops/jobs";
import {
    apiKeyFor,
    type CellOutput,
    clickhouseOf,
    deployCells,
    destroyCells,
    eventually,
    queryLake,
    routerUrlsOf,
    storedEvents,
} from "../e2e/apps/cell";
import { isolatedLocalStack } from "../support/project";
import { startTrino, trinoQuery } from "./trino/server";
import { TRINO_VERSION } from "./trino/version";

const ROWS = Number(process.env.BENCH_ROWS ?? 500_000);
const BATCH = 5_000;
const QUERY_RUNS = Number(process.env.BENCH_QUERY_RUNS ?? 10);

/** A tenant's questions of its lake, in SQL both engines read; `{table}` is the table as the tenant names it. */
const TENANT_QUERIES = {
    "events by type": "SELECT event_type, count(*) AS events FROM {events} GROUP BY event_type ORDER BY event_type",
    "unique users": "SELECT count(DISTINCT user_id) AS users FROM {events}",
    "daily metrics": "SELECT day, events, unique_users, unique_sessions, error_rate FROM {daily_metrics} ORDER BY day",
    sessions: "SELECT count(*) AS sessions, round(avg(duration_seconds), 3) AS mean_seconds FROM {sessions}",
};

/** The query with each table named as `nameOf` gives it. */
const sqlWith = (sql: string, nameOf: (table: (typeof QUERYABLE_TABLES)[number]) => string) =>
    QUERYABLE_TABLES.reduce((query, table) => query.replaceAll(`{${table.name}}`, nameOf(table)), sql);

/** Rows compared across engines: ClickHouse quotes 64-bit integers in JSON, Trino does not. */
const comparable = (rows: Record<string, unknown>[]) =>
    JSON.stringify(
        rows.map((row) =>
            Object.values(row).map((value) => (typeof value === "string" && /^-?\d+(\.\d+)?$/.test(value) ? Number(value) : value)),
        ),
    );

/**
 * The median and the fastest of QUERY_RUNS runs after one to warm up, in ms, `pauseMs` apart (untimed); and the last
 * run's rows.
 */
async function timeQuery(run: () => Promise<Record<string, unknown>[]>, pauseMs = 0) {
    let rows = await run();
    const times: number[] = [];
    for (let i = 0; i < QUERY_RUNS; i++) {
        await new Promise((resolve) => setTimeout(resolve, pauseMs));
        const started = performance.now();
        rows = await run();
        times.push(performance.now() - started);
    }
    times.sort((a, b) => a - b);
    return { median: times[Math.floor(times.length / 2)], fastest: times[0], rows };
}

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
    // Trino is no tool of the cells: its step is not among the bootstrap's defaults.
    execFileSync("bash", [path.join(__dirname, "..", "..", "scripts", "bootstrap.sh"), "trino"], { stdio: "inherit" });
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

        console.log("bench:lakehouse: silver and gold, then the tenant's queries on ClickHouse and on Trino…");
        for (const outcome of await submitLocally(spark, cell, ["silver", "gold"], () => {}))
            if (!("rows" in outcome)) throw new Error(`${outcome.job} failed: ${outcome.error}`);
        const engines = await compareQueryEngines(routerUrlsOf(stack).eu, eu, cell);

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
        console.log(`\n${engines}`);
    } finally {
        destroyCells(stack);
    }
}

/**
 * Each of TENANT_QUERIES as the tenant `acme`: on ClickHouse through the cell's query API (router, export app, the
 * tenant's reader) and alone (its views of the tenant), and on Trino with its row filter. The engines must agree.
 */
async function compareQueryEngines(routerUrl: string, eu: CellOutput, cell: LakehouseCell) {
    const key = await apiKeyFor(eu, "acme");
    const viaApi = (sql: string) => async () => {
        const response = await queryLake(
            routerUrl,
            key,
            sqlWith(sql, (table) => table.name),
        );
        const body = (await response.json()) as { rows?: Record<string, unknown>[]; error?: string };
        if (!body.rows) throw new Error(`the query API answered ${response.status}: ${body.error}`);
        return body.rows;
    };
    const clickhouse = clickhouseOf(eu);
    const alone = (sql: string) => async () =>
        (
            await clickhouse.query({ query: sqlWith(sql, (table) => `${tenantDatabaseOf("acme")}.${table.name}`), format: "JSONEachRow" })
        ).json<Record<string, unknown>>();
    const trino = await startTrino(cell, (line) => console.log(`bench:lakehouse: ${line}`));
    try {
        const onTrino =
            (sql: string, user = "acme") =>
            () =>
                trinoQuery(
                    trino.url,
                    user,
                    sqlWith(sql, (table) => table.path.replace("/", ".")),
                );
        const foreign = await onTrino("SELECT count(*) AS events FROM {events}", "globex")();
        if (foreign[0].events !== 0) throw new Error(`Trino's row filter let globex read ${foreign[0].events} of acme's events`);
        const lines = [
            `query engine, a tenant's queries over the same Iceberg tables (${QUERY_RUNS} runs each, median / fastest ms):`,
            `  ${"query".padEnd(16)}${"ClickHouse, query API".padEnd(24)}${"ClickHouse alone".padEnd(20)}Trino`,
        ];
        // The query API keeps a tenant to its rate: its runs are paced to it.
        const apiPaceMs = 60_000 / QUERY_GUARDRAILS.queriesPerMinute;
        for (const [name, sql] of Object.entries(TENANT_QUERIES)) {
            const measured = [await timeQuery(viaApi(sql), apiPaceMs), await timeQuery(alone(sql)), await timeQuery(onTrino(sql))];
            const answers = new Set(measured.map((m) => comparable(m.rows)));
            if (answers.size !== 1) throw new Error(`the engines disagree on ${name}: ${[...answers].join(" / ")}`);
            const cellOf = (m: (typeof measured)[number], width: number) =>
                `${m.median.toFixed(0)} / ${m.fastest.toFixed(0)}`.padEnd(width);
            lines.push(`  ${name.padEnd(16)}${cellOf(measured[0], 24)}${cellOf(measured[1], 20)}${cellOf(measured[2], 0)}`);
        }
        lines.push(
            `  Trino ${TRINO_VERSION}: one more JVM per cell, ${trino.startSeconds.toFixed(1)} s to its first answer, ${trino.residentMiB().toFixed(0)} MiB resident after the queries`,
        );
        return lines.join("\n");
    } finally {
        await trino.stop();
        await clickhouse.close();
    }
}

main().catch((error) => {
    console.error(error);
    process.exitCode = 1;
});
