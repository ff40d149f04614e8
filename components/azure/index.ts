import * as resources from "@pulumi/azure-native/resources";
import { InClusterParts } from "../kubernetes";
import { clusterAppUrl, publicNamesOf } from "../kubernetes/edge";
import type { EdgeNames } from "../../model/edge";
import { RoutingEdge } from "./routingEdge";
import type { CellContext, CellPlatform, CellTarget } from "../platform";
import { AksCluster } from "./aksCluster";
import { AzureAuditTrail } from "./auditTrail";
import { BlobObjectStore } from "./blobObjectStore";
import { EventHubsKafka } from "./eventHubsKafka";
import { FlexiblePostgres } from "./flexiblePostgres";
import { AzureNetwork } from "./network";
import { AzureResidencyGuardrails } from "./residencyGuardrails";
import {
    EVENT_HUBS_DATA_RECEIVER,
    EVENT_HUBS_DATA_SENDER,
    STORAGE_BLOB_DATA_CONTRIBUTOR,
    STORAGE_BLOB_DATA_READER,
    WorkloadIdentity,
} from "./workloadIdentity";
import { CLICKHOUSE_SERVICE_ACCOUNT } from "../kubernetes/clickhouse";
import { LAKEHOUSE_SERVICE_ACCOUNT } from "../kubernetes/lakehouseJobs";
import { STREAMING_SERVICE_ACCOUNT } from "../kubernetes/streamingJob";
import { serviceAccountOf } from "../kubernetes/appDeployment";
import type { AppName } from "../apps/bundle";

