import type { MockedResource, ProgramRun } from "./harness";

/**
 * Where a resource lives: an AWS resource in its provider's region, an Azure one at its `location`;
 * Kubernetes objects live wherever their cluster does, so they have no region of their own.
 */
export function regionOf(run: ProgramRun, resource: MockedResource): string | undefined {
    if (resource.type.startsWith("aws:")) {
        const providerUrn = resource.provider?.split("::").slice(0, -1).join("::");
        return run.resources.find((r) => r.urn === providerUrn)?.inputs.region;
    }
    if (resource.type.startsWith("azure-native:")) return resource.inputs.location;
    return undefined;
}
