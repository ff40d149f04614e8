import * as fs from "fs";
import * as path from "path";
import { answersWith } from "./loopbackHttp";
import { runningPid, startService } from "./supervisor";
import { postgresExporterBin } from "./tools";

/** postgres_exporter beside a cell's Postgres: what the cell's Prometheus reads the server's statistics through. */
export interface PostgresExporterSpec {
    label: string;
    dir: string;
    /** Where it serves `/metrics` (plain HTTP on loopback). */
    port: number;
    postgresPort: number;
    user: string;
    password: string;
    /** The CA the server's certificate is verified against; absent, the server speaks plain text. */
    ca?: string;
}

/** The connection as the exporter's environment takes it: the password never shows in the process list. */
function environmentOf(spec: PostgresExporterSpec): Record<string, string> {
    const ca = path.join(spec.dir, "ca.pem");
    const tls = spec.ca ? `sslmode=verify-full&sslrootcert=${encodeURIComponent(ca)}` : "sslmode=disable";
    return {
        DATA_SOURCE_URI: `127.0.0.1:${spec.postgresPort}/postgres?${tls}`,
        DATA_SOURCE_USER: spec.user,
        DATA_SOURCE_PASS: spec.password,
    };
}

export async function startPostgresExporter(spec: PostgresExporterSpec): Promise<number> {
    fs.mkdirSync(spec.dir, { recursive: true });
    if (spec.ca) fs.writeFileSync(path.join(spec.dir, "ca.pem"), spec.ca);
    return startService({
        label: spec.label,
        command: postgresExporterBin(),
        args: [`--web.listen-address=127.0.0.1:${spec.port}`, "--log.level=warn"],
        dir: spec.dir,
        port: spec.port,
        env: environmentOf(spec),
    });
}

export async function postgresExporterRunning(spec: PostgresExporterSpec): Promise<boolean> {
    return runningPid(spec.dir) !== undefined && answersWith(`http://127.0.0.1:${spec.port}/metrics`, 200, { timeoutMs: 5_000 });
}
