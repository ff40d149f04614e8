import { call } from "../support/cellClient";
/**
 * `npm run bench:export`: rows/s the export service of one real local cell writes as Parquet to the cell's bucket
 * (BENCH_ROWS events of one tenant over ten days, `metadata` flattened), and beside it ClickHouse's own
 * `FORMAT Parquet` of the same rows, read by a client and discarded.
 */
import { apiKeyFor, clickhouseOf, deployCells, destroyCells } from "../e2e/apps/cell";
import { isolatedLocalStack } from "../support/project";

const ROWS = Number(process.env.BENCH_ROWS ?? 2_000_000);
const DAYS = 10;

async function main() {
    console.log("bench:export: bringing up an isolated local cell…");
    const stack = isolatedLocalStack("cellplane-bench-export-", (config) => {
        config["cellplane:cells"] = config["cellplane:cells"].slice(0, 1);
        config["cellplane:tenants"] = [{ id: "acme", residency: "eu" }];
    });
    try {
        const eu = deployCells(stack)["local-eu"];
        const key = await apiKeyFor(eu, "acme");
        const clickhouse = clickhouseOf(eu);

        console.log(`bench:export: writing ${ROWS.toLocaleString("en")} events over ${DAYS} days into ClickHouse…`);
        const last = new Date();
        const first = new Date(last.getTime() - (DAYS - 1) * 86_400_000);
        await clickhouse.command({
            query: `INSERT INTO analytics.events (event_id, org_id, user_id, session_id, event_type, event_category, timestamp, region, environment, metadata, received_at)
                    SELECT generateUUIDv7(number), 'acme', concat('u-', toString(number % 1000)), concat('s-', toString(number % 50000)), 'code_generated', 'usage',
                           toDateTime64({first:String}, 3) + toIntervalMillisecond(intDiv(number * ${DAYS} * 86400000, ${ROWS})), 'eu-local', 'production',
                           concat('{"tokens":', toString(number % 5000), ',"model":"m-', toString(number % 7), '","cached":', if(number % 2 = 0, 'true', 'false'), '}'), now64(3)
                    FROM numbers(${ROWS})`,
            query_params: { first: first.toISOString().slice(0, 10) },
        });

        // Both sides read the rows warm, from the page cache.
        await clickhouse.command({ query: "SELECT * FROM analytics.events WHERE org_id = 'acme' FORMAT Null" });

        const started = Date.now();
        const request = await call(`${eu.endpoints.exportUrl}/v1/exports`, {
            method: "POST",
            headers: { authorization: `Bearer ${key}`, "content-type": "application/json" },
            body: JSON.stringify({ from: first.toISOString().slice(0, 10), to: last.toISOString().slice(0, 10) }),
        });
        const { id } = (await request.json()) as { id: string };
        let job: { status: string; rows: number; files: string[]; durationMs: number; error: string | null };
        do {
            await new Promise((r) => setTimeout(r, 100));
            job = (await (
                await call(`${eu.endpoints.exportUrl}/v1/jobs/${id}`, { headers: { authorization: `Bearer ${key}` } })
            ).json()) as typeof job;
        } while (job.status === "queued" || job.status === "running");
        const wall = (Date.now() - started) / 1000;
        if (job.status !== "succeeded") throw new Error(`export failed: ${job.error}`);

        const parquetOf = async (columns: string) => {
            const anchorStarted = Date.now();
            const result = await clickhouse.exec({ query: `SELECT ${columns} FROM analytics.events WHERE org_id = 'acme' FORMAT Parquet` });
            let bytes = 0;
            for await (const chunk of result.stream) bytes += (chunk as Buffer).length;
            return { bytes, seconds: (Date.now() - anchorStarted) / 1000 };
        };
        const plain = await parquetOf("*");
        const attributes = await parquetOf(
            "*, JSONExtract(metadata, 'cached', 'Nullable(Bool)') AS attr_cached, JSONExtract(metadata, 'model', 'Nullable(String)') AS attr_model, JSONExtract(metadata, 'tokens', 'Nullable(Int64)') AS attr_tokens",
        );
        await clickhouse.close();

        const exportRate = job.rows / wall;
        const anchorRate = ROWS / plain.seconds;
        console.log(
            `\nexport to Parquet in the bucket: ${Math.round(exportRate).toLocaleString("en")} rows/s (${job.rows.toLocaleString("en")} rows, ${job.files.length} files, ${wall.toFixed(2)} s from request to finished job; the job itself ${(job.durationMs / 1000).toFixed(2)} s)`,
        );
        console.log(
            `anchor, ClickHouse FORMAT Parquet: ${Math.round(anchorRate).toLocaleString("en")} rows/s (${(plain.bytes / 1e6).toFixed(1)} MB in ${plain.seconds.toFixed(2)} s, same rows, read by the client)`,
        );
        console.log(
            `  the same with the attr_* columns: ${Math.round(ROWS / attributes.seconds).toLocaleString("en")} rows/s (${(attributes.bytes / 1e6).toFixed(1)} MB in ${attributes.seconds.toFixed(2)} s)`,
        );
        console.log(
            `export / anchor: ${(exportRate / anchorRate).toFixed(2)} (target ≥ 0.5); export / anchor with attr_* columns: ${(exportRate / (ROWS / attributes.seconds)).toFixed(2)}`,
        );
    } finally {
        destroyCells(stack);
    }
}

main().catch((error) => {
    console.error(error);
    process.exitCode = 1;
});
