/**
 * Residency zones and the cloud regions that lie inside them. A cell of a zone may only be placed in
 * one of its zone's regions, and a tenant pinned to a zone is only ever routed to cells of that zone.
 */
export const CLOUDS = ["aws", "azure", "kubernetes", "local"] as const;
export type Cloud = (typeof CLOUDS)[number];

export const RESIDENCIES = ["eu", "us"] as const;
export type Residency = (typeof RESIDENCIES)[number];

const AWS_REGIONS: Record<Residency, readonly string[]> = {
    eu: ["eu-west-1", "eu-west-3", "eu-central-1", "eu-central-2", "eu-north-1", "eu-south-1", "eu-south-2"],
    us: ["us-east-1", "us-east-2", "us-west-1", "us-west-2"],
};

const AZURE_REGIONS: Record<Residency, readonly string[]> = {
    eu: [
        "westeurope",
        "northeurope",
        "germanywestcentral",
        "francecentral",
        "swedencentral",
        "italynorth",
        "polandcentral",
        "spaincentral",
    ],
    us: ["eastus", "eastus2", "centralus", "southcentralus", "westus", "westus2", "westus3"],
};

/**
 * Azure regions of the list above with no availability zones (learn.microsoft.com/azure/reliability/regions-list), where
 * a production cell's zone-spread nodes, zone-redundant database and ZRS storage cannot be created.
 */
export const AZURE_REGIONS_WITHOUT_ZONES: readonly string[] = ["westus"];

/** Regions a cell of `cloud` may use inside `residency`. Kubernetes clusters live in the clouds' regions. */
export function regionsOf(residency: Residency, cloud: Cloud): readonly string[] {
    switch (cloud) {
        case "aws":
            return AWS_REGIONS[residency];
        case "azure":
            return AZURE_REGIONS[residency];
        case "kubernetes":
            return [...AWS_REGIONS[residency], ...AZURE_REGIONS[residency]];
        case "local":
            return [`${residency}-local`];
    }
}

/** The residency zone a region belongs to, whatever the cloud, or undefined for a region of no zone. */
export function residencyOfRegion(region: string): Residency | undefined {
    return RESIDENCIES.find((zone) => CLOUDS.some((cloud) => regionsOf(zone, cloud).includes(region)));
}
