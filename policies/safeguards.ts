import { AWS_INSTANCE_TYPES } from "../components/aws/sizing";
import { AZURE_SKUS } from "../components/azure/sizing";
import { SIZES, Size } from "../model/sizing";
import { describe, TypedSubject, typedPolicy } from "./lib";
import { T } from "./types";
import type { ResourceProps } from "../model/resourceProps";

export const deletionProtection = typedPolicy({
    name: "deletion-protection",
    description:
        "Stateful resources cannot be deleted by accident: RDS deletion protection, and Pulumi `protect` on databases, buckets and storage accounts.",
    types: [T.rds, T.flexibleServer, T.bucket, T.storageAccount],
    check: (resource, report) => {
        if (resource.type === T.rds && resource.props.deletionProtection !== true) {
            report(`${describe(resource)} has no deletion protection. Set deletionProtection: true.`);
        }
        if (resource.opts?.protect !== true) {
            report(
                `${describe(resource)} is not protected against \`pulumi destroy\`. Create it with the \`protect: true\` resource option.`,
            );
        }
    },
});

export const backupRetention = typedPolicy({
    name: "backup-retention-30-days",
    description: "Databases keep backups for at least 30 days.",
    types: [T.rds, T.flexibleServer],
    check: (db, report) => {
        const days = db.type === T.rds ? db.props.backupRetentionPeriod : db.props.backup?.backupRetentionDays;
        if (days === undefined || days < 30)
            report(`${describe(db)} keeps backups for ${days ?? "the default number of"} days. Keep them 30 days or more.`);
    },
});

export const multiZone = typedPolicy({
    name: "multi-az",
    description: "Databases, brokers, clusters and storage survive the loss of an availability zone.",
    types: [T.rds, T.flexibleServer, T.msk, T.eks, T.aks, T.eventHubsNamespace, T.storageAccount],
    check: (r, report) => {
        const fix = singleZoneFix(r);
        if (fix) report(`${describe(r)} lives in a single availability zone. ${fix}`);
    },
});

/** AKS tiers whose API server has an uptime SLA (the Free tier has none). */
const SLA_TIERS: (string | undefined)[] = ["Standard", "Premium"];

export const clusterUptimeSla = typedPolicy({
    name: "cluster-uptime-sla",
    description: "Managed Kubernetes control planes carry an uptime SLA: AKS on the Standard or Premium tier.",
    types: [T.aks],
    check: (cluster, report) => {
        const tier = cluster.props.sku?.tier;
        if (!SLA_TIERS.includes(tier))
            report(
                `${describe(cluster)} runs on AKS's ${tier ?? "default (Free)"} tier, whose API server has no uptime SLA. Set sku: { name: "Base", tier: "Standard" }.`,
            );
    },
});

/** How to spread a resource over zones, or undefined when it already is. */
function singleZoneFix(
    r: TypedSubject<
        | typeof T.rds
        | typeof T.flexibleServer
        | typeof T.msk
        | typeof T.eks
        | typeof T.aks
        | typeof T.eventHubsNamespace
        | typeof T.storageAccount
    >,
): string | undefined {
    switch (r.type) {
        case T.rds:
            return r.props.multiAz === true ? undefined : "Set multiAz: true.";
        case T.flexibleServer:
            return r.props.highAvailability?.mode === "ZoneRedundant" ? undefined : `Set highAvailability.mode: "ZoneRedundant".`;
        case T.msk:
            return (r.props.brokerNodeGroupInfo?.clientSubnets ?? []).length >= 3
                ? undefined
                : "Spread brokers over three AZs (three client subnets).";
        case T.eks:
            return (r.props.vpcConfig?.subnetIds ?? []).length >= 3 ? undefined : "Give the cluster subnets in three AZs.";
        case T.aks:
            return (r.props.agentPoolProfiles ?? []).every((pool) => (pool.availabilityZones ?? []).length >= 3)
                ? undefined
                : `Set availabilityZones: ["1", "2", "3"] on every node pool.`;
        case T.eventHubsNamespace:
            return r.props.zoneRedundant === true ? undefined : "Set zoneRedundant: true.";
        case T.storageAccount:
            return /ZRS$/.test(r.props.sku?.name ?? "")
                ? undefined
                : `Use a zone-redundant SKU ("Standard_ZRS" or "Standard_GZRS" with a paired region of the same residency).`;
    }
}

/** Instance types and SKUs a cell of each allowed size may use, per cloud. */
function allowedTypes(sizes: Size[]) {
    return {
        [T.rds]: sizes.map((s) => AWS_INSTANCE_TYPES[s].database),
        [T.msk]: sizes.map((s) => AWS_INSTANCE_TYPES[s].kafkaBroker),
        [T.eksNodeGroup]: sizes.map((s) => AWS_INSTANCE_TYPES[s].node),
        [T.flexibleServer]: sizes.map((s) => AZURE_SKUS[s].postgres.name),
        [T.aks]: sizes.map((s) => AZURE_SKUS[s].node),
    } as Record<string, string[]>;
}

function instanceTypesOf(r: { type: string; props: ResourceProps }): string[] {
    switch (r.type) {
        case T.rds:
            return [r.props.instanceClass];
        case T.msk:
            return [r.props.brokerNodeGroupInfo?.instanceType];
        case T.eksNodeGroup:
            return r.props.instanceTypes ?? [];
        case T.flexibleServer:
            return [r.props.sku?.name];
        default:
            return (r.props.agentPoolProfiles ?? []).map((pool: ResourceProps) => pool.vmSize);
    }
}

export const allowedInstanceTypes = typedPolicy({
    name: "allowed-instance-types",
    description: "Databases, brokers and nodes use the instance types of the environment's allowed cell sizes.",
    types: [T.rds, T.msk, T.eksNodeGroup, T.flexibleServer, T.aks],
    configSchema: {
        properties: { allowedSizes: { type: "array", items: { type: "string", enum: [...SIZES] }, default: [...SIZES] } },
    },
    check: (r, report, config) => {
        const allowed = allowedTypes(config.allowedSizes)[r.type];
        for (const type of instanceTypesOf(r).filter((t) => !allowed.includes(t))) {
            report(
                `${describe(r)} uses ${type}, which no allowed cell size (${config.allowedSizes.join(", ")}) uses. Use one of: ${allowed.join(", ")}.`,
            );
        }
    },
});

/** `key=value` lines of a Kafka server.properties. */
function properties(text: string | undefined): Record<string, string> {
    return Object.fromEntries(
        (text ?? "")
            .split("\n")
            .map((line) => line.split("=").map((s) => s.trim()))
            .filter(([k, v]) => k && v !== undefined),
    );
}

export const kafkaReplication = typedPolicy({
    name: "kafka-replication-factor",
    description: "Kafka topics are replicated three times and writes need two in-sync replicas.",
    types: [T.mskConfiguration, T.strimziKafka],
    check: (r, report) => {
        const config = r.type === T.mskConfiguration ? properties(r.props.serverProperties) : (r.props.spec?.kafka?.config ?? {});
        const factor = Number(config["default.replication.factor"] ?? 1);
        const inSync = Number(config["min.insync.replicas"] ?? 1);
        if (factor < 3 || inSync < 2) {
            report(
                `${describe(r)} replicates topics ${factor} time(s) with min.insync.replicas ${inSync}. Set default.replication.factor=3 and min.insync.replicas=2 (a medium or large cell has the brokers for it).`,
            );
        }
    },
});

export const SAFEGUARD_POLICIES = [
    deletionProtection,
    backupRetention,
    multiZone,
    clusterUptimeSla,
    allowedInstanceTypes,
    kafkaReplication,
];
