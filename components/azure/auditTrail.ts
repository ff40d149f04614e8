import * as authorization from "@pulumi/azure-native/authorization";
import * as managedidentity from "@pulumi/azure-native/managedidentity";
import * as monitor from "@pulumi/azure-native/monitor";
import * as network from "@pulumi/azure-native/network";
import * as operationalinsights from "@pulumi/azure-native/operationalinsights";
import * as pulumi from "@pulumi/pulumi";
import type { CellContext } from "../platform";
import { auditRetentionDays } from "../../model/audit";
import { privateStorageAccount } from "./privateStorageAccount";
import { STORAGE_BLOB_DATA_CONTRIBUTOR } from "./workloadIdentity";

export interface AzureAuditTrailArgs {
    context: CellContext;
    resourceGroupName: pulumi.Input<string>;
}

/** Azure Monitor's log category groups: `audit` is who did what; `allLogs` adds the service's own logs. */
export type LogCategoryGroup = "audit" | "allLogs";

/**
 * Network Watcher's own resource group and per-region watcher, which Azure creates when a region's first VNet is
 * (a subscription holds one watcher per region, so the cell uses it rather than creating another).
 */
export const NETWORK_WATCHER_GROUP = "NetworkWatcherRG";
export const networkWatcherOf = (region: string) => `NetworkWatcher_${region}`;

/**
 * Where a cell records what happened, in its own region: a Log Analytics workspace for its services' diagnostic
 * logs, and a storage account for its VNet flow logs (Network Watcher writes flow logs to storage only), which
 * Network Watcher reaches as an identity of its own since the account takes no shared keys.
 */
export class AzureAuditTrail extends pulumi.ComponentResource {
    readonly workspace: operationalinsights.Workspace;
    private readonly context: CellContext;
    private readonly flowLogsAccountId: pulumi.Output<string>;
    private readonly flowLogsWriter: managedidentity.UserAssignedIdentity;

    constructor(name: string, args: AzureAuditTrailArgs, opts?: pulumi.ComponentResourceOptions) {
        super("cellplane:azure:AuditTrail", name, {}, opts);
        const { cell, production, labels } = (this.context = args.context);
        const common = { resourceGroupName: args.resourceGroupName, location: cell.region, tags: labels.tags };

        this.workspace = new operationalinsights.Workspace(
            `${name}-workspace`,
            {
                ...common,
                sku: { name: "PerGB2018" },
                retentionInDays: auditRetentionDays(production),
                // Only Entra ID identities read or write it.
                features: { disableLocalAuth: true },
            },
            { parent: this },
        );

        const account = privateStorageAccount(
            `${name}-flow-logs`,
            {
                context: args.context,
                resourceGroupName: args.resourceGroupName,
                // Network Watcher is a trusted Microsoft service: it passes the account's firewall, nothing else does.
                network: { bypass: "AzureServices" },
            },
            { parent: this, protect: production },
        );
        this.flowLogsAccountId = account.id;
        this.diagnose(`${name}-flow-logs-diagnostics`, pulumi.interpolate`${account.id}/blobServices/default`, "allLogs", this);
        this.flowLogsWriter = new managedidentity.UserAssignedIdentity(`${name}-flow-logs-writer`, common, { parent: this });
        new authorization.RoleAssignment(
            `${name}-flow-logs-writer`,
            {
                scope: account.id,
                roleDefinitionId: STORAGE_BLOB_DATA_CONTRIBUTOR,
                principalId: this.flowLogsWriter.principalId,
                principalType: "ServicePrincipal",
            },
            { parent: this },
        );
        this.registerOutputs({ workspaceId: this.workspace.id });
    }

    /** Sends a resource's logs of `categories` to the workspace; the setting sits beside the resource, in `parent`. */
    diagnose(
        name: string,
        resourceUri: pulumi.Input<string>,
        categories: LogCategoryGroup,
        parent: pulumi.Resource,
    ): monitor.DiagnosticSetting {
        return new monitor.DiagnosticSetting(
            name,
            {
                name: "cellplane-audit",
                resourceUri,
                workspaceId: this.workspace.id,
                logs: [{ categoryGroup: categories, enabled: true }],
            },
            { parent },
        );
    }

    /** Records every flow of the VNet, kept as long as the cell's other audit records. */
    flowLogs(name: string, vnetId: pulumi.Input<string>, parent: pulumi.Resource): network.FlowLog {
        const { cell, production, labels } = this.context;
        return new network.FlowLog(
            name,
            {
                resourceGroupName: NETWORK_WATCHER_GROUP,
                networkWatcherName: networkWatcherOf(cell.region),
                location: cell.region,
                targetResourceId: vnetId,
                storageId: this.flowLogsAccountId,
                enabled: true,
                format: { type: "JSON", version: 2 },
                retentionPolicy: { enabled: true, days: auditRetentionDays(production) },
                identity: { type: "UserAssigned", userAssignedIdentities: [this.flowLogsWriter.id] },
                tags: labels.tags,
            },
            { parent },
        );
    }
}
