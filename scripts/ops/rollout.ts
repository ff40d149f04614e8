import * as fs from "fs";
import * as path from "path";
import type { EngineEvent, Stack } from "@pulumi/pulumi/automation";
import type { CellConfig, ValidStack } from "../../model/config";
import { SIZES } from "../../model/sizing";
import { Refusal } from "./environment";
import { cellHealth, CellHealth, probeTargetsOf } from "./health";
import { refusalOf, StatefulChange, statefulChangeOf } from "./plan";
import { writeRoutingFile } from "./reconcile";
import { nameOfUrn, typeOfUrn } from "./urns";
import { openStack } from "./workspace";
import { defaultStateHome } from "../../stacks/stateHome";

/** A group of cells updated before the next group starts; a step is one targeted update, gated on its cells' health. */
export interface Wave {
    name: string;
    steps: string[][];
}

/** A rollout of one stack: its waves in order, and what the preview found unchanged. */
export interface RolloutPlan {
    stack: string;
    waves: Wave[];
    unchanged: string[];
    /** Replacements or deletions of resources that hold data, which the rollout refuses (`cellplane plan`). */
    refused: StatefulChange[];
}

/** Where the rollout stopped, and why, so `--resume` can go on from there. */
export interface Halt {
    step: string[];
    gate: string;
    detail: string;
}

export interface RolloutJournal {
    stack: string;
    startedAt: string;
    waves: Wave[];
    /** Steps applied and gated green. */
    done: string[][];
    halted?: Halt;
    finishedAt?: string;
}

export interface RolloutOptions {
    canary?: string;
    batch: number;
    bakeMs: number;
    sampleMs: number;
    allowReplace: ReadonlySet<string>;
    resume: boolean;
    say: (line: string) => void;
}

/** The routers and the routing table change last, as a wave of their own: every cell already runs the new version. */
export const ROUTERS = "routers";
/** Resources of the stack outside any cell (a shared CA, a cluster's operators) go with the first wave. */
const SHARED = "shared";

const CELL_TYPE = "cellplane:index:Cell";
const ROUTER_TYPE = "cellplane:index:Router";

/** One resource of the preview: whether it changes, and its parent, to find the cell or router that owns it. */
interface PreviewStep {
    urn: string;
    parent?: string;
    changes: boolean;
}

/**
 * Previews the stack and groups its resources by owner: a cell's id, `routers`, or `shared`. Every resource of an
 * owner is targeted when it is updated, so the update sees the owner whole; an owner with no change is skipped.
 */
async function previewByOwner(stack: Stack, allowed: ReadonlySet<string>) {
    const steps = new Map<string, PreviewStep>();
    const refused: StatefulChange[] = [];
    await stack.preview({
        onEvent: (event: EngineEvent) => {
            const step = event.resourcePreEvent?.metadata;
            if (!step) return;
            const seen = steps.get(step.urn);
            steps.set(step.urn, {
                urn: step.urn,
                parent: step.new?.parent || step.old?.parent || undefined,
                changes: (seen?.changes ?? false) || !["same", "read"].includes(step.op),
            });
            const stateful = statefulChangeOf(step, allowed);
            if (stateful && !stateful.allowed && !refused.some((r) => r.urn === stateful.urn)) refused.push(stateful);
        },
    });
    const ownerOf = (urn: string): string => {
        for (let at: string | undefined = urn; at; at = steps.get(at)?.parent) {
            if (typeOfUrn(at) === ROUTER_TYPE) return ROUTERS;
            if (typeOfUrn(at) === CELL_TYPE) return nameOfUrn(at);
        }
        return SHARED;
    };
    const owners = new Map<string, { urns: string[]; changes: boolean }>();
    for (const step of steps.values()) {
        if (typeOfUrn(step.urn) === "pulumi:pulumi:Stack") continue;
        const owner = ownerOf(step.urn);
        const entry = owners.get(owner) ?? { urns: [], changes: false };
        entry.urns.push(step.urn);
        entry.changes ||= step.changes;
        owners.set(owner, entry);
    }
    return { owners, refused };
}

/** The stack's resources by owner (a cell's id, `routers` or `shared`), from a preview. */
export async function ownersOf(stack: Stack) {
    return (await previewByOwner(stack, new Set())).owners;
}

/**
 * The waves of a rollout (Temporal's rings, AWS's cell-based guidance): the canary cell first (`--canary`, else the
 * smallest changed cell), then one cell of each residency and cloud not yet covered, then the rest in batches, and
 * the routers last. Cells the preview finds unchanged are left out.
 */
