import * as path from "path";
import { holdsData } from "../model/stateful";
import { runStackFile, stackNames } from "./runStack";

/** The URNs of every resource that holds data in the checked-in stacks, recorded by `npm run stateful:record`. */
export const STATEFUL_URNS_FILE = path.join(__dirname, "statefulUrns.json");

/**
 * The URNs the engine gives a stack's resources that hold data. A URN is a resource's identity: a renamed,
 * retyped or reparented resource is deleted and created anew, its data lost, unless it keeps an alias.
 */
export async function statefulUrnsOf(stack: string): Promise<string[]> {
    return (await runStackFile(stack)).resources
        .filter((r) => r.id !== undefined && holdsData(r.type, r.inputs))
        .map((r) => r.engineUrn)
        .sort();
}

/** Every checked-in stack's stateful URNs. */
export async function allStatefulUrns(): Promise<Record<string, string[]>> {
    const urns: Record<string, string[]> = {};
    for (const stack of stackNames()) urns[stack] = await statefulUrnsOf(stack);
    return urns;
}
