/**
 * The lake as tenants query it (seed 004): the cell's ClickHouse reads the Iceberg tables the jobs write, and each
 * tenant reads them only through views of its own database, whose rows are its own. The tenant's ClickHouse user may
 * select from that database and nothing else, so the engine, not the API, keeps tenants apart.
 */
import { createHmac } from "crypto";
import { sqlIdentifier, sqlString } from "../shared/clickhouseSql";
import TABLES from "./spark/tables.json";

export const LAKE_DATABASE = "lake";

/** Iceberg's types as ClickHouse reads them; every Iceberg column the jobs write is optional. */
const CLICKHOUSE_TYPES: Record<string, string> = {
    string: "String",
    timestamp: "DateTime64(6, 'UTC')",
    date: "Date32",
    bigint: "Int64",
    int: "Int32",
    double: "Float64",
};

interface TableSpec {
    columns: string[][];
    queryAs?: string;
}

/** The tables tenants query, by the name they query them by, and where their Iceberg table is in the warehouse. */
export const QUERYABLE_TABLES = Object.entries(TABLES as Record<string, TableSpec>)
    .filter(([, spec]) => spec.queryAs !== undefined)
    .map(([name, spec]) => ({
        name: spec.queryAs!,
        path: name.replace(".", "/"),
        columns: spec.columns.map(([column, kind]) => `${sqlIdentifier(column)} Nullable(${CLICKHOUSE_TYPES[kind]})`).join(", "),
    }));

/**
 * The cell's warehouse as ClickHouse reaches it: `https://<store>/<bucket>/warehouse`, with keys where the store has
 * them, or `abfss://<container>@<account>.dfs.core.windows.net/warehouse`.
 */
export interface Warehouse {
    url: string;
    keys?: { accessKeyId: string; secretAccessKey: string };
}

/** `ON CLUSTER …` where the cell's ClickHouse is a cluster: every replica reads the lake, and answers any reader. */
const onCluster = (cluster?: string) => (cluster ? ` ON CLUSTER ${sqlIdentifier(cluster)}` : "");

/**
 * The lake's tables in ClickHouse. Their columns are given, so they can be made before the jobs' first run: a table
 * Spark has not written yet reads as empty. Without keys, the servers read with their own identity (a pod's role or
 * workload identity).
 */
export function lakeTablesDdl(warehouse: Warehouse, cluster?: string): string[] {
    return [
        `CREATE DATABASE IF NOT EXISTS ${LAKE_DATABASE}${onCluster(cluster)}`,
        ...QUERYABLE_TABLES.map(
            (table) =>
                `CREATE TABLE IF NOT EXISTS ${LAKE_DATABASE}.${table.name}${onCluster(cluster)} (${table.columns})
                 ENGINE = ${icebergEngineOf(warehouse, table.path)}`,
        ),
    ];
}

/**
 * An Iceberg table of the warehouse: IcebergS3 over its URL, or on Azure IcebergAzure over the account's Blob
 * endpoint, the container and the path (the same files, which a Data Lake account serves on both endpoints).
 */
function icebergEngineOf(warehouse: Warehouse, tablePath: string): string {
    const url = new URL(warehouse.url);
    if (url.protocol === "abfss:") {
        const blobEndpoint = `https://${url.hostname.replace(".dfs.", ".blob.")}`;
        const path = `${url.pathname.replace(/^\/|\/$/g, "")}/${tablePath}`;
        return `IcebergAzure(${[blobEndpoint, url.username, path].map(sqlString).join(", ")})`;
    }
    const credentials = warehouse.keys ? `, ${sqlString(warehouse.keys.accessKeyId)}, ${sqlString(warehouse.keys.secretAccessKey)}` : "";
    return `IcebergS3(${sqlString(`${warehouse.url}/${tablePath}/`)}${credentials})`;
}

/** The database a tenant queries: its views of the lake, and nothing else. */
export const tenantDatabaseOf = (tenant: string) => `tenant_${tenant}`;
/** The ClickHouse user a tenant's queries run as. */
export const lakeReaderOf = (tenant: string) => `lake_reader_${tenant}`;

/**
 * A reader's password, derived from the cell's query secret: the deploy that creates the user and the API that
 * connects as it compute the same one, and no per-tenant secret has to travel.
 */
export const lakeReaderPassword = (querySecret: string, tenant: string) =>
    createHmac("sha256", querySecret).update(`lake reader ${tenant}`).digest("hex");

/** The tenant's views: each queryable table, its own rows only, read with the rights of the views' definer. */
export function tenantViewsDdl(tenant: string, cluster?: string): string[] {
    const database = sqlIdentifier(tenantDatabaseOf(tenant));
    return [
        `CREATE DATABASE IF NOT EXISTS ${database}${onCluster(cluster)}`,
        ...QUERYABLE_TABLES.map(
            (table) =>
                `CREATE VIEW IF NOT EXISTS ${database}.${table.name}${onCluster(cluster)} SQL SECURITY DEFINER
                 AS SELECT * FROM ${LAKE_DATABASE}.${table.name} WHERE org_id = ${sqlString(tenant)}`,
        ),
    ];
}

/** The guardrails of every tenant query, as the reader's settings: read-only, bounded in time and rows. */
export const QUERY_GUARDRAILS = {
    statementTimeoutSeconds: 10,
    maxResultRows: 10_000,
    queriesPerMinute: 30,
    maxSqlBytes: 16_384,
} as const;

export const readerSettings = (): Record<string, string> => ({
    readonly: "1",
    max_execution_time: String(QUERY_GUARDRAILS.statementTimeoutSeconds),
    max_result_rows: String(QUERY_GUARDRAILS.maxResultRows),
    result_overflow_mode: "throw",
});
