import type { EngineEvent, OpType, StepEventMetadata } from "@pulumi/pulumi/automation";
import { packConfigOf, runPolicies, Violation } from "../../policies/check/engine";
import { POLICIES } from "../../policies/pack";
import { causesOf, DriftCause } from "./driftCauses";
import { ClassifiedStack, classifyStack } from "./driftClasses";
import type { IgnoreRule } from "./driftIgnore";
import { reconcileTargets } from "./reconcile";
import { asPolicySubjects, cellOfResource, deployedResources, StateResource } from "./deployedState";
import { nameOfUrn } from "./urns";
import { openStack, Unreachable } from "./workspace";

export interface PropertyChange {
    property: string;
    old: unknown;
    new: unknown;
}

export interface DriftedResource {
    urn: string;
    name: string;
    type: string;
    /** The cell it belongs to; none for routers and shared resources. */
    cell?: string;
    /** `update`: it changed outside Pulumi; `delete`: it is gone. */
    op: OpType;
    changes: PropertyChange[];
}

export interface StackDrift {
    stack: string;
    status: "clean" | "drifted" | "unreachable" | "error";
    checked: number;
    drifted: DriftedResource[];
    /** The policy pack re-run over the refreshed live state, with the environment's levels. */
    policies?: { evaluated: number; resources: number; findings: Violation[] };
    seconds: number;
    message?: string;
}

/**
 * Exit codes of `cellplane drift`: with `--classify`, residency drift outranks everything; then an incomplete check;
 * then drift (any drift, residency included, without `--classify`); then a clean run.
 */
export const DRIFT_EXIT = { clean: 0, drifted: 1, error: 2, residency: 3 } as const;

/** One run of `cellplane drift` over an environment: each stack classified, and the causes shared across cells. */
export interface DriftReport {
    env: string;
    checkedAt: string;
    seconds: number;
    stacks: ClassifiedStack[];
    causes: DriftCause[];
}

/** Checks every stack in turn (each refresh reads every resource of its cells) and classifies what drifted. */
export async function checkDrift(
    projectDir: string,
    env: string,
    stacks: readonly string[],
    rules: readonly IgnoreRule[],
    say: (line: string) => void,
): Promise<DriftReport> {
    const checkedAt = new Date().toISOString();
    const started = process.hrtime.bigint();
    const results: ClassifiedStack[] = [];
    for (const stack of stacks) {
        say(`checking stack ${stack}…`);
        results.push(classifyStack(await driftOf(projectDir, env, stack), rules));
    }
    const seconds = Number(process.hrtime.bigint() - started) / 1e9;
    return { env, checkedAt, seconds, stacks: results, causes: causesOf(results) };
}

/**
 * Refreshes one stack in preview mode (reads every resource, writes no state) and lists what changed
 * outside Pulumi, property by property, then runs the policy pack over the state as refreshed. Secret values arrive
 * from the engine already masked.
 */
export async function driftOf(projectDir: string, env: string, stackName: string): Promise<StackDrift> {
    const started = process.hrtime.bigint();
    const seconds = () => Number(process.hrtime.bigint() - started) / 1e9;
    try {
        const stack = await openStack(projectDir, env, stackName);
        const deployed = await deployedResources(stack);
        const byUrn = new Map(deployed.map((r) => [r.urn, r]));
        const steps: StepEventMetadata[] = [];
        const result = await stack.previewRefresh({
            onEvent: (event: EngineEvent) => {
                // A refresh reports what it read in the outputs event; its pre-event says only "refresh".
                const step = event.resOutputsEvent?.metadata;
                if (step && isDrift(step)) steps.push(step);
            },
        });
        // Events arrive in the order the engine read them; the report lists resources by name.
        const drifted = steps
            .map((step) => driftedResource(step, cellOfResource(byUrn, step.urn)))
            .sort((a, b) => a.name.localeCompare(b.name));
        const checked = Object.values(result.changeSummary).reduce((sum, n) => sum + (n ?? 0), 0);
        const live = refreshedState(deployed, steps);
        // The state lists resources in the order they were registered, which differs between runs.
        const findings = (await runPolicies(asPolicySubjects(live), packConfigOf(env))).sort(
            (a, b) => a.policy.localeCompare(b.policy) || a.resource.localeCompare(b.resource),
        );
        return {
            stack: stackName,
            status: drifted.length > 0 ? "drifted" : "clean",
            checked,
            drifted,
            policies: { evaluated: POLICIES.length, resources: live.length, findings },
            seconds: seconds(),
        };
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

/**
 * Puts right each stack's runtime drift (a targeted refresh and update of those resources only), and records it in
 * the report. Residency and cosmetic drift are left as they are, and stay visible to the next check.
 */
export async function reconcileRuntimeDrift(projectDir: string, report: DriftReport, say: (line: string) => void): Promise<void> {
    for (const stack of report.stacks) {
        const targets = stack.drifted.filter((r) => r.class === "runtime").map((r) => r.urn);
        if (targets.length === 0) continue;
        say(`reconciling ${targets.length} runtime drift(s) of stack ${stack.stack}…`);
        const result = await reconcileTargets(projectDir, report.env, stack.stack, targets, (line) => say(line.trimEnd()));
        stack.reconciled = { urns: targets, changes: result.changes, seconds: result.seconds };
        say(`stack ${stack.stack}: ${JSON.stringify(result.changes)} in ${result.seconds.toFixed(1)} s`);
    }
}

/** The exit code of what a check found and did not put right. */
export function exitCodeOf(report: DriftReport, { classify }: { classify: boolean }): number {
    const left = (s: ClassifiedStack) => s.drifted.filter((r) => !s.reconciled?.urns.includes(r.urn));
    const residency = report.stacks.some(
        (s) => left(s).some((r) => r.class === "residency") || s.policyFindings.some((f) => f.class === "residency"),
    );
    if (classify && residency) return DRIFT_EXIT.residency;
    if (report.stacks.some((s) => s.status === "unreachable" || s.status === "error")) return DRIFT_EXIT.error;
    return report.stacks.some((s) => left(s).length > 0 || s.policyFindings.length > 0) ? DRIFT_EXIT.drifted : DRIFT_EXIT.clean;
}

function isDrift(step: StepEventMetadata): boolean {
    return (
        step.type !== "pulumi:pulumi:Stack" && !step.type.startsWith("pulumi:providers:") && (step.op === "update" || step.op === "delete")
    );
}

/** The deployed state with what the refresh read: new inputs and outputs for what changed, nothing for what is gone. */
function refreshedState(deployed: StateResource[], steps: StepEventMetadata[]): StateResource[] {
    const read = new Map(steps.map((step) => [step.urn, step]));
    return deployed.flatMap((resource) => {
        const step = read.get(resource.urn);
        if (!step) return [resource];
        if (step.op === "delete") return [];
        return [{ ...resource, inputs: step.new?.inputs ?? resource.inputs, outputs: step.new?.outputs ?? resource.outputs }];
    });
}

function driftedResource(step: StepEventMetadata, cell: string | undefined): DriftedResource {
    return {
        urn: step.urn,
        name: nameOfUrn(step.urn),
        type: step.type,
        ...(cell ? { cell } : {}),
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
