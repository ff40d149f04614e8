import type { ResourceValidationPolicy } from "@pulumi/policy";
import { type PinnedVersion, VERSIONS } from "../model/versions";
import type { ResourceProps } from "../model/resourceProps";
import { describe, type PolicySubject, resourcePolicy } from "./lib";
import { imagesIn } from "./kubernetes";
import { T } from "./types";

/** How long before a version's end of support the pack starts to warn. */
export const WARNING_DAYS = 90;
const DAY_MS = 86_400_000;

interface Pinned {
    kind: string;
    version: string;
}

/** The versions a resource pins, named as the table names them. */
export function pinnedVersionsOf(resource: Pick<PolicySubject, "type" | "props">): Pinned[] {
    const props = resource.props;
    const one = (kind: string, version: unknown): Pinned[] => (typeof version === "string" ? [{ kind, version }] : []);
    switch (resource.type) {
        case T.eks:
            return one("eks", props.version);
        case T.aks:
            return one("aks", props.kubernetesVersion);
        case T.msk:
            return one("msk", props.kafkaVersion);
        case T.mskConfiguration:
            return (props.kafkaVersions ?? []).flatMap((v: unknown) => one("msk", v));
        case T.rds:
            return props.engine === "postgres" ? one("rds-postgres", props.engineVersion) : [];
        case T.flexibleServer:
            return one("flexible-postgres", props.version);
        case T.strimziKafka:
            return one("strimzi-kafka", props.spec?.kafka?.version);
        case T.helmRelease:
            return one(`chart:${props.chart}`, props.version);
    }
    if (!resource.type.startsWith("kubernetes:")) return [];
    return imagesIn(props.spec).flatMap((reference) => {
        // `repository:tag@sha256:…` names its version by the tag.
        const [image] = reference.split("@");
        const at = image.lastIndexOf(":");
        return at > image.lastIndexOf("/") ? [{ kind: `image:${image.slice(0, at)}`, version: image.slice(at + 1) }] : [];
    });
}

const what = ({ kind, version }: Pinned) => `${kind.replace(/^(image|chart):/, "$1 ")} ${version}`;

/** The pack's two version policies over `table`: one that fails, one that warns; both as of today or `asOf`. */
export function supportedVersionsPolicies(table: readonly PinnedVersion[] = Object.values(VERSIONS)): ResourceValidationPolicy[] {
    const entryOf = (p: Pinned) => table.find((e) => e.kind === p.kind && e.version === p.version);
    /** Days left until the end of support (negative once past), or undefined when no date is published. */
    const daysLeft = (entry: PinnedVersion, config: ResourceProps) => {
        if (entry.endOfSupport === null) return undefined;
        const today = config.asOf ? Date.parse(config.asOf) : Date.now();
        return Math.floor((Date.parse(`${entry.endOfSupport}T23:59:59Z`) - today) / DAY_MS);
    };
    // Checking as of a later day shows what a pinned version will do to future previews.
    const configSchema = { properties: { asOf: { type: "string" as const, format: "date" } } };
    const applies = (type: string) => type.startsWith("aws:") || type.startsWith("azure-native:") || type.startsWith("kubernetes:");

    const supported = resourcePolicy({
        name: "supported-versions",
        description: "Every version a cell pins is in model/versions.ts and still supported by its vendor.",
        appliesTo: applies,
        configSchema,
        check: (resource, report, config) => {
            for (const pinned of pinnedVersionsOf(resource)) {
                const entry = entryOf(pinned);
                if (!entry) {
                    report(
                        `${describe(resource)} pins ${what(pinned)}, which is not in model/versions.ts. Add it there with its end-of-support date and the source of that date, or use a listed version.`,
                    );
                    continue;
                }
                const left = daysLeft(entry, config);
                if (left !== undefined && left < 0)
                    report(
                        `${describe(resource)} pins ${what(pinned)}, out of support since ${entry.endOfSupport} (${entry.source}). Move to a supported version in model/versions.ts.`,
                    );
            }
        },
    });
    const expiring: ResourceValidationPolicy = {
        ...resourcePolicy({
            name: "supported-versions-expiring",
            description: `Warns when a pinned version's end of support is less than ${WARNING_DAYS} days away.`,
            appliesTo: applies,
            configSchema,
            check: (resource, report, config) => {
                for (const pinned of pinnedVersionsOf(resource)) {
                    const entry = entryOf(pinned);
                    const left = entry && daysLeft(entry, config);
                    if (entry && left !== undefined && left >= 0 && left < WARNING_DAYS)
                        report(
                            `${describe(resource)} pins ${what(pinned)}, whose support ends on ${entry.endOfSupport}, in ${left} days (${entry.source}). Plan the upgrade in model/versions.ts.`,
                        );
                }
            },
        }),
        enforcementLevel: "advisory",
    };
    return [supported, expiring];
}

export const VERSION_POLICIES = supportedVersionsPolicies();
