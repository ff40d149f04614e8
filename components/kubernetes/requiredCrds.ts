import { CustomResourceDefinition } from "@pulumi/kubernetes/apiextensions/v1";
import * as pulumi from "@pulumi/pulumi";
import { crdNameOf, type CustomResourceKind } from "../../model/customResources";

/**
 * CustomResourceDefinitions a cell's custom resources need and the cell does not install: each is read from the
 * cluster, so a missing one stops `pulumi preview` with its name, and the custom resources wait for the reads.
 * Its outputs name them and the cluster (its Kubernetes provider's URN): the engine hands reads to no policy, and the
 * pack checks that each custom resource's CRD is on its cluster.
 */
export class RequiredCrds extends pulumi.ComponentResource {
    constructor(name: string, kinds: readonly CustomResourceKind[], opts?: pulumi.ComponentResourceOptions) {
        super("cellplane:kubernetes:RequiredCrds", name, {}, opts);
        const crds = [...new Set(kinds.map(crdNameOf))];
        for (const crd of crds) CustomResourceDefinition.get(`${name}-${crd}`, crd, { parent: this });
        this.registerOutputs({ crds, cluster: this.getProvider("kubernetes::")?.urn });
    }
}
