import { derivedOctet } from "../../model/addressPlan";
import * as fc from "fast-check";
import * as pulumi from "@pulumi/pulumi";
import { parseStackConfig } from "../../model/config";
import { loadStackConfig } from "../../stacks/load";
import { problemsOf, stackConfig } from "../support/harness";

const base = {
    environment: "dev",
    owner: "data-platform",
    costCenter: "cc-1",
    dnsZone: "cellplane.example.com",
    azureDnsResourceGroup: "cellplane-dns",
    cells: [
        { id: "eu-1", cloud: "aws", region: "eu-west-1", residency: "eu", size: "small" },
        { id: "us-1", cloud: "azure", region: "eastus", residency: "us", size: "small" },
    ],
    tenants: [{ id: "acme", residency: "eu" }],
};

describe("public names and routing overrides", () => {
    test("cluster cells need a DNS zone, and Azure cells its resource group; local cells neither", () => {
        const { dnsZone: _zone, azureDnsResourceGroup: _group, ...bare } = base;
        expect(problemsOf(bare)).toEqual([
            'cellplane:dnsZone: is required for cells eu-1, us-1: their routers and APIs answer at public names under it. Set cellplane:dnsZone to a zone you own, as "cellplane.example.com"',
            "cellplane:azureDnsResourceGroup: is required for cells us-1: their names are records of the Azure DNS zone (cellplane:dnsZone). Set it to the zone's resource group",
        ]);
        expect(problemsOf({ ...base, dnsZone: "Cellplane.Example" })[0]).toMatch(
            /^cellplane:dnsZone: "Cellplane.Example" must be a DNS name in lower case/,
        );
        expect(() => parseStackConfig(stackConfig("local"))).not.toThrow();
    });

    test("an override names a tenant of the stack, says who, when and why, and pins only within the tenant's residency", () => {
        const override = { reason: "drill", by: "ops", at: "2026-11-27T00:00:00Z" };
        const withOverrides = (routingOverrides: object) => ({ ...base, routingOverrides });
        expect(parseStackConfig(withOverrides({ acme: { action: "quarantine", ...override } })).routingOverrides.acme.action).toBe(
            "quarantine",
        );
        expect(problemsOf(withOverrides({ nobody: { action: "quarantine", ...override } }))).toEqual([
            'cellplane:routingOverrides.nobody: "nobody" is no tenant of this stack. Remove the override, or add the tenant first',
        ]);
        expect(problemsOf(withOverrides({ acme: { action: "pin", cell: "us-1", ...override } }))).toEqual([
            'cellplane:routingOverrides.acme.cell: "us-1" is a cell of residency us; tenant acme is pinned within residency eu only: eu-1',
        ]);
        expect(problemsOf(withOverrides({ acme: { action: "quarantine", reason: "drill" } })).join("\n")).toMatch(
            /routingOverrides\.acme\.by/,
        );
    });
});

describe("checked-in stacks", () => {
    test.each(["dev", "prod", "local"])("Pulumi.%s.yaml is valid and places every tenant in its residency", (stack) => {
        const config = parseStackConfig(stackConfig(stack));
        for (const tenant of config.tenants) {
            const cell = config.cells.find((c) => c.id === tenant.cell);
            expect(cell?.residency).toBe(tenant.residency);
        }
    });

    test("prod has at least four cells over both clouds and residencies, and a kubernetes cell", () => {
        const { cells } = parseStackConfig(stackConfig("prod"));
        expect(cells.length).toBeGreaterThanOrEqual(4);
        expect(new Set(cells.map((c) => c.cloud))).toEqual(new Set(["aws", "azure", "kubernetes"]));
        expect(new Set(cells.map((c) => c.residency))).toEqual(new Set(["eu", "us"]));
    });
});

describe("defaults", () => {
    test("retention, allowed sizes and quotas default as documented", () => {
        const config = parseStackConfig(base);
        expect(config.retentionDays).toBe(2555);
        expect(config.allowedSizes).toEqual(["small", "medium", "large"]);
        expect(config.tenants[0].quotas).toEqual({ eventsPerSecond: 10_000, apiRequestsPerMinute: 6_000, maxStorageGb: 500 });
    });
});

