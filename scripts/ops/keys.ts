import type { Pool } from "pg";
import type { CellCredentials, CellEndpoints } from "../../components/cell";
import { createApiKey, revokeApiKey } from "../../apps/shared/apiKeys";
import { Refusal, stacksOf } from "./environment";
import { StackFile } from "./stackFile";
import { openStack } from "./workspace";
import { withCellPostgres } from "./cellClients";

/** Where a deployed tenant lives: its stack, its cell and that cell's outputs (secrets included), and its router. */
export interface TenantHome {
    stack: string;
    cell: string;
    outputs: CellOutputs;
    /** The front door of the tenant's residency, where the tenant sends its requests. */
    routerUrl: string;
    /** The CA of the router's HTTPS, where no public root signs it (local stacks). */
    routerCa?: string;
}

/** A cell as its stack outputs it (`stacks/program.ts`), secrets included. */
export interface CellOutputs {
    residency: string;
    endpoints: CellEndpoints;
    credentials: CellCredentials;
}

/** The stack of `env` whose file places `tenant`. */
export function stackPlacing(projectDir: string, env: string, tenant: string): string {
    const stacks = stacksOf(projectDir, env);
    const stack = stacks.find((s) =>
        StackFile.load(projectDir, s)
            .validate()
            .tenants.some((t) => t.id === tenant),
    );
    if (!stack)
        throw new Refusal(
            `--tenant ${tenant}: no stack of environment ${env} places it (${stacks.join(", ") || "no stacks"}). Place it with: cellplane tenant add --env ${env} --id ${tenant} --residency <eu|us>`,
        );
    return stack;
}

/** Finds the stack of `env` that places `tenant` and reads its cell from the stack's outputs; undefined if it was never deployed. */
export async function tenantHome(projectDir: string, env: string, tenant: string): Promise<TenantHome | undefined> {
    const stack = stackPlacing(projectDir, env, tenant);
    const outputs = await (await openStack(projectDir, env, stack)).outputs();
    const route = outputs.routing?.value?.[tenant];
    if (!route) return undefined;
    const router = outputs.routers.value[route.residency];
    return {
        stack,
        cell: route.cell,
        outputs: outputs.cells.value[route.cell],
        routerUrl: router.url,
        routerCa: outputs.cells.value[router.cell]?.endpoints.appCa,
    };
}

/** Runs `fn` against the Postgres of the tenant's cell, reached with the credentials in the stack's (secret) outputs. */
export async function withTenantPostgres<T>(
    projectDir: string,
    env: string,
    tenant: string,
    fn: (pool: Pool, home: TenantHome) => Promise<T>,
): Promise<T> {
    const home = await tenantHome(projectDir, env, tenant);
    if (!home)
        throw new Refusal(`tenant ${tenant} is placed in its stack file but not yet deployed: run cellplane reconcile --env ${env} first`);
    return withCellPostgres(home.outputs, (pool) => fn(pool, home));
}

/** A new API key for the tenant, stored hashed in its own cell's Postgres; the key itself is only in the answer. */
export function createTenantKey(projectDir: string, env: string, tenant: string) {
    return withTenantPostgres(projectDir, env, tenant, async (pool, { stack, cell, routerUrl, routerCa }) => ({
        tenant,
        stack,
        cell,
        routerUrl,
        routerCa,
        ...(await createApiKey(pool, tenant)),
    }));
}

export function revokeTenantKey(projectDir: string, env: string, tenant: string, id: string) {
    return withTenantPostgres(projectDir, env, tenant, async (pool, home) => {
        if (!(await revokeApiKey(pool, tenant, id)))
            throw new Refusal(`--id ${id}: no active key with that id on cell ${home.cell} of tenant ${tenant}`);
        return { tenant, id, cell: home.cell };
    });
}
