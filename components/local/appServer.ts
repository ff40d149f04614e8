import * as fs from "fs";
import * as path from "path";
import { destroyService, runningPid, ServiceError, startService, stopService } from "./supervisor";
import { loopbackRequest } from "./loopbackHttp";
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
    /** The stack's CA, when the app serves HTTPS with a certificate it signed (TLS_CERT and TLS_KEY in `env`). */
    ca?: string;
}

export const appUrlOf = (spec: { port: number; https: boolean }) => `${spec.https ? "https" : "http"}://127.0.0.1:${spec.port}`;

const urlOf = (spec: AppServerSpec) => appUrlOf({ port: spec.port, https: spec.ca !== undefined });

/** The app's answer at `route`, verified against the stack's CA when it serves HTTPS. */
const askApp = (spec: AppServerSpec, route: string) => loopbackRequest(`${urlOf(spec)}${route}`, { ca: spec.ca, timeoutMs: 2_000 });

/** Starts the app and waits until it is ready, as a rollout waits for a pod's readiness. */
export async function startApp(spec: AppServerSpec): Promise<number> {
    // The cell keeps its own copy, so it restarts after the build cache is cleared.
    const script = path.join(spec.dir, `app-${spec.hash}.js`);
    if (!fs.existsSync(script)) {
        fs.mkdirSync(spec.dir, { recursive: true });
        fs.copyFileSync(spec.bundle, script);
    }
    const pid = await startService({
        label: spec.label,
        command: nodeBin(),
        args: [script],
        dir: spec.dir,
        port: spec.port,
        env: { ...spec.env, HOST: "127.0.0.1", PORT: String(spec.port), NODE_ENV: "production" },
    });
    await untilReady(spec);
    return pid;
}

async function untilReady(spec: AppServerSpec, timeoutMs = 120_000): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    let last = "no answer";
    while (Date.now() < deadline) {
        const answer = await askApp(spec, "/readyz").catch((error: Error) => error);
        if (!(answer instanceof Error) && answer.status === 200) return;
        last = answer instanceof Error ? answer.message : answer.text;
        await new Promise((resolve) => setTimeout(resolve, 200));
    }
    throw new ServiceError(`${spec.label} did not become ready in ${timeoutMs / 1000} s; it waits for: ${last}`);
}

/** Running means the process lives and its health check answers. */
export async function appRunning(spec: AppServerSpec): Promise<boolean> {
    if (!runningPid(spec.dir)) return false;
    try {
        return (await askApp(spec, "/healthz")).status === 200;
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
