import { describe, stackPolicy, typedPolicy } from "./lib";
import { T } from "./types";

export const bucketsNotPublic = stackPolicy({
    name: "no-public-buckets",
    description: "Every S3 bucket blocks all public access and grants no public ACL.",
    validateStack: ({ resources }, report) => {
        const blocked = new Set(
            resources
                .filter(
                    (r) =>
                        r.type === T.bucketPublicAccessBlock &&
                        ["blockPublicAcls", "blockPublicPolicy", "ignorePublicAcls", "restrictPublicBuckets"].every(
                            (k) => r.props[k] === true,
                        ),
                )
                .map((r) => r.props.bucket),
        );
        for (const bucket of resources.filter((r) => r.type === T.bucket && !blocked.has(r.props.bucket))) {
            report(
                `${describe(bucket)} does not block public access. Add a BucketPublicAccessBlock with all four settings true.`,
                bucket.urn,
            );
        }
        for (const acl of resources.filter((r) => r.type === T.bucketAcl && /^public-/.test(r.props.acl ?? ""))) {
            report(
                `${describe(acl)} grants the "${acl.props.acl}" ACL. Remove it; exports are read through the cell's own services only.`,
                acl.urn,
            );
        }
    },
});

export const blobsNotPublic = typedPolicy({
    name: "no-public-blobs",
    description: "Azure Storage accounts forbid public blob access and containers are private.",
    types: [T.storageAccount, T.blobContainer],
    check: (resource, report) => {
        if (resource.type === T.storageAccount && resource.props.allowBlobPublicAccess !== false) {
            report(`${describe(resource)} allows public blob access. Set allowBlobPublicAccess: false.`);
        }
        if (resource.type === T.blobContainer && (resource.props.publicAccess ?? "None") !== "None") {
            report(`${describe(resource)} is public (${resource.props.publicAccess}). Set publicAccess: "None".`);
        }
    },
});

export const databasesNotPublic = typedPolicy({
    name: "no-public-databases",
    description: "Postgres and Kafka are not reachable from the internet.",
    types: [T.rds, T.flexibleServer, T.msk],
    check: (resource, report) => {
        if (resource.type === T.rds && resource.props.publiclyAccessible === true) {
            report(`${describe(resource)} is publicly accessible. Set publiclyAccessible: false; the cell reaches it from inside its VPC.`);
        }
        if (resource.type === T.flexibleServer && resource.props.network?.publicNetworkAccess !== "Disabled") {
            report(
                `${describe(resource)} allows public network access. Use private access: network.publicNetworkAccess "Disabled" with a delegated subnet.`,
            );
        }
        if (
            resource.type === T.msk &&
            resource.props.brokerNodeGroupInfo?.connectivityInfo?.publicAccess?.type === "SERVICE_PROVIDED_EIPS"
        ) {
            report(
                `${describe(resource)} gives its brokers public IPs. Set brokerNodeGroupInfo.connectivityInfo.publicAccess.type: "DISABLED".`,
            );
        }
    },
});

/** Postgres, Kafka (plain, TLS, SASL, IAM, Event Hubs), ClickHouse (HTTP, native, TLS), Keeper/ZooKeeper. */
export const DATA_PORTS = [5432, 9092, 9093, 9094, 9096, 9098, 8123, 8443, 9000, 9440, 2181, 9181];
const WORLD = ["0.0.0.0/0", "::/0", "*", "Internet", "Any"];

function opensDataPort(from: number | undefined, to: number | undefined, protocol?: string): boolean {
    if (protocol === "-1" || protocol === "all") return true;
    const low = from ?? 0;
    const high = to ?? 65535;
    return DATA_PORTS.some((port) => port >= low && port <= high);
}

/** `"5432"`, `"9092-9098"` or `"*"` of an NSG rule, as a range. */
function portRange(range: string | undefined): [number, number] {
    if (range === undefined || range === "*") return [0, 65535];
    const [low, high] = range.split("-").map(Number);
    return [low, high ?? low];
}

