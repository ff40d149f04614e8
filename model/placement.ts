import { CELL_SHAPES, Size } from "./sizing";
import { Residency } from "./residency";

export interface PlaceableCell {
    id: string;
    residency: Residency;
    size: Size;
}

export interface PlaceableTenant {
    id: string;
    residency: Residency;
    cell?: string;
}

/** A tenant that could not be placed, by its index in the tenant list. */
export interface PlacementProblem {
    index: number;
    field: "cell" | "residency";
    message: string;
}

export interface PlacementResult {
    /** tenant id → cell id, for every tenant that could be placed. */
    cellOf: Record<string, string>;
    problems: PlacementProblem[];
}

export function capacityOf(cell: PlaceableCell): number {
    return CELL_SHAPES[cell.size].tenantCapacity;
}

/**
 * Places tenants on cells of their residency. Pinned tenants (`cell` set) keep their cell; the others go,
 * in list order, to the least-loaded cell of their residency that still has capacity (ties: list order),
 * so appending a tenant never moves one already placed.
 */
export function placeTenants(cells: readonly PlaceableCell[], tenants: readonly PlaceableTenant[]): PlacementResult {
    const load = new Map(cells.map((cell) => [cell.id, 0]));
    const cellOf: Record<string, string> = {};
    const problems: PlacementProblem[] = [];
    const place = (tenant: PlaceableTenant, cell: PlaceableCell) => {
        cellOf[tenant.id] = cell.id;
        load.set(cell.id, load.get(cell.id)! + 1);
    };

    tenants.forEach((tenant, index) => {
        if (tenant.cell === undefined) return;
        const cell = cells.find((c) => c.id === tenant.cell);
        const sameZone = cells.filter((c) => c.residency === tenant.residency).map((c) => c.id);
        if (!cell) {
            problems.push({
                index,
                field: "cell",
                message: `"${tenant.cell}" is not a cell of this stack. Cells of residency ${tenant.residency}: ${sameZone.join(", ") || "none"}`,
            });
        } else if (cell.residency !== tenant.residency) {
            problems.push({
                index,
                field: "cell",
                message: `"${cell.id}" is in residency ${cell.residency} but the tenant is pinned to ${tenant.residency}. Cells of residency ${tenant.residency}: ${sameZone.join(", ") || "none"}`,
            });
        } else if (load.get(cell.id)! >= capacityOf(cell)) {
            problems.push({
                index,
                field: "cell",
                message: `"${cell.id}" is full (${capacityOf(cell)} tenants for size ${cell.size}). Pin the tenant to another ${tenant.residency} cell, remove "cell" to place it automatically, or raise the cell's size`,
            });
        } else {
            place(tenant, cell);
        }
    });

    tenants.forEach((tenant, index) => {
        if (tenant.cell !== undefined) return;
        const zone = cells.filter((c) => c.residency === tenant.residency);
        const open = zone.filter((c) => load.get(c.id)! < capacityOf(c));
        if (open.length === 0) {
            const usage = zone.map((c) => `${c.id} ${load.get(c.id)}/${capacityOf(c)}`).join(", ");
            const message =
                zone.length === 0
                    ? `"${tenant.residency}" has no cell in this stack. Add a ${tenant.residency} cell to cellplane:cells or change the tenant's residency`
                    : `"${tenant.residency}" has no cell with capacity left (${usage}). Add a ${tenant.residency} cell or raise a cell's size`;
            problems.push({ index, field: "residency", message });
            return;
        }
        const leastLoaded = open.reduce((best, c) => (load.get(c.id)! < load.get(best.id)! ? c : best));
        place(tenant, leastLoaded);
    });

    return { cellOf, problems };
}
