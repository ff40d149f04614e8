import * as authorization from "@pulumi/azure-native/authorization";
import * as pulumi from "@pulumi/pulumi";
import { ALLOWED_LOCATIONS_POLICY } from "../../model/guardrails";
import { regionsOf } from "../../model/residency";
import type { CellContext } from "../platform";

/** The storage SKUs that keep a second copy in the paired region, which may lie outside the residency. */
export const GEO_REDUNDANT_SKUS = ["Standard_GRS", "Standard_RAGRS", "Standard_GZRS", "Standard_RAGZRS"];

/**
 * The cell's residency guardrails in Azure, on its resource group: Azure itself refuses a resource created outside the
 * residency's regions, or a storage account that replicates to another region, whoever creates it and however.
 */
export class AzureResidencyGuardrails extends pulumi.ComponentResource {
    constructor(
        name: string,
        args: { context: CellContext; resourceGroupId: pulumi.Input<string> },
        opts: pulumi.ComponentResourceOptions,
    ) {
        super("cellplane:azure:ResidencyGuardrails", name, {}, opts);
        const { cell } = args.context;
        const children = { parent: this };
        new authorization.PolicyAssignment(
            `${name}-allowed-locations`,
            {
                scope: args.resourceGroupId,
                policyDefinitionId: ALLOWED_LOCATIONS_POLICY,
                displayName: `Cellplane ${cell.id}: residency ${cell.residency} regions only`,
                enforcementMode: "Default",
                parameters: { listOfAllowedLocations: { value: [...regionsOf(cell.residency, "azure")] } },
            },
            children,
        );
        const noGeoStorage = new authorization.PolicyDefinition(
            `${name}-no-geo-redundant-storage`,
            {
                policyType: "Custom",
                mode: "Indexed",
                displayName: `Cellplane ${cell.id}: no storage replicated to another region`,
                description: "Denies storage accounts whose SKU keeps a copy in the paired region, which may lie outside the residency.",
                policyRule: {
                    if: {
                        allOf: [
                            { field: "type", equals: "Microsoft.Storage/storageAccounts" },
                            { field: "Microsoft.Storage/storageAccounts/sku.name", in: GEO_REDUNDANT_SKUS },
                        ],
                    },
                    then: { effect: "deny" },
                },
            },
            children,
        );
        new authorization.PolicyAssignment(
            `${name}-no-geo-redundant-storage`,
            {
                scope: args.resourceGroupId,
                policyDefinitionId: noGeoStorage.id,
                displayName: `Cellplane ${cell.id}: no geo-redundant storage`,
                enforcementMode: "Default",
            },
            children,
        );
        this.registerOutputs({});
    }
}
