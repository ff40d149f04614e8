/** The export service of one cell: per-tenant schedules and Parquet exports to the cell's bucket (config.ts). */
import { clickhouseOf, postgresPoolOf } from "../shared/connections";
import { ApiKeys } from "../shared/apiKeys";
import { Quotas } from "../shared/quotas";
import { migrate } from "../shared/migrations";
import { Readiness } from "../shared/readiness";
import { runService } from "../shared/service";
import { type ExportConfig, loadExportConfig } from "./config";
import { archiveExpiredMonths } from "./archive";
import { copyDailyReports } from "./dailyReports";
import { downloadSigner } from "./downloads";
import { keepExportsExpiry } from "../shared/bucketLifecycle";
import { s3ClientOf } from "./s3";
import { exportMetrics } from "./metrics";
import { ExportRunner, startScheduler } from "./runner";
import { exportServer } from "./server";
import { ExportStore } from "./store";
import { LakeQueries } from "./lakeQueries";

/** The query API's lake, where the cell has one; its DDL runs as the export app's own user. */
function lakeOf(config: ExportConfig): LakeQueries | undefined {
    const { LAKE_WAREHOUSE, LAKE_QUERY_SECRET } = config;
    if (!LAKE_WAREHOUSE || !LAKE_QUERY_SECRET) return undefined;
    return new LakeQueries({ ...config, LAKE_WAREHOUSE, LAKE_QUERY_SECRET }, clickhouseOf(config));
}

runService(async () => {
    const config = loadExportConfig();
    const pool = postgresPoolOf(config);
    const clickhouse = clickhouseOf(config, {
        // One export is one long INSERT; progress headers keep proxies from closing the idle connection.
        request_timeout: 3_600_000,
        clickhouse_settings: { send_progress_in_http_headers: 1, http_headers_progress_interval_ms: "10000" },
    });
    const store = new ExportStore(pool);
    const metrics = exportMetrics();
    const runner = new ExportRunner({
        metrics,
        store,
        pool,
        clickhouse,
        bucket: { store: config.OBJECT_STORE, secret: config.OBJECT_STORE_PASSWORD },
        // ClickHouse reads the cell's Postgres itself (its `postgresql` table function) as the export app's user.
        postgres: {
            address: `${config.POSTGRES.host}:${config.POSTGRES.port}`,
            database: config.POSTGRES.database,
            user: config.POSTGRES.user,
            password: config.POSTGRES_PASSWORD ?? "",
        },
        timeLimitMs: config.JOB_TIME_LIMIT_MS,
        log: (line) => console.log(line),
    });
    const app = exportServer({
        config,
        keys: new ApiKeys(pool),
        quotas: new Quotas(pool),
        pool,
        store,
        runner,
        metrics,
        downloads: downloadSigner(config.OBJECT_STORE, config.OBJECT_STORE_PASSWORD),
        lake: lakeOf(config),
    });
    const readiness = new Readiness();
    readiness.guard(app);
    const address = await app.listen({ port: config.PORT, host: config.HOST });
    console.log(
        `export of cell ${config.CELL_ID} listening on ${address}; files go to ${config.OBJECT_STORE.endpoint}; ready once Postgres answers (${address}/readyz)`,
    );
    let scheduler: { stop(): void } | undefined;
    let archiving: NodeJS.Timeout | undefined;
    let reporting: NodeJS.Timeout | undefined;
    const archive = () =>
        archiveExpiredMonths({
            clickhouse,
            pool,
            bucket: { store: config.OBJECT_STORE, secret: config.OBJECT_STORE_PASSWORD },
            cluster: config.CLICKHOUSE.cluster,
            timeLimitSeconds: Math.ceil(config.JOB_TIME_LIMIT_MS / 1000),
            log: (line) => console.log(line),
        }).then(
            ({ dropped }) => metrics.monthsArchived.inc(dropped),
            (error: unknown) => {
                metrics.archiveFailures.inc();
                console.error(`archive: ${(error as Error).message}; the months stay in ClickHouse until the next run`);
            },
        );
    const reports = () =>
        copyDailyReports(clickhouse, pool).catch((error: unknown) =>
            console.error(`daily reports: ${(error as Error).message}; the next run copies what this one missed`),
        );
    void readiness.bringUp([["postgres", () => migrate(pool)], ...exportsExpiry(config)]).then(() => {
        scheduler = startScheduler(store, runner, config.SCHEDULER_INTERVAL_MS, (error) =>
            console.error("scheduler:", error instanceof Error ? error.message : error),
        );
        void archive();
        archiving = setInterval(() => void archive(), config.ARCHIVE_INTERVAL_MS);
        void reports();
        reporting = setInterval(() => void reports(), config.DAILY_REPORTS_INTERVAL_MS);
    });

    return async () => {
        clearInterval(archiving);
        clearInterval(reporting);
        scheduler?.stop();
        await app.close();
        await runner.idle();
        await Promise.allSettled([clickhouse.close(), pool.end()]);
    };
});

/** Where the cell's resources keep no lifecycle on the bucket (SeaweedFS in a cluster), the app keeps its expiry. */
function exportsExpiry(config: ExportConfig): [string, () => Promise<void>][] {
    const bucket = config.OBJECT_STORE;
    if (bucket.protocol !== "s3" || !bucket.expiry) return [];
    const expiry = bucket.expiry;
    return [
        [
            "exports expiry",
            async () => {
                await keepExportsExpiry(s3ClientOf(bucket, config.OBJECT_STORE_PASSWORD), bucket.bucket, expiry);
                console.log(
                    `exports in ${bucket.bucket} expire after ${expiry.expireAfterDays} days, temp/ after ${expiry.tempExpireAfterDays}`,
                );
            },
        ],
    ];
}
