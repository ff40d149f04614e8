/**
 * A tenant moving between cells, as each of the two cells sees it (`scripts/cellplane tenant move --execute`):
 * - `departing`, on the cell it leaves, from the fence until the flip: writes are refused with 503 and Retry-After
 *   (reads go on), and its exports neither start nor run, so nothing changes while it is copied;
 * - `arriving`, on the cell it goes to, until the flip: the same, so a copy in progress is never written to;
 * - `departed`, on the cell it left, until the old copy is forgotten: 421, naming the new cell's router.
 */
export const TENANT_MOVES_DDL = `CREATE TABLE IF NOT EXISTS cellplane.tenant_moves (
    org_id text PRIMARY KEY,
    state text NOT NULL CHECK (state IN ('departing', 'arriving', 'departed')),
    other_cell text NOT NULL,
    since timestamptz NOT NULL DEFAULT now()
)`;

export type MoveState = "departing" | "arriving" | "departed";

export interface TenantMove {
    state: MoveState;
    /** The cell it goes to (departing, departed) or comes from (arriving). */
    otherCell: string;
}

/** `WHERE` clause text for queries of per-tenant work a moving tenant must not start; `column` is its tenant column. */
export const notMoving = (column: string) => `NOT EXISTS (SELECT 1 FROM cellplane.tenant_moves m WHERE m.org_id = ${column})`;
