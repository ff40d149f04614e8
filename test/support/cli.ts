import { spawn, spawnSync } from "child_process";
import * as path from "path";

export const CELLPLANE = path.join(__dirname, "..", "..", "scripts", "cellplane");

/** Runs the real `scripts/cellplane` with `-C project`. */
export function cellplane(project: string, args: string[], env: NodeJS.ProcessEnv = process.env) {
    const result = spawnSync(CELLPLANE, ["-C", project, ...args], {
        encoding: "utf8",
        env,
        timeout: 600_000,
        maxBuffer: 256 * 1024 * 1024,
    });
    return { code: result.status, stdout: result.stdout, stderr: result.stderr, out: `${result.stdout}\n${result.stderr}` };
}

/** `cellplane` without blocking the test's event loop: for runs that call back into a server the test holds. */
export function cellplaneAsync(project: string, args: string[], env: NodeJS.ProcessEnv = process.env) {
    const child = spawn(CELLPLANE, ["-C", project, ...args], { env });
    let stdout = "";
    let stderr = "";
    child.stdout.on("data", (chunk) => (stdout += chunk));
    child.stderr.on("data", (chunk) => (stderr += chunk));
    return new Promise<{ code: number | null; stdout: string; stderr: string }>((resolve, reject) => {
        child.on("error", reject);
        child.on("close", (code) => resolve({ code, stdout, stderr }));
    });
}

/** `cell add` of one cell, as an operator types it; further options (`--port-base`, `--dry-run`, …) follow. */
export function cellAdd(cell: { env: string; id: string; cloud: string; region: string; residency: string }, ...options: string[]) {
    return [
        "cell",
        "add",
        "--env",
        cell.env,
        "--id",
        cell.id,
        "--cloud",
        cell.cloud,
        "--region",
        cell.region,
        "--residency",
        cell.residency,
        ...options,
    ];
}