export function wavesOf(
    cells: readonly CellConfig[],
    tenantsOf: (cell: string) => number,
    changed: ReadonlySet<string>,
    o: {
        canary?: string;
        batch: number;
        routersChange: boolean;
    },
): Wave[] {
    const pending = cells.filter((c) => changed.has(c.id));
    const bySmallest = [...pending].sort((a, b) => SIZES.indexOf(a.size) - SIZES.indexOf(b.size) || tenantsOf(a.id) - tenantsOf(b.id));
    const canary = o.canary === undefined ? bySmallest[0] : pending.find((c) => c.id === o.canary);
    const waves: Wave[] = [];
    if (canary) waves.push({ name: `canary ${canary.id}`, steps: [[canary.id]] });
    // The smallest cell of each residency and cloud the canary did not cover, in the configuration's order.
    const kindOf = (c: CellConfig) => `${c.residency}/${c.cloud}`;
    const smallestOfKind = new Map<string, CellConfig>();
    for (const c of bySmallest) if (!smallestOfKind.has(kindOf(c))) smallestOfKind.set(kindOf(c), c);
    if (canary) smallestOfKind.delete(kindOf(canary));
    const firsts = pending.filter((c) => smallestOfKind.get(kindOf(c)) === c);
    if (firsts.length > 0) waves.push({ name: "one cell of each residency and cloud", steps: firsts.map((c) => [c.id]) });
    const rest = pending.filter((c) => c !== canary && !firsts.includes(c)).map((c) => c.id);
    for (let i = 0; i < rest.length; i += o.batch) waves.push({ name: `batch ${i / o.batch + 1}`, steps: [rest.slice(i, i + o.batch)] });
    if (o.routersChange) waves.push({ name: ROUTERS, steps: [[ROUTERS]] });
    return waves;
}

/** The rollout's journal, in the state home beside the routing table files. */
export const journalFile = (env: string, stack: string) => path.join(defaultStateHome(), "rollouts", env, `${stack}.json`);

function readJournal(file: string): RolloutJournal | undefined {
    return fs.existsSync(file) ? (JSON.parse(fs.readFileSync(file, "utf8")) as RolloutJournal) : undefined;
}

function writeJournal(file: string, journal: RolloutJournal): void {
    fs.mkdirSync(path.dirname(file), { recursive: true });
    fs.writeFileSync(`${file}.tmp`, `${JSON.stringify(journal, null, 2)}\n`);
    fs.renameSync(`${file}.tmp`, file);
}

/** Plans the rollout of one stack from its preview, without changing anything (`--plan`). */
export async function planRollout(projectDir: string, env: string, config: ValidStack, stackName: string, o: RolloutOptions) {
    const stack = await openStack(projectDir, env, stackName);
    const { owners, refused } = await previewByOwner(stack, o.allowReplace);
    const changed = new Set([...owners].filter(([, entry]) => entry.changes).map(([owner]) => owner));
    const waves = wavesOf(config.cells, (cell) => config.tenants.filter((t) => t.cell === cell).length, changed, {
        canary: o.canary,
        batch: o.batch,
        routersChange: changed.has(ROUTERS),
    });
    const plan: RolloutPlan = {
        stack: stackName,
        waves,
        unchanged: config.cells.map((c) => c.id).filter((id) => !changed.has(id)),
        refused,
    };
    return { stack, owners, changed, plan };
}

/**
 * Applies the stack wave by wave: each step is a targeted update of its cells' resources (the stack's shared ones
 * join the first), then its cells' health (`health.ts`, the canary included) must hold green for the bake time.
 * A failed update or gate halts the rollout, journalled; `resume` goes on from the step that halted.
 */