describe("placement", () => {
    const cells = [
        { id: "eu-1", cloud: "aws", region: "eu-west-1", residency: "eu", size: "small" },
        { id: "eu-2", cloud: "azure", region: "westeurope", residency: "eu", size: "small" },
        { id: "us-1", cloud: "aws", region: "us-east-1", residency: "us", size: "small" },
    ];

    test("unpinned tenants go to the least-loaded cell of their residency, pinned ones stay", () => {
        const tenants = [
            { id: "t-a", residency: "eu", cell: "eu-1" },
            { id: "t-b", residency: "eu" },
            { id: "t-c", residency: "eu" },
            { id: "t-d", residency: "us" },
        ];
        const placed = parseStackConfig({ ...base, cells, tenants }).tenants.map((t) => [t.id, t.cell]);
        expect(placed).toEqual([
            ["t-a", "eu-1"],
            ["t-b", "eu-2"],
            ["t-c", "eu-1"],
            ["t-d", "us-1"],
        ]);
    });

    test("appending a tenant never moves the tenants already placed", () => {
        const tenants = ["t-a", "t-b", "t-c"].map((id) => ({ id, residency: "eu" }));
        const before = parseStackConfig({ ...base, cells, tenants }).tenants;
        const after = parseStackConfig({ ...base, cells, tenants: [...tenants, { id: "t-d", residency: "eu" }] }).tenants;
        expect(after.slice(0, 3)).toEqual(before);
    });

    test("a residency whose cells are full is refused, naming the usage", () => {
        const tenants = Array.from({ length: 11 }, (_, i) => ({ id: `t-${i}`, residency: "us" }));
        expect(problemsOf({ ...base, cells, tenants })).toEqual([
            `cellplane:tenants[10].residency: "us" has no cell with capacity left (us-1 10/10). Add a us cell or raise a cell's size`,
        ]);
    });

    test("a tenant pinned to a full cell is refused", () => {
        const tenants = Array.from({ length: 11 }, (_, i) => ({ id: `t-${i}`, residency: "us", cell: "us-1" }));
        expect(problemsOf({ ...base, cells, tenants })).toEqual([
            `cellplane:tenants[10].cell: "us-1" is full (10 tenants for size small). Pin the tenant to another us cell, remove "cell" to place it automatically, or raise the cell's size`,
        ]);
    });
});

