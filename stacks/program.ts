import { Cell } from "../components/cell";
import type { CellTarget } from "../components/platform";
import { TARGETS } from "../components/targets";
import type { TenantDirectory } from "../components/tenantDirectory";
import type { CellConfig, ValidStack } from "./config";
import { routingTable } from "./routing";

/** Error of a cloud the config allows but this build has no target for yet. */
export class MissingTargetError extends Error {
    constructor(message: string) {
        super(message);
        this.name = "MissingTargetError";
    }
}

export interface CellPlan {
    config: CellConfig;
    target: CellTarget;
}

/** Picks each cell's target, failing before anything is created if one is missing. */
export function planCells(stack: ValidStack): CellPlan[] {
    return stack.cells.map((config) => {
        const target = TARGETS[config.cloud];
        if (!target) {
            throw new MissingTargetError(`cellplane:cells: cell "${config.id}" uses cloud "${config.cloud}", which has no target in this build. Available: ${Object.keys(TARGETS).join(", ")}`);
        }
        return { config, target };
    });
}

/** The whole environment: one `Cell` per configured cell and the routing table of its tenants. */
export function cellplane(stack: ValidStack, plan: CellPlan[] = planCells(stack)) {
    const directory = tenantDirectoryOf(stack);
    const cells = plan.map(({ config, target }) => ({
        config,
        resource: new Cell(config.id, {
            cell: config,
            target,
            environment: stack.environment,
            production: stack.environment === "prod",
            owner: stack.owner,
            costCenter: stack.costCenter,
            retentionDays: stack.retentionDays,
            directory,
        }),
    }));

    return {
        environment: stack.environment,
        cells: Object.fromEntries(cells.map(({ config, resource }) => [config.id, {
            cloud: config.cloud,
            region: config.region,
            residency: config.residency,
            size: config.size,
            endpoints: resource.endpoints,
            credentials: resource.credentials,
        }])),
        routing: routingTable(stack.tenants, cells),
    };
}

export function tenantDirectoryOf(stack: ValidStack): TenantDirectory {
    return {
        cells: Object.fromEntries(stack.cells.map((c) => [c.id, { cloud: c.cloud, region: c.region, residency: c.residency, size: c.size }])),
        tenants: Object.fromEntries(stack.tenants.map((t) => [t.id, { residency: t.residency, cell: t.cell }])),
    };
}
