import * as pulumi from "@pulumi/pulumi";
import { verifyKubernetesCells } from "../components/kubernetes/clusterRegion";
import { skipKubernetesAwait } from "../components/kubernetes/skipAwait";
import { loadStackConfig } from "./load";
import { cellplane } from "./program";

// Validation comes before the first resource, so a bad config, or a kubernetes cell whose cluster lies in another
// region, creates nothing.
const stack = loadStackConfig();
if (stack.kubernetesSkipAwait) pulumi.runtime.registerStackTransformation(skipKubernetesAwait);
export = verifyKubernetesCells(stack.cells, (message) => void pulumi.log.warn(message)).then(() => cellplane(stack));
