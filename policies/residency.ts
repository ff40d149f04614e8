import * as path from "path";
import type { PolicyResource, ReportViolation } from "@pulumi/policy";
import { TENANT_DIRECTORY_CONFIGMAP, TENANT_DIRECTORY_KEY, TenantDirectory } from "../model/tenantDirectory";
import { CELL_SHAPES, Size } from "../model/sizing";
import { regionsOf, residencyOfRegion } from "../model/residency";
import { ALLOWED_LOCATIONS_POLICY, deniesOtherRegions } from "../model/guardrails";
import {
    AZURE_PAIRED_REGIONS,
    cellOf,
    describe,
    isServiceOf,
    PolicySubject,
    regionOf,
    regionOfArn,
    residencyOf,
    resourcePolicy,
    stackPolicy,
    zoneOfRegion,
} from "./lib";
import { T } from "./types";
import { dataNamespaceOf } from "../components/kubernetes/clusterOperators";
import type { LakehouseSettings } from "../apps/lakehouse/jobs";

/** The zone a resource is in: the one it declares, else the one of its region. */
function zoneOf(resource: PolicySubject) {
    return residencyOf(resource) ?? zoneOfRegion(regionOf(resource));
}

/** Last segment of an Azure resource id (`…/namespaces/<name>`) or an S3 ARN (`arn:aws:s3:::<name>`). */
function nameInReference(reference: unknown): string | undefined {
    return typeof reference === "string" ? reference.split(/[/:]/).pop() : undefined;
}

function findByName(resources: PolicyResource[], type: string, name: string | undefined, nameProp = "name") {
    return resources.find((r) => r.type === type && r.props[nameProp] === name);
}

/** Reports a copy of `source`'s data going to `target`, unless both lie in one residency. */
function checkCopy(source: PolicySubject, target: PolicySubject | undefined, what: string, targetRef: unknown, report: ReportViolation) {
    const from = zoneOf(source);
    if (!target) {
        report(
            `${describe(source)} ${what} ${JSON.stringify(targetRef)}, which is not a resource of this stack, so its residency cannot be proven. Copy data only to resources of the cell's own residency (${from ?? "unknown"}).`,
            source.urn,
        );
        return;
    }
    const to = zoneOf(target);
    if (from !== to) {
        report(
            `${describe(source)} (residency ${from ?? "unknown"}) ${what} ${describe(target)} in residency ${to ?? "unknown"}. Data must stay in its residency: remove the copy or point it at a resource of residency ${from}.`,
            source.urn,
        );
    }
}

export const residencyRegion = resourcePolicy({
    name: "residency-region",
    description: "Every resource of a cell lies in a region of the residency it is tagged with.",
    appliesTo: (type) => type.startsWith("aws:") || type.startsWith("azure-native:"),
    check: (resource, report) => {
        const residency = residencyOf(resource);
        const region = regionOf(resource);
        if (!residency || !region) return;
        // Private DNS zones are global objects by Azure's design and hold only the VNet's private records.
        if (region === "global" && resource.type.startsWith("azure-native:privatedns:")) return;
        if (zoneOfRegion(region) !== residency) {
            const allowed = resource.type.startsWith("aws:") ? regionsOf(residency, "aws") : regionsOf(residency, "azure");
            report(
                `${describe(resource)} is tagged residency ${residency} but lies in ${region}. Move it to one of: ${allowed.join(", ")}.`,
            );
        }
    },
});

export const residencyPerProvider = stackPolicy({
    name: "residency-single-zone-per-provider",
    description:
        "All resources created through one AWS provider belong to one residency, the one of the provider's region (this covers resources that take no tags).",
    validateStack: ({ resources }, report) => {
        const byProvider = new Map<string, PolicyResource[]>();
        for (const r of resources) {
            if (!r.type.startsWith("aws:") || !r.provider) continue;
            byProvider.set(r.provider.urn, [...(byProvider.get(r.provider.urn) ?? []), r]);
        }
        for (const members of byProvider.values()) {
            const provider = members[0].provider!;
            const zone = zoneOfRegion(provider.props.region);
            const strays = members.filter((r) => residencyOf(r) !== undefined && residencyOf(r) !== zone);
            for (const stray of strays) {
                report(
                    `${describe(stray)} is tagged residency ${residencyOf(stray)} but its provider "${provider.name}" works in ${provider.props.region} (residency ${zone ?? "none"}). Create it through a provider of its cell's region.`,
                    stray.urn,
                );
            }
        }
    },
});

