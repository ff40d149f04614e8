import { createHmac } from "crypto";
import type { CellConfig, PlacedTenant, Quotas } from "./config";

/**
 * Every cell has a synthetic tenant of its own, `canary-<cell>`, that the health probe drives end to end: placed on
 * its cell only, never counted against the cell's capacity, never billed, and its exports stay in its cell's bucket.
 */
export const CANARY_PREFIX = "canary-";

/** Tenant ids are at most 32 characters, so a cell's id leaves room for the prefix. */
export const MAX_CELL_ID_WITH_CANARY = 32 - CANARY_PREFIX.length;

export const canaryTenantOf = (cellId: string): string => `${CANARY_PREFIX}${cellId}`;

export const isCanaryTenant = (tenantId: string): boolean => tenantId.startsWith(CANARY_PREFIX);

/** A probe a minute needs little: small quotas keep a runaway probe from weighing on its cell. */
export const CANARY_QUOTAS: Quotas = { eventsPerSecond: 10, apiRequestsPerMinute: 60, maxStorageGb: 1 };

/** The canary of each cell, placed on it. */
export function canaryTenants(cells: readonly Pick<CellConfig, "id" | "residency">[]): PlacedTenant[] {
    return cells.map((cell) => ({ id: canaryTenantOf(cell.id), residency: cell.residency, cell: cell.id, quotas: CANARY_QUOTAS }));
}

/**
 * The canary's API key, derived from its cell's router key (a secret of the stack) so the probe needs no key store
 * of its own: the same stack always gives the same key, and rotating the router key rotates it.
 */
export function canaryKeyOf(cellId: string, routerKey: string): string {
    const secret = createHmac("sha256", routerKey).update(`cellplane canary key of ${cellId}`).digest("base64url");
    return `cp_${canaryTenantOf(cellId)}_${secret}`;
}

/** The stack's tenants and the canary of every cell: what cells accept and routers route. */
export function tenantsWithCanaries(stack: { cells: readonly CellConfig[]; tenants: readonly PlacedTenant[] }): PlacedTenant[] {
    return [...stack.tenants, ...canaryTenants(stack.cells)];
}
