import { getAvailabilityZonesOutput } from "@pulumi/aws/getAvailabilityZones";
import * as ec2 from "@pulumi/aws/ec2";
import * as pulumi from "@pulumi/pulumi";
import { addressPlanOf } from "../../model/addressPlan";
import { cellOctetOf } from "../../model/config";
import type { CellContext } from "../platform";
import type { AwsAuditTrail } from "./auditTrail";

export interface AwsNetworkArgs {
    context: CellContext;
    /** Where the VPC's flow logs go: the cell's audit trail. */
    audit: AwsAuditTrail;
}

/** Zones where EKS cannot place a control plane's network interfaces (docs.aws.amazon.com/eks/latest/userguide/network-reqs.html). */
export const EKS_UNSUPPORTED_ZONE_IDS = ["use1-az3", "usw1-az2", "cac1-az3"];

/** The first `count` of the zones a region offers; fails, naming the region and the fix, when it offers fewer. */
export function spannedZones(offered: string[], count: number, { cell, production }: Pick<CellContext, "cell" | "production">): string[] {
    if (offered.length < count)
        throw new Error(
            `cellplane:cells[${cell.id}].region ${cell.region} offers ${offered.length} availability zones where EKS can run, and a ${production ? "production" : "dev"} cell spans ${count}. Choose a region with ${count} or more.`,
        );
    return offered.slice(0, count);
}

/**
 * The cell's VPC: private subnets over two AZs (three in production) for every data service and node,
 * public subnets holding only the NAT gateways, and a security group admitting nothing from outside the VPC.
 */
export class AwsNetwork extends pulumi.ComponentResource {
    readonly vpc: ec2.Vpc;
    /** The cell's address range, from the environment's address plan. */
    readonly cidr: string;
    readonly privateSubnetIds: pulumi.Output<string>[];
    /** For databases and brokers: ingress from the cell's own VPC only, on the data ports. */
    readonly dataSecurityGroup: ec2.SecurityGroup;
    /** How many zones the cell spans: two, three in production. */
    readonly zoneCount: number;
    /** The zones it spans, discovered for its region and account. */
    readonly availabilityZones: pulumi.Output<string[]>;

