/**
 * Object tiers of the exports bucket (seed 002 §3.4.3): infrequent access after 90 days, archive after
 * 365, deleted at the environment's retention. A tier that would start after expiry is left out.
 */
export interface LifecycleTiers {
    transitions: { tier: "infrequent" | "archive"; afterDays: number }[];
    expireAfterDays: number;
}

export const INFREQUENT_AFTER_DAYS = 90;
export const ARCHIVE_AFTER_DAYS = 365;

export function lifecycleTiers(retentionDays: number): LifecycleTiers {
    const transitions = [
        { tier: "infrequent" as const, afterDays: INFREQUENT_AFTER_DAYS },
        { tier: "archive" as const, afterDays: ARCHIVE_AFTER_DAYS },
    ].filter((t) => t.afterDays < retentionDays);
    return { transitions, expireAfterDays: retentionDays };
}
