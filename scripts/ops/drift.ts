import type { EngineEvent, OpType, StepEventMetadata } from "@pulumi/pulumi/automation";
import { openStack, Unreachable } from "./workspace";

export interface PropertyChange {
    property: string;
    old: unknown;
    new: unknown;
}

export interface DriftedResource {
    name: string;
    type: string;
    /** `update`: it changed outside Pulumi; `delete`: it is gone. */
    op: OpType;
    changes: PropertyChange[];
}

export interface StackDrift {
    stack: string;
    status: "clean" | "drifted" | "unreachable" | "error";
    checked: number;
    drifted: DriftedResource[];
    seconds: number;
    message?: string;
}

/** Exit codes of `cellplane drift`: an incomplete check outranks drift, which outranks a clean run. */
export const DRIFT_EXIT = { clean: 0, drifted: 1, error: 2 } as const;

/**
 * Refreshes one stack in preview mode (reads every resource, writes no state) and lists what changed
 * outside Pulumi, property by property. Secret values arrive from the engine already masked.
 */
export async function driftOf(projectDir: string, env: string, stackName: string): Promise<StackDrift> {
    const started = process.hrtime.bigint();
    const seconds = () => Number(process.hrtime.bigint() - started) / 1e9;
    try {
        const stack = await openStack(projectDir, env, stackName);
        const drifted: DriftedResource[] = [];
        const result = await stack.previewRefresh({
            onEvent: (event: EngineEvent) => {
                // A refresh reports what it read in the outputs event; its pre-event says only "refresh".
                const step = event.resOutputsEvent?.metadata;
                if (step && isDrift(step)) drifted.push(driftedResource(step));
            },
        });
        const checked = Object.values(result.changeSummary).reduce((sum, n) => sum + (n ?? 0), 0);
        return { stack: stackName, status: drifted.length > 0 ? "drifted" : "clean", checked, drifted, seconds: seconds() };
    } catch (error) {
        const unreachable = error instanceof Unreachable;
        return {
            stack: stackName,
            status: unreachable ? "unreachable" : "error",
            checked: 0,
            drifted: [],
            seconds: seconds(),
            message: firstLines(error),
        };
    }
}

export function exitCodeOf(results: readonly StackDrift[]): number {
    if (results.some((r) => r.status === "unreachable" || r.status === "error")) return DRIFT_EXIT.error;
    return results.some((r) => r.status === "drifted") ? DRIFT_EXIT.drifted : DRIFT_EXIT.clean;
}

function isDrift(step: StepEventMetadata): boolean {
    return (
        step.type !== "pulumi:pulumi:Stack" && !step.type.startsWith("pulumi:providers:") && (step.op === "update" || step.op === "delete")
    );
}

function driftedResource(step: StepEventMetadata): DriftedResource {
    return {
        name: step.urn.split("::").pop()!,
        type: step.type,
        op: step.op,
        changes: step.op === "delete" ? [] : changedProperties(step.old?.outputs ?? {}, step.new?.outputs ?? {}),
    };
}

/** Every leaf property whose value differs, as `a.b` / `list[0]` paths, in path order. */
function changedProperties(before: unknown, after: unknown, property = ""): PropertyChange[] {
    const isObject = (value: unknown): value is Record<string, unknown> => value !== null && typeof value === "object";
    if (isObject(before) && isObject(after)) {
        const keys = [...new Set([...Object.keys(before), ...Object.keys(after)])].sort();
        const pathOf = (key: string) => (Array.isArray(before) ? `${property}[${key}]` : property ? `${property}.${key}` : key);
        return keys.flatMap((key) => changedProperties(before[key], after[key], pathOf(key)));
    }
    return JSON.stringify(before) === JSON.stringify(after) ? [] : [{ property, old: before, new: after }];
}

function firstLines(error: unknown): string {
    const text = error instanceof Error ? error.message : String(error);
    const lines = text
        .split("\n")
        .map((line) => line.trim())
        .filter(Boolean);
    const meaningful = lines.filter((line) => /error|unreachable|no state|credentials|failed/i.test(line));
    return (meaningful.length > 0 ? meaningful : lines).slice(0, 3).join(" | ");
}
