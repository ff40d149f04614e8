import * as path from "path";
import * as pulumi from "@pulumi/pulumi";
import { Cell } from "../components/cell";
import { Router } from "../components/router";
import { cellTargets } from "../components/targets";
import type { TenantDirectory } from "../model/tenantDirectory";
import type { CellConfig, ValidStack } from "../model/config";
import type { Cloud, Residency } from "../model/residency";
import { routerHosts, routingTable } from "../model/routing";
import type { CellTarget } from "../components/platform";
import { defaultStateHome } from "./stateHome";

/** The whole environment: one `Cell` per configured cell, the routing table of its tenants, and a router per residency. */
export function cellplane(stack: ValidStack) {
    const directory = tenantDirectoryOf(stack);
    const targets = cellTargets({ stateDir: stateDirOf(stack), localTls: stack.localTls, cells: stack.cells });
    const ingestUrls = Object.fromEntries(stack.cells.map((c) => [c.id, targets[c.cloud].appUrl(c, "ingest")]));
    const cells = stack.cells.map((config) => ({
        config,
        resource: new Cell(config.id, {
            cell: config,
            target: targets[config.cloud],
            environment: stack.environment,
            production: stack.environment === "prod",
            owner: stack.owner,
            costCenter: stack.costCenter,
            retentionDays: stack.retentionDays,
            adminCidrs: stack.adminCidrs,
            awsAdminRoleArns: stack.awsAdminRoleArns,
            directory,
            ingestUrls,
        }),
    }));
    const routing = routingTable(stack.tenants, cells);
    const routers = residencyRouters(stack, cells, targets);

    return {
        environment: stack.environment,
        cells: Object.fromEntries(
            cells.map(({ config, resource }) => [
                config.id,
                {
                    cloud: config.cloud,
                    region: config.region,
                    residency: config.residency,
                    size: config.size,
                    endpoints: resource.endpoints,
                    credentials: resource.credentials,
                },
            ]),
        ),
        routing,
        routers,
    };
}

/**
 * A router per residency with cells, on its host cell (`routerHosts`), holding only its residency's routes. Each
 * router's URL is known before anything exists, so every router can name the others in its 421 answers.
 */
function residencyRouters(
    stack: ValidStack,
    cells: { config: CellConfig; resource: Cell }[],
    targets: Record<Cloud, CellTarget>,
): Partial<Record<Residency, { cell: string; url: pulumi.Output<string> }>> {
    const hosts = Object.entries(routerHosts(stack)) as [Residency, CellConfig][];
    const urls = Object.fromEntries(hosts.map(([residency, host]) => [residency, targets[host.cloud].appUrl(host, "router")]));
    return Object.fromEntries(
        hosts.map(([residency, host]) => {
            const own = stack.tenants.filter((t) => t.residency === residency);
            const elsewhere = Object.fromEntries(
                stack.tenants
                    .filter((t) => t.residency !== residency)
                    .map((t) => [t.id, { residency: t.residency, router: urls[t.residency] }]),
            );
            const router = new Router(`router-${residency}`, {
                host: cells.find((c) => c.config.id === host.id)!.resource,
                residency,
                routing: routingTable(own, cells),
                elsewhere,
            });
            return [residency, { cell: host.id, url: router.url }];
        }),
    );
}

/** Local cells' data: `cellplane:stateDir`, else the state home; one folder per stack. */
export function stateDirOf(stack: ValidStack): string {
    return path.join(stack.stateDir ?? defaultStateHome(), pulumi.getStack());
}

export function tenantDirectoryOf(stack: ValidStack): TenantDirectory {
    return {
        cells: Object.fromEntries(
            stack.cells.map((c) => [c.id, { cloud: c.cloud, region: c.region, residency: c.residency, size: c.size }]),
        ),
        tenants: Object.fromEntries(stack.tenants.map((t) => [t.id, { residency: t.residency, cell: t.cell, ...t.quotas }])),
    };
}
