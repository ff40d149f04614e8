import { derivedOctet, octetOfCidr } from "./addressPlan";
import { z } from "zod";
import { SIZES } from "./sizing";
import { placeTenants } from "./placement";
import { AZURE_REGIONS_WITHOUT_ZONES, CLOUDS, RESIDENCIES, regionsOf } from "./residency";
import { CANARY_PREFIX, MAX_CELL_ID_WITH_CANARY } from "./canary";

/** The config namespace of every key below (`cellplane:cells`, …). */
export const CONFIG_NAMESPACE = "cellplane";

/** An operator's override of one tenant's routing: who set it, when and why, so the stack file is its audit trail. */
const routingOverrideSchema = z
    .discriminatedUnion("action", [
        /** The router refuses the tenant's requests (423) until the override is released. */
        z.object({ action: z.literal("quarantine") }),
        /** The router sends the tenant to this cell of its residency, whatever its placement says. */
        z.object({ action: z.literal("pin"), cell: z.string().min(1) }),
    ])
    .and(z.object({ reason: z.string().min(3), by: z.string().min(1), at: z.iso.datetime({ offset: true }) }));

export const ENVIRONMENTS = ["dev", "staging", "prod", "local"] as const;

/** A local cell's servers listen on `portBase` and the ports after it. */
export const PORTS_PER_LOCAL_CELL = 30;

const id = z
    .string()
    .regex(/^[a-z][a-z0-9-]{1,30}[a-z0-9]$/, "must be 3-32 characters of a-z, 0-9 and '-', starting with a letter and not ending with '-'");

/** Tag and label values must also be valid Kubernetes label values. */
const labelValue = z
    .string()
    .regex(
        /^[A-Za-z0-9]([-A-Za-z0-9_.]{0,61}[A-Za-z0-9])?$/,
        "must be 1-63 characters of letters, digits, '-', '_' or '.', starting and ending with a letter or digit",
    );

/** The clouds whose cells create their own network, and so take a range of the environment's address plan. */
const NETWORKED_CLOUDS: string[] = ["aws", "azure"];

/** The second octet of a cell's range: its configured `cidr`, else one derived from its id. */
export const cellOctetOf = (cell: { id: string; cidr?: string }): number => (cell.cidr ? octetOfCidr(cell.cidr)! : derivedOctet(cell.id));

const cellSchema = z.strictObject({
    id: id.max(
        MAX_CELL_ID_WITH_CANARY,
        `must be at most ${MAX_CELL_ID_WITH_CANARY} characters, so its canary tenant ${CANARY_PREFIX}<id> is a valid tenant id`,
    ),
    cloud: z.enum(CLOUDS),
    region: z.string(),
    residency: z.enum(RESIDENCIES),
    size: z.enum(SIZES),
    /** Kubernetes cells only: the kubeconfig context of the cluster (default: the current context). */
    kubeContext: z.string().min(1).optional(),
    /** Local cells only: the first of the PORTS_PER_LOCAL_CELL ports the cell's servers listen on. */
    portBase: z
        .number()
        .int()
        .min(1024)
        .max(65_536 - PORTS_PER_LOCAL_CELL)
        .optional(),
    /** Local cells only: where exports go, S3 (SeaweedFS, as AWS and Kubernetes cells) or Azure Blob (Azurite, as Azure cells). */
    objectStore: z.enum(["s3", "azblob"]).optional(),
    /**
     * Cluster cells (kubernetes, aws, azure): the StorageClass of every volume the cell claims (ClickHouse, Keeper,
     * Kafka, Postgres, the object store) and of its cluster's Prometheus. Default: the cluster's default class (on EKS,
     * the cell's `gp3-encrypted`).
     */
    storageClass: z
        .string()
        .regex(/^[a-z0-9]([-a-z0-9.]{0,251}[a-z0-9])?$/, {
            message: "must be a Kubernetes object name (lowercase letters, digits, '-' and '.')",
        })
        .optional(),
    /**
     * Cluster cells (kubernetes, aws, azure): who runs the cluster's operators (Strimzi, CloudNativePG, Altinity,
     * Flink, Spark, kube-prometheus-stack). `managed` (default): the cell installs them with Helm. `external`: the
     * cluster's own team has; the cell installs none and reads their CRDs, so a missing one stops the preview.
     */
    operators: z.enum(["managed", "external"]).optional(),
    /** AWS and Azure cells only: the cell's `10.<n>.0.0/16` (default: derived from its id, model/addressPlan.ts). */
    cidr: z
        .string()
        .refine((cidr) => octetOfCidr(cidr) !== undefined, { message: 'must be a /16 of 10.0.0.0/8, as "10.42.0.0/16"' })
        .optional(),
});

