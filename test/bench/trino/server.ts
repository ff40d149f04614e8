/**
 * A Trino server over one cell's lake, for `bench:lakehouse`: its Iceberg connector reads the catalog the jobs keep
 * in the cell's Postgres and the files in the cell's bucket, and each tenant sees its own rows only, by a row filter
 * of Trino's file-based access control (the engine's own isolation, as ClickHouse's views are the cells').
 */
import { type ChildProcess, spawn } from "child_process";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import { jdbcUrlOf, WAREHOUSE_PREFIX } from "../../../apps/lakehouse/jobs";
import { type LakehouseCell, trustStoreOptions } from "../../../apps/lakehouse/sparkSubmit";
import { freePort } from "../../support/freePort";
import { TRINO_VERSION } from "./version";

const CACHE = process.env.CELLPLANE_CACHE ?? path.join(os.homedir(), ".cache", "cellplane");
const HOME = path.join(CACHE, "trino", TRINO_VERSION);
/** The name the jobs' Spark session gives the catalog (`CATALOG` in `spark/cellplane_lakehouse.py`): its rows in Postgres carry it. */
const SPARK_CATALOG = "lake";
const JAVA = path.join(process.env.TRINO_JAVA_HOME ?? "/usr/lib/jvm/temurin-25-jdk-amd64", "bin", "java");

/** Trino's own recommended JVM settings (its `jvm.config`), with the heap a two-core bench machine can spare. */
const JVM_OPTIONS = [
    "-Xmx2g",
    "--add-modules=jdk.incubator.vector",
    "-XX:+UseG1GC",
    "-XX:+ExitOnOutOfMemoryError",
    "-XX:-OmitStackTraceInFastThrow",
    "-XX:+EnableDynamicAgentLoading",
    "-Djdk.attach.allowAttachSelf=true",
    "-Dfile.encoding=UTF-8",
    "--enable-native-access=ALL-UNNAMED",
    "--sun-misc-unsafe-memory-access=allow",
];

export interface TrinoServer {
    url: string;
    /** From the JVM's start until the server answered its first query. */
    startSeconds: number;
    /** The server's resident memory now, in MiB. */
    residentMiB(): number;
    stop(): Promise<void>;
}

const properties = (entries: Record<string, string | number | boolean>) =>
    Object.entries(entries)
        .map(([key, value]) => `${key}=${value}`)
        .join("\n");

/** The lake's catalog as Trino's Iceberg connector reads it: the cell's JDBC catalog and S3 store. */
function catalogProperties(cell: LakehouseCell, postgresCa?: string): string {
    return properties({
        "connector.name": "iceberg",
        "iceberg.catalog.type": "jdbc",
        "iceberg.jdbc-catalog.catalog-name": SPARK_CATALOG,
        "iceberg.jdbc-catalog.driver-class": "org.postgresql.Driver",
        "iceberg.jdbc-catalog.connection-url": jdbcUrlOf(cell.postgres, postgresCa ? { caFile: postgresCa } : undefined),
        "iceberg.jdbc-catalog.connection-user": cell.postgres.user,
        "iceberg.jdbc-catalog.connection-password": cell.postgres.password,
        "iceberg.jdbc-catalog.default-warehouse-dir": `s3://${cell.objectStore.bucket}/${WAREHOUSE_PREFIX}`,
        "fs.native-s3.enabled": true,
        "s3.endpoint": cell.objectStore.endpoint,
        "s3.region": cell.objectStore.region,
        "s3.path-style-access": true,
        "s3.aws-access-key": cell.objectStore.accessKeyId,
        "s3.aws-secret-key": cell.objectStore.secretAccessKey,
    });
}

/** Every user may read the lake's layers, and of each table only the rows of the tenant it is named after. */
const TENANT_RULES = {
    catalogs: [{ catalog: "lake", allow: "read-only" }],
    schemas: [{ catalog: "lake", schema: "silver|gold", owner: false }],
    tables: [{ catalog: "lake", schema: "silver|gold", privileges: ["SELECT"], filter: "org_id = current_user" }],
};

