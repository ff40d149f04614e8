import { ClickHouseClient } from "@clickhouse/client";
import type { Pool } from "pg";
import { partitionLags } from "../../apps/ingest/consumer";
import { KEY_CACHE_TTL_MS, revokeTenantKeys } from "../../apps/shared/apiKeys";
import { SERVER_TIMEOUTS } from "../../apps/shared/http";
import { EVENTS_TOPIC } from "../../apps/shared/topics";
import { tenantPrefix } from "../../apps/export/parquet";
import type { TenantHome } from "./keys";
import { clickhouseOfCell, exportFilesOf, kafkaOfCell } from "./cellClients";

/** What a tenant has stored in its cell. */
export interface TenantData {
    events: number;
    schedules: number;
    jobs: number;
    objects: number;
}

export const holdsData = (data: TenantData) => Object.values(data).some((n) => n > 0);

/** The tables of a cell's analytics database that hold rows of a tenant (`org_id`). */
export const ANALYTICS_TABLES = [
    "events",
    "event_ids",
    "rollup_marks",
    "hourly_metrics",
    "daily_metrics",
    "daily_reports",
    "metadata_keys",
];
/** The tables of a cell's Postgres that hold rows of a tenant, parents first, with each one's tenant column. */
export const TENANT_ROWS = [
    ["api_keys", "org_id"],
    ["export_schedules", "tenant_id"],
    ["export_jobs", "tenant_id"],
    ["quota_buckets", "org_id"],
    ["daily_reports", "org_id"],
    ["event_archives", "org_id"],
] as const;
/** What a purge deletes from Postgres: all but the API keys, which are revoked and kept as a record. */
const PURGED_ROWS = TENANT_ROWS.filter(([table]) => table !== "api_keys");

/** The tenant's row count in each of `tables` of a cell's Postgres. */
export async function rowCountsOf(
    pool: Pool,
    tenant: string,
    tables: readonly (typeof TENANT_ROWS)[number][] = TENANT_ROWS,
): Promise<Record<string, number>> {
    const counts: Record<string, number> = {};
    for (const [table, column] of tables)
        counts[table] = (
            await pool.query<{ n: number }>(`SELECT count(*)::int AS n FROM cellplane.${table} WHERE ${column} = $1`, [tenant])
        ).rows[0].n;
    return counts;
}

const clickhouseOf = (home: Pick<TenantHome, "outputs">) => clickhouseOfCell(home.outputs);
export const prefixOf = tenantPrefix;

/** Counts what the tenant has in each store of its cell. */
export async function tenantDataOf(home: TenantHome, pool: Pool, tenant: string): Promise<TenantData> {
    const clickhouse = clickhouseOf(home);
    try {
        const count = async (table: string) =>
            (await pool.query<{ n: number }>(`SELECT count(*)::int AS n FROM cellplane.${table} WHERE tenant_id = $1`, [tenant])).rows[0].n;
        const [events, schedules, jobs, objects] = await Promise.all([
            countRows(clickhouse, "events", tenant),
            count("export_schedules"),
            count("export_jobs"),
            exportFilesOf(home.outputs).count(prefixOf(tenant)),
        ]);
        return { events, schedules, jobs, objects };
    } finally {
        await clickhouse.close();
    }
}

/** What `--purge` deletes, store by store, for the operator to read before it happens. */
export function purgePlan(home: TenantHome, tenant: string, data: TenantData): string[] {
    return [
        `keys        revoke every API key of ${tenant} in cell ${home.cell} (kept, revoked, so a reused id never inherits them)`,
        `kafka       wait until the consumer has stored every event already accepted`,
        `clickhouse  delete ${data.events} events and their rollups, id index and key catalog (${ANALYTICS_TABLES.map((t) => `analytics.${t}`).join(", ")})`,
        `postgres    delete ${data.schedules} export schedules, ${data.jobs} jobs and the quota buckets`,
        `objects     delete ${data.objects} object versions under ${prefixOf(tenant)} in bucket ${home.outputs.endpoints.bucket}`,
    ];
}