export const noCrossResidencyBucketReplication = stackPolicy({
    name: "no-cross-residency-bucket-replication",
    description: "S3 buckets replicate only to buckets of the same residency in this stack.",
    validateStack: ({ resources }, report) => {
        for (const replication of resources.filter((r) => r.type === T.bucketReplication)) {
            const source = findByName(resources, T.bucket, replication.props.bucket, "bucket") ?? replication;
            for (const rule of replication.props.rules ?? []) {
                const target = rule.destination?.bucket;
                checkCopy(
                    source,
                    findByName(resources, T.bucket, nameInReference(target), "bucket"),
                    "replicates to bucket",
                    target,
                    report,
                );
            }
        }
    },
});

export const noCrossResidencyDatabaseCopies = stackPolicy({
    name: "no-cross-residency-database-copies",
    description: "Databases have no read replica, backup copy or geo-backup in another residency.",
    validateStack: ({ resources }, report) => {
        for (const db of resources.filter((r) => r.type === T.rds && r.props.replicateSourceDb)) {
            const source = resources.find(
                (r) =>
                    r.type === T.rds && (r.props.arn === db.props.replicateSourceDb || r.props.identifier === db.props.replicateSourceDb),
            );
            if (source) checkCopy(source, db, "is replicated to", db.urn, report);
            else if (zoneOfRegion(regionOfArn(db.props.replicateSourceDb)) !== zoneOf(db)) {
                report(
                    `${describe(db)} replicates ${db.props.replicateSourceDb}, outside its residency ${zoneOf(db)}. Replicate only databases of the same residency.`,
                    db.urn,
                );
            }
        }
        for (const copy of resources.filter((r) => r.type === T.rdsBackupReplication)) {
            const sourceZone = zoneOfRegion(regionOfArn(copy.props.sourceDbInstanceArn));
            const targetZone = zoneOfRegion(regionOf(copy));
            if (sourceZone !== targetZone) {
                report(
                    `${describe(copy)} copies the backups of ${copy.props.sourceDbInstanceArn} (residency ${sourceZone ?? "unknown"}) to ${regionOf(copy)} (residency ${targetZone ?? "unknown"}). Keep backup copies in the database's residency.`,
                    copy.urn,
                );
            }
        }
        for (const server of resources.filter((r) => r.type === T.flexibleServer)) {
            if (server.props.sourceServerResourceId) {
                const source = findByName(resources, T.flexibleServer, nameInReference(server.props.sourceServerResourceId));
                if (source) checkCopy(source, server, "is copied to", server.urn, report);
                else checkCopy(server, undefined, "is a copy of", server.props.sourceServerResourceId, report);
            }
            if (server.props.backup?.geoRedundantBackup === "Enabled") {
                const pair = AZURE_PAIRED_REGIONS[server.props.location];
                if (zoneOfRegion(pair) !== zoneOf(server)) {
                    report(
                        `${describe(server)} has geo-redundant backups, which Azure keeps in ${pair ?? "no paired region"}, outside residency ${zoneOf(server)}. Set backup.geoRedundantBackup to "Disabled".`,
                        server.urn,
                    );
                }
            }
        }
    },
});

export const noCrossResidencyEventHubsPairing = stackPolicy({
    name: "no-cross-residency-event-hubs-pairing",
    description: "Event Hubs namespaces are geo-DR paired only with namespaces of the same residency.",
    validateStack: ({ resources }, report) => {
        for (const pairing of resources.filter((r) => r.type === T.eventHubsDisasterRecovery)) {
            const primary = findByName(resources, T.eventHubsNamespace, pairing.props.namespaceName) ?? pairing;
            const partner = findByName(resources, T.eventHubsNamespace, nameInReference(pairing.props.partnerNamespace));
            checkCopy(primary, partner, "is geo-paired with namespace", pairing.props.partnerNamespace, report);
        }
    },
});

