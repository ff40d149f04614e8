import * as pulumi from "@pulumi/pulumi";
import type { Cell, CellEndpoints } from "../components/cell";
import type { CellConfig, PlacedTenant, StackConfig, ValidStack } from "./config";
import type { Residency } from "./residency";

/** Where one tenant's traffic goes: its cell, which is always of the tenant's own residency. */
export interface Route {
    cell: string;
    residency: Residency;
    cloud: string;
    region: string;
    endpoints: CellEndpoints;
}

export type RoutingTable = Record<string, Route>;

/** residency → the cell hosting its router: the configured one (`cellplane:routers`), else its first cell. */
export function routerHosts(stack: Pick<ValidStack, "cells" | "routers">): Partial<Record<Residency, CellConfig>> {
    const hosts: Partial<Record<Residency, CellConfig>> = {};
    for (const cell of stack.cells) hosts[cell.residency] ??= cell;
    for (const [residency, id] of Object.entries(stack.routers) as [Residency, string][])
        hosts[residency] = stack.cells.find((c) => c.id === id);
    return hosts;
}

/** tenant → cell → residency → endpoints, from the cells' outputs. */
export function routingTable(
    tenants: readonly PlacedTenant[],
    cells: readonly { config: CellConfig; resource: Cell }[],
): pulumi.Output<RoutingTable> {
    const byId = new Map(cells.map((cell) => [cell.config.id, cell]));
    const routes = tenants.map((tenant) => {
        const { config, resource } = byId.get(tenant.cell)!;
        return resource.endpoints.apply((endpoints): [string, Route] => [
            tenant.id,
            { cell: config.id, residency: config.residency, cloud: config.cloud, region: config.region, endpoints },
        ]);
    });
    return pulumi.all(routes).apply((entries) => Object.fromEntries(entries));
}

/** A residency router's table as it reads it (`apps/router/routingTable.ts`), all but the serial. */
export interface RouterTableContent {
    residency: Residency;
    cells: Record<string, { residency: Residency; ingestUrl: string; exportUrl: string }>;
    tenants: Record<string, string>;
    elsewhere: Record<string, { residency: Residency; router: string }>;
    overrides: Record<string, { action: "quarantine"; reason: string } | { action: "pin"; cell: string; reason: string }>;
}

/**
 * The table of `residency`'s router: the residency's cells and tenants, where every other tenant's router is, and
 * the operators' overrides of the residency's tenants (without who set them: the stack file keeps that).
 */
export function routerTableContent(
    stack: Pick<ValidStack, "tenants"> & Pick<StackConfig, "routingOverrides">,
    residency: Residency,
    cells: readonly { config: CellConfig; resource: Cell }[],
    routerUrls: Partial<Record<Residency, string>>,
): pulumi.Output<RouterTableContent> {
    const own = cells.filter((c) => c.config.residency === residency);
    const tenants = stack.tenants.filter((t) => t.residency === residency);
    return pulumi.all(own.map((c) => c.resource.endpoints)).apply((endpoints) => ({
        residency,
        cells: Object.fromEntries(
            own.map((c, index) => [
                c.config.id,
                { residency, ingestUrl: endpoints[index].ingestUrl, exportUrl: endpoints[index].exportUrl },
            ]),
        ),
        tenants: Object.fromEntries(tenants.map((t) => [t.id, t.cell])),
        elsewhere: Object.fromEntries(
            stack.tenants
                .filter((t) => t.residency !== residency)
                .map((t) => [t.id, { residency: t.residency, router: routerUrls[t.residency]! }]),
        ),
        overrides: Object.fromEntries(
            tenants.flatMap((t) => {
                const override = stack.routingOverrides[t.id];
                if (!override) return [];
                return [
                    [
                        t.id,
                        override.action === "pin"
                            ? { action: "pin" as const, cell: override.cell, reason: override.reason }
                            : { action: "quarantine" as const, reason: override.reason },
                    ],
                ];
            }),
        ),
    }));
}
