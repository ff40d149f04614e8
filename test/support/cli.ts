import { spawnSync } from "child_process";
import * as path from "path";

export const CELLPLANE = path.join(__dirname, "..", "..", "scripts", "cellplane");

/** Runs the real `scripts/cellplane` with `-C project`. */
export function cellplane(project: string, args: string[], env: NodeJS.ProcessEnv = process.env) {
    const result = spawnSync(CELLPLANE, ["-C", project, ...args], { encoding: "utf8", env, timeout: 600_000 });
    return { code: result.status, stdout: result.stdout, stderr: result.stderr, out: `${result.stdout}\n${result.stderr}` };
}
