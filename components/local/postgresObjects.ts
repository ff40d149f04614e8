import type { Client } from "pg";
import { PostgresServerSpec, withConnection } from "./postgresServer";

/** A login role and the database it owns: what a cell's apps connect as. */
export interface DatabaseSpec {
    database: string;
    owner: string;
    ownerPassword: string;
}

export interface DatabaseState {
    databaseExists: boolean;
    databaseOwner?: string;
    roleExists: boolean;
    roleCanLogin: boolean;
}

export async function readDatabase(server: PostgresServerSpec, spec: Pick<DatabaseSpec, "database" | "owner">): Promise<DatabaseState> {
    return withConnection(server, async (c) => {
        const role = await c.query<{ rolcanlogin: boolean }>("select rolcanlogin from pg_roles where rolname = $1", [spec.owner]);
        const db = await c.query<{ owner: string }>("select pg_get_userbyid(datdba) as owner from pg_database where datname = $1", [
            spec.database,
        ]);
        return {
            databaseExists: db.rowCount === 1,
            databaseOwner: db.rows[0]?.owner,
            roleExists: role.rowCount === 1,
            roleCanLogin: role.rows[0]?.rolcanlogin ?? false,
        };
    });
}

/**
 * Creates or repairs the role (login, password) and the database it owns. The role may decode the WAL (`replication`):
 * the lakehouse's CDC job reads the metadata tables' changes through a logical slot, as the owner of those tables.
 */
export async function ensureDatabase(server: PostgresServerSpec, spec: DatabaseSpec): Promise<void> {
    await withConnection(server, async (c) => {
        const role = c.escapeIdentifier(spec.owner);
        const exists = (await c.query("select 1 from pg_roles where rolname = $1", [spec.owner])).rowCount === 1;
        await c.query(`${exists ? "alter" : "create"} role ${role} with login replication password ${c.escapeLiteral(spec.ownerPassword)}`);
        await ensureOwnedDatabase(c, spec.database, spec.owner);
    });
}

async function ensureOwnedDatabase(c: Client, database: string, owner: string): Promise<void> {
    const found = await c.query<{ owner: string }>("select pg_get_userbyid(datdba) as owner from pg_database where datname = $1", [
        database,
    ]);
    if (found.rowCount === 0) await c.query(`create database ${c.escapeIdentifier(database)} owner ${c.escapeIdentifier(owner)}`);
    else if (found.rows[0].owner !== owner)
        await c.query(`alter database ${c.escapeIdentifier(database)} owner to ${c.escapeIdentifier(owner)}`);
}

/** Drops the database (closing its connections) and then its role. */
export async function dropDatabase(server: PostgresServerSpec, spec: Pick<DatabaseSpec, "database" | "owner">): Promise<void> {
    await withConnection(server, async (c) => {
        await c.query(`drop database if exists ${c.escapeIdentifier(spec.database)} with (force)`);
        await c.query(`drop role if exists ${c.escapeIdentifier(spec.owner)}`);
    });
}

/** A schema in the app's database, owned by its role. */
export interface SchemaSpec {
    database: string;
    schema: string;
    owner: string;
}

export async function ensureSchema(server: PostgresServerSpec, spec: SchemaSpec): Promise<void> {
    await withConnection(
        server,
        (c) => c.query(`create schema if not exists ${c.escapeIdentifier(spec.schema)} authorization ${c.escapeIdentifier(spec.owner)}`),
        spec.database,
    );
}

export async function schemaOwnedBy(server: PostgresServerSpec, spec: SchemaSpec): Promise<boolean> {
    return withConnection(
        server,
        async (c) =>
            (await c.query("select 1 from pg_namespace where nspname = $1 and pg_get_userbyid(nspowner) = $2", [spec.schema, spec.owner]))
                .rowCount === 1,
        spec.database,
    );
}

export async function dropSchema(server: PostgresServerSpec, spec: SchemaSpec): Promise<void> {
    await withConnection(server, (c) => c.query(`drop schema if exists ${c.escapeIdentifier(spec.schema)} cascade`), spec.database);
}

/** A login role with `pg_monitor`'s rights and no others: what postgres_exporter reads the server's statistics as. */
export interface MonitorRoleSpec {
    role: string;
}

export async function ensureMonitorRole(server: PostgresServerSpec, spec: MonitorRoleSpec, password: string): Promise<void> {
    await withConnection(server, async (c) => {
        const role = c.escapeIdentifier(spec.role);
        const exists = (await c.query("select 1 from pg_roles where rolname = $1", [spec.role])).rowCount === 1;
        const attributes = "login nosuperuser nocreatedb nocreaterole noreplication nobypassrls";
        await c.query(`${exists ? "alter" : "create"} role ${role} with ${attributes} password ${c.escapeLiteral(password)}`);
        await c.query(`grant pg_monitor to ${role}`);
    });
}

export async function monitorRoleIntact(server: PostgresServerSpec, spec: MonitorRoleSpec): Promise<boolean> {
    return withConnection(server, async (c) => {
        const found = await c.query<{ ok: boolean }>(
            "select rolcanlogin and pg_has_role(oid, 'pg_monitor', 'member') and not rolsuper as ok from pg_roles where rolname = $1",
            [spec.role],
        );
        return found.rows[0]?.ok === true;
    });
}

export async function dropMonitorRole(server: PostgresServerSpec, spec: MonitorRoleSpec): Promise<void> {
    await withConnection(server, (c) => c.query(`drop role if exists ${c.escapeIdentifier(spec.role)}`));
}
