import * as fc from "fast-check";
import { claimedTenant } from "../../apps/shared/apiKeys";
import { CANARY_QUOTAS, canaryKeyOf, canaryTenantOf } from "../../model/canary";
import { TENANT_DIRECTORY_CONFIGMAP, TENANT_DIRECTORY_KEY } from "../../model/tenantDirectory";
import { MockedResource, problemsOf, ProgramRun, runStack } from "../support/harness";

const stack = {
    environment: "dev",
    owner: "data-platform",
    costCenter: "cc-1",
    dnsZone: "cellplane.example.com",
    cells: [
        { id: "eu-1", cloud: "kubernetes", region: "northeurope", residency: "eu", size: "small", kubeContext: "eu" },
        { id: "eu-2", cloud: "kubernetes", region: "westeurope", residency: "eu", size: "small", kubeContext: "eu-west" },
        { id: "us-1", cloud: "kubernetes", region: "eastus", residency: "us", size: "small", kubeContext: "us" },
    ],
    tenants: [
        { id: "acme", residency: "eu" },
        { id: "globex", residency: "us" },
    ],
};

describe("each cell's canary tenant", () => {
    let run: ProgramRun;
    beforeAll(async () => {
        run = await runStack(stack, "dev");
    });
    /** The table of the router on `host`, the first cell of its residency. */
    const routerTable = (host: string) =>
        JSON.parse(run.resources.find((r: MockedResource) => r.name === `${host}-router-files`)!.inputs.data.ROUTING_FILE);

    test("is in every cell's tenant directory, placed on its own cell with the canary's small quotas", () => {
        const maps = run.resources.filter(
            (r) => r.type === "kubernetes:core/v1:ConfigMap" && r.inputs.metadata.name === TENANT_DIRECTORY_CONFIGMAP,
        );
        expect(maps).toHaveLength(3);
        for (const map of maps) {
            const { tenants } = JSON.parse(map.inputs.data[TENANT_DIRECTORY_KEY]);
            for (const cell of stack.cells)
                expect(tenants[canaryTenantOf(cell.id)]).toEqual({ residency: cell.residency, cell: cell.id, ...CANARY_QUOTAS });
        }
    });

    test("is routed by its residency's router only, to its own cell, and is no tenant of the routing output", () => {
        expect(routerTable("eu-1").tenants).toEqual({ acme: "eu-1", "canary-eu-1": "eu-1", "canary-eu-2": "eu-2" });
        expect(routerTable("eu-1").elsewhere["canary-us-1"]).toMatchObject({ residency: "us" });
        expect(routerTable("us-1").tenants).toEqual({ globex: "us-1", "canary-us-1": "us-1" });
        expect(Object.keys(run.outputs.routing).sort()).toEqual(["acme", "globex"]);
    });

    test("is a reserved id: a configured tenant may not take it, and a cell id leaves room for it", () => {
        expect(problemsOf({ ...stack, tenants: [{ id: "canary-eu-1", residency: "eu" }] })).toEqual([
            'cellplane:tenants[0].id: "canary-eu-1" starts with "canary-", which is reserved for the cells\' canary tenants; choose another id',
        ]);
        const long = "eu-cell-with-a-long-name-1";
        expect(problemsOf({ ...stack, cells: [{ ...stack.cells[0], id: long }], tenants: [] })).toEqual([
            `cellplane:cells[0].id: "${long}" must be at most 25 characters, so its canary tenant canary-<id> is a valid tenant id`,
        ]);
    });

    test("has a key the cells accept as its own, derived from the cell's router key: the same for the same secret, another for another", () => {
        fc.assert(
            fc.property(
                fc.stringMatching(/^[a-z][a-z0-9-]{1,23}[a-z0-9]$/),
                fc.string({ minLength: 16 }),
                fc.string({ minLength: 16 }),
                (cell, secret, other) => {
                    const key = canaryKeyOf(cell, secret);
                    expect(claimedTenant(key)).toBe(canaryTenantOf(cell));
                    expect(canaryKeyOf(cell, secret)).toBe(key);
                    if (other !== secret) expect(canaryKeyOf(cell, other)).not.toBe(key);
                    expect(canaryKeyOf(`${cell}x`, secret)).not.toBe(key);
                },
            ),
        );
    });
});
