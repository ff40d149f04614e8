/**
 * Object tiers of the exports bucket (seed 002 §3.4.3): infrequent access after 90 days, archive after 365, deep
 * archive after 1,095, deleted at the environment's retention; `temp/` is deleted after 7 days. A tier that would
 * start after expiry is left out.
 */
export interface LifecycleTiers {
    transitions: { tier: Tier; afterDays: number }[];
    expireAfterDays: number;
    /** `temp/` holds scratch files of runs. */
    tempExpireAfterDays: number;
}

export type Tier = "infrequent" | "archive" | "deep-archive";

export const TIER_AFTER_DAYS: Record<Tier, number> = { infrequent: 90, archive: 365, "deep-archive": 1_095 };
export const TEMP_EXPIRE_AFTER_DAYS = 7;

/** S3's storage class of each tier: Glacier Flexible Retrieval for the archive, Deep Archive for the oldest. */
export const S3_CLASSES: Record<Tier, string> = { infrequent: "STANDARD_IA", archive: "GLACIER", "deep-archive": "DEEP_ARCHIVE" };

export function lifecycleTiers(retentionDays: number): LifecycleTiers {
    const transitions = (Object.entries(TIER_AFTER_DAYS) as [Tier, number][])
        .map(([tier, afterDays]) => ({ tier, afterDays }))
        .filter((t) => t.afterDays < retentionDays);
    return { transitions, expireAfterDays: retentionDays, tempExpireAfterDays: TEMP_EXPIRE_AFTER_DAYS };
}
