import type { Violation } from "../../policies/check/engine";
import { ENCRYPTION_POLICIES } from "../../policies/encryption";
import { EXPOSURE_POLICIES } from "../../policies/exposure";
import { RESIDENCY_POLICIES } from "../../policies/residency";
import { TAGGING_POLICIES } from "../../policies/tagging";
import type { DriftedResource, PropertyChange, StackDrift } from "./drift";
import { describeRule, IgnoreRule, ruleMatches } from "./driftIgnore";

/**
 * What a drift asks of ops:
 * - `residency`: a change to where data lives, who may reach it or how it is protected (region, location,
 *   replication, peering, public access, encryption, the guardrails). It alerts, is never reconciled automatically
 *   and can never be ignored.
 * - `runtime`: a server or app that died, an object deleted, a setting changed by hand: `pulumi up` restores it, so
 *   it is safe to reconcile automatically. The default class.
 * - `cosmetic`: tags, labels, annotations and descriptions. Reported.
 */
export type DriftClass = "residency" | "runtime" | "cosmetic";

/** Worst first: a resource takes the worst class of its changes, a cause the worst of its members. */
export const DRIFT_CLASSES: readonly DriftClass[] = ["residency", "runtime", "cosmetic"];

/** What each residency pattern of a property path stands for, for the reason printed beside it. */
const RESIDENCY_PROPERTIES: [RegExp, string][] = [
    [/(^|\.)(region|location|availabilityZones?)(\.|\[|$)|Region(\.|\[|$)/, "region"],
    [/replicat|crossRegion|geoRedundant|geoBackup|failover/i, "replication"],
    [/peering/i, "peering"],
    [/public(?!Key)|cidrBlocks|ingress|egress/i, "public access"],
    [/encrypt|kms|(^|\.)sse|ssl|tls|https|cmk|keyVault|permissionsBoundary/i, "encryption"],
    [/(tags|tagsAll|labels)\..*residency/i, "residency label"],
];

/** Storage SKUs that copy data to a paired region, outside the residency. */
const GEO_REDUNDANT_SKU = /(^|_)(RA)?(GRS|GZRS)$/;

const COSMETIC_PROPERTIES = /(^|\.)(tags|tagsAll|labels|annotations)(\.|\[|$)|(^|\.)(description|displayName)$/;

/** Resources that exist to copy data or join networks: any drift of them is residency drift. */
const RESIDENCY_TYPES: [RegExp, string][] = [
    [/replication/i, "replication"],
    [/peering/i, "peering"],
];

/** The cells' guardrails: any drift of them is residency drift. */
const GUARDRAIL_TYPES = new Set([
    "aws:iam/policy:Policy",
    "azure-native:authorization:PolicyAssignment",
    "azure-native:authorization:PolicyDefinition",
    "kubernetes:networking.k8s.io/v1:NetworkPolicy",
]);

export interface ClassifiedChange extends PropertyChange {
    class: DriftClass;
    /** Why the change has its class: the residency concern it touches, `restorable` or `metadata`. */
    concern: string;
}

export function classOfChange(type: string, change: PropertyChange): { class: DriftClass; concern: string } {
    if (GUARDRAIL_TYPES.has(type)) return { class: "residency", concern: "guardrail" };
    const residencyType = RESIDENCY_TYPES.find(([pattern]) => pattern.test(type));
    if (residencyType) return { class: "residency", concern: residencyType[1] };
    if (typeof change.new === "string" && /sku|replicationType/i.test(change.property) && GEO_REDUNDANT_SKU.test(change.new))
        return { class: "residency", concern: "replication" };
    const residency = RESIDENCY_PROPERTIES.find(([pattern]) => pattern.test(change.property));
    if (residency) return { class: "residency", concern: residency[1] };
    if (COSMETIC_PROPERTIES.test(change.property)) return { class: "cosmetic", concern: "metadata" };
    return { class: "runtime", concern: "restorable" };
}

export function worstOf(classes: readonly DriftClass[]): DriftClass {
    return DRIFT_CLASSES.find((c) => classes.includes(c)) ?? "cosmetic";
}

/** A drifted resource with each change classified, and what of it ignore rules took out. */
export interface ClassifiedResource extends Omit<DriftedResource, "changes"> {
    class: DriftClass;
    changes: ClassifiedChange[];
    /** Changes (or, for a resource that is gone, the resource itself) that an ignore rule matched. */
    ignored: (ClassifiedChange & { rule: string })[];
}

/** A live policy finding with the class of its concern. */
export interface ClassifiedFinding extends Violation {
    class: DriftClass;
}

export interface ClassifiedStack extends Omit<StackDrift, "drifted" | "policies"> {
    drifted: ClassifiedResource[];
    /** Resources whose every change an ignore rule matched. */
    ignored: ClassifiedResource[];
    /** Mandatory findings of the policy pack over the refreshed state. */
    policyFindings: ClassifiedFinding[];
    /** Ignore rules that matched residency drift, which they cannot silence. */
    refusedIgnores: string[];
    /** Runtime drift `--reconcile-runtime` put right after the check. */
    reconciled?: { urns: string[]; changes: Record<string, number>; seconds: number };
}

const RESIDENCY_CONCERNS = new Set([...RESIDENCY_POLICIES, ...ENCRYPTION_POLICIES, ...EXPOSURE_POLICIES].map((p) => p.name));
const COSMETIC_CONCERNS = new Set(TAGGING_POLICIES.map((p) => p.name));

/** How a resource that is gone shows among changes: judged, and ignored, as a whole (no property rule matches it). */
export const GONE = "(gone)";

/**
 * Classifies a stack's drift and applies the ignore rules: a non-residency change a rule matches moves to `ignored`;
 * a residency change stays drifted, and the rule is named in `refusedIgnores`. A stack with no drift left and no
 * mandatory finding on its live state is clean.
 */
export function classifyStack(result: StackDrift, rules: readonly IgnoreRule[]): ClassifiedStack {
    const refusedIgnores: string[] = [];
    const resources = result.drifted.map((resource) => classifyResource(resource, rules, refusedIgnores));
    const isIgnored = (r: ClassifiedResource) => r.changes.length === 0 && r.ignored.length > 0;
    const drifted = resources.filter((r) => !isIgnored(r));
    const policyFindings = (result.policies?.findings ?? [])
        .filter((f) => f.level === "mandatory")
        .map((f) => ({ ...f, class: classOfPolicy(f.policy) }));
    const { policies: _policies, ...rest } = result;
    const failed = result.status === "unreachable" || result.status === "error";
    return {
        ...rest,
        status: failed ? result.status : drifted.length > 0 || policyFindings.length > 0 ? "drifted" : "clean",
        drifted,
        ignored: resources.filter(isIgnored),
        policyFindings,
        refusedIgnores,
    };
}

function classifyResource(resource: DriftedResource, rules: readonly IgnoreRule[], refusedIgnores: string[]): ClassifiedResource {
    const changes = resource.op === "delete" ? [{ property: GONE, old: "present", new: "gone" }] : resource.changes;
    const classified = changes.map((change) => ({ ...change, ...classOfChange(resource.type, change) }));
    const kept: ClassifiedChange[] = [];
    const ignored: ClassifiedResource["ignored"] = [];
    for (const change of classified) {
        const rule = rules.find((r) => ruleMatches(r, resource, change.property === GONE ? undefined : change.property));
        if (rule && change.class !== "residency") ignored.push({ ...change, rule: describeRule(rule) });
        else kept.push(change);
        if (rule && change.class === "residency")
            refusedIgnores.push(
                `${describeRule(rule)} matches residency drift (${change.concern}) of ${resource.name} ${change.property}, which is never ignored`,
            );
    }
    return { ...resource, class: worstOf((kept.length > 0 ? kept : classified).map((c) => c.class)), changes: kept, ignored };
}

function classOfPolicy(policy: string): DriftClass {
    if (RESIDENCY_CONCERNS.has(policy)) return "residency";
    return COSMETIC_CONCERNS.has(policy) ? "cosmetic" : "runtime";
}
