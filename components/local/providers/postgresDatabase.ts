/** Dynamic provider of a database and the login role that owns it, on a local PostgreSQL server. */
import type * as pulumi from "@pulumi/pulumi";
import { DatabaseSpec, dropDatabase, ensureDatabase, readDatabase } from "../postgresObjects";
import type { PostgresServerSpec } from "../postgresServer";

export type PostgresDatabaseProps = DatabaseSpec & { server: PostgresServerSpec; healthy?: boolean };

const idOf = (p: PostgresDatabaseProps) => `${p.server.port}/${p.database}`;

export async function check(_olds: PostgresDatabaseProps, news: PostgresDatabaseProps): Promise<pulumi.dynamic.CheckResult> {
    return { inputs: news };
}

export async function create(inputs: PostgresDatabaseProps): Promise<pulumi.dynamic.CreateResult> {
    await ensureDatabase(inputs.server, inputs);
    return { id: idOf(inputs), outs: { ...inputs, healthy: true } };
}

/** `healthy: false` when the database or its role is gone, the role cannot log in, or the owner changed. */
export async function read(id: string, props: PostgresDatabaseProps): Promise<pulumi.dynamic.ReadResult> {
    const state = await readDatabase(props.server, props).catch(() => undefined);
    const healthy = !!state && state.databaseExists && state.roleCanLogin && state.databaseOwner === props.owner;
    return { id, props: { ...props, healthy } };
}

export async function diff(_id: string, olds: PostgresDatabaseProps, news: PostgresDatabaseProps): Promise<pulumi.dynamic.DiffResult> {
    const replaces =
        olds.database !== news.database || olds.owner !== news.owner || olds.server.port !== news.server.port ? ["database"] : [];
    return {
        // A new superuser password or certificate changes how the database is reached: the state keeps the current one.
        changes:
            replaces.length > 0 ||
            olds.ownerPassword !== news.ownerPassword ||
            JSON.stringify(olds.server) !== JSON.stringify(news.server) ||
            olds.healthy === false,
        replaces,
        deleteBeforeReplace: true,
    };
}

export async function update(_id: string, _olds: PostgresDatabaseProps, news: PostgresDatabaseProps): Promise<pulumi.dynamic.UpdateResult> {
    await ensureDatabase(news.server, news);
    return { outs: { ...news, healthy: true } };
}

export async function remove(_id: string, props: PostgresDatabaseProps): Promise<void> {
    // A server already destroyed took the database with it.
    await dropDatabase(props.server, props).catch((error: NodeJS.ErrnoException) => {
        if (error.code !== "ECONNREFUSED") throw error;
    });
}

export { remove as delete };
