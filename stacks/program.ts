import * as path from "path";
import * as pulumi from "@pulumi/pulumi";
import { Cell } from "../components/cell";
import { Router } from "../components/router";
import { cellTargets } from "../components/targets";
import type { TenantDirectory } from "../model/tenantDirectory";
import type { ValidStack } from "../model/config";
import { routingTable } from "../model/routing";
import { defaultStateHome } from "./stateHome";

/** The whole environment: one `Cell` per configured cell, the routing table of its tenants, and the router (on the first cell). */
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
    const router = new Router("router", { host: cells[0].resource, routing });

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
        router: { cell: cells[0].config.id, url: router.url },
    };
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