export const noOpenDataPorts = typedPolicy({
    name: "no-open-data-ports",
    description: "No security group or NSG rule opens a database, Kafka or ClickHouse port to 0.0.0.0/0 or ::/0.",
    types: [T.securityGroup, T.securityGroupRule, T.securityGroupIngressRule, T.networkSecurityGroup, T.securityRule],
    check: (resource, report) => {
        const flag = (what: string) =>
            report(
                `${describe(resource)} ${what} to the whole internet. Admit only the cell's own network (its VPC/VNet CIDR or security group).`,
            );
        switch (resource.type) {
            case T.securityGroup:
                for (const rule of resource.props.ingress ?? []) {
                    const cidrs = [...(rule.cidrBlocks ?? []), ...(rule.ipv6CidrBlocks ?? [])];
                    if (cidrs.some((c) => WORLD.includes(c)) && opensDataPort(rule.fromPort, rule.toPort, rule.protocol))
                        flag(`opens ports ${rule.fromPort}-${rule.toPort}`);
                }
                break;
            case T.securityGroupRule: {
                const p = resource.props;
                if (
                    p.type === "ingress" &&
                    [...(p.cidrBlocks ?? []), ...(p.ipv6CidrBlocks ?? [])].some((c) => WORLD.includes(c)) &&
                    opensDataPort(p.fromPort, p.toPort, p.protocol)
                )
                    flag(`opens ports ${p.fromPort}-${p.toPort}`);
                break;
            }
            case T.securityGroupIngressRule: {
                const p = resource.props;
                if (
                    (WORLD.includes(p.cidrIpv4 ?? "") || WORLD.includes(p.cidrIpv6 ?? "")) &&
                    opensDataPort(p.fromPort, p.toPort, p.ipProtocol)
                )
                    flag(`opens ports ${p.fromPort}-${p.toPort}`);
                break;
            }
            default: {
                const rules = resource.type === T.networkSecurityGroup ? (resource.props.securityRules ?? []) : [resource.props];
                for (const rule of rules) {
                    if (rule.direction !== "Inbound" || rule.access !== "Allow" || !WORLD.includes(rule.sourceAddressPrefix ?? ""))
                        continue;
                    const [low, high] = portRange(rule.destinationPortRange);
                    if (opensDataPort(low, high)) flag(`rule "${rule.name}" opens ${rule.destinationPortRange}`);
                }
            }
        }
    },
});

/** A public endpoint limited to some networks, none of them the whole internet. */
const limitedTo = (cidrs: readonly string[] | undefined) => (cidrs ?? []).length > 0 && !(cidrs ?? []).some((c) => c.endsWith("/0"));

export const privateClusterEndpoints = typedPolicy({
    name: "private-cluster-endpoints",
    description: "EKS and AKS API servers are private, or public only to named admin networks (advisory outside production).",
    types: [T.eks, T.aks],
    check: (cluster, report) => {
        const fix = "or name the admins' networks in cellplane:adminCidrs";
        if (cluster.type === T.eks) {
            const { endpointPublicAccess, publicAccessCidrs } = cluster.props.vpcConfig ?? {};
            if (endpointPublicAccess !== false && !limitedTo(publicAccessCidrs))
                report(
                    `${describe(cluster)} has an API endpoint open to the internet. Set vpcConfig.endpointPublicAccess: false and reach it from inside the VPC, ${fix}.`,
                );
        }
        if (cluster.type === T.aks) {
            const profile = cluster.props.apiServerAccessProfile ?? {};
            if (profile.enablePrivateCluster !== true && !limitedTo(profile.authorizedIPRanges))
                report(
                    `${describe(cluster)} has an API server open to the internet. Set apiServerAccessProfile.enablePrivateCluster: true, ${fix}.`,
                );
        }
    },
});

export const defaultSecurityGroupsClosed = stackPolicy({
    name: "vpc-default-security-group-closed",
    description: "Every VPC's default security group is managed and has no rules, so nothing placed in it by mistake is reachable.",
    validateStack: ({ resources }, report) => {
        const closed = resources.filter((r) => r.type === T.defaultSecurityGroup);
        for (const group of closed.filter((g) => (g.props.ingress ?? []).length > 0 || (g.props.egress ?? []).length > 0))
            report(`${describe(group)} has rules. Give the VPC's default security group ingress: [] and egress: [].`, group.urn);
        // A network component creates both, so a VPC's default group is its sibling.
        const managed = new Set(closed.map((g) => g.parent?.urn));
        for (const vpc of resources.filter((r) => r.type === T.vpc && !managed.has(r.parent?.urn)))
            report(
                `${describe(vpc)} leaves its default security group as AWS made it, admitting its own members. Manage it with ec2.DefaultSecurityGroup and no rules.`,
                vpc.urn,
            );
    },
});

export const EXPOSURE_POLICIES = [
    bucketsNotPublic,
    blobsNotPublic,
    databasesNotPublic,
    noOpenDataPorts,
    privateClusterEndpoints,
    defaultSecurityGroupsClosed,
];
