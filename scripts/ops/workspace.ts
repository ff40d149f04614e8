import { execFileSync } from "child_process";
import * as fs from "fs";
import * as path from "path";
import type { Stack } from "@pulumi/pulumi/automation";
import { defaultStateHome } from "../../stacks/stateHome";

const ROOT = path.join(__dirname, "..", "..");

let bootstrapPath: string | undefined;

/** The bootstrap's folders to put first on PATH: its Node 24, then the `pulumi` CLI and language host. */
export function toolPath(): string {
    bootstrapPath ??= execFileSync("bash", [path.join(ROOT, "scripts", "bootstrap.sh"), "--print-path"], { encoding: "utf8" }).trim();
    return bootstrapPath;
}

/** The folder holding the `pulumi` CLI and language host the bootstrap built. */
export const engineBin = (): string => toolPath().split(":").at(-1)!;

/** The passphrase of local stacks' secrets, as in scripts/local.sh: for local cells only, never for dev or prod. */
const LOCAL_PASSPHRASE = "cellplane-local-only";

/** A stack the engine cannot reach from here, with the reason and what would fix it. */
export class Unreachable extends Error {
    constructor(message: string) {
        super(message);
        this.name = "Unreachable";
    }
}

/**
 * The backend an environment's stacks live in: $PULUMI_BACKEND_URL, else for `local` the file backend of
 * `npm run up`. Cloud environments have no default, so a missing backend is reported instead of guessed.
 */
export function backendOf(env: string): string | undefined {
    return process.env.PULUMI_BACKEND_URL ?? (env === "local" ? `file://${path.join(defaultStateHome(), "backend")}` : undefined);
}

/** Opens an existing stack through the Automation API, with the bootstrap's engine. */
export async function openStack(projectDir: string, env: string, stackName: string, { create = false } = {}): Promise<Stack> {
    const backend = backendOf(env);
    if (backend === undefined) {
        throw new Unreachable(
            `no backend for environment ${env}: set PULUMI_BACKEND_URL to where its state lives (an s3:// or azblob:// bucket, or Pulumi Cloud) along with that cloud's credentials`,
        );
    }
    if (backend.startsWith("file://")) fs.mkdirSync(backend.slice("file://".length), { recursive: true });
    // Loaded here: the Automation API is most of the CLI's start-up, and edits of stack files never need it. The
    // file is named because this import runs as an ES module import, which does not resolve folders.
    const { LocalWorkspace, PulumiCommand, Stack } = await import("@pulumi/pulumi/automation/index.js");
    const pulumiCommand = await PulumiCommand.get({ root: path.dirname(engineBin()) });
    const envVars: Record<string, string> = {
        PATH: `${toolPath()}:${process.env.PATH}`,
        PULUMI_BACKEND_URL: backend,
        PULUMI_SKIP_UPDATE_CHECK: "1",
        PULUMI_DIY_BACKEND_NO_LEGACY_WARNING: "true",
    };
    const passphrase = process.env.PULUMI_CONFIG_PASSPHRASE ?? (env === "local" ? LOCAL_PASSPHRASE : undefined);
    if (passphrase !== undefined) envVars.PULUMI_CONFIG_PASSPHRASE = passphrase;
    const workspace = await LocalWorkspace.create({ workDir: projectDir, pulumiCommand, envVars });
    const exists = (await workspace.listStacks()).some((s) => s.name === stackName);
    if (!exists && !create) {
        throw new Unreachable(
            `stack ${stackName} has no state in ${backend}: it was never deployed there (cellplane reconcile --env ${env} deploys it), or its state lives in another backend (set PULUMI_BACKEND_URL)`,
        );
    }
    return exists ? Stack.select(stackName, workspace) : Stack.create(stackName, workspace);
}
