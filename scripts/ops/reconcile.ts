import * as fs from "fs";
import * as path from "path";
import type { OutputMap } from "@pulumi/pulumi/automation";
import { defaultStateHome } from "../../stacks/stateHome";
import { writeDurably } from "./stackFile";
import { openStack } from "./workspace";

/**
 * The environment's whole routing table (every tenant's cell and endpoints), rewritten after every reconcile for
 * operators and their tools. Each router reads only its own residency's table, which the program writes to it.
 */
export function routingFileOf(env: string, stack: string): string {
    return path.join(defaultStateHome(), "routing", env, `${stack}.json`);
}

/**
 * `pulumi up --refresh` of one stack: what drifted is read back first, then put right. The stack's `routing`
 * output then replaces the environment's routing table file, through a rename so no reader sees half a file.
 */
export async function reconcile(projectDir: string, env: string, stackName: string, progress: (line: string) => void) {
    const started = process.hrtime.bigint();
    const stack = await openStack(projectDir, env, stackName, { create: true });
    const result = await stack.up({ refresh: true, onOutput: progress });
    const { tenants, routingFile } = writeRoutingFile(env, stackName, result.outputs);
    return {
        changes: result.summary.resourceChanges ?? {},
        seconds: Number(process.hrtime.bigint() - started) / 1e9,
        tenants,
        routingFile,
    };
}

/**
 * Puts right only the named resources: a refresh of them, then an update of them. Nothing else is read into the
 * state, so drift left alone (residency drift, for a person to look at) stays visible to the next check.
 */
export async function reconcileTargets(
    projectDir: string,
    env: string,
    stackName: string,
    urns: string[],
    progress: (line: string) => void,
) {
    const started = process.hrtime.bigint();
    const stack = await openStack(projectDir, env, stackName);
    await stack.refresh({ target: urns, onOutput: progress });
    const result = await stack.up({ target: urns, onOutput: progress });
    return { changes: result.summary.resourceChanges ?? {}, seconds: Number(process.hrtime.bigint() - started) / 1e9 };
}

/** Replaces the environment's routing table file with the stack's `routing` output. */
export function writeRoutingFile(env: string, stackName: string, outputs: OutputMap): { tenants: number; routingFile: string } {
    const routing = outputs.routing?.value ?? {};
    const routingFile = routingFileOf(env, stackName);
    fs.mkdirSync(path.dirname(routingFile), { recursive: true });
    writeDurably(routingFile, `${JSON.stringify(routing, null, 2)}\n`);
    return { tenants: Object.keys(routing).length, routingFile };
}
