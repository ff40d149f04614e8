import * as fs from "fs";
import * as path from "path";
import { type FrontUser, sha256 } from "./clickhouse/access";
import { assertPortFree, ownDir, runningPid, serviceUser, startService } from "./supervisor";
import { nodeBin } from "./tools";
import type { ServerTls } from "./certificates";
import { answersWith } from "./loopbackHttp";
import { readerSettings } from "../../apps/lakehouse/lakeSql";

/** An app's own user: what it may reach beyond its queries, inserts and schema (see `clickhouse/access.ts`). */
export interface ClickHouseAppUser {
    name: string;
    password: string;
    readonly?: boolean;
    /** Where its `s3()` and `postgresql()` may reach: the cell's bucket and Postgres, for the exporter. */
    reach?: string[];
}

/** A cell's ClickHouse: chdb behind ClickHouse's HTTP interface (`clickhouse/front.ts`), one data folder. */
export interface ClickHouseServerSpec {
    label: string;
    dir: string;
    port: number;
    /** The cell's admin, who provisions the schema. */
    user: string;
    password: string;
    apps?: ClickHouseAppUser[];
    /** When given, the front serves HTTPS only, with this certificate. */
    tls?: ServerTls;
    /** The engine's storage configuration (`coldStorage.ts`), with the cold disk's keys. */
    storage?: string;
    /** The tenants' readers of the lake (`apps/lakehouse/lakeSql.ts`). */
    readers?: LakeReaderUser[];
}

/** A tenant's reader: it selects from its tenant's database, and nothing else. */
export interface LakeReaderUser {
    name: string;
    password: string;
    database: string;
}

/** The front's users file: passwords as hashes, in the server's folder, readable by the server alone. */
function writeUsers(spec: ClickHouseServerSpec): string {
    const users: FrontUser[] = [
        { name: spec.user, passwordSha256: sha256(spec.password), admin: true },
        ...(spec.apps ?? []).map((app): FrontUser => ({
            name: app.name,
            passwordSha256: sha256(app.password),
            admin: false,
            // readonly=2: reads, and settings of its own.
            settings: app.readonly ? { readonly: "2" } : undefined,
            reach: app.reach,
        })),
        ...(spec.readers ?? []).map((reader): FrontUser => ({
            name: reader.name,
            passwordSha256: sha256(reader.password),
            admin: false,
            grants: [{ privilege: "SELECT", database: reader.database }],
            defaultDatabase: reader.database,
            settings: readerSettings(),
        })),
    ];
    const file = path.join(spec.dir, "users.json");
    fs.writeFileSync(file, JSON.stringify({ users }, null, 2), { mode: 0o600 });
    return file;
}

export const frontUrl = (port: number, secure: boolean) => `${secure ? "https" : "http"}://127.0.0.1:${port}`;
export const urlOf = (spec: Pick<ClickHouseServerSpec, "port" | "tls">) => frontUrl(spec.port, Boolean(spec.tls));

const SYSTEM_ROOTS = "/etc/ssl/certs/ca-certificates.crt";

/** The front's certificate and key, in its folder, readable by the front alone. */
function writeTls(spec: ClickHouseServerSpec, runAs: string | undefined): Record<string, string> {
    if (!spec.tls) return {};
    const file = (name: string, content: string) => {
        const at = path.join(spec.dir, name);
        fs.writeFileSync(at, content, { mode: 0o600 });
        return at;
    };
    // The engine's own clients (s3(), azureBlobStorage()) reach the cell's stores over TLS too: they trust the
    // system's roots and the stack's CA.
    const systemRoots = fs.existsSync(SYSTEM_ROOTS) ? fs.readFileSync(SYSTEM_ROOTS, "utf8") : "";
    const files = {
        CLICKHOUSE_TLS_CERT: file("server.crt", spec.tls.cert),
        CLICKHOUSE_TLS_KEY: file("server.key", spec.tls.key),
        SSL_CERT_FILE: file("trusted.pem", `${systemRoots}\n${spec.tls.ca}`),
    };
    ownDir(spec.dir, runAs);
    return files;
}

/** The storage configuration, which holds the cold disk's keys: in the server's folder, readable by the server alone. */
function writeStorage(dir: string, xml: string): string {
    const file = path.join(dir, "storage.xml");
    fs.writeFileSync(file, xml, { mode: 0o600 });
    return file;
}

export async function startClickHouse(spec: ClickHouseServerSpec): Promise<number> {
    const running = runningPid(spec.dir);
    if (running) return running;
    await assertPortFree(spec.port, spec.label);
    fs.mkdirSync(path.join(spec.dir, "data"), { recursive: true });
    const usersFile = writeUsers(spec);
    const runAs = serviceUser();
    const tls = writeTls(spec, runAs);
    const config: Record<string, string> = spec.storage ? { CLICKHOUSE_CONFIG_FILE: writeStorage(spec.dir, spec.storage) } : {};
    ownDir(spec.dir, runAs);
    return startService({
        label: spec.label,
        command: nodeBin(),
        // Loaded through tsx itself (as in a dynamic provider), require.resolve answers with a `?namespace=` suffix.
        args: ["--require", require.resolve("tsx/cjs").split("?")[0], path.join(__dirname, "clickhouse", "front.ts")],
        dir: spec.dir,
        port: spec.port,
        env: {
            CLICKHOUSE_DIR: path.join(spec.dir, "data"),
            CLICKHOUSE_PORT: String(spec.port),
            CLICKHOUSE_USERS_FILE: usersFile,
            ...tls,
            ...config,
            ...(runAs ? { CLICKHOUSE_RUN_AS: runAs } : {}),
        },
    });
}

/** Running means the process lives and answers an authenticated query. */
export async function clickhouseRunning(spec: ClickHouseServerSpec): Promise<boolean> {
    return (
        runningPid(spec.dir) !== undefined &&
        answersWith(`${urlOf(spec)}/?query=SELECT%201`, 200, {
            headers: { "X-ClickHouse-User": spec.user, "X-ClickHouse-Key": spec.password },
            ca: spec.tls?.ca,
            timeoutMs: 5_000,
        })
    );
}
