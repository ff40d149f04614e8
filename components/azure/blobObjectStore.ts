import * as storage from "@pulumi/azure-native/storage";
import * as pulumi from "@pulumi/pulumi";
import type { ObjectStoreConnection } from "../../model/connections";
import { warehouseOf } from "../../apps/lakehouse/jobs";
import type { CellContext, ObjectStore, StoreAccess } from "../platform";
import { lifecycleTiers } from "../retention";
import type { ColdDisk } from "../coldStorage";
import type { AzureAuditTrail } from "./auditTrail";
import type { AzureNetwork } from "./network";
import { privateStorageAccount, redundancyOf } from "./privateStorageAccount";

/** The redundancies whose accounts offer the archive tier (learn.microsoft.com/azure/storage/blobs/access-tiers-overview). */
const ARCHIVE_CAPABLE = new Set(["Standard_LRS", "Standard_GRS", "Standard_RAGRS"]);
export interface BlobObjectStoreArgs {
    context: CellContext;
    resourceGroupName: pulumi.Input<string>;
    network: AzureNetwork;
    audit: AzureAuditTrail;
}

export const EXPORTS_CONTAINER = "exports";
/** ClickHouse's cold volume: a container no lifecycle rule names (they match `exports/` only). */
export const COLD_CONTAINER = "analytics-cold";
/** The lakehouse's Iceberg warehouse, in an account of its own. */
export const LAKE_CONTAINER = "lake";

/**
 * The cell's Parquet exports in a StorageV2 account: HTTPS only, TLS 1.2+, infrastructure (double) encryption,
 * no public blobs, reachable from the cell's AKS subnet only, tiered by age like the S3 bucket. Its lake is a Data
 * Lake Storage account of the same kind.
 */
export class BlobObjectStore extends pulumi.ComponentResource implements ObjectStore {
    readonly bucket: pulumi.Output<string>;
    readonly endpoint: pulumi.Output<string>;
    readonly access: StoreAccess<ObjectStoreConnection>;
    /** The storage account, the scope of the roles that reach it. */
    readonly accountId: pulumi.Output<string>;
    readonly coldDisk: pulumi.Output<ColdDisk>;
    readonly lake: StoreAccess<ObjectStoreConnection>;
    readonly lakeWarehouse: pulumi.Output<string>;
    /** The lake's container, the scope of the roles that read or write it. */
    readonly lakeContainerId: pulumi.Output<string>;

    constructor(name: string, args: BlobObjectStoreArgs, opts?: pulumi.ComponentResourceOptions) {
        super("cellplane:azure:BlobObjectStore", name, {}, opts);
        const { production, retentionDays } = args.context;

        // Each account is reached from the cell's AKS subnet only, and logs every access to the cell's audit trail.
        const clusterAccount = (accountName: string, dataLake: boolean) => {
            const created = privateStorageAccount(
                accountName,
                {
                    context: args.context,
                    resourceGroupName: args.resourceGroupName,
                    network: { virtualNetworkRules: [{ virtualNetworkResourceId: args.network.clusterSubnetId, action: "Allow" }] },
                    dataLake,
                },
                { parent: this, protect: production },
            );
            args.audit.diagnose(`${accountName}-diagnostics`, pulumi.interpolate`${created.id}/blobServices/default`, "allLogs", this);
            return created;
        };
        const privateContainer = (resourceName: string, owner: storage.StorageAccount, containerName: string) =>
            new storage.BlobContainer(
                resourceName,
                { resourceGroupName: args.resourceGroupName, accountName: owner.name, containerName, publicAccess: "None" },
                { parent: this },
            );

        const account = clusterAccount(name, false);
        const container = privateContainer(`${name}-exports`, account, EXPORTS_CONTAINER);
        const coldContainer = privateContainer(`${name}-analytics-cold`, account, COLD_CONTAINER);

        const tiers = lifecycleTiers(retentionDays);
        const after = (tier: "infrequent" | "archive") => tiers.transitions.find((t) => t.tier === tier)?.afterDays;
        const coolAfter = after("infrequent");
        const archiveAfter = after("archive");
        // Zone-redundant accounts have no archive tier; their oldest exports go to cold, the coldest tier ZRS offers.
        // Blob has nothing colder than archive: the seed's deep archive (1,095 days) is the archive tier there.
        const archiveTier = ARCHIVE_CAPABLE.has(redundancyOf(production)) ? "tierToArchive" : "tierToCold";
        new storage.ManagementPolicy(
            `${name}-lifecycle`,
            {
                resourceGroupName: args.resourceGroupName,
                accountName: account.name,
                managementPolicyName: "default",
                policy: {
                    rules: [
                        {
                            name: "tier-and-expire-exports",
                            enabled: true,
                            type: "Lifecycle",
                            definition: {
                                filters: { blobTypes: ["blockBlob"], prefixMatch: [`${EXPORTS_CONTAINER}/`] },
                                actions: {
                                    baseBlob: {
                                        tierToCool: coolAfter === undefined ? undefined : { daysAfterModificationGreaterThan: coolAfter },
                                        [archiveTier]:
                                            archiveAfter === undefined ? undefined : { daysAfterModificationGreaterThan: archiveAfter },
                                        delete: { daysAfterModificationGreaterThan: tiers.expireAfterDays },
                                    },
                                },
                            },
                        },
                        {
                            name: "delete-temp-files",
                            enabled: true,
                            type: "Lifecycle",
                            definition: {
                                filters: { blobTypes: ["blockBlob"], prefixMatch: [`${EXPORTS_CONTAINER}/temp/`] },
                                actions: { baseBlob: { delete: { daysAfterModificationGreaterThan: tiers.tempExpireAfterDays } } },
                            },
                        },
                    ],
                },
            },
            { parent: this },
        );

        // Iceberg's ADLS client speaks the DFS API, which needs a hierarchical namespace: an account of its own, whose
        // files no lifecycle rule touches (Iceberg expires its own snapshots), reached as the jobs' identity.
        const lakeAccount = clusterAccount(`${name}-lake`, true);
        const lakeContainer = privateContainer(`${name}-lake`, lakeAccount, LAKE_CONTAINER);
        this.lakeContainerId = lakeContainer.id;
        const lake = pulumi
            .all([lakeAccount.name, lakeAccount.primaryEndpoints, lakeContainer.id])
            .apply(([lakeAccountName, endpoints]): ObjectStoreConnection => ({
                protocol: "azblob",
                endpoint: endpoints.blob,
                account: lakeAccountName,
                container: LAKE_CONTAINER,
                credentials: { from: "identity" },
            }));
        this.lake = { connection: lake };
        this.lakeWarehouse = lake.apply(warehouseOf);

        this.bucket = container.name;
        this.endpoint = account.primaryEndpoints.apply((endpoints) => endpoints.blob);
        this.accountId = account.id;
        // ClickHouse reaches it as its workload identity, which has the account's Storage Blob Data Contributor role.
        this.coldDisk = pulumi
            .all([this.endpoint, coldContainer.id])
            .apply(([accountUrl]): ColdDisk => ({ kind: "azure", accountUrl, container: COLD_CONTAINER }));
        // Shared keys are off on the account: ClickHouse writes with its pod's workload identity.
        this.access = {
            connection: pulumi.output({
                protocol: "azblob" as const,
                endpoint: this.endpoint,
                account: account.name,
                container: this.bucket,
                credentials: { from: "identity" as const },
            }),
        };
        this.registerOutputs({ bucket: this.bucket, endpoint: this.endpoint, lakeWarehouse: this.lakeWarehouse });
    }
}
