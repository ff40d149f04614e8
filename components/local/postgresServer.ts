import { execFileSync } from "child_process";
import * as fs from "fs";
import * as path from "path";
import { Client } from "pg";
import type { ServerTls } from "./certificates";
import { postgresBin } from "./tools";
import {
    assertPortFree,
    destroyService,
    idsOf,
    isAlive,
    ownDir,
    runningPid,
    ServiceError,
    serviceUser,
    startService,
    stopService,
} from "./supervisor";

export interface PostgresServerSpec {
    /** Who it is, for messages: `postgres of cell local-eu`. */
    label: string;
    /** The server's folder: `data/` (the cluster), the pid file and the log. */
    dir: string;
    port: number;
    superuser: string;
    superuserPassword: string;
    /** When given, the server speaks TLS only, with this certificate, and refuses plain-text clients. */
    tls?: ServerTls;
}

const dataDir = (spec: PostgresServerSpec) => path.join(spec.dir, "data");

export function connect(spec: PostgresServerSpec, database = "postgres"): Client {
    return new Client({
        host: "127.0.0.1",
        port: spec.port,
        user: spec.superuser,
        password: spec.superuserPassword,
        database,
        ssl: spec.tls ? { ca: spec.tls.ca } : false,
    });
}

/** TLS from every client, verified by them against the stack's CA; a plain-text connection is refused outright. */
function tlsSettings(spec: PostgresServerSpec, user: string | undefined): string[] {
    if (!spec.tls) return [];
    const file = (name: string, content: string) => {
        const at = path.join(spec.dir, name);
        fs.writeFileSync(at, content, { mode: 0o600 });
        if (user && process.getuid?.() === 0) fs.chownSync(at, idsOf(user).uid, idsOf(user).gid);
        return at;
    };
    const hba = file("pg_hba.conf", "hostssl all all 127.0.0.1/32 scram-sha-256\nhostnossl all all all reject\n");
    return [
        ...[
            "-c",
            "ssl=on",
            "-c",
            `ssl_cert_file=${file("server.crt", spec.tls.cert)}`,
            "-c",
            `ssl_key_file=${file("server.key", spec.tls.key)}`,
        ],
        ...["-c", "ssl_min_protocol_version=TLSv1.2", "-c", `hba_file=${hba}`],
    ];
}

/** Runs `fn` with a connection as the superuser. */
export async function withConnection<T>(spec: PostgresServerSpec, fn: (client: Client) => Promise<T>, database = "postgres"): Promise<T> {
    const client = connect(spec, database);
    await client.connect();
    try {
        return await fn(client);
    } finally {
        await client.end();
    }
}

async function waitUntilAcceptingQueries(spec: PostgresServerSpec, timeoutMs = 30_000): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
        try {
            await withConnection(spec, (c) => c.query("select 1"));
            return;
        } catch (error) {
            if (Date.now() > deadline)
                throw new ServiceError(`${spec.label} accepts no queries on port ${spec.port}: ${(error as Error).message}`);
            await new Promise((r) => setTimeout(r, 200));
        }
    }
}

/** Initialises the cluster on first use, then starts the server (a running server is left alone). */
export async function startPostgres(spec: PostgresServerSpec): Promise<number> {
    const running = runningPid(spec.dir);
    if (running) return running;
    await assertPortFree(spec.port, spec.label);
    removeStaleLock(spec);
    const user = serviceUser();
    ownDir(spec.dir, user);
    if (!fs.existsSync(path.join(dataDir(spec), "PG_VERSION"))) {
        const pwfile = path.join(spec.dir, ".pwfile");
        fs.writeFileSync(pwfile, spec.superuserPassword, { mode: 0o600 });
        ownDir(spec.dir, user);
        try {
            execFileSync(
                postgresBin("initdb"),
                ["-D", dataDir(spec), "-U", spec.superuser, "--pwfile", pwfile, "--auth=scram-sha-256", "--encoding=UTF8", "--locale=C"],
                {
                    stdio: "pipe",
                    ...(user ? idsOf(user) : {}),
                },
            );
        } catch (error) {
            throw new ServiceError(`initdb for ${spec.label} failed: ${(error as { stderr?: Buffer }).stderr?.toString() ?? error}`);
        } finally {
            fs.rmSync(pwfile, { force: true });
        }
    }
    const pid = await startService({
        label: spec.label,
        command: postgresBin("postgres"),
        args: [
            "-D",
            dataDir(spec),
            "-p",
            String(spec.port),
            "-c",
            "listen_addresses=127.0.0.1",
            "-c",
            `unix_socket_directories=${spec.dir}`,
            // Logical decoding for the lakehouse's CDC; a slot no run reads for 1 GiB of WAL is given up, not the disk.
            ...["-c", "wal_level=logical", "-c", "max_slot_wal_keep_size=1GB"],
            ...tlsSettings(spec, user),
        ],
        dir: spec.dir,
        port: spec.port,
        user,
    });
    await waitUntilAcceptingQueries(spec);
    return pid;
}

/**
 * A killed postmaster leaves its lock files (data folder and socket) behind, and until its parent reaps it the
 * pid inside still exists as a zombie, so Postgres would refuse to start. A lock whose process is dead or a
 * zombie is stale.
 */
function removeStaleLock(spec: PostgresServerSpec): void {
    for (const lock of [path.join(dataDir(spec), "postmaster.pid"), path.join(spec.dir, `.s.PGSQL.${spec.port}.lock`)]) {
        if (!fs.existsSync(lock)) continue;
        const pid = Number(fs.readFileSync(lock, "utf8").split("\n")[0]);
        if (!(pid > 0 && isAlive(pid))) fs.rmSync(lock);
    }
}

export async function setSuperuserPassword(spec: PostgresServerSpec, password: string): Promise<void> {
    await withConnection(spec, (c) =>
        c.query(`alter role ${c.escapeIdentifier(spec.superuser)} with password ${c.escapeLiteral(password)}`),
    );
}

export interface PostgresStatus {
    running: boolean;
    pid?: number;
}

export async function postgresStatus(spec: PostgresServerSpec): Promise<PostgresStatus> {
    const pid = runningPid(spec.dir);
    if (!pid) return { running: false };
    try {
        await withConnection(spec, (c) => c.query("select 1"));
        return { running: true, pid };
    } catch {
        return { running: false, pid };
    }
}

export async function stopPostgres(spec: PostgresServerSpec): Promise<void> {
    await stopService(spec.dir);
}

/** Stops the server and deletes its folder, data included. */
export async function destroyPostgres(spec: PostgresServerSpec): Promise<void> {
    await destroyService(spec.dir);
}
