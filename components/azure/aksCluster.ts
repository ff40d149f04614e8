import { VERSIONS } from "../../model/versions";
import * as authorization from "@pulumi/azure-native/authorization";
import * as containerservice from "@pulumi/azure-native/containerservice";
import { getSubscriptionFeatureRegistrationOutput } from "@pulumi/azure-native/features";
import { Provider as KubernetesProvider } from "@pulumi/kubernetes/provider";
import * as pulumi from "@pulumi/pulumi";
import type { CellContext } from "../platform";
import { ClusterKey } from "./clusterKey";
import type { AzureAuditTrail } from "./auditTrail";
import type { AzureNetwork } from "./network";
import { AZURE_SKUS } from "./sizing";

export interface AksClusterArgs {
    context: CellContext;
    resourceGroupName: pulumi.Input<string>;
    network: AzureNetwork;
    audit: AzureAuditTrail;
}

export const AKS_VERSION = VERSIONS.aks.version;

/**
 * Encryption at host (node disks and caches encrypted on the VM host) is a subscription feature that must be registered
 * once before any cluster asks for it; a cell checks it rather than registering it, because registration belongs to the
 * subscription, not to one cell.
 */
export const ENCRYPTION_AT_HOST = { providerNamespace: "Microsoft.Compute", featureName: "EncryptionAtHost" };

/** True once the subscription has the feature; otherwise fails, naming the command that registers it. */
export function requireEncryptionAtHost(state: string | undefined, cellId: string): true {
    if (state === "Registered") return true;
    throw new Error(
        `cell ${cellId}: the subscription has not registered ${ENCRYPTION_AT_HOST.providerNamespace}/${ENCRYPTION_AT_HOST.featureName} (state: ${state ?? "not registered"}), which AKS nodes with encryption at host need. Run once per subscription: az feature register --namespace ${ENCRYPTION_AT_HOST.providerNamespace} --name ${ENCRYPTION_AT_HOST.featureName}, wait until it shows Registered, then az provider register --namespace ${ENCRYPTION_AT_HOST.providerNamespace}.`,
    );
}

/** Built-in role that lets the cluster's identity join its nodes and load balancers to the cell's subnet. */
export const NETWORK_CONTRIBUTOR = "/providers/Microsoft.Authorization/roleDefinitions/4d97b98b-1d4f-4787-a291-c67834d212e7";

/**
 * AKS in the cell's VNet, Kubernetes secrets encrypted with the cell's Key Vault key; a private API server and
 * nodes over three zones in production.
 */
export class AksCluster extends pulumi.ComponentResource {
    readonly cluster: containerservice.ManagedCluster;
    readonly provider: KubernetesProvider;
    /** The issuer of its ServiceAccounts' tokens, which workload identities trust. */
    readonly oidcIssuer: pulumi.Output<string>;
    /** The cluster's own identity, which Azure's cloud provider acts as (load balancers, public addresses). */
    readonly identityPrincipalId: pulumi.Output<string>;

    constructor(name: string, args: AksClusterArgs, opts?: pulumi.ComponentResourceOptions) {
        super("cellplane:azure:AksCluster", name, {}, opts);
        const { cell, shape, production, labels, adminCidrs } = args.context;

        const key = new ClusterKey(`${name}-key`, { context: args.context, resourceGroupName: args.resourceGroupName }, { parent: this });
        this.identityPrincipalId = key.identity.principalId;
        const encryptionAtHost = getSubscriptionFeatureRegistrationOutput(ENCRYPTION_AT_HOST, { parent: this }).properties.apply((p) =>
            requireEncryptionAtHost(p.state, cell.id),
        );
        // A cluster with its own identity in a subnet of ours must be allowed on that subnet, or its creation fails.
        const subnetAccess = new authorization.RoleAssignment(
            `${name}-subnet-network-contributor`,
            {
                scope: args.network.clusterSubnetId,
                roleDefinitionId: NETWORK_CONTRIBUTOR,
                principalId: key.identity.principalId,
                principalType: "ServicePrincipal",
            },
            { parent: this },
        );
        this.cluster = new containerservice.ManagedCluster(
            `${name}-aks`,
            {
                resourceGroupName: args.resourceGroupName,
                location: cell.region,
                dnsPrefix: cell.id,
                kubernetesVersion: AKS_VERSION,
                // The Free tier gives the API server no uptime SLA; Standard guarantees 99.95% over zones.
                sku: { name: "Base", tier: production ? "Standard" : "Free" },
                identity: { type: "UserAssigned", userAssignedIdentities: [key.identity.id] },
                // Pods take Entra ID identities of their own through their ServiceAccounts (ClickHouse writes Blob).
                oidcIssuerProfile: { enabled: true },
                // The app routing add-on's managed NGINX; the cell's own controller (edge.ts) replaces its default one.
                ingressProfile: { webAppRouting: { enabled: true, nginx: { defaultIngressControllerType: "None" } } },
                securityProfile: {
                    workloadIdentity: { enabled: true },
                    azureKeyVaultKms: {
                        enabled: true,
                        keyId: key.key.keyUriWithVersion,
                        keyVaultNetworkAccess: "Public",
                        keyVaultResourceId: key.vault.id,
                    },
                },
                enableRBAC: true,
                agentPoolProfiles: [
                    {
                        name: "system",
                        mode: "System",
                        osType: "Linux",
                        type: "VirtualMachineScaleSets",
                        vmSize: AZURE_SKUS[cell.size].node,
                        enableAutoScaling: true,
                        count: shape.nodes.desired,
                        minCount: shape.nodes.min,
                        maxCount: shape.nodes.max,
                        vnetSubnetID: args.network.clusterSubnetId,
                        availabilityZones: production ? ["1", "2", "3"] : undefined,
                        enableEncryptionAtHost: encryptionAtHost,
                        nodeLabels: labels.kubernetes,
                        tags: labels.tags,
                    },
                ],
                // Public only to the admins' networks when configured; otherwise private in production.
                apiServerAccessProfile: adminCidrs.length
                    ? { enablePrivateCluster: false, authorizedIPRanges: adminCidrs }
                    : { enablePrivateCluster: production },
                networkProfile: {
                    networkPlugin: "azure",
                    networkPolicy: "azure",
                    serviceCidr: args.network.plan.aksServiceCidr,
                    dnsServiceIP: args.network.plan.aksDnsServiceIp,
                },
                tags: labels.tags,
            },
            { parent: this, dependsOn: [key, subnetAccess] },
        );
        // Who did what through the API server (kube-audit, kube-audit-admin, guard), into the cell's audit workspace.
        args.audit.diagnose(`${name}-diagnostics`, this.cluster.id, "audit", this);
        this.oidcIssuer = this.cluster.oidcIssuerProfile.apply((profile) => profile?.issuerURL ?? "");

        const credentials = containerservice.listManagedClusterUserCredentialsOutput(
            {
                resourceGroupName: args.resourceGroupName,
                resourceName: this.cluster.name,
            },
            { parent: this },
        );
        const kubeconfig = pulumi.secret(
            credentials.kubeconfigs.apply((configs) => Buffer.from(configs[0].value, "base64").toString("utf8")),
        );
        this.provider = new KubernetesProvider(`${name}-k8s`, { kubeconfig, enableServerSideApply: true }, { parent: this });
        this.registerOutputs({ clusterName: this.cluster.name });
    }
}
