import * as pulumi from "@pulumi/pulumi";
import { verifyKubernetesCells } from "../components/kubernetes/clusterRegion";
import { clusterObjects } from "../components/kubernetes/clusterObjects";
import { loadStackConfig } from "./load";
import { cellplane } from "./program";

// Validation comes before the first resource, so a bad config, or a kubernetes cell whose cluster lies in another
// region, creates nothing.
const stack = loadStackConfig();
pulumi.runtime.registerStackTransformation(clusterObjects({ skipAwait: stack.kubernetesSkipAwait }));
export = verifyKubernetesCells(stack.cells, (message) => void pulumi.log.warn(message)).then(() => cellplane(stack));
