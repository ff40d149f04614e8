import { CLUSTER_LABEL, kubernetesLabelKey, TAG_KEYS, UNTAGGABLE_TYPES } from "../model/labels";
import { RESIDENCIES } from "../model/residency";
import { describe, resourcePolicy, tagsOf } from "./lib";

export const cellplaneTags = resourcePolicy({
    name: "cellplane-tags",
    description: `Every taggable AWS and Azure resource carries the tags ${TAG_KEYS.join(", ")}; every Kubernetes object the matching labels, with ${CLUSTER_LABEL} in place of the cell on what a cluster's cells share. The residency is one of ${RESIDENCIES.join(", ")}.`,
    appliesTo: (type) =>
        !UNTAGGABLE_TYPES.has(type) && (type.startsWith("aws:") || type.startsWith("azure-native:") || type.startsWith("kubernetes:")),
    check: (resource, report) => {
        const kubernetes = resource.type.startsWith("kubernetes:");
        const keys = TAG_KEYS.map((key) => (kubernetes ? kubernetesLabelKey(key) : key));
        const tags = tagsOf(resource);
        const has = (key: string) => typeof tags[key] === "string" && tags[key] !== "";
        // What the cells of a cluster share (its operators) names the cluster in place of a cell.
        const sharedByCells = kubernetes && has(CLUSTER_LABEL);
        const missing = keys.filter((key) => !has(key) && !(sharedByCells && key === kubernetesLabelKey("cellplane:cell")));
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
