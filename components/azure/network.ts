import * as network from "@pulumi/azure-native/network";
import * as privatedns from "@pulumi/azure-native/privatedns";
import * as pulumi from "@pulumi/pulumi";
import { type AddressPlan, addressPlanOf } from "../../model/addressPlan";
import type { AzureAuditTrail } from "./auditTrail";
import { cellOctetOf } from "../../model/config";
import type { CellContext } from "../platform";

export interface AzureNetworkArgs {
    context: CellContext;
    resourceGroupName: pulumi.Input<string>;
    /** Where the VNet's flow logs go: the cell's audit trail. */
    audit: AzureAuditTrail;
}

/**
 * The cell's VNet: a subnet for AKS (with service endpoints so Storage and Event Hubs accept only it), and a
 * subnet delegated to PostgreSQL Flexible Server behind an NSG and a private DNS zone.
 */
export class AzureNetwork extends pulumi.ComponentResource {
    readonly clusterSubnetId: pulumi.Output<string>;
    readonly postgresSubnetId: pulumi.Output<string>;
    readonly postgresDnsZoneId: pulumi.Output<string>;
    /** The zone's link to the VNet: a Flexible Server created before it exists fails to register its DNS record. */
    readonly postgresDnsLink: privatedns.VirtualNetworkLink;
    /** The cell's ranges: its VNet's, and its AKS Services'. */
    readonly plan: AddressPlan;

    constructor(name: string, args: AzureNetworkArgs, opts?: pulumi.ComponentResourceOptions) {
        super("cellplane:azure:Network", name, {}, opts);
        const { cell, labels } = args.context;
        const common = { resourceGroupName: args.resourceGroupName, tags: labels.tags };
        const parent = { parent: this };
        const plan = (this.plan = addressPlanOf(cellOctetOf(cell)));

        const vnet = new network.VirtualNetwork(
            `${name}-vnet`,
            { ...common, location: cell.region, addressSpace: { addressPrefixes: [plan.cidr] } },
            parent,
        );
        args.audit.flowLogs(`${name}-flow-logs`, vnet.id, this);
        const postgresRules = new network.NetworkSecurityGroup(
            `${name}-postgres`,
            {
                ...common,
                location: cell.region,
                securityRules: [
                    {
                        name: "postgres-from-cell",
                        priority: 100,
                        direction: "Inbound",
                        access: "Allow",
                        protocol: "Tcp",
                        sourceAddressPrefix: plan.cidr,
                        sourcePortRange: "*",
                        destinationAddressPrefix: "*",
                        destinationPortRange: "5432",
                    },
                    {
                        name: "deny-everything-else",
                        priority: 4096,
                        direction: "Inbound",
                        access: "Deny",
                        protocol: "*",
                        sourceAddressPrefix: "*",
                        sourcePortRange: "*",
                        destinationAddressPrefix: "*",
                        destinationPortRange: "*",
                    },
                ],
            },
            parent,
        );

        const clusterSubnet = new network.Subnet(
            `${name}-aks`,
            {
                resourceGroupName: args.resourceGroupName,
                virtualNetworkName: vnet.name,
                addressPrefix: plan.azureClusterSubnet,
                serviceEndpoints: [{ service: "Microsoft.Storage" }, { service: "Microsoft.EventHub" }],
            },
            parent,
        );
        const postgresSubnet = new network.Subnet(
            `${name}-postgres`,
            {
                resourceGroupName: args.resourceGroupName,
                virtualNetworkName: vnet.name,
                addressPrefix: plan.azurePostgresSubnet,
                networkSecurityGroup: { id: postgresRules.id },
                delegations: [{ name: "postgres", serviceName: "Microsoft.DBforPostgreSQL/flexibleServers" }],
            },
            { parent: this, dependsOn: [clusterSubnet] },
        );

        // Private DNS zones are global by Azure's design; they hold only this VNet's private records.
        const zone = new privatedns.PrivateZone(
            `${name}-postgres-dns`,
            { ...common, location: "global", privateZoneName: `${cell.id}.private.postgres.database.azure.com` },
            parent,
        );
        this.postgresDnsLink = new privatedns.VirtualNetworkLink(
            `${name}-postgres-dns`,
            {
                ...common,
                location: "global",
                privateZoneName: zone.name,
                virtualNetwork: { id: vnet.id },
                registrationEnabled: false,
            },
            parent,
        );

        this.clusterSubnetId = clusterSubnet.id;
        this.postgresSubnetId = postgresSubnet.id;
        this.postgresDnsZoneId = zone.id;
        this.registerOutputs({ vnetId: vnet.id });
    }
}
