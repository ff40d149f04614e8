import { ClickHouseClient, createClient } from "@clickhouse/client";
import type { PoolConfig } from "pg";
import type { CellOutputs } from "./keys";

/** The cell's Postgres as `pg` takes it, as the stack's owner, verified against the cell's CA where it has one. */
export function postgresConfigOf({ endpoints: { postgres }, credentials }: CellOutputs): PoolConfig {
    const { ca, ...address } = postgres;
    return { ...address, password: credentials.postgresPassword, ssl: ca ? { ca } : false };
}

/** The cell's ClickHouse as its admin (or with another `password`, to be refused). */
export function clickhouseOfCell({ endpoints, credentials }: CellOutputs, password = credentials.clickhousePassword): ClickHouseClient {
    return createClient({
        url: endpoints.clickhouseUrl,
        username: credentials.clickhouseUser,
        password,
        ...(endpoints.clickhouseCa ? { tls: { ca_cert: Buffer.from(endpoints.clickhouseCa) } } : {}),
    });
}
