import { execFileSync, spawnSync } from "child_process";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";

export const ROOT = path.join(__dirname, "..", "..");
export const ENGINE_BIN = execFileSync("bash", [path.join(ROOT, "scripts", "bootstrap.sh"), "--print-path"], { encoding: "utf8" }).trim();

/** A throwaway Pulumi project folder with its own file backend and a passphrase for its secrets. */
export function scratchProject(prefix: string) {
    if (!fs.existsSync(path.join(ENGINE_BIN, "pulumi"))) throw new Error(`no Pulumi CLI in ${ENGINE_BIN}: run npm run bootstrap`);
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), prefix));
    fs.chmodSync(dir, 0o755);
    fs.mkdirSync(path.join(dir, ".state"));
    const env = {
        ...process.env,
        PATH: `${ENGINE_BIN}:${process.env.PATH}`,
        PULUMI_HOME: path.join(dir, ".pulumi-home"),
        PULUMI_BACKEND_URL: `file://${path.join(dir, ".state")}`,
        PULUMI_CONFIG_PASSPHRASE: "scratch-project-only",
        PULUMI_SKIP_UPDATE_CHECK: "1",
        PULUMI_DIY_BACKEND_NO_LEGACY_WARNING: "true",
    };
    const pulumi = (...args: string[]) => {
        const result = spawnSync(path.join(ENGINE_BIN, "pulumi"), [...args, "--non-interactive", "--color", "never"], { cwd: dir, env, encoding: "utf8", timeout: 300_000 });
        return { code: result.status, stdout: result.stdout, out: `${result.stdout}\n${result.stderr}` };
    };
    const ok = (...args: string[]) => {
        const result = pulumi(...args);
        if (result.code !== 0) throw new Error(`pulumi ${args.join(" ")} failed:\n${result.out}`);
        return result.out;
    };
    return { dir, pulumi, ok };
}
