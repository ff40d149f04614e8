import * as fs from "fs";
import { z } from "zod";

/** One cell of the router's residency, at the public URLs of its services. */
const cellSchema = z.object({ residency: z.string().min(1), ingestUrl: z.url(), exportUrl: z.url() });

/** What operators set on one tenant (`scripts/cellplane tenant quarantine|pin`), applied before the placement. */
const overrideSchema = z.discriminatedUnion("action", [
    z.object({ action: z.literal("quarantine"), reason: z.string().min(1) }),
    z.object({ action: z.literal("pin"), cell: z.string().min(1), reason: z.string().min(1) }),
]);

/**
 * A router's routing table, as the program writes it to the router's ROUTING_FILE. `serial` grows with every
 * change (`components/routing/revision.ts`), so the router can tell a newer table from an older one.
 */
export const routingDocumentSchema = z
    .object({
        serial: z.number().int().positive(),
        residency: z.string().min(1),
        /** The residency's cells. */
        cells: z.record(z.string(), cellSchema),
        /** Each of the residency's tenants → its cell. */
        tenants: z.record(z.string(), z.string()),
        /** Every other tenant of the environment: its residency and the router that serves it, for the 421 answer. */
        elsewhere: z.record(z.string(), z.object({ residency: z.string().min(1), router: z.url() })),
        overrides: z.record(z.string(), overrideSchema).default({}),
    })
    .superRefine((table, ctx) => {
        const problem = (path: (string | number)[], message: string) => ctx.addIssue({ code: "custom", path, message });
        for (const [id, cell] of Object.entries(table.cells))
            if (cell.residency !== table.residency)
                problem(["cells", id], `is of residency ${cell.residency}, not the table's ${table.residency}`);
        for (const [tenant, cell] of Object.entries(table.tenants))
            if (!Object.hasOwn(table.cells, cell)) problem(["tenants", tenant], `names cell ${cell}, which is not in cells`);
        for (const [tenant, override] of Object.entries(table.overrides)) {
            if (!Object.hasOwn(table.tenants, tenant)) problem(["overrides", tenant], "is not a tenant of this residency");
            if (override.action === "pin" && !Object.hasOwn(table.cells, override.cell))
                problem(["overrides", tenant, "cell"], `names cell ${override.cell}, which is not in cells`);
        }
    });
export type RoutingDocument = z.output<typeof routingDocumentSchema>;
export type RoutedCell = RoutingDocument["cells"][string];

/** Reads and checks a routing table; a problem is thrown with the file and what is wrong. */
export function readRoutingDocument(file: string): RoutingDocument {
    let text: string;
    try {
        text = fs.readFileSync(file, "utf8");
    } catch (error) {
        throw new Error(`${file} is missing: ${(error as Error).message}`, { cause: error });
    }
    let parsed: unknown;
    try {
        parsed = JSON.parse(text);
    } catch {
        throw new Error(`${file} is not JSON (${text.length} bytes)`);
    }
    const result = routingDocumentSchema.safeParse(parsed);
    if (!result.success)
        throw new Error(
            `${file} is not a routing table: ${result.error.issues.map((i) => `${i.path.join(".")}: ${i.message}`).join("; ")}`,
        );
    return result.data;
}

export interface TableRefusal {
    at: string;
    reason: string;
}

/**
 * The router's routing table, kept statically stable (AWS's cell-routing guidance): a new table replaces the one in
 * use only when it reads, checks, is of the router's residency, is not older, and does not empty a table that has
 * tenants. Anything else is refused with its reason, and the last good table keeps serving.
 */
export class RoutingTable {
    private table: RoutingDocument;
    private refusals: TableRefusal[] = [];
    private refusalCount = 0;
    private timer?: NodeJS.Timeout;

    /** Reads the first table; without a good one the router does not start. */
    constructor(
        private readonly file: string,
        private readonly residency: string,
    ) {
        this.table = this.candidate();
    }

    get current(): RoutingDocument {
        return this.table;
    }

    /** The last refusals, newest last. */
    get refused(): readonly TableRefusal[] {
        return this.refusals;
    }

    /** Reads the file again; returns whether a new table is in use. */
    reload(): boolean {
        let next: RoutingDocument;
        try {
            next = this.candidate();
        } catch (error) {
            return this.refuse((error as Error).message);
        }
        if (next.serial < this.table.serial)
            return this.refuse(`${this.file} has serial ${next.serial}, older than the table in use (${this.table.serial})`);
        if (Object.keys(next.tenants).length === 0 && Object.keys(this.table.tenants).length > 0)
            return this.refuse(`${this.file} has no tenants, where the table in use has ${Object.keys(this.table.tenants).length}`);
        if (JSON.stringify(next) === JSON.stringify(this.table)) return false;
        this.table = next;
        return true;
    }

    /** Re-reads the file every `intervalMs`, logging what it does. */
    watch(intervalMs: number, log: (message: string) => void): void {
        this.timer = setInterval(() => {
            const refusals = this.refusalCount;
            if (this.reload()) log(`routing table serial ${this.table.serial} in use: ${Object.keys(this.table.tenants).length} tenants`);
            else if (this.refusalCount > refusals)
                log(`routing table refused, keeping serial ${this.table.serial}: ${this.refusals.at(-1)!.reason}`);
        }, intervalMs);
        this.timer.unref();
    }

    stop(): void {
        clearInterval(this.timer);
    }

    private candidate(): RoutingDocument {
        const next = readRoutingDocument(this.file);
        if (next.residency !== this.residency)
            throw new Error(`${this.file} is the table of residency ${next.residency}, not of this router's ${this.residency}`);
        return next;
    }

    private refuse(reason: string): false {
        // A bad file stays bad until it changes: one refusal per reason is enough to see.
        if (this.refusals.at(-1)?.reason === reason) return false;
        this.refusals = [...this.refusals.slice(-9), { at: new Date().toISOString(), reason }];
        this.refusalCount += 1;
        return false;
    }
}
