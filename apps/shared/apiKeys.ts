import { createHash, randomBytes } from "crypto";
import type { Pool } from "pg";
import type { MoveState, TenantMove } from "./tenantMoves";

/**
 * Tenants' API keys, in the cell's Postgres. Only a SHA-256 of each key is stored: a key is shown once, when it
 * is created. Keys are 32 random bytes, so a plain hash (no salt, no stretching) cannot be guessed back. A key
 * starts with its tenant (`cp_<tenant>_…`) so any cell can send a tenant of another cell to its own cell.
 */
export const API_KEYS_DDL = `CREATE TABLE IF NOT EXISTS cellplane.api_keys (
    id uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    org_id text NOT NULL,
    key_hash bytea NOT NULL UNIQUE,
    created_at timestamptz NOT NULL DEFAULT now(),
    revoked_at timestamptz
)`;

const hashOf = (key: string) => createHash("sha256").update(key).digest();

/** A key's shape: `cp_`, a tenant id, `_`, and 32 random bytes in base64url. */
const KEY = /^cp_([a-z][a-z0-9-]{2,31})_[A-Za-z0-9_-]{43}$/;

/** The tenant a well-formed key claims to belong to; only `ApiKeys.tenantOf` proves it. */
export function claimedTenant(key: string): string | undefined {
    return KEY.exec(key)?.[1];
}

export async function createApiKey(pool: Pool, orgId: string): Promise<{ id: string; key: string }> {
    const key = `cp_${orgId}_${randomBytes(32).toString("base64url")}`;
    const { rows } = await pool.query<{ id: string }>("INSERT INTO cellplane.api_keys (org_id, key_hash) VALUES ($1, $2) RETURNING id", [
        orgId,
        hashOf(key),
    ]);
    return { id: rows[0].id, key };
}

/** Stores a key made elsewhere (a canary's derived key) as live, whether or not it was stored or revoked before. */
export async function installApiKey(pool: Pool, key: string): Promise<void> {
    const orgId = claimedTenant(key);
    if (orgId === undefined) throw new Error("not an API key: expected cp_<tenant>_<43 characters of base64url>");
    await pool.query(
        `INSERT INTO cellplane.api_keys (org_id, key_hash) VALUES ($1, $2)
         ON CONFLICT (key_hash) DO UPDATE SET revoked_at = NULL WHERE api_keys.org_id = EXCLUDED.org_id`,
        [orgId, hashOf(key)],
    );
}

/** Revokes key `id` of tenant `orgId`; another tenant's key is left alone, as if it did not exist. */
export async function revokeApiKey(pool: Pool, orgId: string, id: string): Promise<boolean> {
    const { rowCount } = await pool.query(
        "UPDATE cellplane.api_keys SET revoked_at = now() WHERE id = $1 AND org_id = $2 AND revoked_at IS NULL",
        [id, orgId],
    );
    return rowCount === 1;
}

/** Revokes every key of tenant `orgId`; returns how many were live. */
export async function revokeTenantKeys(pool: Pool, orgId: string): Promise<number> {
    const { rowCount } = await pool.query("UPDATE cellplane.api_keys SET revoked_at = now() WHERE org_id = $1 AND revoked_at IS NULL", [
        orgId,
    ]);
    return rowCount ?? 0;
}

/** Whom a key belongs to, and where that tenant is going if it is moving between cells. */
export interface KeyOwner {
    tenant: string;
    move?: TenantMove;
}

/** How long a replica trusts its answer for a key: a revoked key stops working within it. */
export const KEY_CACHE_TTL_MS = 5_000;

/**
 * Resolves keys to tenants. Answers, unknown keys included, are remembered for `ttlMs` (so a revoked key stops
 * working, and a tenant's move takes hold, within it) in a cache of at most `maxEntries`, evicting the least recently used: a flood of made-up keys
 * costs one query each and never more memory. Concurrent lookups of one key share its query.
 */
export class ApiKeys {
    private readonly cache = new Map<string, { owner: Promise<KeyOwner | undefined>; until: number }>();

    constructor(
        private readonly pool: Pool,
        private readonly ttlMs = KEY_CACHE_TTL_MS,
        readonly maxEntries = 10_000,
    ) {}

    get size(): number {
        return this.cache.size;
    }

    async tenantOf(key: string | undefined): Promise<string | undefined> {
        return (await this.ownerOf(key))?.tenant;
    }

    /** The key's tenant, and its move between cells if one is under way (`tenantMoves.ts`). */
    async ownerOf(key: string | undefined): Promise<KeyOwner | undefined> {
        if (!key || claimedTenant(key) === undefined) return undefined;
        const hash = hashOf(key).toString("base64");
        const cached = this.cache.get(hash);
        this.cache.delete(hash);
        if (cached && cached.until > Date.now()) {
            this.cache.set(hash, cached);
            return cached.owner;
        }
        const owner = this.pool
            .query<{ org_id: string; state: MoveState | null; other_cell: string | null }>(
                `SELECT k.org_id, m.state, m.other_cell FROM cellplane.api_keys k LEFT JOIN cellplane.tenant_moves m USING (org_id)
                 WHERE k.key_hash = $1 AND k.revoked_at IS NULL`,
                [hashOf(key)],
            )
            .then(
                ({ rows: [row] }): KeyOwner | undefined =>
                    row && { tenant: row.org_id, move: row.state ? { state: row.state, otherCell: row.other_cell! } : undefined },
            );
        this.cache.set(hash, { owner, until: Date.now() + this.ttlMs });
        owner.catch(() => this.cache.delete(hash));
        for (const oldest of this.cache.keys()) {
            if (this.cache.size <= this.maxEntries) break;
            this.cache.delete(oldest);
        }
        return owner;
    }
}
