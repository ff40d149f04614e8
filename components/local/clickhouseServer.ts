import * as fs from "fs";
import * as path from "path";
import { assertPortFree, destroyService, runningPid, startService, stopService } from "./supervisor";
import { nodeBin } from "./tools";

/** A cell's ClickHouse: chdb behind ClickHouse's HTTP interface (`clickhouseFront.ts`), one data folder. */
export interface ClickHouseServerSpec {
    label: string;
    dir: string;
    port: number;
    user: string;
    password: string;
}

export const urlOf = (spec: Pick<ClickHouseServerSpec, "port">) => `http://127.0.0.1:${spec.port}`;

export async function startClickHouse(spec: ClickHouseServerSpec): Promise<number> {
    const running = runningPid(spec.dir);
    if (running) return running;
    await assertPortFree(spec.port, spec.label);
    fs.mkdirSync(path.join(spec.dir, "data"), { recursive: true });
    return startService({
        label: spec.label,
        command: nodeBin(),
        // Loaded through tsx itself (as in a dynamic provider), require.resolve answers with a `?namespace=` suffix.
        args: ["--require", require.resolve("tsx/cjs").split("?")[0], path.join(__dirname, "clickhouseFront.ts")],
        dir: spec.dir,
        port: spec.port,
        env: {
            CLICKHOUSE_DIR: path.join(spec.dir, "data"),
            CLICKHOUSE_PORT: String(spec.port),
            CLICKHOUSE_USER: spec.user,
            CLICKHOUSE_PASSWORD: spec.password,
        },
    });
}

/** Running means the process lives and answers an authenticated query. */
export async function clickhouseRunning(spec: ClickHouseServerSpec): Promise<boolean> {
    if (!runningPid(spec.dir)) return false;
    try {
        const response = await fetch(`${urlOf(spec)}/?query=SELECT%201`, {
            headers: { "X-ClickHouse-User": spec.user, "X-ClickHouse-Key": spec.password },
            signal: AbortSignal.timeout(5_000),
        });
        return response.ok;
    } catch {
        return false;
    }
}

export async function stopClickHouse(spec: ClickHouseServerSpec): Promise<void> {
    await stopService(spec.dir);
}

export async function destroyClickHouse(spec: ClickHouseServerSpec): Promise<void> {
    await destroyService(spec.dir);
}