export const noCrossResidencyPeering = stackPolicy({
    name: "no-cross-residency-network-peering",
    description: "VPCs and VNets peer only with networks of the same residency.",
    validateStack: ({ resources }, report) => {
        for (const peering of resources.filter((r) => r.type === T.vpcPeering)) {
            const own = zoneOf(peering);
            const peerZone = peering.props.peerRegion ? zoneOfRegion(peering.props.peerRegion) : own;
            const peerVpc = resources.find((r) => r.type === T.vpc && r.props.id === peering.props.peerVpcId);
            if (peerZone !== own || (peerVpc && zoneOf(peerVpc) !== own)) {
                report(
                    `${describe(peering)} peers a network of residency ${own} with ${peering.props.peerRegion ?? peering.props.peerVpcId} outside it. Remove the peering; cells of different residencies never share a network.`,
                    peering.urn,
                );
            }
        }
        for (const peering of resources.filter((r) => r.type === T.virtualNetworkPeering)) {
            const local = findByName(resources, T.virtualNetwork, peering.props.virtualNetworkName) ?? peering;
            const remote = findByName(resources, T.virtualNetwork, nameInReference(peering.props.remoteVirtualNetwork?.id));
            checkCopy(local, remote, "peers with VNet", peering.props.remoteVirtualNetwork?.id, report);
        }
    },
});

/** The directory's text in a cell: a ConfigMap on cluster targets, a file in the cell's folder on local cells. */
function directoryText(r: PolicyResource): string | undefined {
    if (r.type === T.configMap && r.props.metadata?.name === TENANT_DIRECTORY_CONFIGMAP) return r.props.data?.[TENANT_DIRECTORY_KEY];
    if (r.type === T.localObject && r.props.kind === "file" && path.basename(r.props.spec?.path ?? "") === TENANT_DIRECTORY_KEY)
        return r.props.spec.content;
    return undefined;
}

/** Tenant directories deployed in the stack, with the resource that holds each. */
function tenantDirectories(resources: PolicyResource[]): { holder: PolicyResource; directory: TenantDirectory }[] {
    return resources.flatMap((holder) => {
        const text = directoryText(holder);
        return text === undefined ? [] : [{ holder, directory: JSON.parse(text) as TenantDirectory }];
    });
}

export const tenantRoutingWithinResidency = stackPolicy({
    name: "tenant-routing-within-residency",
    description:
        "Every tenant in the tenant directory is routed to a cell of its own residency, and that cell's resources really are in that residency.",
    validateStack: ({ resources }, report) => {
        const deployedZone = (cell: string) =>
            resources.map((r) => (cellOf(r) === cell ? residencyOf(r) : undefined)).find((z) => z !== undefined);
        for (const { holder, directory } of tenantDirectories(resources)) {
            for (const [tenant, route] of Object.entries(directory.tenants)) {
                const cell = directory.cells[route.cell];
                const actual = deployedZone(route.cell);
                if (!cell || cell.residency !== route.residency || (actual !== undefined && actual !== route.residency)) {
                    report(
                        `Tenant "${tenant}" (residency ${route.residency}) is routed to cell "${route.cell}" of residency ${actual ?? cell?.residency ?? "unknown"} in ${describe(holder)}. Route it to a ${route.residency} cell (cellplane:tenants[].cell).`,
                        holder.urn,
                    );
                }
            }
        }
    },
});

/** A router app as deployed: its settings, and the cell that hosts it (from where it runs). */
interface DeployedRouter {
    resource: PolicyResource;
    env: Record<string, string>;
    /** Its routing table (JSON), where the program's values are known. */
    table?: string;
    hostResidency?: string;
    hostCell?: string;
}

/** A router's routing table as the program gives it: its ConfigMap's key in a cluster, its file on a local cell. */
function routingTableOf(resources: PolicyResource[], router: PolicyResource): string | undefined {
    if (router.type === T.deployment)
        return resources.find(
            (r) =>
                r.type === T.configMap &&
                r.props.metadata?.name === "router-files" &&
                r.props.metadata?.namespace === router.props.metadata?.namespace,
        )?.props.data?.ROUTING_FILE;
    const file = path.join(router.props.spec.dir, "files", "ROUTING_FILE");
    return resources.find((r) => r.type === T.localObject && r.props.kind === "file" && r.props.spec?.path === file)?.props.spec.content;
}