const quotasSchema = z.strictObject({
    eventsPerSecond: z.number().int().positive().default(10_000),
    apiRequestsPerMinute: z.number().int().positive().default(6_000),
    maxStorageGb: z.number().positive().default(500),
});

const tenantSchema = z.strictObject({
    id: id.refine((tenant) => !tenant.startsWith(CANARY_PREFIX), {
        error: (issue) =>
            `"${issue.input}" starts with "${CANARY_PREFIX}", which is reserved for the cells' canary tenants; choose another id`,
    }),
    residency: z.enum(RESIDENCIES),
    cell: id.optional(),
    quotas: quotasSchema.default(quotasSchema.parse({})),
});

const stackSchema = z
    .strictObject({
        environment: z.enum(ENVIRONMENTS),
        owner: labelValue,
        costCenter: labelValue,
        /** Days after which exported objects expire (seed 002 §3.4.3: 2555 days, 7 years). */
        retentionDays: z.number().int().min(30).max(3650).default(2555),
        allowedSizes: z
            .array(z.enum(SIZES))
            .min(1)
            .default([...SIZES]),
        /** Local cells only: where their servers keep data (default: $CELLPLANE_STATE_HOME, else /var/lib/cellplane as root, else ~/.local/state/cellplane). */
        stateDir: z.string().min(1).optional(),
        /**
         * Local cells only: TLS on every server and SASL on Kafka, as the clouds' services demand (default). `false`
         * runs them in plain text without Kafka users, to measure what TLS costs (`npm run bench:ingest`).
         */
        localTls: z.boolean().default(true),
        /**
         * Local cells only: a Prometheus per cell with its exporters, evaluating the rule set (default). `false` saves
         * their processes on a small machine; `cellplane status` then has no numbers for the cell.
         */
        localMetrics: z.boolean().default(true),
        /**
         * Local cells only: the streaming job (Flink, 10-second windows and error-rate alerts) runs beside each cell
         * (default). `false` saves its JVM (`-Xmx512m`) on a small machine; the cell then has no windows.
         */
        localStreaming: z.boolean().default(true),
        /**
         * Local cells only: a scheduler per cell runs the lakehouse jobs when their schedules are due (default), on this
         * machine's Spark. `false` leaves them to `cellplane jobs run`.
         */
        localJobSchedules: z.boolean().default(true),
        /**
         * The networks whose operators run `pulumi up` against production clusters from outside them: EKS and AKS API
         * servers answer these (and nothing else) publicly. Without them production API servers are private, and
         * `pulumi up` runs on a runner inside each cell's network.
         */
        adminCidrs: z
            .array(
                z
                    .string()
                    .regex(/^(\d{1,3}\.){3}\d{1,3}\/\d{1,2}$/, { message: 'must be an IPv4 range, as "203.0.113.0/24"' })
                    .refine((cidr) => !/\/\d+$/.test(cidr) || Number(cidr.split("/")[1]) >= 8, {
                        message:
                            "is wider than a /8, which would open the API servers to much of the internet; name the admins' own networks",
                    }),
            )
            .default([]),
        /**
         * AWS cells: IAM roles that administer every EKS cluster of the environment (an access entry each, with the
         * cluster-admin access policy). The program's own Kubernetes provider assumes the first.
         */
        awsAdminRoleArns: z
            .array(
                z.string().regex(/^arn:aws[a-z-]*:iam::\d{12}:role\/[\w+=,.@/-]+$/, {
                    message: 'must be an IAM role ARN, as "arn:aws:iam::123456789012:role/platform-admin"',
                }),
            )
            .default([]),
        /**
         * residency → the cell that hosts that residency's router (default: the residency's first cell). A router
         * is the front door of its residency's tenants only, so it must sit on a cell of that residency.
         */
        routers: z.partialRecord(z.enum(RESIDENCIES), id).default({}),
        /**
         * Cluster cells (aws, azure, kubernetes): the DNS zone their public names live in. Routers answer at
         * `<residency>.<environment>.<dnsZone>` and cells at `<cell>.<environment>.<dnsZone>`, with certificates for
         * those names. On AWS and Azure the zone must be a hosted zone of the account (Route 53, Azure DNS).
         */
        dnsZone: z
            .string()
            .regex(/^([a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?\.)+[a-z]{2,63}$/, {
                message: 'must be a DNS name in lower case, as "cellplane.example.com"',
            })
            .optional(),
        /** Azure cells: the resource group of the Azure DNS zone `dnsZone`. */
        azureDnsResourceGroup: z.string().min(1).max(90).optional(),
        /** Kubernetes cells: the GatewayClass of the cluster's Gateway API implementation that serves their public names. */
        gatewayClass: z.string().min(1).default("cellplane"),
        /**
         * Cluster cells: the Helm repository every chart the cells install comes from, instead of each project's
         * public one (a mirror, for clusters whose `pulumi up` cannot reach the internet). It serves each chart under
         * its own name and pinned version.
         */
        chartRepository: z
            .string()
            .regex(/^https?:\/\/[^\s/]+/, {
                message: 'must be the http(s) URL of a Helm repository, as "https://charts.example.com/cellplane"',
            })
            .optional(),
        /**
         * Cluster cells: the Kubernetes provider does not wait for objects to become ready (the documented
         * `pulumi.com/skipAwait` annotation, and Helm's `skipAwait`). For a control plane without nodes, as the
         * API server test's; refused in prod, where a rollout that never becomes ready must fail `pulumi up`.
         */
        kubernetesSkipAwait: z.boolean().default(false),
        /**
         * tenant → what operators set on its routing, applied by its router before its placement:
         * `scripts/cellplane tenant quarantine|pin|release` edit it, and each entry says who, when and why.
         */
        routingOverrides: z.record(z.string(), routingOverrideSchema).default({}),
        cells: z.array(cellSchema).min(1),
        tenants: z.array(tenantSchema).default([]),
    })
    .superRefine((stack, ctx) => {
        const issue = (path: (string | number)[], message: string) => ctx.addIssue({ code: "custom", path, message });

        firstUseOf(stack.cells.map((c) => c.id)).forEach((first, index) => {
            if (first !== index)
                issue(
                    ["cells", index, "id"],
                    `"${stack.cells[index].id}" is already the id of cellplane:cells[${first}]. Cell ids must be unique`,
                );
        });
        const octets = stack.cells.map((cell) => (NETWORKED_CLOUDS.includes(cell.cloud) ? cellOctetOf(cell) : undefined));
        octets.forEach((octet, index) => {
            const other = octets.findIndex((o) => o !== undefined && o === octet);
            // A repeated id is refused on its own; its range repeats with it.
            if (octet === undefined || other === index || stack.cells[other].id === stack.cells[index].id) return;
            const [first, cell] = [stack.cells[other], stack.cells[index]];
            const origin = (c: { cidr?: string }) => (c.cidr ? "configured" : "derived from its id");
            issue(
                ["cells", index, "cidr"],
                `cell "${cell.id}" would use 10.${octet}.0.0/16 (${origin(cell)}), which cell "${first.id}" uses (${origin(first)}). Set cellplane:cells[].cidr of one of them to a free /16, as "10.${(octet + 1) % 256}.0.0/16"`,
            );
        });
        if (stack.kubernetesSkipAwait && stack.environment === "prod")
            issue(
                ["kubernetesSkipAwait"],
                "is true in prod, where pulumi up must fail when a workload never becomes ready. Remove it; it is for test clusters without nodes",
            );
        firstUseOf(stack.tenants.map((t) => t.id)).forEach((first, index) => {
            if (first !== index)
                issue(
                    ["tenants", index, "id"],
                    `"${stack.tenants[index].id}" is already the id of cellplane:tenants[${first}]. Tenant ids must be unique`,
                );
        });
        stack.cells.forEach((cell, index) => {
            const allowed = regionsOf(cell.residency, cell.cloud);
            if (!allowed.includes(cell.region)) {
                issue(
                    ["cells", index, "region"],
                    `"${cell.region}" is not a ${cell.cloud} region of residency ${cell.residency}. Allowed: ${allowed.join(", ")}`,
                );
            }
            if (cell.cloud === "azure" && stack.environment === "prod" && AZURE_REGIONS_WITHOUT_ZONES.includes(cell.region)) {
                const zoned = allowed.filter((region) => !AZURE_REGIONS_WITHOUT_ZONES.includes(region));
                issue(
                    ["cells", index, "region"],
                    `"${cell.region}" has no availability zones, and a prod Azure cell spreads its nodes, database and storage over three. Choose a region with zones: ${zoned.join(", ")}`,
                );
            }
            if (cell.kubeContext !== undefined && cell.cloud !== "kubernetes") {
                issue(
                    ["cells", index, "kubeContext"],
                    `is only for kubernetes cells; cell "${cell.id}" is on ${cell.cloud}, whose cluster the cell creates itself. Remove it`,
                );
            }
            const sharing = stack.cells.findIndex(
                (other, j) => j < index && other.kubeContext !== undefined && other.kubeContext === cell.kubeContext,
            );
            if (sharing >= 0 && stack.cells[sharing].region !== cell.region) {
                issue(
                    ["cells", index, "kubeContext"],
                    `"${cell.kubeContext}" is also the cluster of cell "${stack.cells[sharing].id}" in ${stack.cells[sharing].region}, but cell "${cell.id}" is in ${cell.region}. A cluster sits in one region: give cell "${cell.id}" a cluster of ${cell.region}`,
                );
            }
            if (sharing >= 0 && (stack.cells[sharing].operators ?? "managed") !== (cell.operators ?? "managed")) {
                issue(
                    ["cells", index, "operators"],
                    `"${cell.operators ?? "managed"}" differs from cell "${stack.cells[sharing].id}" on the same cluster "${cell.kubeContext}" ("${stack.cells[sharing].operators ?? "managed"}"). A cluster's operators are run one way: give both cells the same operators`,
                );
            }
            if (cell.operators !== undefined && cell.cloud === "local") {
                issue(
                    ["cells", index, "operators"],
                    `is only for cluster cells (kubernetes, aws, azure); local cell "${cell.id}" runs no operators. Remove it`,
                );
            }
            if (cell.kubeContext === undefined && cell.cloud === "kubernetes") {
                issue(
                    ["cells", index, "kubeContext"],
                    `is required for kubernetes cells: name the kubeconfig context of a cluster in ${cell.region} for cell "${cell.id}". The current context is never used, so a cell cannot land in another residency's cluster by accident`,
                );
            }
            if (cell.objectStore === "azblob" && !stack.localTls) {
                issue(
                    ["cells", index, "objectStore"],
                    `"azblob" needs cellplane:localTls: Azure Blob is served over HTTPS only. Remove localTls: false or use "s3" for cell "${cell.id}"`,
                );
            }
            if (cell.objectStore !== undefined && cell.cloud !== "local") {
                issue(
                    ["cells", index, "objectStore"],
                    `is only for local cells; cell "${cell.id}" on ${cell.cloud} keeps its exports in its cloud's own store. Remove it`,
                );
            }
            if (cell.storageClass !== undefined && cell.cloud === "local") {
                issue(
                    ["cells", index, "storageClass"],
                    `is only for cells on a Kubernetes cluster; local cell "${cell.id}" keeps its data in its state folder. Remove it`,
                );
            }
            if (cell.cidr !== undefined && !NETWORKED_CLOUDS.includes(cell.cloud)) {
                issue(
                    ["cells", index, "cidr"],
                    `is only for aws and azure cells, whose network the cell creates; cell "${cell.id}" is on ${cell.cloud}. Remove it`,
                );
            }
            if ((cell.cloud === "local") !== (cell.portBase !== undefined)) {
                issue(
                    ["cells", index, "portBase"],
                    cell.cloud === "local"
                        ? `is required for local cells: the first of ${PORTS_PER_LOCAL_CELL} ports for cell "${cell.id}", e.g. 15400`
                        : `is only for local cells; cell "${cell.id}" is on ${cell.cloud}. Remove it`,
                );
            }
            const clash = stack.cells.findIndex(
                (other, j) =>
                    j < index &&
                    other.portBase !== undefined &&
                    cell.portBase !== undefined &&
                    Math.abs(other.portBase - cell.portBase) < PORTS_PER_LOCAL_CELL,
            );
            if (clash >= 0) {
                issue(
                    ["cells", index, "portBase"],
                    `${cell.portBase} overlaps the ports of cellplane:cells[${clash}] (${stack.cells[clash].portBase}-${stack.cells[clash].portBase! + PORTS_PER_LOCAL_CELL - 1}). Keep local cells ${PORTS_PER_LOCAL_CELL} ports apart`,
                );
            }
            if (!stack.allowedSizes.includes(cell.size)) {
                issue(
                    ["cells", index, "size"],
                    `"${cell.size}" is not allowed in this environment. Allowed (cellplane:allowedSizes): ${stack.allowedSizes.join(", ")}`,
                );
            }
        });
        for (const [residency, cellId] of Object.entries(stack.routers)) {
            const host = stack.cells.find((c) => c.id === cellId);
            const candidates = stack.cells.filter((c) => c.residency === residency).map((c) => c.id);
            const fix = candidates.length > 0 ? `Name one of its cells: ${candidates.join(", ")}` : `Add a ${residency} cell first`;
            if (!host) issue(["routers", residency], `"${cellId}" is no cell of this stack. ${fix}`);
            else if (host.residency !== residency)
                issue(
                    ["routers", residency],
                    `cell "${cellId}" is of residency ${host.residency}, so the ${residency} router would carry ${residency} tenants' requests through ${host.region}. ${fix}`,
                );
        }
        const clusterCells = stack.cells.filter((c) => c.cloud !== "local").map((c) => c.id);
        if (clusterCells.length > 0 && !stack.dnsZone)
            issue(
                ["dnsZone"],
                `is required for cells ${clusterCells.join(", ")}: their routers and APIs answer at public names under it. Set cellplane:dnsZone to a zone you own, as "cellplane.example.com"`,
            );
        const azureCells = stack.cells.filter((c) => c.cloud === "azure").map((c) => c.id);
        if (azureCells.length > 0 && !stack.azureDnsResourceGroup)
            issue(
                ["azureDnsResourceGroup"],
                `is required for cells ${azureCells.join(", ")}: their names are records of the Azure DNS zone ${stack.dnsZone ?? "(cellplane:dnsZone)"}. Set it to the zone's resource group`,
            );
        const placement = placeTenants(stack.cells, stack.tenants);
        for (const problem of placement.problems) {
            issue(["tenants", problem.index, problem.field], problem.message);
        }
        for (const [tenantId, override] of Object.entries(stack.routingOverrides)) {
            const tenant = stack.tenants.find((t) => t.id === tenantId);
            if (!tenant) {
                issue(
                    ["routingOverrides", tenantId],
                    `"${tenantId}" is no tenant of this stack. Remove the override, or add the tenant first`,
                );
                continue;
            }
            if (override.action !== "pin") continue;
            const cell = stack.cells.find((c) => c.id === override.cell);
            const ownResidency = stack.cells.filter((c) => c.residency === tenant.residency).map((c) => c.id);
            if (!cell || cell.residency !== tenant.residency)
                issue(
                    ["routingOverrides", tenantId, "cell"],
                    `"${override.cell}" is ${cell ? `a cell of residency ${cell.residency}` : "no cell of this stack"}; tenant ${tenantId} is pinned within residency ${tenant.residency} only: ${ownResidency.join(", ")}`,
                );
        }
    });

export type StackConfig = z.output<typeof stackSchema>;
export type CellConfig = StackConfig["cells"][number];
export type TenantConfig = StackConfig["tenants"][number];
export type Quotas = TenantConfig["quotas"];

/** A tenant with the cell it was placed on. */
export type PlacedTenant = TenantConfig & { cell: string };

export interface ValidStack extends Omit<StackConfig, "tenants"> {
    tenants: PlacedTenant[];
}

/** Every problem of a stack's configuration, one line each: field path, bad value, what is allowed. */
export class ConfigError extends Error {
    constructor(readonly problems: string[]) {
        super(`Invalid Cellplane configuration:\n${problems.map((p) => `  - ${p}`).join("\n")}`);
        this.name = "ConfigError";
    }
}

/**
 * Validates a stack's raw configuration (the `cellplane:*` keys without their namespace) and places its
 * tenants. Throws a ConfigError listing every problem; nothing downstream re-checks.
 */
export function parseStackConfig(raw: unknown): ValidStack {
    const result = stackSchema.safeParse(raw, { reportInput: true });
    if (!result.success) throw new ConfigError(result.error.issues.map(describeIssue));
    const stack = result.data;
    const { cellOf } = placeTenants(stack.cells, stack.tenants);
    return { ...stack, tenants: stack.tenants.map((tenant) => ({ ...tenant, cell: cellOf[tenant.id] })) };
}

/** The keys `parseStackConfig` reads, for loaders of `Pulumi.<stack>.yaml` and `pulumi.Config`. */
export const CONFIG_KEYS = Object.keys(stackSchema.shape) as (keyof StackConfig)[];

function firstUseOf(values: string[]): number[] {
    return values.map((value) => values.indexOf(value));
}

function describeIssue(issue: z.core.$ZodIssue): string {
    const path = `${CONFIG_NAMESPACE}:${issue.path.map((p, i) => (typeof p === "number" ? `[${p}]` : i === 0 ? String(p) : `.${String(p)}`)).join("")}`;
    const where = issue.path.length === 0 ? `${CONFIG_NAMESPACE}` : path;
    switch (issue.code) {
        case "invalid_value":
            return issue.input === undefined
                ? `${where}: is required. Allowed: ${issue.values.join(", ")}`
                : `${where}: ${JSON.stringify(issue.input)} is not allowed. Allowed: ${issue.values.join(", ")}`;
        case "invalid_type":
            return issue.input === undefined
                ? `${where}: is required (expected ${issue.expected})`
                : `${where}: ${JSON.stringify(issue.input)} is not a valid ${issue.expected}`;
        case "unrecognized_keys":
            return `${where}: unknown field${issue.keys.length > 1 ? "s" : ""} ${issue.keys.map((k) => `"${k}"`).join(", ")}. Check the spelling against the configuration reference in README.md`;
        case "custom":
            return `${where}: ${issue.message}`;
        default:
            return `${where}: ${JSON.stringify(issue.input)} ${issue.message.replace(/^Invalid input: /, "")}`;
    }
}