describe("invalid configuration names the field, the value and what is allowed", () => {
    test("a cell whose region is outside its residency", () => {
        const cells = [{ ...base.cells[0], region: "us-east-1" }, base.cells[1]];
        expect(problemsOf({ ...base, cells })).toEqual([
            `cellplane:cells[0].region: "us-east-1" is not a aws region of residency eu. Allowed: eu-west-1, eu-west-3, eu-central-1, eu-central-2, eu-north-1, eu-south-1, eu-south-2`,
        ]);
    });

    test("an Azure region given to an AWS cell", () => {
        const cells = [{ ...base.cells[0], region: "westeurope" }, base.cells[1]];
        expect(problemsOf({ ...base, cells })[0]).toMatch(
            /^cellplane:cells\[0\]\.region: "westeurope" is not a aws region of residency eu\./,
        );
    });

    test("a tenant whose residency has no cell", () => {
        const cells = [base.cells[0]];
        expect(problemsOf({ ...base, cells, tenants: [{ id: "acme", residency: "us" }] })).toEqual([
            `cellplane:tenants[0].residency: "us" has no cell in this stack. Add a us cell to cellplane:cells or change the tenant's residency`,
        ]);
    });

    test("duplicate cell and tenant ids", () => {
        const cells = [base.cells[0], { ...base.cells[1], id: "eu-1" }];
        const tenants = [
            { id: "acme", residency: "eu" },
            { id: "acme", residency: "eu" },
        ];
        expect(problemsOf({ ...base, cells, tenants })).toEqual([
            `cellplane:cells[1].id: "eu-1" is already the id of cellplane:cells[0]. Cell ids must be unique`,
            `cellplane:tenants[1].id: "acme" is already the id of cellplane:tenants[0]. Tenant ids must be unique`,
        ]);
    });

    test("two cells on one address range, configured or derived, naming both and the fix", () => {
        const aws = { ...base.cells[0], cloud: "aws", region: "eu-west-1" };
        const clash = [
            { ...aws, id: "eu-1", cidr: "10.42.0.0/16" },
            { ...aws, id: "eu-2", cidr: "10.42.0.0/16" },
        ];
        expect(problemsOf({ ...base, cells: clash })).toEqual([
            `cellplane:cells[1].cidr: cell "eu-2" would use 10.42.0.0/16 (configured), which cell "eu-1" uses (configured). Set cellplane:cells[].cidr of one of them to a free /16, as "10.43.0.0/16"`,
        ]);
        const derived = { ...aws, id: "eu-3", cidr: `10.${derivedOctet("eu-1")}.0.0/16` };
        expect(problemsOf({ ...base, cells: [{ ...aws, id: "eu-1" }, derived] })).toEqual([
            `cellplane:cells[1].cidr: cell "eu-3" would use 10.${derivedOctet("eu-1")}.0.0/16 (configured), which cell "eu-1" uses (derived from its id). Set cellplane:cells[].cidr of one of them to a free /16, as "10.${derivedOctet("eu-1") + 1}.0.0/16"`,
        ]);
        expect(problemsOf({ ...base, cells: [{ ...aws, id: "eu-1", cidr: "10.42.0.0/8" }] })).toEqual([
            `cellplane:cells[0].cidr: must be a /16 of 10.0.0.0/8, as "10.42.0.0/16"`,
        ]);
    });

    test("admin networks that would open the API servers to the internet", () => {
        expect(problemsOf({ ...base, adminCidrs: ["0.0.0.0/0", "203.0.113.7"] })).toEqual([
            `cellplane:adminCidrs[0]: is wider than a /8, which would open the API servers to much of the internet; name the admins' own networks`,
            `cellplane:adminCidrs[1]: "203.0.113.7" must be an IPv4 range, as "203.0.113.0/24"`,
        ]);
    });

    test("operators on a local cell, or run two ways on one cluster", () => {
        const local = { id: "local-eu", cloud: "local", region: "eu-local", residency: "eu", size: "small", portBase: 15400 };
        expect(problemsOf({ ...base, cells: [{ ...local, operators: "external" }] })).toEqual([
            `cellplane:cells[0].operators: is only for cluster cells (kubernetes, aws, azure); local cell "local-eu" runs no operators. Remove it`,
        ]);
        const onPrem = { cloud: "kubernetes", region: "northeurope", residency: "eu", size: "small", kubeContext: "onprem-eu" };
        const twoCells = (second: object) => [
            { ...onPrem, id: "k-1", operators: "external" },
            { ...onPrem, id: "k-2", ...second },
        ];
        expect(problemsOf({ ...base, cells: twoCells({}) })).toEqual([
            `cellplane:cells[1].operators: "managed" differs from cell "k-1" on the same cluster "onprem-eu" ("external"). A cluster's operators are run one way: give both cells the same operators`,
        ]);
        expect(() => parseStackConfig({ ...base, cells: twoCells({ operators: "external" }) })).not.toThrow();
        expect(problemsOf({ ...base, cells: twoCells({ operators: "sometimes" }) })[0]).toMatch(/^cellplane:cells\[1\]\.operators: /);
    });

    test("a prod Azure cell in a region without availability zones, which its zone-spread nodes, database and storage need", () => {
        const westus = { id: "us-1", cloud: "azure", region: "westus", residency: "us", size: "small" };
        const prod = { ...base, environment: "prod", allowedSizes: ["small"], tenants: [] };
        expect(problemsOf({ ...prod, cells: [westus] })).toEqual([
            `cellplane:cells[0].region: "westus" has no availability zones, and a prod Azure cell spreads its nodes, database and storage over three. Choose a region with zones: eastus, eastus2, centralus, southcentralus, westus2, westus3`,
        ]);
        // A dev cell runs in one zone; a prod one in a region with zones is taken.
        expect(() => parseStackConfig({ ...base, tenants: [], cells: [westus] })).not.toThrow();
        expect(() => parseStackConfig({ ...prod, cells: [{ ...westus, region: "westus3" }] })).not.toThrow();
    });

    test("skipping the Kubernetes provider's readiness await in prod, or a chart mirror that is no URL", () => {
        expect(parseStackConfig({ ...base, kubernetesSkipAwait: true }).kubernetesSkipAwait).toBe(true);
        expect(parseStackConfig(base).kubernetesSkipAwait).toBe(false);
        expect(problemsOf({ ...base, environment: "prod", allowedSizes: ["small"], kubernetesSkipAwait: true })).toEqual([
            "cellplane:kubernetesSkipAwait: is true in prod, where pulumi up must fail when a workload never becomes ready. Remove it; it is for test clusters without nodes",
        ]);
        expect(parseStackConfig({ ...base, chartRepository: "http://127.0.0.1:8879/charts" }).chartRepository).toBe(
            "http://127.0.0.1:8879/charts",
        );
        expect(problemsOf({ ...base, chartRepository: "oci://registry.example.com/charts" })).toEqual([
            `cellplane:chartRepository: "oci://registry.example.com/charts" must be the http(s) URL of a Helm repository, as "https://charts.example.com/cellplane"`,
        ]);
    });

    test("a StorageClass on a local cell, or one that is no Kubernetes name", () => {
        const local = {
            id: "local-eu",
            cloud: "local",
            region: "eu-local",
            residency: "eu",
            size: "small",
            portBase: 15400,
            storageClass: "fast",
        };
        expect(problemsOf({ ...base, cells: [local] })).toEqual([
            `cellplane:cells[0].storageClass: is only for cells on a Kubernetes cluster; local cell "local-eu" keeps its data in its state folder. Remove it`,
        ]);
        expect(problemsOf({ ...base, cells: [{ ...base.cells[0], storageClass: "Fast_SSD" }] })).toEqual([
            `cellplane:cells[0].storageClass: "Fast_SSD" must be a Kubernetes object name (lowercase letters, digits, '-' and '.')`,
        ]);
    });

    test("an unknown size", () => {
        const cells = [{ ...base.cells[0], size: "huge" }, base.cells[1]];
        expect(problemsOf({ ...base, cells })).toEqual([`cellplane:cells[0].size: "huge" is not allowed. Allowed: small, medium, large`]);
    });

    test("a size the environment does not allow", () => {
        const cells = [{ ...base.cells[0], size: "large" }, base.cells[1]];
        expect(problemsOf({ ...base, cells, allowedSizes: ["small", "medium"] })).toEqual([
            `cellplane:cells[0].size: "large" is not allowed in this environment. Allowed (cellplane:allowedSizes): small, medium`,
        ]);
    });

    test("an unknown cloud, a misspelt field and a missing one", () => {
        const cells = [
            { ...base.cells[0], cloud: "gcp" },
            { id: "us-1", cloud: "azure", region: "eastus", residency: "us", sise: "small" },
        ];
        expect(problemsOf({ ...base, cells })).toEqual([
            `cellplane:cells[0].cloud: "gcp" is not allowed. Allowed: aws, azure, kubernetes, local`,
            `cellplane:cells[1].size: is required. Allowed: small, medium, large`,
            `cellplane:cells[1]: unknown field "sise". Check the spelling against the configuration reference in README.md`,
        ]);
    });

    test("a kubernetes cell without a kube context: the current context is never a silent default", () => {
        const cells = [{ id: "eu-k8s", cloud: "kubernetes", region: "northeurope", residency: "eu", size: "small" }, base.cells[1]];
        expect(problemsOf({ ...base, cells })).toEqual([
            `cellplane:cells[0].kubeContext: is required for kubernetes cells: name the kubeconfig context of a cluster in northeurope for cell "eu-k8s". The current context is never used, so a cell cannot land in another residency's cluster by accident`,
        ]);
    });

    test("a kube context on a cell that is not a kubernetes cell", () => {
        const cells = [{ ...base.cells[0], kubeContext: "prod" }, base.cells[1]];
        expect(problemsOf({ ...base, cells })).toEqual([
            `cellplane:cells[0].kubeContext: is only for kubernetes cells; cell "eu-1" is on aws, whose cluster the cell creates itself. Remove it`,
        ]);
    });

    test("a residency's router on a cell of another residency, or on no cell", () => {
        expect(problemsOf({ ...base, routers: { us: "eu-1", eu: "eu-9" } })).toEqual([
            `cellplane:routers.us: cell "eu-1" is of residency eu, so the us router would carry us tenants' requests through eu-west-1. Name one of its cells: us-1`,
            `cellplane:routers.eu: "eu-9" is no cell of this stack. Name one of its cells: eu-1`,
        ]);
        expect(problemsOf({ ...base, routers: { asia: "eu-1" } })).toEqual([
            `cellplane:routers: unknown field "asia". Check the spelling against the configuration reference in README.md`,
        ]);
    });

    test("cells that share a cluster share its region", () => {
        const k8s = (id: string, region: string) => ({
            id,
            cloud: "kubernetes",
            region,
            residency: "eu",
            size: "small",
            kubeContext: "onprem",
        });
        expect(problemsOf({ ...base, cells: [k8s("eu-a", "northeurope"), k8s("eu-b", "westeurope"), base.cells[1]] })).toEqual([
            `cellplane:cells[1].kubeContext: "onprem" is also the cluster of cell "eu-a" in northeurope, but cell "eu-b" is in westeurope. A cluster sits in one region: give cell "eu-b" a cluster of westeurope`,
        ]);
    });

    test("a Blob store for exports is a local cell's choice, and needs TLS", () => {
        const local = {
            id: "eu-1",
            cloud: "local",
            region: "eu-local",
            residency: "eu",
            size: "small",
            portBase: 15400,
            objectStore: "azblob",
        };
        expect(parseStackConfig({ ...base, cells: [local, base.cells[1]] }).cells[0].objectStore).toBe("azblob");
        expect(problemsOf({ ...base, localTls: false, cells: [local, base.cells[1]] })).toEqual([
            `cellplane:cells[0].objectStore: "azblob" needs cellplane:localTls: Azure Blob is served over HTTPS only. Remove localTls: false or use "s3" for cell "eu-1"`,
        ]);
        expect(problemsOf({ ...base, cells: [{ ...base.cells[0], objectStore: "s3" }, base.cells[1]] })).toEqual([
            `cellplane:cells[0].objectStore: is only for local cells; cell "eu-1" on aws keeps its exports in its cloud's own store. Remove it`,
        ]);
    });

    test("local cells need their own port range; other cells take none", () => {
        const cells = [
            { id: "eu-1", cloud: "local", region: "eu-local", residency: "eu", size: "small" },
            { id: "us-1", cloud: "local", region: "us-local", residency: "us", size: "small", portBase: 15400 },
            { id: "us-2", cloud: "local", region: "us-local", residency: "us", size: "small", portBase: 15405 },
            { id: "eu-2", cloud: "aws", region: "eu-west-1", residency: "eu", size: "small", portBase: 16000 },
        ];
        expect(problemsOf({ ...base, cells })).toEqual([
            `cellplane:cells[0].portBase: is required for local cells: the first of 30 ports for cell "eu-1", e.g. 15400`,
            `cellplane:cells[2].portBase: 15405 overlaps the ports of cellplane:cells[1] (15400-15429). Keep local cells 30 ports apart`,
            `cellplane:cells[3].portBase: is only for local cells; cell "eu-2" is on aws. Remove it`,
        ]);
    });

    test("a tenant pinned to a cell of another residency, or to no cell", () => {
        const tenants = [
            { id: "acme", residency: "eu", cell: "us-1" },
            { id: "globex", residency: "us", cell: "nowhere" },
        ];
        expect(problemsOf({ ...base, tenants })).toEqual([
            `cellplane:tenants[0].cell: "us-1" is in residency us but the tenant is pinned to eu. Cells of residency eu: eu-1`,
            `cellplane:tenants[1].cell: "nowhere" is not a cell of this stack. Cells of residency us: us-1`,
        ]);
    });

    test("ids, owners and numbers out of range", () => {
        expect(
            problemsOf({ ...base, owner: "data platform", retentionDays: 7, cells: [{ ...base.cells[0], id: "EU_1" }, base.cells[1]] }),
        ).toEqual([
            `cellplane:owner: "data platform" must be 1-63 characters of letters, digits, '-', '_' or '.', starting and ending with a letter or digit`,
            `cellplane:retentionDays: 7 Too small: expected number to be >=30`,
            `cellplane:cells[0].id: "EU_1" must be 3-32 characters of a-z, 0-9 and '-', starting with a letter and not ending with '-'`,
        ]);
    });

    test("every problem is reported at once, in one error", () => {
        const error = (() => {
            try {
                parseStackConfig({ ...base, environment: "qa", cells: [{ ...base.cells[0], size: "huge" }] });
            } catch (e) {
                return e as Error;
            }
        })();
        expect(error?.message).toBe(
            [
                "Invalid Cellplane configuration:",
                `  - cellplane:environment: "qa" is not allowed. Allowed: dev, staging, prod, local`,
                `  - cellplane:cells[0].size: "huge" is not allowed. Allowed: small, medium, large`,
            ].join("\n"),
        );
    });
});