/** Starts Trino 483 (`scripts/bootstrap.sh trino`) over the cell's lake, and waits until it answers a query. */
export async function startTrino(cell: LakehouseCell, log: (line: string) => void): Promise<TrinoServer> {
    if (!fs.existsSync(path.join(HOME, "lib", `trino-main-${TRINO_VERSION}.jar`)))
        throw new Error(`Trino ${TRINO_VERSION} is not in ${HOME}: run scripts/bootstrap.sh trino`);
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), "cellplane-trino-"));
    const write = (name: string, content: string) => {
        fs.mkdirSync(path.dirname(path.join(dir, name)), { recursive: true });
        fs.writeFileSync(path.join(dir, name), content, { mode: 0o600 });
        return path.join(dir, name);
    };
    const postgresCa = cell.postgres.ca ? write("postgres-ca.pem", cell.postgres.ca) : undefined;
    // The store's TLS is the cell's own CA, which Trino's S3 client trusts only through the JVM's trust store.
    const trust = cell.objectStore.ca ? trustStoreOptions(dir, write("object-store-ca.pem", cell.objectStore.ca)) : [];
    const port = await freePort();
    const config = write(
        "config.properties",
        properties({
            coordinator: true,
            "node-scheduler.include-coordinator": true,
            "http-server.http.port": port,
            "discovery.uri": `http://127.0.0.1:${port}`,
            "query.max-execution-time": "10s",
            "catalog.management": "static",
        }),
    );
    write("catalog/lake.properties", catalogProperties(cell, postgresCa));
    const rules = write("rules.json", JSON.stringify(TENANT_RULES));
    write("access-control.properties", properties({ "access-control.name": "file", "security.config-file": rules }));
    const logFd = fs.openSync(path.join(dir, "server.log"), "a");
    const started = Date.now();
    const server = spawn(
        JAVA,
        [
            ...JVM_OPTIONS,
            ...trust,
            ...["-cp", `${path.join(HOME, "lib")}/*`],
            `-Dconfig=${config}`,
            `-Dnode.environment=bench`,
            `-Dnode.id=cellplane-bench`,
            `-Dnode.data-dir=${path.join(dir, "data")}`,
            `-Dcatalog.config-dir=${path.join(dir, "catalog")}`,
            `-Daccess-control.config-files=${path.join(dir, "access-control.properties")}`,
            `-Dplugin.dir=${path.join(HOME, "plugin")}`,
            `-Dtrino.version=${TRINO_VERSION}`,
            path.join(__dirname, "TrinoMain.java"),
        ],
        { stdio: ["ignore", logFd, logFd] },
    );
    fs.closeSync(logFd);
    const url = `http://127.0.0.1:${port}`;
    const stop = () => stopProcess(server).then(() => fs.rmSync(dir, { recursive: true, force: true }));
    try {
        await untilAnswers(url, server, path.join(dir, "server.log"));
    } catch (error) {
        await stopProcess(server);
        throw error;
    }
    const startSeconds = (Date.now() - started) / 1000;
    log(`Trino ${TRINO_VERSION} answered at ${url} after ${startSeconds.toFixed(1)} s (log: ${path.join(dir, "server.log")})`);
    return { url, startSeconds, residentMiB: () => residentMiB(server.pid!), stop };
}

async function untilAnswers(url: string, server: ChildProcess, logFile: string): Promise<void> {
    const deadline = Date.now() + 180_000;
    while (Date.now() < deadline) {
        if (server.exitCode !== null)
            throw new Error(`Trino exited with ${server.exitCode}: ${fs.readFileSync(logFile, "utf8").slice(-3000)}`);
        const info = await fetch(`${url}/v1/info`)
            .then((response) => response.json() as Promise<{ starting?: boolean }>)
            .catch(() => undefined);
        if (info && info.starting === false) {
            await trinoQuery(url, "cellplane-bench", "SELECT 1");
            return;
        }
        await new Promise((resolve) => setTimeout(resolve, 500));
    }
    throw new Error(`Trino did not start within 180 s: ${fs.readFileSync(logFile, "utf8").slice(-3000)}`);
}

function stopProcess(server: ChildProcess): Promise<void> {
    if (server.exitCode !== null) return Promise.resolve();
    return new Promise((resolve) => {
        server.once("exit", () => resolve());
        server.kill("SIGTERM");
    });
}

function residentMiB(pid: number): number {
    const status = fs.readFileSync(`/proc/${pid}/status`, "utf8");
    return Number(/VmRSS:\s+(\d+) kB/.exec(status)?.[1] ?? 0) / 1024;
}

interface StatementPage {
    nextUri?: string;
    columns?: { name: string }[];
    data?: unknown[][];
    error?: { message: string; errorName: string };
}

/**
 * A query through Trino's client protocol as `user`: the statement is posted, and its pages are followed until the
 * last; rows come back as objects by column name.
 */
export async function trinoQuery(url: string, user: string, sql: string): Promise<Record<string, unknown>[]> {
    const headers = { "X-Trino-User": user, "X-Trino-Catalog": "lake" };
    let page = (await (await fetch(`${url}/v1/statement`, { method: "POST", headers, body: sql })).json()) as StatementPage;
    const rows: unknown[][] = [];
    let columns: string[] = [];
    for (;;) {
        if (page.error) throw new Error(`Trino refused ${JSON.stringify(sql)} as ${user}: ${page.error.errorName}: ${page.error.message}`);
        if (page.columns) columns = page.columns.map((column) => column.name);
        rows.push(...(page.data ?? []));
        if (!page.nextUri) break;
        page = (await (await fetch(page.nextUri, { headers })).json()) as StatementPage;
    }
    return rows.map((row) => Object.fromEntries(columns.map((column, i) => [column, row[i]])));
}
