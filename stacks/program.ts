import * as path from "path";
import * as pulumi from "@pulumi/pulumi";
import { Cell } from "../components/cell";
import { Router } from "../components/routing/router";
import { cellTargets } from "../components/targets";
import type { TenantDirectory } from "../model/tenantDirectory";
import type { CellConfig, ValidStack } from "../model/config";
import type { Residency } from "../model/residency";
import { routerHosts, routerTableContent, routingTable } from "../model/routing";
import { defaultStateHome } from "./stateHome";
import { tenantsWithCanaries } from "../model/canary";
import { attestationPublicKey } from "../model/attestation";

/** The whole environment: one `Cell` per configured cell, the routing table of its tenants, and a router per residency. */
export function cellplane(stack: ValidStack) {
    // Cells accept and routers route each cell's canary like any tenant; the routing output lists the configured ones.
    const served = { ...stack, tenants: tenantsWithCanaries(stack) };
    const directory = tenantDirectoryOf(served);
    const targetOf = cellTargets({
        stateDir: stateDirOf(stack),
        localTls: stack.localTls,
        localMetrics: stack.localMetrics,
        localStreaming: stack.localStreaming,
        localJobSchedules: stack.localJobSchedules,
        cells: stack.cells,
        names: stack.dnsZone ? { environment: stack.environment, dnsZone: stack.dnsZone } : undefined,
        azureDnsResourceGroup: stack.azureDnsResourceGroup,
        gatewayClass: stack.gatewayClass,
    });
    const hosts = Object.entries(routerHosts(stack)) as [Residency, CellConfig][];
    // Each router's URL is known before anything exists, so every router and cell can name the others in 421 answers.
    const routerUrls: Partial<Record<Residency, string>> = Object.fromEntries(
        hosts.map(([residency, host]) => [residency, targetOf(host.cloud).appUrl(host, "router")]),
    );
    const cells = stack.cells.map((config) => ({
        config,
        resource: new Cell(config.id, {
            cell: config,
            target: targetOf(config.cloud),
            environment: stack.environment,
            production: stack.environment === "prod",
            hostsRouter: hosts.some(([, host]) => host.id === config.id),
            owner: stack.owner,
            costCenter: stack.costCenter,
            retentionDays: stack.retentionDays,
            adminCidrs: stack.adminCidrs,
            awsAdminRoleArns: stack.awsAdminRoleArns,
            chartRepository: stack.chartRepository,
            directory,
            routerUrls: Object.fromEntries(stack.cells.map((c) => [c.id, routerUrls[c.residency]!])),
        }),
    }));
    const routing = routingTable(stack.tenants, cells);
    const routers = residencyRouters(served, cells, hosts, routerUrls);

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
        /** residency → the public key its attestations are signed with (`scripts/cellplane attest verify` checks them). */
        attestationKeys: Object.fromEntries(
            hosts.map(([residency, host]) => [
                residency,
                pulumi.unsecret(cells.find((c) => c.config.id === host.id)!.resource.routerKey.apply(attestationPublicKey)),
            ]),
        ),
    };
}

/**
 * A router per residency with cells, on its host cell (`routerHosts`), holding only its residency's routes and the
 * keys of its residency's cells.
 */
function residencyRouters(
    stack: ValidStack,
    cells: { config: CellConfig; resource: Cell }[],
    hosts: [Residency, CellConfig][],
    routerUrls: Partial<Record<Residency, string>>,
): Partial<Record<Residency, { cell: string; url: pulumi.Output<string> }>> {
    return Object.fromEntries(
        hosts.map(([residency, host]) => {
            const own = cells.filter((c) => c.config.residency === residency);
            const router = new Router(`router-${residency}`, {
                host: own.find((c) => c.config.id === host.id)!.resource,
                residency,
                table: routerTableContent(stack, residency, cells, routerUrls),
                keys: Object.fromEntries(own.map((c) => [c.config.id, c.resource.routerKey])),
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
