import { createHash, randomBytes } from "crypto";
import type { Pool } from "pg";

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

/** The tenant a key claims to belong to; only `ApiKeys.tenantOf` proves it. */
export function claimedTenant(key: string): string | undefined {
    return /^cp_([a-z0-9-]+)_/.exec(key)?.[1];
}

export async function createApiKey(pool: Pool, orgId: string): Promise<{ id: string; key: string }> {
    const key = `cp_${orgId}_${randomBytes(32).toString("base64url")}`;
    const { rows } = await pool.query<{ id: string }>("INSERT INTO cellplane.api_keys (org_id, key_hash) VALUES ($1, $2) RETURNING id", [orgId, hashOf(key)]);
    return { id: rows[0].id, key };
}

export async function revokeApiKey(pool: Pool, id: string): Promise<boolean> {
    const { rowCount } = await pool.query("UPDATE cellplane.api_keys SET revoked_at = now() WHERE id = $1 AND revoked_at IS NULL", [id]);
    return rowCount === 1;
}

/** Resolves keys to tenants, remembering answers briefly so a revoked key stops working within `ttlMs`. */
export class ApiKeys {
    private readonly cache = new Map<string, { org: string | undefined; until: number }>();

    constructor(private readonly pool: Pool, private readonly ttlMs = 5_000) {}

    async tenantOf(key: string | undefined): Promise<string | undefined> {
        if (!key) return undefined;
        const cached = this.cache.get(key);
        if (cached && cached.until > Date.now()) return cached.org;
        const { rows } = await this.pool.query<{ org_id: string }>("SELECT org_id FROM cellplane.api_keys WHERE key_hash = $1 AND revoked_at IS NULL", [hashOf(key)]);
        const org = rows[0]?.org_id;
        this.cache.set(key, { org, until: Date.now() + this.ttlMs });
        return org;
    }
}