function deployedRouters(resources: PolicyResource[]): DeployedRouter[] {
    const cellResidency = (cell: string) =>
        tenantDirectories(resources)
            .map(({ directory }) => directory.cells[cell]?.residency)
            .find((r) => r !== undefined);
    return resources.flatMap((r): DeployedRouter[] => {
        if (r.type === T.deployment && r.props.metadata?.labels?.["app.kubernetes.io/name"] === "router") {
            const env = Object.fromEntries(
                (r.props.spec?.template?.spec?.containers?.[0]?.env ?? []).map((e: { name: string; value?: string }) => [e.name, e.value]),
            );
            return [{ resource: r, env, table: routingTableOf(resources, r), hostResidency: residencyOf(r), hostCell: cellOf(r) }];
        }
        if (r.type === T.localAppServer && path.basename(r.props.spec?.dir ?? "") === "router") {
            const hostCell = path.basename(path.dirname(r.props.spec.dir));
            return [
                {
                    resource: r,
                    env: r.props.spec.env ?? {},
                    table: routingTableOf(resources, r),
                    hostCell,
                    hostResidency: cellResidency(hostCell),
                },
            ];
        }
        return [];
    });
}

export const routerWithinResidency = stackPolicy({
    name: "router-within-residency",
    description:
        "Each router runs on a cell of its own residency and routes only that residency's tenants to that residency's cells, so no tenant's request passes through another residency.",
    validateStack: ({ resources }, report) => {
        const fix = (residency: string) =>
            `Set cellplane:routers.${residency} to a cell of residency ${residency}, or leave it to default to its first cell.`;
        const directoryResidency = (kind: "cells" | "tenants", id: string) =>
            tenantDirectories(resources)
                .map(({ directory }) => directory[kind][id]?.residency)
                .find((r) => r !== undefined);
        for (const { resource, env, table, hostResidency, hostCell } of deployedRouters(resources)) {
            const residency = env.RESIDENCY;
            if (hostResidency !== undefined && residency !== hostResidency)
                report(
                    `${describe(resource)}, the router of residency ${residency ?? "(none)"}, runs on cell ${hostCell} of residency ${hostResidency}. ${fix(residency)}`,
                    resource.urn,
                );
            // Unknown until the preview's values resolve; the update checks the real table.
            if (typeof table !== "string") continue;
            let routes: { cells?: Record<string, { residency?: string }>; tenants?: Record<string, string> } = {};
            try {
                routes = JSON.parse(table);
            } catch {
                report(
                    `${describe(resource)} has a routing table that is not JSON, so its tenants cannot be checked. Deploy it through the Router component.`,
                    resource.urn,
                );
            }
            const foreignCells = Object.entries(routes.cells ?? {}).filter(
                ([id, cell]) => cell.residency !== residency || (directoryResidency("cells", id) ?? residency) !== residency,
            );
            const foreignTenants = Object.keys(routes.tenants ?? {}).filter(
                (t) => (directoryResidency("tenants", t) ?? residency) !== residency,
            );
            if (foreignCells.length + foreignTenants.length > 0)
                report(
                    `${describe(resource)}, the router of residency ${residency}, routes to another residency: ${[
                        ...foreignCells.map(([id]) => `cell ${id}`),
                        ...foreignTenants.map((t) => `tenant ${t}`),
                    ].join(", ")}. A router holds only its own residency's cells and tenants (components/routing/router.ts).`,
                    resource.urn,
                );
        }
    },
});

export const cellTenantCapacity = stackPolicy({
    name: "cell-tenant-capacity",
    description: "No cell holds more tenants than its size allows, limiting the blast radius of a cell failure.",
    validateStack: ({ resources }, report) => {
        for (const { holder, directory } of tenantDirectories(resources)) {
            for (const [id, cell] of Object.entries(directory.cells)) {
                const tenants = Object.values(directory.tenants).filter((t) => t.cell === id).length;
                const capacity = CELL_SHAPES[cell.size as Size]?.tenantCapacity ?? 0;
                if (tenants > capacity) {
                    report(
                        `Cell "${id}" (size ${cell.size}) holds ${tenants} tenants, more than its ${capacity} in ${describe(holder)}. Add a cell of residency ${cell.residency} or raise the cell's size.`,
                        holder.urn,
                    );
                }
            }
        }
    },
});

/**
 * The clouds' own residency guardrails, which refuse what Pulumi never sees (a console click, a leaked credential):
 * every IAM role bounded by a policy that denies other regions, every Azure resource group under "Allowed
 * locations" of its residency's regions only.
 */
