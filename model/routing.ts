import * as pulumi from "@pulumi/pulumi";
import type { Cell, CellEndpoints } from "../components/cell";
import type { CellConfig, PlacedTenant, ValidStack } from "./config";
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
