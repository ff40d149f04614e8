import type { EngineEvent, StepEventMetadata } from "@pulumi/pulumi/automation";
import { holdsData } from "../../model/stateful";
import { openStack } from "./workspace";

/** A change of the preview that would lose data: a resource that holds it, replaced or deleted. */
export interface StatefulChange {
    urn: string;
    name: string;
    type: string;
    op: "replace" | "delete";
    /** The properties whose change forces the replacement (none for a delete). */
    because: string[];
    /** Named with `--allow-replace`, so it goes ahead. */
    allowed: boolean;
}

export interface StackPlan {
    stack: string;
    /** The preview's count of steps by kind (create, update, replace, delete, same). */
    changes: Record<string, number>;
    stateful: StatefulChange[];
    seconds: number;
}

const REPLACING = new Set(["replace", "create-replacement", "delete-replaced"]);

/**
 * Previews one stack and lists every replacement or deletion of a resource that holds data (`model/stateful.ts`),
 * with the properties forcing it; `allowed` names the URNs the operator accepts to lose.
 */
export async function planStack(projectDir: string, env: string, stackName: string, allowed: ReadonlySet<string>): Promise<StackPlan> {
    const started = process.hrtime.bigint();
    const stack = await openStack(projectDir, env, stackName);
    const found = new Map<string, StatefulChange>();
    const result = await stack.preview({
        onEvent: (event: EngineEvent) => {
            const step = event.resourcePreEvent?.metadata;
            if (!step) return;
            const change = statefulChangeOf(step, allowed);
            if (!change) return;
            const seen = found.get(change.urn);
            found.set(change.urn, { ...change, because: [...new Set([...(seen?.because ?? []), ...change.because])] });
        },
    });
    return {
        stack: stackName,
        changes: Object.fromEntries(Object.entries(result.changeSummary ?? {})),
        stateful: [...found.values()],
        seconds: Number(process.hrtime.bigint() - started) / 1e9,
    };
}

export function statefulChangeOf(step: StepEventMetadata, allowed: ReadonlySet<string>): StatefulChange | undefined {
    const op = REPLACING.has(step.op) ? "replace" : step.op === "delete" ? "delete" : undefined;
    if (!op || !holdsData(step.type, step.old?.inputs ?? step.new?.inputs)) return undefined;
    return {
        urn: step.urn,
        name: step.urn.split("::").at(-1)!,
        type: step.type,
        op,
        because: op === "replace" ? (step.keys ?? step.diffs ?? []) : [],
        allowed: allowed.has(step.urn),
    };
}

/** One line per refused change: what would be lost, why, and how to let it happen. */
export function refusalOf(change: StatefulChange): string {
    const why = change.op === "replace" ? `replaced because ${change.because.join(", ") || "its provider says so"} changed` : "deleted";
    return `${change.name} (${change.type}) holds data and would be ${why}: its data would be lost. If that is intended, run again with --allow-replace '${change.urn}'`;
}
