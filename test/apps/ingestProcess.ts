import { spawn } from "child_process";
import * as path from "path";
import { ROOT } from "../engine/project";
import { freePort } from "../local/freePort";

/** A cell as `pulumi stack output cells --show-secrets` gives it. */
export interface CellOutput {
    endpoints: { postgres: { host: string; port: number; database: string; user: string }; kafkaBootstrap: string; clickhouseUrl: string };
    credentials: { postgresPassword: string; clickhouseUser: string; clickhousePassword: string };
}

/** Starts the real ingest service (apps/ingest/main.ts) for one cell and waits until /healthz answers. */
export async function startIngest(cellId: string, cell: CellOutput, tenants: Record<string, { cell: string; eventsPerSecond: number }>, cellUrls: Record<string, string> = {}) {
    const pg = cell.endpoints.postgres;
    const postgresUrl = `postgres://${pg.user}:${encodeURIComponent(cell.credentials.postgresPassword)}@${pg.host}:${pg.port}/${pg.database}`;
    const port = await freePort();
    const url = `http://127.0.0.1:${port}`;
    const logs: string[] = [];
    const service = spawn(process.execPath, ["--require", path.join(ROOT, "node_modules/tsx/dist/cjs/index.cjs"), path.join(ROOT, "apps/ingest/main.ts")], {
        env: {
            ...process.env, PORT: String(port), CELL_ID: cellId, POSTGRES_URL: postgresUrl, KAFKA_BOOTSTRAP: cell.endpoints.kafkaBootstrap,
            CLICKHOUSE_URL: cell.endpoints.clickhouseUrl, CLICKHOUSE_USER: cell.credentials.clickhouseUser, CLICKHOUSE_PASSWORD: cell.credentials.clickhousePassword,
            TENANTS: JSON.stringify(tenants), CELL_URLS: JSON.stringify(cellUrls),
        },
    });
    service.stdout!.on("data", (d) => logs.push(String(d)));
    service.stderr!.on("data", (d) => logs.push(String(d)));
    const until = Date.now() + 60_000;
    while (!(await fetch(`${url}/healthz`).catch(() => undefined))?.ok) {
        if (Date.now() > until || service.exitCode !== null) throw new Error(`ingest did not start:\n${logs.join("")}`);
        await new Promise((r) => setTimeout(r, 200));
    }
    return { url, postgresUrl, logs, stop: () => service.kill("SIGTERM") };
}
