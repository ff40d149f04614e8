import { describe, stackPolicy } from "./lib";
import { T } from "./types";
import { lifecycleTiers, S3_CLASSES, TEMP_EXPIRE_AFTER_DAYS, TIER_AFTER_DAYS, type Tier } from "../components/retention";
import type { ResourceProps } from "../model/resourceProps";

const S3_STORE = "cellplane:aws:S3ObjectStore";
const BLOB_STORE = "cellplane:azure:BlobObjectStore";

/** What is missing from an S3 exports bucket's lifecycle rules, each with its fix. */
function s3TierProblems(rules: ResourceProps[]): string[] {
    const exports = rules.find((r) => r.status === "Enabled" && r.expiration?.days && !r.filter?.prefix);
    if (!exports) return [`no enabled rule expires the exports: add one with expiration.days at the environment's retentionDays`];
    const expected = lifecycleTiers(exports.expiration.days).transitions;
    const problems = expected
        .filter(
            (t) => !(exports.transitions ?? []).some((x: ResourceProps) => x.days === t.afterDays && x.storageClass === S3_CLASSES[t.tier]),
        )
        .map((t) => `no transition to ${S3_CLASSES[t.tier]} at ${t.afterDays} days (seed 002's ${t.tier} tier)`);
    const temp = rules.find((r) => r.status === "Enabled" && r.filter?.prefix === "temp/");
    if (!temp || !(temp.expiration?.days <= TEMP_EXPIRE_AFTER_DAYS))
        problems.push(
            `temp/ is not deleted within ${TEMP_EXPIRE_AFTER_DAYS} days: add a rule with filter.prefix "temp/" and expiration.days ${TEMP_EXPIRE_AFTER_DAYS}`,
        );
    return problems;
}

/** The Blob tier each seed tier takes; Blob has nothing colder than archive, and zone-redundant accounts no archive. */
const BLOB_ACTIONS: Record<Tier, string[]> = {
    infrequent: ["tierToCool"],
    archive: ["tierToArchive", "tierToCold"],
    "deep-archive": ["tierToArchive", "tierToCold"],
};

/** What is missing from a Blob exports account's management policy, each with its fix. */
function blobTierProblems(rules: ResourceProps[]): string[] {
    const exports = rules.find(
        (r) => r.enabled && r.definition?.actions?.baseBlob?.delete && !`${r.definition?.filters?.prefixMatch ?? ""}`.includes("/temp/"),
    );
    if (!exports) return [`no enabled rule deletes the exports: add one with baseBlob.delete at the environment's retentionDays`];
    const actions = exports.definition.actions.baseBlob as Record<string, { daysAfterModificationGreaterThan?: number }>;
    const expected = lifecycleTiers(actions.delete.daysAfterModificationGreaterThan ?? 0).transitions.filter(
        (t) => t.tier !== "deep-archive",
    );
    const problems = expected
        .filter((t) => !BLOB_ACTIONS[t.tier].some((action) => actions[action]?.daysAfterModificationGreaterThan === t.afterDays))
        .map((t) => `no ${BLOB_ACTIONS[t.tier].join(" or ")} at ${t.afterDays} days (seed 002's ${t.tier} tier)`);
    const temp = rules.find((r) => r.enabled && `${r.definition?.filters?.prefixMatch ?? ""}`.includes("/temp/"));
    if (!(temp?.definition?.actions?.baseBlob?.delete?.daysAfterModificationGreaterThan <= TEMP_EXPIRE_AFTER_DAYS))
        problems.push(
            `temp/ is not deleted within ${TEMP_EXPIRE_AFTER_DAYS} days: add a rule matching "<container>/temp/" with baseBlob.delete at ${TEMP_EXPIRE_AFTER_DAYS} days`,
        );
    return problems;
}

export const exportsLifecycleTiers = stackPolicy({
    name: "exports-lifecycle-tiers",
    description: `Every cell's exports move through seed 002's tiers (${Object.entries(TIER_AFTER_DAYS)
        .map(([tier, days]) => `${tier} at ${days} days`)
        .join(", ")}) as far as its store has them, expire at the retention, and temp/ is deleted within ${TEMP_EXPIRE_AFTER_DAYS} days.`,
    validateStack: ({ resources }, report) => {
        // Each store is a component whose children are its bucket or account and their lifecycle rules.
        const childrenOf = (store: { urn: string }, type: string) =>
            resources.filter((r) => r.parent?.urn === store.urn && r.type === type);
        for (const store of resources.filter((r) => r.type === S3_STORE)) {
            const rules = childrenOf(store, T.bucketLifecycle).flatMap((r) => r.props.rules ?? []);
            const problems = s3TierProblems(rules);
            const [bucket = store] = childrenOf(store, T.bucket);
            if (problems.length > 0)
                report(`${describe(bucket)} keeps exports outside the seed's tiers: ${problems.join("; ")}.`, bucket.urn);
        }
        for (const store of resources.filter((r) => r.type === BLOB_STORE)) {
            const rules = childrenOf(store, T.managementPolicy).flatMap((r) => r.props.policy?.rules ?? []);
            const problems = blobTierProblems(rules);
            const [account = store] = childrenOf(store, T.storageAccount);
            if (problems.length > 0)
                report(`${describe(account)} keeps exports outside the seed's tiers: ${problems.join("; ")}.`, account.urn);
        }
    },
});

export const LIFECYCLE_POLICIES = [exportsLifecycleTiers];
