import { Pool } from "pg";
import { API_KEYS_DDL, createApiKey, revokeApiKey } from "../../apps/shared/apiKeys";
import { postgresUrl } from "../../apps/shared/config";
import { ensureSchema } from "../../apps/shared/schema";
import { Refusal, stacksOf } from "./environment";
import { StackFile } from "./stackFile";
import { openStack } from "./workspace";

interface TenantHome {
    stack: string;
    cell: string;
    /** The environment's front door, where the tenant sends its requests. */
    routerUrl: string;
}

/** Runs `fn` against the Postgres of the tenant's cell, reached with the credentials in the stack's (secret) outputs. */
async function withTenantPostgres<T>(projectDir: string, env: string, tenant: string, fn: (pool: Pool, home: TenantHome) => Promise<T>): Promise<T> {
    const stacks = stacksOf(projectDir, env);
    const stack = stacks.find((s) => StackFile.load(projectDir, s).validate().tenants.some((t) => t.id === tenant));
    if (!stack) throw new Refusal(`--tenant ${tenant}: no stack of environment ${env} places it (${stacks.join(", ") || "no stacks"}). Place it with: cellplane tenant add --env ${env} --id ${tenant} --residency <eu|us>`);
    const outputs = await (await openStack(projectDir, env, stack)).outputs();
    const route = outputs.routing?.value?.[tenant];
    if (!route) throw new Refusal(`tenant ${tenant} is in Pulumi.${stack}.yaml but not yet deployed: run cellplane reconcile --env ${env} first`);
    const cell = outputs.cells.value[route.cell];
    const pool = new Pool({ connectionString: postgresUrl(cell.endpoints.postgres, cell.credentials.postgresPassword), max: 1 });
    try {
        await ensureSchema(pool, API_KEYS_DDL);
        return await fn(pool, { stack, cell: route.cell, routerUrl: outputs.router.value.url });
    } finally {
        await pool.end();
    }
}

/** A new API key for the tenant, stored hashed in its own cell's Postgres; the key itself is only in the answer. */
export function createTenantKey(projectDir: string, env: string, tenant: string) {
    return withTenantPostgres(projectDir, env, tenant, async (pool, home) => ({ tenant, ...home, ...(await createApiKey(pool, tenant)) }));
}

export function revokeTenantKey(projectDir: string, env: string, tenant: string, id: string) {
    return withTenantPostgres(projectDir, env, tenant, async (pool, home) => {
        if (!(await revokeApiKey(pool, tenant, id))) throw new Refusal(`--id ${id}: no active key with that id on cell ${home.cell} of tenant ${tenant}`);
        return { tenant, id, cell: home.cell };
    });
}
