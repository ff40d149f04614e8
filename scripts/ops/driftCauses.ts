import { ClassifiedStack, DRIFT_CLASSES, DriftClass } from "./driftClasses";

/** One drift seen the same way in one or more cells: the same part of a cell, changed the same way. */
export interface DriftCause {
    class: DriftClass;
    type: string;
    /** The resource's name with its cell's id written `{cell}`: the same part in every cell. */
    part: string;
    /** The changes, with the cell's id written `{cell}` wherever it appears. */
    changes: { property: string; old: unknown; new: unknown }[];
    where: { stack: string; cell?: string; resource: string }[];
}

/**
 * Groups identical drift across cells and stacks into one cause each, worst class first, then the most widespread:
 * five cells whose server was stopped the same way are one cause with five places, not five findings.
 */
export function causesOf(stacks: readonly ClassifiedStack[]): DriftCause[] {
    const causes = new Map<string, DriftCause>();
    for (const stack of stacks) {
        for (const resource of stack.drifted) {
            const generic = (value: unknown) => withoutCell(value, resource.cell);
            const part = generic(resource.name) as string;
            const changes = resource.changes.map((c) => ({
                property: generic(c.property) as string,
                old: generic(c.old),
                new: generic(c.new),
            }));
            const key = JSON.stringify([resource.type, part, changes]);
            const cause = causes.get(key) ?? { class: resource.class, type: resource.type, part, changes, where: [] };
            cause.where.push({ stack: stack.stack, ...(resource.cell ? { cell: resource.cell } : {}), resource: resource.name });
            causes.set(key, cause);
        }
    }
    for (const cause of causes.values())
        cause.where.sort((a, b) => a.stack.localeCompare(b.stack) || (a.cell ?? "").localeCompare(b.cell ?? ""));
    const rank = (c: DriftCause) => DRIFT_CLASSES.indexOf(c.class);
    return [...causes.values()].sort((a, b) => rank(a) - rank(b) || b.where.length - a.where.length || a.part.localeCompare(b.part));
}

function withoutCell(value: unknown, cell: string | undefined): unknown {
    if (!cell) return value;
    return JSON.parse(
        JSON.stringify(value ?? null)
            .split(cell)
            .join("{cell}"),
    );
}
