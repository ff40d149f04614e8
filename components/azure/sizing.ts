import type { Size } from "../../model/sizing";

/** Azure SKUs per cell size. The policy pack checks deployed SKUs against this table. */
export const AZURE_SKUS: Record<
    Size,
    {
        postgres: { name: string; tier: "Burstable" | "GeneralPurpose" | "MemoryOptimized" };
        eventHubs: { name: "Standard" | "Premium"; capacity: number };
        node: string;
    }
> = {
    small: {
        postgres: { name: "Standard_B2ms", tier: "Burstable" },
        eventHubs: { name: "Standard", capacity: 2 },
        node: "Standard_D4s_v5",
    },
    medium: {
        postgres: { name: "Standard_D4ds_v5", tier: "GeneralPurpose" },
        eventHubs: { name: "Standard", capacity: 8 },
        node: "Standard_D8s_v5",
    },
    large: {
        postgres: { name: "Standard_E8ds_v5", tier: "MemoryOptimized" },
        eventHubs: { name: "Premium", capacity: 4 },
        node: "Standard_E16s_v5",
    },
};

/**
 * The disk sizes Flexible Server offers (GiB, Premium SSD): any other `storageSizeGB` is refused at create.
 * learn.microsoft.com/azure/postgresql/flexible-server/concepts-storage
 */
export const FLEXIBLE_SERVER_STORAGE_GB = [32, 64, 128, 256, 512, 1024, 2048, 4096, 8192, 16384, 32767] as const;

/** The smallest offered size that holds `requestedGb`. */
export function flexibleServerStorageGb(requestedGb: number): number {
    const size = FLEXIBLE_SERVER_STORAGE_GB.find((offered) => offered >= requestedGb);
    if (size === undefined)
        throw new Error(
            `Flexible Server offers at most ${FLEXIBLE_SERVER_STORAGE_GB[FLEXIBLE_SERVER_STORAGE_GB.length - 1]} GiB; ${requestedGb} GiB was asked for`,
        );
    return size;
}