describe("loading from the Pulumi config", () => {
    test("structured keys are parsed, text keys stay text", () => {
        pulumi.runtime.setAllConfig({
            "cellplane:environment": "dev",
            "cellplane:owner": "data-platform",
            "cellplane:costCenter": "1042",
            "cellplane:retentionDays": "400",
            "cellplane:dnsZone": base.dnsZone,
            "cellplane:azureDnsResourceGroup": base.azureDnsResourceGroup,
            "cellplane:cells": JSON.stringify(base.cells),
            "cellplane:tenants": JSON.stringify(base.tenants),
        });
        const config = loadStackConfig();
        expect(config.costCenter).toBe("1042");
        expect(config.retentionDays).toBe(400);
        expect(config.tenants).toEqual([
            {
                id: "acme",
                residency: "eu",
                cell: "eu-1",
                quotas: { eventsPerSecond: 10_000, apiRequestsPerMinute: 6_000, maxStorageGb: 500 },
            },
        ]);
    });
});

test("derived address ranges: any set of cloud cells is accepted exactly when their ids map to distinct ranges, and a clash names both cells", () => {
    const ids = fc.uniqueArray(fc.stringMatching(/^[a-z][a-z0-9-]{1,14}[a-z0-9]$/), { minLength: 2, maxLength: 12 });
    fc.assert(
        fc.property(ids, (cellIds) => {
            const cells = cellIds.map((id) => ({ id, cloud: "aws", region: "eu-west-1", residency: "eu", size: "small" }));
            const octets = cellIds.map(derivedOctet);
            for (const octet of octets) expect(octet).toBeGreaterThanOrEqual(16);
            const clashes = octets.filter((o, i) => octets.indexOf(o) !== i).length;
            const problems = clashes === 0 ? [] : problemsOf({ ...base, cells });
            if (clashes === 0) expect(() => parseStackConfig({ ...base, cells })).not.toThrow();
            else {
                expect(problems).toHaveLength(clashes);
                for (const problem of problems)
                    expect(problem).toMatch(
                        /^cellplane:cells\[\d+\]\.cidr: cell "[^"]+" would use 10\.\d+\.0\.0\/16 \(derived from its id\), which cell "[^"]+" uses/,
                    );
            }
        }),
        { numRuns: 200 },
    );
});
