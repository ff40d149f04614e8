import * as eventhub from "@pulumi/azure-native/eventhub";
import * as pulumi from "@pulumi/pulumi";
import { cellTopics, CONSUMER_GROUP } from "../../apps/shared/topics";
import type { KafkaConnection } from "../../model/connections";
import type { CellContext, KafkaApp, KafkaCluster, StoreAccess } from "../platform";
import type { AzureAuditTrail } from "./auditTrail";
import type { AzureNetwork } from "./network";
import { AZURE_SKUS } from "./sizing";

export interface EventHubsKafkaArgs {
    context: CellContext;
    resourceGroupName: pulumi.Input<string>;
    network: AzureNetwork;
    audit: AzureAuditTrail;
}

/** What an Entra ID token for a namespace's Kafka endpoint is asked for: the namespace itself. */
const tokenScopeOf = (namespaceName: string) => `https://${namespaceName}.servicebus.windows.net/.default`;

/** The longest an Event Hub keeps events, per tier (Event Hubs quotas: Standard 7 days, Premium 90). */
export const EVENT_HUBS_MAX_RETENTION_DAYS = { Standard: 7, Premium: 90 } as const;

/**
 * An Event Hubs namespace speaking the Kafka protocol on 9093, TLS 1.2+, reachable from the cell's AKS subnet only,
 * with no shared access keys: each app signs in with an Entra ID token of its own workload identity (SASL
 * OAUTHBEARER), whose roles on the namespace say what it may do.
 */
export class EventHubsKafka extends pulumi.ComponentResource implements KafkaCluster {
    readonly bootstrapServers: pulumi.Output<string>;
    /** Event Hubs replicates every partition three times inside the region. */
    readonly replicationFactor = 3;
    readonly access: Record<KafkaApp, StoreAccess<KafkaConnection>>;
    readonly lakehouse: StoreAccess<KafkaConnection>;
    readonly streaming: StoreAccess<KafkaConnection>;
    /** The scope of the apps' data roles. */
    readonly namespaceId: pulumi.Output<string>;
    /** Each topic's Event Hub, the narrower scope of the jobs' data roles. */
    readonly hubIds: Record<"events" | "windows", pulumi.Output<string>>;
    /** The Entra ID scope of the namespace's tokens, which the jobs' sidecars ask for. */
    readonly tokenScope: pulumi.Output<string>;

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
                // No SAS keys: a leaked connection string cannot reach the cell's events.
                disableLocalAuth: true,
                zoneRedundant: production,
                isAutoInflateEnabled: sku.name === "Standard",
                maximumThroughputUnits: sku.name === "Standard" ? sku.capacity * 2 : undefined,
                tags: labels.tags,
            },
            { parent: this },
        );
        // Connections, authorization failures and the Kafka coordinator's errors, into the cell's audit workspace.
        args.audit.diagnose(`${name}-diagnostics`, namespace.id, "allLogs", this);
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

        // Event Hubs' Kafka endpoint never creates a hub: each topic is an Event Hub made here, sized and kept as seeded.
        const [events, deadLetters, windows] = cellTopics().map(
            ({ topic, partitions, retentionDays }) =>
                new eventhub.EventHub(
                    `${name}-${topic}`,
                    {
                        resourceGroupName: args.resourceGroupName,
                        namespaceName: namespace.name,
                        eventHubName: topic,
                        partitionCount: partitions,
                        retentionDescription: {
                            cleanupPolicy: "Delete",
                            retentionTimeInHours: 24 * Math.min(retentionDays, EVENT_HUBS_MAX_RETENTION_DAYS[sku.name]),
                        },
                    },
                    { parent: this },
                ),
        );
        new eventhub.ConsumerGroup(
            `${name}-consumer-group`,
            {
                resourceGroupName: args.resourceGroupName,
                namespaceName: namespace.name,
                eventHubName: events.name,
                consumerGroupName: CONSUMER_GROUP,
            },
            { parent: this },
        );

        this.bootstrapServers = pulumi.interpolate`${namespace.name}.servicebus.windows.net:9093`;
        this.namespaceId = namespace.id;
        // Kafka clients ask Entra ID for a token of the namespace itself (learn.microsoft.com/azure/event-hubs/
        // authorize-access-azure-active-directory); the hubs exist before any app connects.
        const access: StoreAccess<KafkaConnection> = {
            connection: pulumi.all([namespace.name, events.id, deadLetters.id, windows.id]).apply(([namespaceName]) => ({
                brokers: [`${namespaceName}.servicebus.windows.net:9093`],
                tls: "system" as const,
                sasl: {
                    mechanism: "oauthbearer" as const,
                    tokens: { from: "azure-entra" as const, scope: tokenScopeOf(namespaceName) },
                },
            })),
        };
        this.access = { ingest: access, consumer: access };
        // The jobs sign in as their own identities with the same connection; their roles differ.
        this.lakehouse = access;
        this.streaming = access;
        this.hubIds = { events: events.id, windows: windows.id };
        this.tokenScope = namespace.name.apply(tokenScopeOf);
        this.registerOutputs({ bootstrapServers: this.bootstrapServers });
    }
}
