import * as fs from "fs";
import * as path from "path";
import { destroyService, runningPid, startService, stopService } from "./supervisor";
import { nodeBin } from "./tools";

/** One of a cell's apps as a process on this machine: its bundle, copied into its folder, run by the
 * bootstrap's Node (the version cluster targets run). */
export interface AppServerSpec {
    label: string;
    dir: string;
    port: number;
    bundle: string;
    hash: string;
    env: Record<string, string>;
}

export const appUrlOf = (spec: Pick<AppServerSpec, "port">) => `http://127.0.0.1:${spec.port}`;

export async function startApp(spec: AppServerSpec): Promise<number> {
    // The cell keeps its own copy, so it restarts after the build cache is cleared.
    const script = path.join(spec.dir, `app-${spec.hash}.js`);
    if (!fs.existsSync(script)) {
        fs.mkdirSync(spec.dir, { recursive: true });
        fs.copyFileSync(spec.bundle, script);
    }
    return startService({
        label: spec.label,
        command: nodeBin(),
        args: [script],
        dir: spec.dir,
        port: spec.port,
        env: { ...spec.env, HOST: "127.0.0.1", PORT: String(spec.port), NODE_ENV: "production" },
    });
}

/** Running means the process lives and its health check answers. */
export async function appRunning(spec: AppServerSpec): Promise<boolean> {
    if (!runningPid(spec.dir)) return false;
    try {
        return (await fetch(`${appUrlOf(spec)}/healthz`, { signal: AbortSignal.timeout(2_000) })).ok;
    } catch {
        return false;
    }
}

export async function stopApp(spec: AppServerSpec): Promise<void> {
    await stopService(spec.dir);
    const copies = fs.existsSync(spec.dir) ? fs.readdirSync(spec.dir).filter((f) => f.startsWith("app-")) : [];
    for (const old of copies) fs.rmSync(path.join(spec.dir, old));
}

export async function destroyApp(spec: AppServerSpec): Promise<void> {
    await destroyService(spec.dir);
}
