import { cellOf, describe, isServiceOf, type PolicySubject, regionOf, stackPolicy } from "./lib";
import { T } from "./types";
import { lifecycleTiers, S3_CLASSES, TEMP_EXPIRE_AFTER_DAYS, TIER_AFTER_DAYS, type Tier } from "../components/retention";
import type { ResourceProps } from "../model/resourceProps";

const S3_STORE = "cellplane:aws:S3ObjectStore";
const BLOB_STORE = "cellplane:azure:BlobObjectStore";
const SEAWEEDFS_STORE = "cellplane:kubernetes:SeaweedfsObjectStore";

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

/**
 * What is missing from the expiry a cluster's SeaweedFS gets from the export app (it has no storage classes, so
 * no tiers), read from the export Deployment's `OBJECT_STORE`.
 */
function seaweedfsExpiryProblems(deployment: PolicySubject | undefined): string[] {
    const containers: ResourceProps[] = deployment?.props.spec?.template?.spec?.containers ?? [];
    const value = containers.flatMap((c) => c.env ?? []).find((e: ResourceProps) => e.name === "OBJECT_STORE")?.value;
    const expiry = typeof value === "string" ? (JSON.parse(value) as ResourceProps).expiry : undefined;
    const problems: string[] = [];
    if (!(expiry?.expireAfterDays > 0))
        problems.push(
            `the export app is given no expiry to keep: set OBJECT_STORE.expiry.expireAfterDays to the environment's retentionDays`,
        );
    if (!(expiry?.tempExpireAfterDays <= TEMP_EXPIRE_AFTER_DAYS))
        problems.push(
            `temp/ is not deleted within ${TEMP_EXPIRE_AFTER_DAYS} days: set OBJECT_STORE.expiry.tempExpireAfterDays to ${TEMP_EXPIRE_AFTER_DAYS}`,
        );
    return problems;
}

export const exportsLifecycleTiers = stackPolicy({
    name: "exports-lifecycle-tiers",
    description: `Every cell's exports move through seed 002's tiers (${Object.entries(TIER_AFTER_DAYS)
        .map(([tier, days]) => `${tier} at ${days} days`)
        .join(
            ", ",
        )}) as far as its store has them (SeaweedFS has none), expire at the retention, and temp/ is deleted within ${TEMP_EXPIRE_AFTER_DAYS} days.`,
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
        for (const store of resources.filter((r) => r.type === SEAWEEDFS_STORE)) {
            const [release = store] = childrenOf(store, T.helmRelease);
            const exportApp = resources.find(
                (r) =>
                    r.type === T.deployment &&
                    r.props.metadata?.labels?.["app.kubernetes.io/name"] === "export" &&
                    // Each cell's store and apps share its namespace.
                    r.props.metadata?.namespace === release.props.namespace,
            );
            const problems = seaweedfsExpiryProblems(exportApp);
            if (problems.length > 0)
                report(`${describe(release)} keeps exports outside the seed's tiers: ${problems.join("; ")}.`, release.urn);
        }
    },
});

const STORAGE_FILE = "config.d/storage.xml";
const S3_HOST = /^([a-z0-9.-]+)\.s3\.([a-z0-9-]+)\.amazonaws\.com$/;
const BLOB_HOST = /^([a-z0-9]+)\.blob\.core\.windows\.net$/;

/** The text of one element of a storage configuration, if it has it. */
const elementOf = (xml: string, tag: string) => new RegExp(`<${tag}>([^<]*)</${tag}>`).exec(xml)?.[1];

/**
 * Where an installation's cold disk is, against the cell's own: a bucket or account of the cell in the cell's
 * region, or a Service of the installation's own namespace (the cluster's object store, which is in the cell's region).
 */
function coldDiskProblem(chi: PolicySubject, xml: string, cellResources: PolicySubject[]): string | undefined {
    if (!/<tiered>[\s\S]*<cold>\s*<disk>cold<\/disk>\s*<\/cold>[\s\S]*<\/tiered>/.test(xml))
        return `it has no "tiered" storage policy whose "cold" volume is the "cold" disk: give it the cell's storage configuration (components/coldStorage.ts)`;
    const url = elementOf(xml, "endpoint") ?? elementOf(xml, "storage_account_url");
    if (!url) return `its cold disk names no endpoint: give it the cell's own bucket or container`;
    const host = new URL(url).hostname;
    // Private DNS zones are "global": the cell's region is where the rest of it is.
    const cellRegions = [...new Set(cellResources.map(regionOf).filter((r): r is string => Boolean(r) && r !== "global"))];
    const s3 = S3_HOST.exec(host);
    const blob = BLOB_HOST.exec(host);
    const store = s3?.[1] ?? blob?.[1];
    if (store) {
        const own = cellResources.find((r) =>
            s3
                ? r.type === T.bucket && r.props.bucket === store
                : r.type === T.storageAccount && (r.props.accountName ?? r.props.name) === store,
        );
        if (!own)
            return `its cold disk is on ${store}, which is no bucket or storage account of cell ${cellOf(chi)}: put it on the cell's own`;
        // An S3 endpoint names its region; a Blob account is where the account is.
        const at = s3?.[2] ?? regionOf(own);
        if (regionOf(own) !== at || cellRegions.length !== 1 || cellRegions[0] !== at)
            return `its cold disk is on ${store} in ${at}, outside the cell's region ${cellRegions.join(", ")}: put it on the cell's own bucket in its region`;
        return undefined;
    }
    const namespace = chi.props.metadata?.namespace;
    if (!isServiceOf(host, namespace))
        return `its cold disk is at ${host}, which is neither a cloud store of the cell nor a Service of its namespace ${namespace}: put it on the cell's own object store`;
    return undefined;
}

export const clickhouseColdTier = stackPolicy({
    name: "clickhouse-cold-tier",
    description:
        "Every cell's ClickHouse has the cold volume its events move to after 13 months, on a disk of the cell's own object storage in the cell's region.",
    validateStack: ({ resources }, report) => {
        for (const chi of resources.filter((r) => r.type === T.clickhouseInstallation)) {
            const xml = chi.props.spec?.configuration?.files?.[STORAGE_FILE];
            const cell = cellOf(chi);
            const problem =
                typeof xml === "string"
                    ? coldDiskProblem(
                          chi,
                          xml,
                          resources.filter((r) => cellOf(r) === cell && !r.type.startsWith("kubernetes:")),
                      )
                    : `it has no ${STORAGE_FILE}, so its events never leave the servers' disks: give it the cell's storage configuration (components/coldStorage.ts)`;
            if (problem) report(`${describe(chi)} keeps no cold tier in its cell: ${problem}.`, chi.urn);
        }
    },
});

export const LIFECYCLE_POLICIES = [exportsLifecycleTiers, clickhouseColdTier];
