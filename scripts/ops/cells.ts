import { capacityOf } from "../../model/placement";
import type { ValidStack } from "../../model/config";
import { PORTS_PER_LOCAL_CELL } from "../../model/config";
import { Refusal } from "./environment";
import { keepTenantsInPlace } from "./placements";
import type { StackFile } from "./stackFile";

export interface NewCell {
    id: string;
    cloud: string;
    region: string;
    residency: string;
    size: string;
    portBase?: number;
    kubeContext?: string;
}

/** The port base of the first local cell; later ones start after the last, with a cell's worth of ports spare. */
const FIRST_LOCAL_PORT_BASE = 15_400;

/**
 * Appends a cell. The program's schema refuses duplicates, regions outside the residency and sizes the
 * environment does not allow; a new cell never pulls an existing tenant away from its cell.
 */
export function addCell(file: StackFile, cell: NewCell): { pinned: string[] } {
    const before = file.validate();
    const portBase = cell.cloud === "local" && cell.portBase === undefined ? nextPortBase(before) : cell.portBase;
    file.append("cells", dropUndefined({ ...cell, portBase }));
    const pinned = keepTenantsInPlace(file, before);
    file.validate();
    return { pinned };
}

/** Removes a cell that holds no tenant; a cell with tenants is refused, naming them. */
export function removeCell(file: StackFile, id: string): void {
    const before = file.validate();
    const index = file.indexOf("cells", id);
    if (index < 0) throw new Refusal(`--id ${id}: no cell "${id}" in ${file.file}. Cells: ${before.cells.map((c) => c.id).join(", ")}`);
    const tenants = before.tenants.filter((t) => t.cell === id).map((t) => t.id);
    if (tenants.length > 0) {
        throw new Refusal(
            `cell ${id} still holds tenant${tenants.length > 1 ? "s" : ""} ${tenants.join(", ")}. Move ${tenants.length > 1 ? "them" : "it"} first: cellplane tenant move --env ${before.environment} --id <tenant> --to <cell>`,
        );
    }
    file.remove("cells", index);
    file.validate();
}

export interface CellRow {
    id: string;
    cloud: string;
    region: string;
    residency: string;
    size: string;
    tenants: string[];
    capacity: number;
}

export function cellRows(stack: ValidStack): CellRow[] {
    return stack.cells.map((cell) => ({
        id: cell.id,
        cloud: cell.cloud,
        region: cell.region,
        residency: cell.residency,
        size: cell.size,
        tenants: stack.tenants.filter((t) => t.cell === cell.id).map((t) => t.id),
        capacity: capacityOf(cell),
    }));
}

function nextPortBase(stack: ValidStack): number {
    const bases = stack.cells.map((c) => c.portBase).filter((p): p is number => p !== undefined);
    return bases.length === 0 ? FIRST_LOCAL_PORT_BASE : Math.max(...bases) + PORTS_PER_LOCAL_CELL;
}

function dropUndefined(item: object): Record<string, unknown> {
    return Object.fromEntries(Object.entries(item).filter(([, value]) => value !== undefined));
}
