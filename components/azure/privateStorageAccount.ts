import * as storage from "@pulumi/azure-native/storage";
import type * as types from "@pulumi/azure-native/types/input";
import * as pulumi from "@pulumi/pulumi";
import * as random from "@pulumi/random";
import type { CellContext } from "../platform";

export interface PrivateStorageAccountArgs {
    context: CellContext;
    resourceGroupName: pulumi.Input<string>;
    /** Who reaches it; the default action is always Deny. */
    network: Pick<types.storage.NetworkRuleSetArgs, "bypass" | "virtualNetworkRules">;
    /** A Data Lake Storage account (hierarchical namespace), which the DFS API needs; fixed at creation. */
    dataLake?: boolean;
}

/** A cell's storage redundancy: zone-redundant in production, local elsewhere. */
export const redundancyOf = (production: boolean) => (production ? "Standard_ZRS" : "Standard_LRS");

/**
 * A StorageV2 account of the cell that no one reads anonymously or with a shared key: HTTPS only, TLS 1.2+,
 * infrastructure (double) encryption, Entra ID access only, closed to every network it does not name.
 */
export function privateStorageAccount(
    name: string,
    args: PrivateStorageAccountArgs,
    opts: pulumi.CustomResourceOptions & { parent: pulumi.Resource },
): storage.StorageAccount {
    const { cell, labels } = args.context;
    // Account names are global, 3-24 lowercase letters and digits.
    const suffix = new random.RandomString(`${name}-suffix`, { length: 6, special: false, upper: false }, { parent: opts.parent });
    return new storage.StorageAccount(
        `${name}-account`,
        {
            resourceGroupName: args.resourceGroupName,
            location: cell.region,
            accountName: pulumi.interpolate`cp${cell.id.replace(/[^a-z0-9]/g, "").slice(0, 16)}${suffix.result}`,
            kind: "StorageV2",
            isHnsEnabled: args.dataLake ?? false,
            sku: { name: redundancyOf(args.context.production) },
            accessTier: "Hot",
            enableHttpsTrafficOnly: true,
            minimumTlsVersion: "TLS1_2",
            allowBlobPublicAccess: false,
            allowSharedKeyAccess: false,
            allowCrossTenantReplication: false,
            encryption: {
                keySource: "Microsoft.Storage",
                requireInfrastructureEncryption: true,
                services: { blob: { enabled: true, keyType: "Account" }, file: { enabled: true, keyType: "Account" } },
            },
            networkRuleSet: { defaultAction: "Deny", bypass: "None", ...args.network },
            tags: labels.tags,
        },
        opts,
    );
}
