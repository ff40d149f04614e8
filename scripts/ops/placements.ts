import { ConfigError } from "../../model/config";
import type { ValidStack } from "../../model/config";
import type { StackFile } from "./stackFile";

/**
 * Tenants left to automatic placement go to the least-loaded cell, so adding or removing a cell could move
 * them and strand their data. After an edit, every tenant whose cell would change (other than `moving`) is
 * pinned to the cell it had before. Returns the tenants it pinned.
 */
export function keepTenantsInPlace(file: StackFile, before: ValidStack, moving?: string): string[] {
    const cellBefore = new Map(before.tenants.map((t) => [t.id, t.cell]));
    const pinned: string[] = [];
    for (let round = 0; round <= before.tenants.length; round++) {
        const moved = placedTenants(file).filter((t) => t.id !== moving && cellBefore.has(t.id) && cellBefore.get(t.id) !== t.cell);
        if (moved.length === 0) break;
        for (const tenant of moved) {
            file.set("tenants", file.indexOf("tenants", tenant.id), "cell", cellBefore.get(tenant.id));
            pinned.push(tenant.id);
        }
    }
    return pinned;
}

/** Placement of the edited file, or none while it is invalid (the caller's validation reports why). */
function placedTenants(file: StackFile): ValidStack["tenants"] {
    try {
        return file.validate().tenants;
    } catch (error) {
        if (error instanceof ConfigError) return [];
        throw error;
    }
}
