/** Dynamic provider of a local PostgreSQL server: see `../postgres.ts` for the resource. */
import type * as pulumi from "@pulumi/pulumi";
import { destroyPostgres, PostgresServerSpec, postgresStatus, setSuperuserPassword, startPostgres, stopPostgres } from "../postgresServer";

export type PostgresServerProps = PostgresServerSpec & { running?: boolean };

const spec = ({ label, dir, port, superuser, superuserPassword, tls }: PostgresServerProps): PostgresServerSpec => ({
    label,
    dir,
    port,
    superuser,
    superuserPassword,
    ...(tls ? { tls } : {}),
});

export async function check(_olds: PostgresServerProps, news: PostgresServerProps): Promise<pulumi.dynamic.CheckResult> {
    return { inputs: news };
}

export async function create(inputs: PostgresServerProps): Promise<pulumi.dynamic.CreateResult> {
    await startPostgres(spec(inputs));
    return { id: inputs.dir, outs: { ...spec(inputs), running: true } };
}

/** Reports the server as it is: `running: false` when its process is gone or answers no query. */
export async function read(id: string, props: PostgresServerProps): Promise<pulumi.dynamic.ReadResult> {
    const { running } = await postgresStatus(spec(props));
    return { id, props: { ...spec(props), running } };
}

export async function diff(_id: string, olds: PostgresServerProps, news: PostgresServerProps): Promise<pulumi.dynamic.DiffResult> {
    const replaces = (["dir", "superuser"] as const).filter((key) => olds[key] !== news[key]);
    const changes =
        replaces.length > 0 ||
        olds.port !== news.port ||
        olds.superuserPassword !== news.superuserPassword ||
        JSON.stringify(olds.tls) !== JSON.stringify(news.tls) ||
        olds.running === false;
    return { changes, replaces, deleteBeforeReplace: true };
}

/** Restarts a stopped server, moves it to a new port or certificate, and rotates the superuser password. */
export async function update(_id: string, olds: PostgresServerProps, news: PostgresServerProps): Promise<pulumi.dynamic.UpdateResult> {
    // A new port or certificate takes a restart.
    if (olds.port !== news.port || JSON.stringify(olds.tls) !== JSON.stringify(news.tls)) await stopPostgres(spec(olds));
    const current = { ...spec(news), superuserPassword: olds.superuserPassword };
    await startPostgres(current);
    if (olds.superuserPassword !== news.superuserPassword) await setSuperuserPassword(current, news.superuserPassword);
    return { outs: { ...spec(news), running: true } };
}

export async function remove(_id: string, props: PostgresServerProps): Promise<void> {
    await destroyPostgres(spec(props));
}

export { remove as delete };