    constructor(name: string, args: AwsNetworkArgs, opts?: pulumi.ComponentResourceOptions) {
        super("cellplane:aws:Network", name, {}, opts);
        const { cell, production, labels } = args.context;
        const tags = labels.tags;
        const parent = { parent: this };
        this.zoneCount = production ? 3 : 2;
        // Zone names map to different zones in each account, and regions differ in how many they have: ask.
        const offered = getAvailabilityZonesOutput(
            {
                state: "available",
                excludeZoneIds: EKS_UNSUPPORTED_ZONE_IDS,
                filters: [{ name: "opt-in-status", values: ["opt-in-not-required"] }],
            },
            parent,
        );
        this.availabilityZones = offered.names.apply((names) => spannedZones(names, this.zoneCount, args.context));
        const zoneAt = (i: number) => this.availabilityZones.apply((zones) => zones[i]);
        const zones = Array.from({ length: this.zoneCount }, (_, i) => ({ label: `zone${i + 1}`, zone: zoneAt(i), i }));

        const plan = addressPlanOf(cellOctetOf(cell));
        this.cidr = plan.cidr;
        this.vpc = new ec2.Vpc(`${name}-vpc`, { cidrBlock: plan.cidr, enableDnsHostnames: true, enableDnsSupport: true, tags }, parent);
        // Every VPC comes with a default security group that admits its own members; nothing of the cell uses it, so it
        // is emptied, and a resource put in it by mistake reaches nothing.
        new ec2.DefaultSecurityGroup(`${name}-default`, { vpcId: this.vpc.id, ingress: [], egress: [], tags }, parent);
        const gateway = new ec2.InternetGateway(`${name}-igw`, { vpcId: this.vpc.id, tags }, parent);
        const publicRoutes = new ec2.RouteTable(
            `${name}-public`,
            { vpcId: this.vpc.id, routes: [{ cidrBlock: "0.0.0.0/0", gatewayId: gateway.id }], tags },
            parent,
        );

        // One NAT gateway per AZ in production so losing an AZ does not cut the others off.
        const natZones = production ? zones : zones.slice(0, 1);
        const natGateways = natZones.map(({ label, zone, i }) => {
            const subnet = new ec2.Subnet(
                `${name}-public-${label}`,
                {
                    vpcId: this.vpc.id,
                    availabilityZone: zone,
                    cidrBlock: plan.awsPublicSubnet(i),
                    mapPublicIpOnLaunch: false,
                    // Where the AWS Load Balancer Controller places internet-facing load balancers.
                    tags: { ...tags, "kubernetes.io/role/elb": "1" },
                },
                parent,
            );
            new ec2.RouteTableAssociation(`${name}-public-${label}`, { subnetId: subnet.id, routeTableId: publicRoutes.id }, parent);
            const ip = new ec2.Eip(`${name}-nat-${label}`, { domain: "vpc", tags }, parent);
            return new ec2.NatGateway(
                `${name}-nat-${label}`,
                { subnetId: subnet.id, allocationId: ip.id, tags },
                { parent: this, dependsOn: [gateway] },
            );
        });

        const privateRoutes: ec2.RouteTable[] = [];
        this.privateSubnetIds = zones.map(({ label, zone, i }) => {
            const subnet = new ec2.Subnet(
                `${name}-private-${label}`,
                {
                    vpcId: this.vpc.id,
                    availabilityZone: zone,
                    cidrBlock: plan.awsPrivateSubnet(i),
                    mapPublicIpOnLaunch: false,
                    tags: { ...tags, "kubernetes.io/role/internal-elb": "1" },
                },
                parent,
            );
            const nat = natGateways[Math.min(i, natGateways.length - 1)];
            const routes = new ec2.RouteTable(
                `${name}-private-${label}`,
                { vpcId: this.vpc.id, routes: [{ cidrBlock: "0.0.0.0/0", natGatewayId: nat.id }], tags },
                parent,
            );
            new ec2.RouteTableAssociation(`${name}-private-${label}`, { subnetId: subnet.id, routeTableId: routes.id }, parent);
            privateRoutes.push(routes);
            return subnet.id;
        });
        // The cell's buckets (exports, lake, ClickHouse's cold tier) are reached through S3's gateway in the VPC, which
        // is free, rather than through the NAT gateways, which bill every gigabyte.
        new ec2.VpcEndpoint(
            `${name}-s3`,
            {
                vpcId: this.vpc.id,
                serviceName: `com.amazonaws.${cell.region}.s3`,
                vpcEndpointType: "Gateway",
                routeTableIds: privateRoutes.map((routes) => routes.id),
                tags,
            },
            parent,
        );

        this.dataSecurityGroup = new ec2.SecurityGroup(
            `${name}-data`,
            {
                vpcId: this.vpc.id,
                description: `Cellplane ${cell.id}: Postgres and Kafka, reachable from inside the cell only`,
                ingress: [
                    { description: "Postgres", protocol: "tcp", fromPort: 5432, toPort: 5432, cidrBlocks: [plan.cidr] },
                    { description: "Kafka (TLS, IAM)", protocol: "tcp", fromPort: 9094, toPort: 9098, cidrBlocks: [plan.cidr] },
                ],
                egress: [{ description: "Within the cell", protocol: "-1", fromPort: 0, toPort: 0, cidrBlocks: [plan.cidr] }],
                tags,
            },
            parent,
        );

        // Every accepted and rejected flow of the VPC, kept in the cell's region under its key.
        new ec2.FlowLog(
            `${name}-flow-logs`,
            {
                vpcId: this.vpc.id,
                trafficType: "ALL",
                logDestinationType: "cloud-watch-logs",
                logDestination: args.audit.flowLogs.arn,
                iamRoleArn: args.audit.flowLogsRole.arn,
                maxAggregationInterval: 60,
                tags,
            },
            parent,
        );

        this.registerOutputs({ vpcId: this.vpc.id, privateSubnetIds: this.privateSubnetIds });
    }
}
