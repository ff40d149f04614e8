import * as ec2 from "@pulumi/aws/ec2";
import * as pulumi from "@pulumi/pulumi";
import type { CellContext } from "../platform";

export interface AwsNetworkArgs {
    context: CellContext;
}

const VPC_CIDR = "10.0.0.0/16";

/**
 * The cell's VPC: private subnets over two AZs (three in production) for every data service and node,
 * public subnets holding only the NAT gateways, and a security group admitting nothing from outside the VPC.
 */
export class AwsNetwork extends pulumi.ComponentResource {
    readonly vpc: ec2.Vpc;
    readonly privateSubnetIds: pulumi.Output<string>[];
    /** For databases and brokers: ingress from the cell's own VPC only, on the data ports. */
    readonly dataSecurityGroup: ec2.SecurityGroup;
    readonly availabilityZones: string[];

    constructor(name: string, args: AwsNetworkArgs, opts?: pulumi.ComponentResourceOptions) {
        super("cellplane:aws:Network", name, {}, opts);
        const { cell, production, labels } = args.context;
        const tags = labels.tags;
        const parent = { parent: this };
        this.availabilityZones = ["a", "b", "c"].slice(0, production ? 3 : 2).map((suffix) => `${cell.region}${suffix}`);

        this.vpc = new ec2.Vpc(`${name}-vpc`, { cidrBlock: VPC_CIDR, enableDnsHostnames: true, enableDnsSupport: true, tags }, parent);
        const gateway = new ec2.InternetGateway(`${name}-igw`, { vpcId: this.vpc.id, tags }, parent);
        const publicRoutes = new ec2.RouteTable(
            `${name}-public`,
            { vpcId: this.vpc.id, routes: [{ cidrBlock: "0.0.0.0/0", gatewayId: gateway.id }], tags },
            parent,
        );

        // One NAT gateway per AZ in production so losing an AZ does not cut the others off.
        const natZones = production ? this.availabilityZones : this.availabilityZones.slice(0, 1);
        const natGateways = natZones.map((zone, i) => {
            const subnet = new ec2.Subnet(
                `${name}-public-${zone}`,
                {
                    vpcId: this.vpc.id,
                    availabilityZone: zone,
                    cidrBlock: `10.0.${192 + i * 16}.0/20`,
                    mapPublicIpOnLaunch: false,
                    // Where the AWS Load Balancer Controller places internet-facing load balancers.
                    tags: { ...tags, "kubernetes.io/role/elb": "1" },
                },
                parent,
            );
            new ec2.RouteTableAssociation(`${name}-public-${zone}`, { subnetId: subnet.id, routeTableId: publicRoutes.id }, parent);
            const ip = new ec2.Eip(`${name}-nat-${zone}`, { domain: "vpc", tags }, parent);
            return new ec2.NatGateway(
                `${name}-nat-${zone}`,
                { subnetId: subnet.id, allocationId: ip.id, tags },
                { parent: this, dependsOn: [gateway] },
            );
        });

        this.privateSubnetIds = this.availabilityZones.map((zone, i) => {
            const subnet = new ec2.Subnet(
                `${name}-private-${zone}`,
                {
                    vpcId: this.vpc.id,
                    availabilityZone: zone,
                    cidrBlock: `10.0.${i * 64}.0/18`,
                    mapPublicIpOnLaunch: false,
                    tags: { ...tags, "kubernetes.io/role/internal-elb": "1" },
                },
                parent,
            );
            const nat = natGateways[Math.min(i, natGateways.length - 1)];
            const routes = new ec2.RouteTable(
                `${name}-private-${zone}`,
                { vpcId: this.vpc.id, routes: [{ cidrBlock: "0.0.0.0/0", natGatewayId: nat.id }], tags },
                parent,
            );
            new ec2.RouteTableAssociation(`${name}-private-${zone}`, { subnetId: subnet.id, routeTableId: routes.id }, parent);
            return subnet.id;
        });

        this.dataSecurityGroup = new ec2.SecurityGroup(
            `${name}-data`,
            {
                vpcId: this.vpc.id,
                description: `Cellplane ${cell.id}: Postgres and Kafka, reachable from inside the cell only`,
                ingress: [
                    { description: "Postgres", protocol: "tcp", fromPort: 5432, toPort: 5432, cidrBlocks: [VPC_CIDR] },
                    { description: "Kafka (TLS, IAM)", protocol: "tcp", fromPort: 9094, toPort: 9098, cidrBlocks: [VPC_CIDR] },
                ],
                egress: [{ description: "Within the cell", protocol: "-1", fromPort: 0, toPort: 0, cidrBlocks: [VPC_CIDR] }],
                tags,
            },
            parent,
        );

        this.registerOutputs({ vpcId: this.vpc.id, privateSubnetIds: this.privateSubnetIds });
    }
}
