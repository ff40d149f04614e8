import * as authorization from "@pulumi/azure-native/authorization";
import * as keyvault from "@pulumi/azure-native/keyvault";
import * as managedidentity from "@pulumi/azure-native/managedidentity";
import * as pulumi from "@pulumi/pulumi";
import * as random from "@pulumi/random";
import type { CellContext } from "../platform";

export interface ClusterKeyArgs {
    context: CellContext;
    resourceGroupName: pulumi.Input<string>;
}

/** Built-in role that lets an identity wrap and unwrap with a vault's keys. */
const KEY_VAULT_CRYPTO_USER = "/providers/Microsoft.Authorization/roleDefinitions/12338af0-0e69-4776-bea7-57ae8d297424";

/**
 * The key AKS encrypts Kubernetes secrets with (KMS v2), in a Key Vault of the cell, and the cluster identity
 * allowed to use it. Azure's KMS plugin needs a user-assigned identity, so the cluster runs as this one.
 */
export class ClusterKey extends pulumi.ComponentResource {
    readonly vault: keyvault.Vault;
    readonly key: keyvault.Key;
    readonly identity: managedidentity.UserAssignedIdentity;

    constructor(name: string, args: ClusterKeyArgs, opts?: pulumi.ComponentResourceOptions) {
        super("cellplane:azure:ClusterKey", name, {}, opts);
        const { cell, labels } = args.context;
        const common = { resourceGroupName: args.resourceGroupName, tags: labels.tags };
        const client = authorization.getClientConfigOutput({ parent: this });

        // Vault names are global, 3-24 letters, digits and dashes.
        const suffix = new random.RandomString(`${name}-suffix`, { length: 6, special: false, upper: false }, { parent: this });
        this.vault = new keyvault.Vault(
            `${name}-vault`,
            {
                ...common,
                location: cell.region,
                vaultName: pulumi.interpolate`cp-${cell.id.slice(0, 14).replace(/-+$/, "")}-${suffix.result}`,
                properties: {
                    tenantId: client.tenantId,
                    sku: { family: "A", name: "standard" },
                    enableRbacAuthorization: true,
                    enableSoftDelete: true,
                    softDeleteRetentionInDays: 90,
                    enablePurgeProtection: true,
                },
            },
            { parent: this },
        );
        this.key = new keyvault.Key(
            `${name}-key`,
            {
                ...common,
                vaultName: this.vault.name,
                keyName: "kubernetes-secrets",
                properties: { kty: "RSA", keySize: 2048, keyOps: ["wrapKey", "unwrapKey", "encrypt", "decrypt"] },
            },
            { parent: this },
        );

        this.identity = new managedidentity.UserAssignedIdentity(
            `${name}-identity`,
            { ...common, location: cell.region },
            { parent: this },
        );
        new authorization.RoleAssignment(
            `${name}-crypto-user`,
            {
                scope: this.vault.id,
                roleDefinitionId: KEY_VAULT_CRYPTO_USER,
                principalId: this.identity.principalId,
                principalType: "ServicePrincipal",
            },
            { parent: this },
        );

        this.registerOutputs({ keyId: this.key.keyUriWithVersion });
    }
}