export const residencyGuardrails = stackPolicy({
    name: "residency-guardrails",
    description:
        "Every AWS role has a permissions boundary that denies regions outside its residency; every Azure resource group of a cell is under Azure Policy's allowed locations of its residency.",
    validateStack: (args, report) => {
        const boundaries = new Set(
            args.resources.filter((r) => r.type === T.iamPolicy && deniesOtherRegions(r.props.policy)).map((r) => r.props.arn),
        );
        for (const role of args.resources.filter((r) => r.type === T.iamRole && !boundaries.has(r.props.permissionsBoundary)))
            report(
                `${describe(role)} is not bounded to its residency's regions. Create it within an AWS cell, whose ResidencyBoundary sets permissionsBoundary on every role (components/aws/residencyBoundary.ts).`,
                role.urn,
            );
        const assignments = args.resources.filter(
            (r) => r.type === T.policyAssignment && r.props.policyDefinitionId === ALLOWED_LOCATIONS_POLICY,
        );
        for (const group of args.resources.filter((r) => r.type === T.resourceGroup && residencyOf(r))) {
            const residency = residencyOf(group);
            const assignment = assignments.find((a) => String(a.props.scope).includes(String(group.props.name ?? group.name)));
            const allowed: string[] = assignment?.props.parameters?.listOfAllowedLocations?.value ?? [];
            const outside = allowed.filter((location) => residencyOfRegion(location) !== residency);
            if (!assignment)
                report(
                    `${describe(group)} has no "Allowed locations" assignment, so Azure would accept a resource of the cell in any region. Create the cell's AzureResidencyGuardrails on it.`,
                    group.urn,
                );
            else if (outside.length > 0)
                report(
                    `${describe(group)} allows ${outside.join(", ")}, outside residency ${residency}. Allow only ${regionsOf(residency!, "azure").join(", ")}.`,
                    group.urn,
                );
        }
    },
});

/**
 * The stores of a cell: the hosts of its RDS and MSK, any Service of its namespace, and the buckets tagged with it
 * or created by its namespace's SeaweedFS.
 */
function storesOfCell(resources: PolicyResource[], cell: string, namespace: string) {
    const own = resources.filter((r) => cellOf(r) === cell);
    const hosts = new Set<string>([
        ...own.filter((r) => r.type === T.rds).map((r) => r.props.address),
        ...own
            .filter((r) => r.type === T.msk)
            .flatMap((r) => String(r.props.bootstrapBrokersSaslIam ?? "").split(","))
            .map((broker) => broker.split(":")[0]),
        ...own.filter((r) => r.type === T.flexibleServer).map((r) => r.props.fullyQualifiedDomainName),
        ...own.filter((r) => r.type === T.eventHubsNamespace).map((r) => `${r.props.namespaceName ?? r.props.name}.servicebus.windows.net`),
    ]);
    const accounts = new Set(own.filter((r) => r.type === T.storageAccount).map((r) => r.props.accountName ?? r.props.name));
    const buckets = new Set<unknown>([
        ...own.filter((r) => r.type === T.bucket).map((r) => r.props.bucket),
        ...resources
            .filter((r) => r.type === T.blobContainer && accounts.has(r.props.accountName))
            .map((r) => `${r.props.containerName}@${r.props.accountName}`),
        ...resources
            .filter((r) => r.type === T.helmRelease && r.props.namespace === namespace)
            .flatMap((r) => (r.props.values?.s3?.createBuckets ?? []) as { name?: string }[])
            .map((b) => b.name),
    ]);
    return { isHost: (host: string) => hosts.has(host) || isServiceOf(host, namespace), isBucket: (bucket: string) => buckets.has(bucket) };
}

/**
 * The stores a job's settings name: its catalog's host, its brokers' hosts and its warehouse's bucket (`s3://<bucket>/…`)
 * or container (`abfss://<container>@<account>.dfs…`, as `<container>@<account>`).
 */
function storesOfJob(settings: LakehouseSettings) {
    const warehouse = new URL(settings.warehouse);
    return {
        hosts: [
            new URL(settings.catalog.jdbcUrl.replace(/^jdbc:/, "")).hostname,
            ...settings.kafka.bootstrap.split(",").map((broker) => broker.split(":")[0]),
        ],
        bucket: warehouse.protocol === "abfss:" ? `${warehouse.username}@${warehouse.hostname.split(".")[0]}` : warehouse.hostname,
    };
}

