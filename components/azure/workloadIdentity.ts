import * as authorization from "@pulumi/azure-native/authorization";
import * as managedidentity from "@pulumi/azure-native/managedidentity";
import * as pulumi from "@pulumi/pulumi";
import type { CellContext } from "../platform";

export interface WorkloadIdentityArgs {
    context: CellContext;
    resourceGroupName: pulumi.Input<string>;
    /** The AKS cluster's OIDC issuer, which signs its ServiceAccounts' tokens. */
    issuer: pulumi.Input<string>;
    namespace: pulumi.Input<string>;
    serviceAccount: string;
}

/**
 * An Entra ID identity that one ServiceAccount's pods take through AKS workload identity: a user-assigned identity
 * that trusts the cluster's tokens for that ServiceAccount, and nothing else until a role is granted to it.
 */
export class WorkloadIdentity extends pulumi.ComponentResource {
    readonly identity: managedidentity.UserAssignedIdentity;
    /** For the ServiceAccount's `azure.workload.identity/client-id` annotation. */
    readonly clientId: pulumi.Output<string>;

    constructor(name: string, args: WorkloadIdentityArgs, opts?: pulumi.ComponentResourceOptions) {
        super("cellplane:azure:WorkloadIdentity", name, {}, opts);
        const { cell, labels } = args.context;
        this.identity = new managedidentity.UserAssignedIdentity(
            `${name}-identity`,
            { resourceGroupName: args.resourceGroupName, location: cell.region, tags: labels.tags },
            { parent: this },
        );
        new managedidentity.FederatedIdentityCredential(
            `${name}-federation`,
            {
                resourceGroupName: args.resourceGroupName,
                resourceName: this.identity.name,
                federatedIdentityCredentialResourceName: args.serviceAccount,
                issuer: args.issuer,
                subject: pulumi.interpolate`system:serviceaccount:${args.namespace}:${args.serviceAccount}`,
                audiences: ["api://AzureADTokenExchange"],
            },
            { parent: this },
        );
        this.clientId = this.identity.clientId;
        this.registerOutputs({ clientId: this.clientId });
    }

    /** How a pod takes the identity: its ServiceAccount names the client, and the pod asks for the token. */
    get pods(): { serviceAccountAnnotations: Record<string, pulumi.Output<string>>; podLabels: Record<string, string> } {
        return {
            serviceAccountAnnotations: { "azure.workload.identity/client-id": this.clientId },
            podLabels: { "azure.workload.identity/use": "true" },
        };
    }

    /** Grants the identity a built-in role on `scope`. */
    grant(name: string, scope: pulumi.Input<string>, roleDefinitionId: string): void {
        new authorization.RoleAssignment(
            name,
            { scope, roleDefinitionId, principalId: this.identity.principalId, principalType: "ServicePrincipal" },
            { parent: this },
        );
    }
}

/** Azure's built-in "Storage Blob Data Contributor": read, write and delete blobs and containers. */
export const STORAGE_BLOB_DATA_CONTRIBUTOR = "/providers/Microsoft.Authorization/roleDefinitions/ba92f5b4-2d11-453d-a403-e96b0029c9fe";

/** Azure's built-in "Storage Blob Data Reader": read blobs, and get a user delegation key to sign read-only SAS URLs. */
export const STORAGE_BLOB_DATA_READER = "/providers/Microsoft.Authorization/roleDefinitions/2a2b9908-6ea1-4ae2-8e65-a410df84e7d1";

/** Azure's built-in "Azure Event Hubs Data Sender": send events to the namespace's hubs. */
export const EVENT_HUBS_DATA_SENDER = "/providers/Microsoft.Authorization/roleDefinitions/2b629674-e913-4c01-ae53-ef4638d8f975";

/** Azure's built-in "Azure Event Hubs Data Receiver": receive events from the namespace's hubs in a consumer group. */
export const EVENT_HUBS_DATA_RECEIVER = "/providers/Microsoft.Authorization/roleDefinitions/a638d3c7-ab3a-418d-83e6-5f17a39d4fde";
