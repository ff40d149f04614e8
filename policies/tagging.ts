import { kubernetesLabelKey, TAG_KEYS, UNTAGGABLE_TYPES } from "../model/labels";
import { RESIDENCIES } from "../model/residency";
import { describe, resourcePolicy, tagsOf } from "./lib";

export const cellplaneTags = resourcePolicy({
    name: "cellplane-tags",
    description: `Every taggable AWS and Azure resource carries the tags ${TAG_KEYS.join(", ")}; every Kubernetes object the matching labels. The residency is one of ${RESIDENCIES.join(", ")}.`,
    appliesTo: (type) =>
        !UNTAGGABLE_TYPES.has(type) && (type.startsWith("aws:") || type.startsWith("azure-native:") || type.startsWith("kubernetes:")),
    check: (resource, report) => {
        const kubernetes = resource.type.startsWith("kubernetes:");
        const keys = TAG_KEYS.map((key) => (kubernetes ? kubernetesLabelKey(key) : key));
        const tags = tagsOf(resource);
        const missing = keys.filter((key) => typeof tags[key] !== "string" || tags[key] === "");
        if (missing.length > 0) {
            report(
                `${describe(resource)} lacks the ${kubernetes ? "labels" : "tags"} ${missing.join(", ")}. Create it inside a Cell, which passes them to every resource (model/labels.ts).`,
            );
        }
        const residencyKey = kubernetes ? kubernetesLabelKey("cellplane:residency") : "cellplane:residency";
        const residency = tags[residencyKey];
        if (typeof residency === "string" && residency !== "" && !(RESIDENCIES as readonly string[]).includes(residency)) {
            report(
                `${describe(resource)} has ${residencyKey} ${JSON.stringify(residency)}, which is no residency, so the residency policies cannot check it. Use one of ${RESIDENCIES.join(", ")} exactly (lower case, no spaces).`,
            );
        }
    },
});

export const TAGGING_POLICIES = [cellplaneTags];
