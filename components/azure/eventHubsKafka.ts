import * as eventhub from "@pulumi/azure-native/eventhub";
import * as pulumi from "@pulumi/pulumi";
import type { CellContext, KafkaCluster } from "../platform";
import type { AzureNetwork } from "./network";
import { AZURE_SKUS } from "./sizing";

export interface EventHubsKafkaArgs {
    context: CellContext;
    resourceGroupName: pulumi.Input<string>;
    network: AzureNetwork;
}

/** An Event Hubs namespace speaking the Kafka protocol on 9093, TLS 1.2+, reachable from the cell's AKS subnet only. */
export class EventHubsKafka extends pulumi.ComponentResource implements KafkaCluster {
    readonly bootstrapServers: pulumi.Output<string>;
    /** Event Hubs replicates every partition three times inside the region. */
    readonly replicationFactor = 3;

    constructor(name: string, args: EventHubsKafkaArgs, opts?: pulumi.ComponentResourceOptions) {
        super("cellplane:azure:EventHubsKafka", name, {}, opts);
        const { cell, production, labels } = args.context;
        const sku = AZURE_SKUS[cell.size].eventHubs;

        const namespace = new eventhub.Namespace(
            `${name}-ns`,
            {
                resourceGroupName: args.resourceGroupName,
                location: cell.region,
                sku: { name: sku.name, tier: sku.name, capacity: sku.capacity },
                minimumTlsVersion: "1.2",
                zoneRedundant: production,
                isAutoInflateEnabled: sku.name === "Standard",
                maximumThroughputUnits: sku.name === "Standard" ? sku.capacity * 2 : undefined,
                tags: labels.tags,
            },
            { parent: this },
        );
        new eventhub.NamespaceNetworkRuleSet(
            `${name}-network`,
            {
                resourceGroupName: args.resourceGroupName,
                namespaceName: namespace.name,
                defaultAction: "Deny",
                publicNetworkAccess: "Enabled",
                trustedServiceAccessEnabled: false,
                virtualNetworkRules: [{ subnet: { id: args.network.clusterSubnetId }, ignoreMissingVnetServiceEndpoint: false }],
            },
            { parent: this },
        );

        this.bootstrapServers = pulumi.interpolate`${namespace.name}.servicebus.windows.net:9093`;
        this.registerOutputs({ bootstrapServers: this.bootstrapServers });
    }
}
