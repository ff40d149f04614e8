import { capacityOf } from "../../model/placement";
import type { Quotas, ValidStack } from "../../model/config";
import { Refusal } from "./environment";
import { revokeTenantKeys } from "../../apps/shared/apiKeys";
import { tenantHome, withTenantPostgres } from "./keys";
import { holdsData, purgePlan, purgeTenant, tenantDataOf } from "./tenantData";
import { keepTenantsInPlace } from "./placements";
import type { StackFile } from "./stackFile";

export interface NewTenant {
    id: string;
    residency: string;
    quotas?: Partial<Quotas>;
}

export interface Placement {
    tenant: string;
    cell: string;
    /** Tenants on the cell, this one included, and how many its size allows. */
    load: number;
    capacity: number;
}

/**
 * Appends a tenant left to automatic placement: the program puts it on the least-loaded cell of its residency
 * that has capacity, and appending never moves a tenant already placed.
 */
export function addTenant(file: StackFile, tenant: NewTenant): Placement {
    file.validate();
    file.append(
        "tenants",
        tenant.quotas && Object.keys(tenant.quotas).length > 0 ? { ...tenant } : { id: tenant.id, residency: tenant.residency },
    );
    return placementOf(file.validate(), tenant.id);
}

export interface MovePlan extends Placement {
    from: string;
    residency: string;
    /** What must be copied from the old cell to the new one, store by store, before routing switches. */
    data: { store: string; what: string }[];
    pinned: string[];
}

/** Pins a tenant to another cell of its own residency and returns the plan; a move across residencies is refused. */
export function moveTenant(file: StackFile, id: string, to: string): MovePlan {
    const before = file.validate();
    const tenant = before.tenants.find((t) => t.id === id);
    if (!tenant)
        throw new Refusal(
            `--id ${id}: no tenant "${id}" in ${file.file}. Tenants: ${before.tenants.map((t) => t.id).join(", ") || "none"}`,
        );
    const target = before.cells.find((c) => c.id === to);
    const sameResidency = before.cells.filter((c) => c.residency === tenant.residency && c.id !== tenant.cell).map((c) => c.id);
    if (!target)
        throw new Refusal(
            `--to ${to}: no cell "${to}" in ${file.file}. Other cells of residency ${tenant.residency}: ${sameResidency.join(", ") || "none"}`,
        );
    if (target.residency !== tenant.residency) {
        throw new Refusal(
            `--to ${to}: tenant ${id} is pinned to residency ${tenant.residency} and cell ${to} is in ${target.residency}; a tenant's data never leaves its residency. Other cells of residency ${tenant.residency}: ${sameResidency.join(", ") || "none"}`,
        );
    }
    if (tenant.cell === to) throw new Refusal(`--to ${to}: tenant ${id} is already on cell ${to}`);

    file.set("tenants", file.indexOf("tenants", id), "cell", to);
    const pinned = keepTenantsInPlace(file, before, id);
    return {
        ...placementOf(file.validate(), id),
        from: tenant.cell,
        residency: tenant.residency,
        data: dataToCopy(id, tenant.cell, to),
        pinned,
    };
}

export function placementOf(stack: ValidStack, tenant: string): Placement {
    const cell = stack.tenants.find((t) => t.id === tenant)!.cell;
    return {
        tenant,
        cell,
        load: stack.tenants.filter((t) => t.cell === cell).length,
        capacity: capacityOf(stack.cells.find((c) => c.id === cell)!),
    };
}

function dataToCopy(tenant: string, from: string, to: string): MovePlan["data"] {
    return [
        { store: "postgres", what: `rows of org ${tenant} in schema cellplane (API keys, export schedules, jobs), ${from} → ${to}` },
        { store: "kafka", what: `events of ${tenant} still in topic events on ${from}: let the consumer drain them into ClickHouse first` },
        { store: "clickhouse", what: `analytics.events WHERE org_id = '${tenant}' (the rollups rebuild from it), ${from} → ${to}` },
        { store: "objectStore", what: `objects under tenant=${tenant}/ in ${from}'s bucket → ${to}'s bucket` },
    ];
}

/**
 * Clears a tenant out of its cell before it leaves the stack file: refuses while it has data there (naming what),
 * unless `purge`, which prints the plan and then revokes its keys and deletes its data. Without data, its keys are
 * revoked, so a tenant id used again never inherits them.
 */
export async function removeTenant(
    projectDir: string,
    env: string,
    tenant: string,
    options: { purge?: boolean; dryRun?: boolean },
    say: (line: string) => void,
): Promise<void> {
    if (!(await tenantHome(projectDir, env, tenant))) return say(`tenant ${tenant} was never deployed, so no cell holds anything of it`);
    await withTenantPostgres(projectDir, env, tenant, async (pool, home) => {
        const data = await tenantDataOf(home, pool, tenant);
        const plan = purgePlan(home, tenant, data);
        if (holdsData(data) && !options.purge) {
            throw new Refusal(
                `tenant ${tenant} still has data in cell ${home.cell}: ${data.events} events, ${data.schedules} export schedules, ${data.jobs} jobs, ${data.objects} exported objects. ` +
                    `Move it (cellplane tenant move) or delete it with --purge, which would:\n  ${plan.join("\n  ")}`,
            );
        }
        if (options.purge) say(`purge of tenant ${tenant} in cell ${home.cell}:\n  ${plan.join("\n  ")}`);
        if (options.dryRun) return say("dry run: nothing deleted or revoked");
        if (options.purge) await purgeTenant(home, pool, tenant, say);
        else say(`tenant ${tenant} has no data in cell ${home.cell}; revoked its ${await revokeTenantKeys(pool, tenant)} keys`);
    });
}
