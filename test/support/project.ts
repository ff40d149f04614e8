import { spawnSync } from "child_process";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import { parse as parseYaml, stringify as toYaml } from "yaml";
import { engineBin, toolPath } from "../../scripts/ops/workspace";
import { stackPortBase } from "./freePort";
import { PORTS_PER_LOCAL_CELL } from "../../model/config";
import type { ResourceProps } from "../../model/resourceProps";

export const ROOT = path.join(__dirname, "..", "..");

/** A throwaway Pulumi project folder with its own file backend and a passphrase for its secrets. */
export function scratchProject(prefix: string) {
    const pulumiBin = path.join(engineBin(), "pulumi");
    if (!fs.existsSync(pulumiBin)) throw new Error(`no Pulumi CLI at ${pulumiBin}: run npm run bootstrap`);
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), prefix));
    fs.chmodSync(dir, 0o755);
    fs.mkdirSync(path.join(dir, ".state"));
    const env = {
        ...process.env,
        PATH: `${toolPath()}:${process.env.PATH}`,
        PULUMI_HOME: path.join(dir, ".pulumi-home"),
        PULUMI_BACKEND_URL: `file://${path.join(dir, ".state")}`,
        PULUMI_CONFIG_PASSPHRASE: "scratch-project-only",
        PULUMI_SKIP_UPDATE_CHECK: "1",
        PULUMI_DIY_BACKEND_NO_LEGACY_WARNING: "true",
    };
    const pulumi = (...args: string[]) => {
        const result = spawnSync(pulumiBin, [...args, "--non-interactive", "--color", "never"], {
            cwd: dir,
            env,
            encoding: "utf8",
            timeout: 300_000,
            // A two-cell stack's `stack export` is over a megabyte, spawnSync's default.
            maxBuffer: 256 * 1024 * 1024,
        });
        return { code: result.status, stdout: result.stdout, out: `${result.stdout}\n${result.stderr}` };
    };
    const ok = (...args: string[]) => {
        const result = pulumi(...args);
        if (result.code !== 0) throw new Error(`pulumi ${args.join(" ")} failed:\n${result.out}`);
        return result.out;
    };
    return { dir, env, pulumi, ok };
}

/** The program's own sources, which `copySources` copies so a test may change them. */
const SOURCES = ["apps", "model", "stacks", "components", "policies", "observability"];

/**
 * A copy of the local stack as stack `e2e` of a scratch project: its own ports, state folder and backend, so it
 * runs beside `npm run up`. `edit` may change its configuration (the `config:` map of Pulumi.local.yaml). The
 * program's sources are links to this repository's, or with `copySources` copies the test may edit, as a new
 * release would (the program bundles the apps from the sources beside it).
 */
export function isolatedLocalStack(prefix: string, edit: (config: ResourceProps) => void = () => {}, { copySources = false } = {}) {
    const scratch = scratchProject(prefix);
    for (const entry of [...SOURCES, "node_modules", "package.json", "tsconfig.json", "Pulumi.yaml"]) {
        if (copySources && SOURCES.includes(entry)) fs.cpSync(path.join(ROOT, entry), path.join(scratch.dir, entry), { recursive: true });
        else fs.symlinkSync(path.join(ROOT, entry), path.join(scratch.dir, entry));
    }
    const state = path.join(scratch.dir, "cells");
    const base = stackPortBase();
    const ports = { eu: base, us: base + PORTS_PER_LOCAL_CELL };
    const local = parseYaml(fs.readFileSync(path.join(ROOT, "Pulumi.local.yaml"), "utf8"));
    local.config["cellplane:cells"][0].portBase = ports.eu;
    local.config["cellplane:cells"][1].portBase = ports.us;
    local.config["cellplane:stateDir"] = state;
    // Each cell's Prometheus and exporters cost CPU the other end-to-end tests share; the observability test turns them on.
    local.config["cellplane:localMetrics"] = false;
    // Likewise each cell's streaming job (a JVM); the lakehouse test turns it on.
    local.config["cellplane:localStreaming"] = false;
    // And its scheduler, whose Spark runs would take the cores the tests share; the scheduler's test turns it on.
    local.config["cellplane:localJobSchedules"] = false;
    delete local.encryptionsalt;
    edit(local.config);
    fs.writeFileSync(path.join(scratch.dir, "Pulumi.e2e.yaml"), toYaml(local));
    scratch.ok("stack", "init", "e2e");
    return { ...scratch, state, ports };
}