/** The brokers a streaming job's script names (`'properties.bootstrap.servers' = '…'`), read from its ConfigMap. */
function brokersOfStreamingJob(resources: PolicyResource[], job: PolicyResource): string[] | undefined {
    const volumes: { name: string; configMap?: { name?: string } }[] = job.props.spec?.podTemplate?.spec?.volumes ?? [];
    const scriptMap = volumes.find((v) => v.name === "script")?.configMap?.name;
    const map = resources.find(
        (r) =>
            r.type === T.configMap && r.props.metadata?.name === scriptMap && r.props.metadata?.namespace === job.props.metadata?.namespace,
    );
    const scripts = Object.values((map?.props.data ?? {}) as Record<string, string>);
    if (scripts.length === 0) return undefined;
    return scripts
        .flatMap((script) => [...script.matchAll(/'properties\.bootstrap\.servers' = '([^']*)'/g)].map((m) => m[1]))
        .flatMap((list) => list.split(","))
        .map((broker) => broker.split(":")[0]);
}

/** Reports a job outside its cell's namespace; true when it is inside. */
function inOwnNamespace(job: PolicyResource, report: (message: string, urn?: string) => void): boolean {
    const cell = cellOf(job);
    const namespace = dataNamespaceOf(cell ?? "");
    if (cell && job.props.metadata?.namespace === namespace) return true;
    report(
        `${describe(job)} of cell ${cell ?? "(no cell label)"} runs in namespace ${job.props.metadata?.namespace}, not its cell's ${namespace}. Label it with its cell and create it in that cell's namespace.`,
        job.urn,
    );
    return false;
}

export const lakehouseJobsOwnCell = stackPolicy({
    name: "lakehouse-jobs-own-cell",
    description:
        "A cell's lakehouse and streaming jobs run in its own namespace and reach only its own stores: its Postgres, its Kafka and its lake's bucket, so no job carries a tenant's data to another cell.",
    validateStack: ({ resources }, report) => {
        for (const job of resources.filter((r) => r.type === T.flinkDeployment)) {
            if (!inOwnNamespace(job, report)) continue;
            const cell = cellOf(job)!;
            const brokers = brokersOfStreamingJob(resources, job);
            if (!brokers) {
                report(
                    `${describe(job)} names no brokers (no script ConfigMap of its namespace). Give it its cell's streaming script.`,
                    job.urn,
                );
                continue;
            }
            const own = storesOfCell(resources, cell, job.props.metadata.namespace);
            for (const host of brokers.filter((h) => !own.isHost(h)))
                report(
                    `${describe(job)} of cell ${cell} reaches ${host}, which is not a store of its cell. Point it at cell ${cell}'s own Kafka.`,
                    job.urn,
                );
        }
        for (const job of resources.filter((r) => r.type === T.scheduledSparkApplication)) {
            if (!inOwnNamespace(job, report)) continue;
            const cell = cellOf(job)!;
            const namespace = dataNamespaceOf(cell);
            const settings = job.props.spec?.template?.driver?.env?.find((e: { name: string }) => e.name === "LAKEHOUSE")?.value;
            if (typeof settings !== "string") {
                report(`${describe(job)} names no stores (no LAKEHOUSE setting on its driver). Give it its cell's stores.`, job.urn);
                continue;
            }
            const own = storesOfCell(resources, cell, namespace);
            const { hosts, bucket } = storesOfJob(JSON.parse(settings));
            for (const host of hosts.filter((h) => !own.isHost(h)))
                report(
                    `${describe(job)} of cell ${cell} reaches ${host}, which is not a store of its cell. Point it at cell ${cell}'s own Postgres and Kafka.`,
                    job.urn,
                );
            if (!own.isBucket(bucket))
                report(
                    `${describe(job)} of cell ${cell} writes bucket ${bucket}, which is not its cell's. Point its warehouse at cell ${cell}'s lake.`,
                    job.urn,
                );
        }
    },
});

export const RESIDENCY_POLICIES = [
    residencyGuardrails,
    routerWithinResidency,
    residencyRegion,
    residencyPerProvider,
    noCrossResidencyBucketReplication,
    noCrossResidencyDatabaseCopies,
    noCrossResidencyEventHubsPairing,
    noCrossResidencyPeering,
    tenantRoutingWithinResidency,
    cellTenantCapacity,
    lakehouseJobsOwnCell,
];
