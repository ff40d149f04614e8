import type { Pool } from "pg";

/**
 * Creates the tables an app needs in the cell's Postgres. The cell's apps start together and `CREATE TABLE IF NOT
 * EXISTS` is not safe to race, so every app takes the same transaction-scoped lock first.
 */
export async function ensureSchema(pool: Pool, ...ddl: string[]): Promise<void> {
    const client = await pool.connect();
    try {
        await client.query("BEGIN");
        await client.query("SELECT pg_advisory_xact_lock(hashtext('cellplane schema'))");
        for (const statement of ddl) await client.query(statement);
        await client.query("COMMIT");
    } catch (error) {
        await client.query("ROLLBACK");
        throw error;
    } finally {
        client.release();
    }
}
