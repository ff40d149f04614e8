import type {
    EnforcementLevel,
    PolicyResource,
    ResourceValidationArgs,
    ResourceValidationPolicy,
    StackValidationArgs,
    StackValidationPolicy,
} from "@pulumi/policy";
import * as fs from "fs";
import * as path from "path";
import type { MockedResource } from "../../offline/runStack";
import { POLICIES } from "../pack";
import type { ResourceProps } from "../../model/resourceProps";

/** A `--policy-pack-config` file: a level, or a level with the policy's own settings, per policy name; `all` for every policy. */
export type PackConfig = Record<string, EnforcementLevel | ({ enforcementLevel?: EnforcementLevel } & Record<string, unknown>)>;

export interface Violation {
    policy: string;
    level: EnforcementLevel;
    /** `not-evaluated`: the policy failed on this resource (or stack) and could not say whether it complies. */
    status: "violation" | "not-evaluated";
    resource: string;
    /** The engine's URN of the resource (none for a stack-wide violation). */
    urn: string;
    /** The cell the resource belongs to, if any. */
    cell?: string;
    message: string;
}

type Policy = ResourceValidationPolicy | StackValidationPolicy;

/** The checked-in `--policy-pack-config` of a stack: `policies/config/<stack>.json`. */
export function packConfigOf(stack: string): PackConfig {
    return JSON.parse(fs.readFileSync(path.join(__dirname, "..", "config", `${stack}.json`), "utf8"));
}

/** The level the engine applies: the policy's entry in the config, else `all`, else the policy's own. */
export function levelOf(policy: Policy, config: PackConfig): EnforcementLevel {
    const entry = config[policy.name] ?? config.all;
    const level = typeof entry === "string" ? entry : entry?.enforcementLevel;
    return level ?? policy.enforcementLevel ?? "advisory";
}

/** The policy's settings: its config entry over the defaults of its config schema. */
function settingsOf(policy: Policy, config: PackConfig): Record<string, unknown> {
    const defaults = Object.fromEntries(
        Object.entries(policy.configSchema?.properties ?? {}).map(([key, schema]) => [key, (schema as { default?: unknown }).default]),
    );
    const entry = config[policy.name];
    const { enforcementLevel: _level, ...settings } = typeof entry === "object" ? entry : {};
    return { ...defaults, ...settings };
}

class NotApplicable extends Error {}
const notApplicable = (reason?: string): never => {
    throw new NotApplicable(reason);
};

/**
 * Runs the pack over resources captured from an offline run, handing each policy the same arguments the
 * Pulumi engine's analyzer would (`@pulumi/policy`'s server.ts): resource policies see each resource's inputs,
 * stack policies every managed resource's outputs with parents and providers resolved.
 */
export async function runPolicies(captured: MockedResource[], config: PackConfig, policies: Policy[] = POLICIES): Promise<Violation[]> {
    // The engine analyzes what the stack manages; what it only reads (`Resource.get`) reaches no policy.
    const resources = captured.filter((r) => !r.read);
    const byUrn = new Map(resources.map((r) => [r.urn, r]));
    const providerOf = (r: MockedResource) => {
        const provider = r.provider ? byUrn.get(r.provider.split("::").slice(0, -1).join("::")) : undefined;
        return provider && { type: provider.type, urn: provider.urn, name: provider.name, props: provider.inputs };
    };
    const optsOf = (r: MockedResource) => ({
        protect: r.protect,
        ignoreChanges: [],
        aliases: [],
        customTimeouts: { createSeconds: 0, updateSeconds: 0, deleteSeconds: 0 },
        additionalSecretOutputs: [],
        parent: r.parent,
    });
    const violations: Violation[] = [];

    for (const policy of policies) {
        const level = levelOf(policy, config);
        if (level === "disabled") continue;
        const settings = settingsOf(policy, config);
        const found = (status: Violation["status"], target: MockedResource | undefined, message: string) =>
            violations.push({
                policy: policy.name,
                level,
                status,
                resource: target?.name ?? "(stack)",
                urn: target?.engineUrn ?? "",
                cell: target?.cell,
                message,
            });
        const report = (fallback: MockedResource | undefined) => (message: string, urn?: string) =>
            void found("violation", urn ? byUrn.get(urn) : fallback, message);
        const evaluate = async (target: MockedResource | undefined, run: () => void | Promise<void>) => {
            try {
                await ignoreNotApplicable(run);
            } catch (error) {
                found("not-evaluated", target, `could not evaluate: ${(error as Error).message}`);
            }
        };

        if ("validateStack" in policy) {
            const stackResources: PolicyResource[] = resources.map((r) => ({
                type: r.type,
                name: r.name,
                urn: r.urn,
                props: r.state,
                opts: optsOf(r),
                provider: providerOf(r),
                dependencies: [],
                propertyDependencies: {},
                ...typeChecks(r.type, r.state),
            }));
            const policyResources = new Map(stackResources.map((r) => [r.urn, r]));
            stackResources.forEach((r, i) => (r.parent = resources[i].parent ? policyResources.get(resources[i].parent) : undefined));
            const args: StackValidationArgs = {
                resources: stackResources,
                stackTags: new Map(),
                getConfig: <T>() => settings as T,
                notApplicable,
            };
            await evaluate(undefined, () => policy.validateStack(args, report(undefined)));
            continue;
        }
        const validations = [policy.validateResource ?? []].flat();
        for (const r of resources) {
            const args: ResourceValidationArgs = {
                type: r.type,
                name: r.name,
                urn: r.urn,
                props: r.inputs,
                opts: optsOf(r),
                provider: providerOf(r),
                stackTags: new Map(),
                ...typeChecks(r.type, r.inputs),
                getConfig: <T>() => settings as T,
                notApplicable,
            };
            for (const validate of validations) await evaluate(r, () => validate(args, report(r)));
        }
    }
    return violations;
}

/** `isType`/`asType` as the analyzer defines them: by the resource class's Pulumi type token. */
function typeChecks(type: string, props: ResourceProps) {
    const isType = (resourceClass: unknown) => (resourceClass as { __pulumiType?: string }).__pulumiType === type;
    const asType = <T>(resourceClass: unknown): T | undefined => (isType(resourceClass) ? (props as T) : undefined);
    return { isType, asType };
}

async function ignoreNotApplicable(run: () => void | Promise<void>) {
    try {
        await run();
    } catch (error) {
        if (!(error instanceof NotApplicable)) throw error;
    }
}