export async function rollout(
    projectDir: string,
    env: string,
    config: ValidStack,
    stackName: string,
    o: RolloutOptions,
): Promise<RolloutJournal> {
    const file = journalFile(env, stackName);
    const previous = readJournal(file);
    if (previous?.halted && !o.resume)
        throw new Refusal(
            `the last rollout of ${stackName} halted at ${previous.halted.step.join(", ")} (${previous.halted.gate}: ${previous.halted.detail}). Fix it, then run again with --resume`,
        );
    if (o.resume && !previous?.halted) throw new Refusal(`--resume: no halted rollout of ${stackName} to resume (${file})`);

    const planned = await planRollout(projectDir, env, config, stackName, o);
    const { stack, plan } = planned;
    let { owners, changed } = planned;
    if (plan.refused.length > 0) throw new Refusal(plan.refused.map(refusalOf).join("\n"));
    // Resuming keeps the halted rollout's order and redoes every step from the one that halted on; cells the fix
    // changed that the halted rollout left alone go after its cells, before the routers.
    const waves = o.resume ? resumedWaves(previous!.waves, plan.waves) : plan.waves;
    const journal: RolloutJournal = o.resume
        ? { ...previous!, halted: undefined }
        : { stack: stackName, startedAt: new Date().toISOString(), waves, done: [] };
    writeJournal(file, journal);
    const doneBefore = new Set(journal.done.map((step) => step.join(",")));
    let sharedPending = owners.get(SHARED)?.changes ?? false;

    for (const wave of waves) {
        for (const step of wave.steps) {
            if (step[0] === ROUTERS) {
                // The routers' tables hold the cells' endpoints, which a preview before the cells' updates cannot
                // know; with every cell done, a fresh preview tells whether the routers change at all.
                ({ owners } = await previewByOwner(stack, o.allowReplace));
                changed = new Set([...owners].filter(([, entry]) => entry.changes).map(([owner]) => owner));
            }
            const due = step.filter((owner) => changed.has(owner));
            if (doneBefore.has(step.join(",")) && due.length === 0) continue;
            if (due.length === 0 && !sharedPending) {
                o.say(`${wave.name}: ${step.join(", ")} unchanged`);
                continue;
            }
            const targets = [...step, ...(sharedPending ? [SHARED] : [])].flatMap((owner) => owners.get(owner)?.urns ?? []);
            o.say(`${wave.name}: updating ${step.join(", ")} (${targets.length} resources)…`);
            const halt = (failedGate: string, detail: string): RolloutJournal => {
                journal.halted = { step, gate: failedGate, detail };
                writeJournal(file, journal);
                return journal;
            };
            try {
                await stack.up({ target: targets, onOutput: (out) => o.say(out.trimEnd()) });
            } catch (error) {
                return halt("update", firstLines((error as Error).message));
            }
            sharedPending = false;
            // The routers' wave is gated on every cell: each canary comes in through its residency's router.
            const cells = step.filter((owner) => owner !== ROUTERS);
            const failed = await gate(stack, cells.length > 0 ? cells : config.cells.map((c) => c.id), o);
            if (failed) return halt(`${failed.cell}: ${failed.check}`, failed.detail);
            journal.done.push(step);
            writeJournal(file, journal);
        }
    }
    writeRoutingFile(env, stackName, await stack.outputs());
    journal.finishedAt = new Date().toISOString();
    writeJournal(file, journal);
    return journal;
}

/** The halted rollout's waves, then any cell changed since, then the routers (a fresh preview decides if they change). */
function resumedWaves(halted: Wave[], now: Wave[]): Wave[] {
    const known = new Set(halted.flatMap((wave) => wave.steps.flat()));
    const added = now.flatMap((wave) => wave.steps.flat()).filter((owner) => owner !== ROUTERS && !known.has(owner));
    return [
        ...halted.filter((wave) => wave.name !== ROUTERS),
        ...(added.length > 0 ? [{ name: "changed since the rollout halted", steps: added.map((cell) => [cell]) }] : []),
        { name: ROUTERS, steps: [[ROUTERS]] },
    ];
}

/**
 * Probes the cells until the bake time has passed; the first probe that is not green fails the gate, named by its
 * cell and check. Every probe runs the canary end to end, so a bake has at least one.
 */
async function gate(
    stack: Stack,
    cells: string[],
    o: RolloutOptions,
): Promise<{ cell: string; check: string; detail: string } | undefined> {
    const targets = probeTargetsOf(await stack.outputs()).filter(([id]) => cells.includes(id));
    const until = Date.now() + o.bakeMs;
    do {
        const health = await Promise.all(targets.map(([id, outputs, router]) => cellHealth(id, outputs, router, o.sampleMs)));
        o.say(health.map(summaryOf).join("\n"));
        const sick = health.find((h) => h.verdict !== "green");
        if (sick) {
            const check = sick.checks.find((c) => c.verdict !== "green")!;
            return { cell: sick.cell, check: check.name, detail: `${check.verdict}: ${check.detail}` };
        }
    } while (Date.now() < until);
    return undefined;
}

const summaryOf = (health: CellHealth) =>
    `  gate ${health.cell}: ${health.verdict} (${health.checks.map((c) => `${c.name} ${c.verdict}`).join(", ")})`;

const firstLines = (text: string) => text.split("\n").filter(Boolean).slice(0, 12).join("\n");
