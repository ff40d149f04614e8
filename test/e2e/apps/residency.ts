import { Client } from "pg";
import { CellOutput, clickhouseOf, postgresOf } from "./cell";
import { type PartitionRange, readRanges, topicOffsets } from "../../../apps/shared/kafka";
import { exportFilesOf, kafkaOfCell } from "../../../scripts/ops/cellClients";

/**
 * Where a tenant's data sits in one cell, store by store: rows and Parquet files naming it, Kafka messages
 * naming it, and Postgres rows mentioning it in any table. A tenant of another residency must get all zeros.
 */
export async function tenantFootprint(cell: CellOutput, tenant: string) {
    const [clickhouse, kafka, objects, postgres] = await Promise.all([
        clickhouseRows(cell, tenant),
        kafkaMessages(cell, tenant),
        bucketObjects(cell, tenant),
        postgresRows(cell, tenant),
    ]);
    return { clickhouse, kafka, objects, postgres };
}

async function clickhouseRows(cell: CellOutput, tenant: string): Promise<number> {
    const clickhouse = clickhouseOf(cell);
    try {
        const tables = await (
            await clickhouse.query({
                query: "SELECT name FROM system.tables WHERE database = 'analytics' AND engine NOT LIKE '%View'",
                format: "JSONEachRow",
            })
        ).json<{ name: string }>();
        let rows = 0;
        for (const { name } of tables) {
            const result = await clickhouse.query({
                query: `SELECT count() AS n FROM analytics.${name} WHERE org_id = {tenant:String}`,
                query_params: { tenant },
                format: "JSONEachRow",
            });
            rows += Number((await result.json<{ n: string }>())[0].n);
        }
        return rows;
    } finally {
        await clickhouse.close();
    }
}

/** Reads every topic of the cell up to its high watermarks. */
async function kafkaMessages(cell: CellOutput, tenant: string): Promise<number> {
    const kafka = kafkaOfCell(cell, "residency-scan");
    const admin = kafka.admin();
    const ranges: PartitionRange[] = [];
    try {
        for (const topic of (await admin.listTopics()).filter((t) => !t.startsWith("__")))
            for (const { partition, low, high } of await topicOffsets(admin, topic)) ranges.push({ topic, partition, from: low, to: high });
    } finally {
        await admin.close();
    }
    return (await readRanges(kafka, ranges)).filter((message) => message.value?.toString("utf8").includes(`"${tenant}"`)).length;
}

async function bucketObjects(cell: CellOutput, tenant: string): Promise<number> {
    return exportFilesOf(cell).count(`tenant=${tenant}/`);
}

async function postgresRows(cell: CellOutput, tenant: string): Promise<number> {
    const client = new Client(postgresOf(cell));
    await client.connect();
    try {
        const { rows: tables } = await client.query<{ name: string }>(
            "SELECT format('%I.%I', table_schema, table_name) AS name FROM information_schema.tables WHERE table_type = 'BASE TABLE' AND table_schema NOT IN ('pg_catalog', 'information_schema')",
        );
        let found = 0;
        for (const { name } of tables) {
            const { rows } = await client.query<{ n: string }>(`SELECT count(*) AS n FROM ${name} t WHERE t::text LIKE $1`, [
                `%${tenant}%`,
            ]);
            found += Number(rows[0].n);
        }
        return found;
    } finally {
        await client.end();
    }
}
