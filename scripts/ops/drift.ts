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
                const step = event.resourcePreEvent?.metadata;
                if (step && isDrift(step)) drifted.push(driftedResource(step));
            },
        });
        const checked = Object.values(result.changeSummary).reduce((sum, n) => sum + (n ?? 0), 0);
        return { stack: stackName, status: drifted.length > 0 ? "drifted" : "clean", checked, drifted, seconds: seconds() };
    } catch (error) {
        const unreachable = error instanceof Unreachable;
        return { stack: stackName, status: unreachable ? "unreachable" : "error", checked: 0, drifted: [], seconds: seconds(), message: firstLines(error) };
    }
}

export function exitCodeOf(results: readonly StackDrift[]): number {
    if (results.some((r) => r.status === "unreachable" || r.status === "error")) return DRIFT_EXIT.error;
    return results.some((r) => r.status === "drifted") ? DRIFT_EXIT.drifted : DRIFT_EXIT.clean;
}

function isDrift(step: StepEventMetadata): boolean {
    return step.type !== "pulumi:pulumi:Stack" && !step.type.startsWith("pulumi:providers:") && (step.op === "update" || step.op === "delete");
}

function driftedResource(step: StepEventMetadata): DriftedResource {
    const before = step.old?.outputs ?? {};
    const after = step.new?.outputs ?? {};
    const properties = step.op === "delete" ? [] : Object.keys(step.detailedDiff ?? {}).length > 0 ? Object.keys(step.detailedDiff!) : step.diffs ?? [];
    return {
        name: step.urn.split("::").pop()!,
        type: step.type,
        op: step.op,
        changes: properties.sort().map((property) => ({ property, old: valueAt(before, property), new: valueAt(after, property) })),
    };
}

/** The value at an engine property path such as `endpoints.postgres.port` or `brokers[0]`. */
function valueAt(object: unknown, property: string): unknown {
    return property.split(/\.|\[(\d+)\]/).filter((part) => part !== undefined && part !== "")
        .reduce<unknown>((value, key) => (value !== null && typeof value === "object" ? (value as Record<string, unknown>)[key] : undefined), object);
}

function firstLines(error: unknown): string {
    const text = error instanceof Error ? error.message : String(error);
    const lines = text.split("\n").map((line) => line.trim()).filter(Boolean);
    const meaningful = lines.filter((line) => /error|unreachable|no state|credentials|failed/i.test(line));
    return (meaningful.length > 0 ? meaningful : lines).slice(0, 3).join(" | ");
}
