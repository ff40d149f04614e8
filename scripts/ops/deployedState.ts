import type { Stack } from "@pulumi/pulumi/automation";
import type { MockedResource } from "../../offline/runStack";
import { nameOfUrn, typeOfUrn } from "./urns";

/** A resource of a stack's exported deployment, as `pulumi stack export` writes it (secrets stay encrypted). */
export interface StateResource {
    urn: string;
    type: string;
    inputs?: Record<string, unknown>;
    outputs?: Record<string, unknown>;
    parent?: string;
    provider?: string;
    protect?: boolean;
    custom?: boolean;
    /** Read with `Resource.get`, not managed by the stack. */
    external?: boolean;
}

export async function deployedResources(stack: Stack): Promise<StateResource[]> {
    return ((await stack.exportStack()).deployment.resources ?? []) as StateResource[];
}

/** The `Cell` component a resource belongs to, found through its parents; none for routers and shared resources. */
export function cellOfResource(byUrn: Map<string, StateResource>, urn: string): string | undefined {
    for (let at: string | undefined = urn; at; at = byUrn.get(at)?.parent)
        if (typeOfUrn(at) === "cellplane:index:Cell") return nameOfUrn(at);
    return undefined;
}

/** A deployed (or refreshed) state's resources as the policy pack's engine takes them: inputs for resource policies, outputs for stack policies. */
export function asPolicySubjects(resources: StateResource[]): MockedResource[] {
    const byUrn = new Map(resources.map((r) => [r.urn, r]));
    return resources
        .filter((r) => typeOfUrn(r.urn) !== "pulumi:pulumi:Stack")
        .map((r) => ({
            urn: r.urn,
            engineUrn: r.urn,
            type: r.type,
            name: nameOfUrn(r.urn),
            id: r.custom ? "deployed" : undefined,
            read: r.external ?? false,
            inputs: r.inputs ?? {},
            state: r.outputs ?? {},
            parent: r.parent && typeOfUrn(r.parent) !== "pulumi:pulumi:Stack" ? r.parent : undefined,
            protect: r.protect ?? false,
            provider: r.provider,
            ancestors: [],
            dependsOn: [],
            cell: cellOfResource(byUrn, r.urn),
        }));
}