/** Azure: a resource group per cell; managed Postgres (Flexible Server), Kafka (Event Hubs) and Blob storage; ClickHouse and the operators on AKS. */
export const azureTarget = (names: EdgeNames, dnsResourceGroup: string): CellTarget => ({
    platform(context: CellContext): CellPlatform {
        const { cell, parent, labels } = context;
        const opts = { parent };
        const group = new resources.ResourceGroup(`${cell.id}-rg`, { location: cell.region, tags: labels.tags }, opts);
        const resourceGroupName = group.name;
        new AzureResidencyGuardrails(`${cell.id}-residency`, { context, resourceGroupId: group.id }, opts);

        const audit = new AzureAuditTrail(`${cell.id}-audit`, { context, resourceGroupName }, opts);
        const network = new AzureNetwork(`${cell.id}-network`, { context, resourceGroupName, audit }, opts);
        const cluster = new AksCluster(`${cell.id}-cluster`, { context, resourceGroupName, network, audit }, opts);
        const inCluster = InClusterParts.onOwnCluster(
            context,
            cluster.provider,
            [
                { name: "to-flexible-server", cidr: network.plan.cidr, ports: [{ port: 5432 }] },
                // Event Hubs answers on its public address; its network rules admit the cell's subnet only.
                { name: "to-event-hubs", cidr: "0.0.0.0/0", ports: [{ port: 9093 }] },
            ],
            (namespace) =>
                new RoutingEdge(
                    `${cell.id}-edge`,
                    {
                        context,
                        resourceGroupName,
                        clusterPrincipalId: cluster.identityPrincipalId,
                        namespace,
                        names: publicNamesOf(context, names),
                        dnsZone: names.dnsZone,
                        dnsResourceGroup,
                        kubernetes: cluster.provider,
                    },
                    opts,
                ),
        );

        const workloadIdentity = (name: string, serviceAccount: string) =>
            new WorkloadIdentity(
                `${cell.id}-${name}-workload`,
                { context, resourceGroupName, issuer: cluster.oidcIssuer, namespace: inCluster.dataNamespace, serviceAccount },
                opts,
            );
        // The account takes no shared keys: ClickHouse, which writes the exports and its cold volume, does so as an Entra
        // ID identity of its own, and the export app signs its tenants' download URLs (user delegation SAS) as another,
        // which may only read.
        const clickhouseIdentity = workloadIdentity("clickhouse", CLICKHOUSE_SERVICE_ACCOUNT);
        const exportIdentity = workloadIdentity("export", serviceAccountOf("export"));
        // Ingest sends events; the consumer receives them in its group and sends what it sets aside.
        const ingestIdentity = workloadIdentity("ingest", serviceAccountOf("ingest"));
        const consumerIdentity = workloadIdentity("consumer", serviceAccountOf("ingest-consumer"));
        const identities: Partial<Record<AppName, WorkloadIdentity>> = {
            ingest: ingestIdentity,
            "ingest-consumer": consumerIdentity,
            export: exportIdentity,
        };
        // The lakehouse jobs read the events and write the lake; the streaming job reads the events and writes its
        // windows and alerts. Each role is scoped to the hubs and container the job uses.
        const lakehouseIdentity = workloadIdentity("lakehouse", LAKEHOUSE_SERVICE_ACCOUNT);
        const streamingIdentity = workloadIdentity("streaming", STREAMING_SERVICE_ACCOUNT);
        let kafka: EventHubsKafka | undefined;
        let store: BlobObjectStore | undefined;
        return {
            postgres: () => new FlexiblePostgres(`${cell.id}-postgres`, { context, resourceGroupName, network, audit }, opts),
            kafka: () => {
                kafka = new EventHubsKafka(`${cell.id}-kafka`, { context, resourceGroupName, network, audit }, opts);
                ingestIdentity.grant(`${cell.id}-ingest-sends-events`, kafka.namespaceId, EVENT_HUBS_DATA_SENDER);
                consumerIdentity.grant(`${cell.id}-consumer-receives-events`, kafka.namespaceId, EVENT_HUBS_DATA_RECEIVER);
                consumerIdentity.grant(`${cell.id}-consumer-sends-dead-letters`, kafka.namespaceId, EVENT_HUBS_DATA_SENDER);
                return kafka;
            },
            clickhouse: (objectStore, lake) =>
                inCluster.clickhouse(
                    objectStore.coldDisk,
                    { annotations: clickhouseIdentity.pods.serviceAccountAnnotations, podLabels: clickhouseIdentity.pods.podLabels },
                    lake,
                ),
            objectStore: () => {
                store = new BlobObjectStore(`${cell.id}-object-store`, { context, resourceGroupName, network, audit }, opts);
                clickhouseIdentity.grant(`${cell.id}-clickhouse-writes-exports`, store.accountId, STORAGE_BLOB_DATA_CONTRIBUTOR);
                clickhouseIdentity.grant(`${cell.id}-clickhouse-reads-lake`, store.lakeContainerId, STORAGE_BLOB_DATA_READER);
                exportIdentity.grant(`${cell.id}-export-signs-downloads`, store.accountId, STORAGE_BLOB_DATA_READER);
                return store;
            },
            streamOperators: () => inCluster.streamOperators(),
            lakehouseJobs: (stores, jobOpts) => {
                if (!kafka || !store) throw new Error("the lakehouse jobs of an Azure cell need its Event Hubs and its lake");
                lakehouseIdentity.grant(`${cell.id}-lakehouse-receives-events`, kafka.hubIds.events, EVENT_HUBS_DATA_RECEIVER);
                lakehouseIdentity.grant(`${cell.id}-lakehouse-writes-lake`, store.lakeContainerId, STORAGE_BLOB_DATA_CONTRIBUTOR);
                inCluster.lakehouseJobs(stores, jobOpts, { ...lakehouseIdentity.pods, kafkaTokenScope: kafka.tokenScope });
            },
            streamingJob: (kafkaAccess, jobOpts) => {
                if (!kafka) throw new Error("the streaming job of an Azure cell needs its Event Hubs");
                streamingIdentity.grant(`${cell.id}-streaming-receives-events`, kafka.hubIds.events, EVENT_HUBS_DATA_RECEIVER);
                streamingIdentity.grant(`${cell.id}-streaming-sends-alerts`, kafka.hubIds.events, EVENT_HUBS_DATA_SENDER);
                streamingIdentity.grant(`${cell.id}-streaming-sends-windows`, kafka.hubIds.windows, EVENT_HUBS_DATA_SENDER);
                inCluster.streamingJob(kafkaAccess, jobOpts, { ...streamingIdentity.pods, kafkaTokenScope: kafka.tokenScope });
            },
            tenantDirectory: (directory) => inCluster.tenantDirectory(directory),
            app: (spec, appOpts) => inCluster.app(spec, appOpts, identities[spec.bundle.app]?.pods),
            secret: (name, bytes) => inCluster.secret(name, bytes),
        };
    },
    appUrl: clusterAppUrl(names),
});
