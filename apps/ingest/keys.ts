/**
 * Admin command for a cell's API keys, against its Postgres ($POSTGRES_URL):
 *   keys create --org <tenant>    prints the new key once
 *   keys revoke --id <key id>
 */
import { Command } from "commander";
import { Pool } from "pg";
import { API_KEYS_DDL, createApiKey, revokeApiKey } from "../shared/apiKeys";
import { ensureSchema } from "../shared/schema";

const program = new Command("keys").description("create and revoke tenants' API keys of one cell ($POSTGRES_URL)");

async function withPool<T>(fn: (pool: Pool) => Promise<T>): Promise<T> {
    if (!process.env.POSTGRES_URL) throw new Error("POSTGRES_URL is not set: the cell's Postgres, e.g. postgres://user:password@127.0.0.1:15400/cellplane");
    const pool = new Pool({ connectionString: process.env.POSTGRES_URL, max: 1 });
    try {
        await ensureSchema(pool, API_KEYS_DDL);
        return await fn(pool);
    } finally {
        await pool.end();
    }
}

program.command("create").requiredOption("--org <tenant>", "the tenant the key belongs to").action(async ({ org }) => {
    const { id, key } = await withPool((pool) => createApiKey(pool, org));
    console.log(JSON.stringify({ id, org, key }));
});

program.command("revoke").requiredOption("--id <id>", "the key's id").action(async ({ id }) => {
    if (!(await withPool((pool) => revokeApiKey(pool, id)))) throw new Error(`no active key with id ${id}`);
    console.log(`revoked ${id}`);
});

program.parseAsync().catch((error) => {
    console.error(error instanceof Error ? error.message : error);
    process.exit(1);
});
