import { ClickHouseServerSpec, urlOf } from "./clickhouseServer";
import { loopbackRequest } from "./loopbackHttp";

async function run(server: ClickHouseServerSpec, sql: string): Promise<string> {
    const answer = await loopbackRequest(`${urlOf(server)}/`, {
        method: "POST",
        body: sql,
        headers: { "X-ClickHouse-User": server.user, "X-ClickHouse-Key": server.password },
        ca: server.tls?.ca,
    });
    if (answer.status !== 200) throw new Error(`${server.label}: ${answer.text.trim()}`);
    return answer.text;
}

const quoted = (name: string) => `\`${name.replace(/`/g, "")}\``;

export async function ensureClickHouseDatabase(server: ClickHouseServerSpec, database: string): Promise<void> {
    await run(server, `CREATE DATABASE IF NOT EXISTS ${quoted(database)}`);
}

export async function clickhouseDatabaseExists(server: ClickHouseServerSpec, database: string): Promise<boolean> {
    return (await run(server, `SELECT count() FROM system.databases WHERE name = '${database.replace(/'/g, "")}'`)).trim() === "1";
}

export async function dropClickHouseDatabase(server: ClickHouseServerSpec, database: string): Promise<void> {
    await run(server, `DROP DATABASE IF EXISTS ${quoted(database)}`);
}

/** A table created by its own DDL (`CREATE TABLE IF NOT EXISTS …`). */
export interface TableSpec {
    database: string;
    table: string;
    ddl: string;
}

export async function ensureClickHouseTable(server: ClickHouseServerSpec, spec: TableSpec): Promise<void> {
    await run(server, spec.ddl);
}

export async function clickhouseTableExists(server: ClickHouseServerSpec, spec: TableSpec): Promise<boolean> {
    const name = (s: string) => s.replace(/'/g, "");
    return (
        (
            await run(
                server,
                `SELECT count() FROM system.tables WHERE database = '${name(spec.database)}' AND name = '${name(spec.table)}'`,
            )
        ).trim() === "1"
    );
}

export async function dropClickHouseTable(server: ClickHouseServerSpec, spec: TableSpec): Promise<void> {
    await run(server, `DROP TABLE IF EXISTS ${quoted(spec.database)}.${quoted(spec.table)}`);
}