/** Waits until the cell's consumer group has committed everything in the events topic, so nothing of the tenant lands after the purge. */
export async function drained(home: Pick<TenantHome, "cell" | "outputs">, timeoutMs = 120_000): Promise<void> {
    const admin = kafkaOfCell(home.outputs, "cellplane-purge").admin();
    try {
        for (const until = Date.now() + timeoutMs; ;) {
            const behind = (await partitionLags(admin, EVENTS_TOPIC))
                .filter((p) => p.lag > 0)
                .map((p) => `partition ${p.partition} at ${p.committed ?? "nothing committed"} of ${p.high}`);
            if (behind.length === 0) return;
            if (Date.now() > until)
                throw new Error(
                    `the consumer of cell ${home.cell} did not catch up with its events topic in ${timeoutMs / 1000} s (${behind.join(", ")}); is it running? Nothing was deleted`,
                );
            await new Promise((r) => setTimeout(r, 500));
        }
    } finally {
        await admin.close();
    }
}

/** Revokes the tenant's keys and deletes everything it stored in its cell, following `purgePlan`. */
export async function purgeTenant(home: TenantHome, pool: Pool, tenant: string, say: (line: string) => void): Promise<void> {
    say(`revoked ${await revokeTenantKeys(pool, tenant)} keys`);
    // A replica may accept the tenant's events until its cached answer for the key expires, and a request it took
    // just before may still be arriving: wait both out before waiting for the consumer.
    const settle = KEY_CACHE_TTL_MS + SERVER_TIMEOUTS.requestTimeoutMs;
    say(`waiting ${settle / 1000} s for requests already taken with those keys`);
    await new Promise((r) => setTimeout(r, settle));
    await drained(home);
    await deleteTenantData(home, pool, tenant, say);
}

/** Deletes the tenant's events and all that the views derived from them (id index, rollups, key catalog). */
export async function deleteTenantEvents(clickhouse: ClickHouseClient, tenant: string): Promise<void> {
    const remaining = async () => {
        let rows = 0;
        for (const table of ANALYTICS_TABLES) rows += await countRows(clickhouse, table, tenant);
        return rows;
    };
    // Events first: a round of the rollups that read them just before writes its rows after, so a second pass clears them.
    for (let pass = 0; pass < 3 && (pass === 0 || (await remaining()) > 0); pass++)
        for (const table of ANALYTICS_TABLES)
            await clickhouse.command({
                query: `ALTER TABLE analytics.${table} DELETE WHERE org_id = {org:String} SETTINGS mutations_sync = 1`,
                query_params: { org: tenant },
            });
}

async function countRows(clickhouse: ClickHouseClient, table: string, tenant: string): Promise<number> {
    const result = await clickhouse.query({
        query: `SELECT count() AS n FROM analytics.${table} WHERE org_id = {org:String}`,
        query_params: { org: tenant },
        format: "JSONEachRow",
    });
    return Number((await result.json<{ n: string }>())[0].n);
}

/** Deletes everything the tenant stored in its cell: ClickHouse rows, Postgres rows (not its keys) and exported objects. */
export async function deleteTenantData(
    home: Pick<TenantHome, "outputs">,
    pool: Pool,
    tenant: string,
    say: (line: string) => void,
): Promise<void> {
    const clickhouse = clickhouseOf(home);
    try {
        await deleteTenantEvents(clickhouse, tenant);
        say(`deleted the events of ${tenant} from ClickHouse (${ANALYTICS_TABLES.length} tables)`);
    } finally {
        await clickhouse.close();
    }
    for (const [table, column] of PURGED_ROWS) await pool.query(`DELETE FROM cellplane.${table} WHERE ${column} = $1`, [tenant]);
    say(`deleted the export schedules, jobs and quota buckets of ${tenant} from Postgres`);
    const deleted = await exportFilesOf(home.outputs).deleteAll(prefixOf(tenant));
    say(`deleted ${deleted} object versions under ${prefixOf(tenant)}`);
}
