import { CustomResourceDefinition } from "@pulumi/kubernetes/apiextensions/v1";
import * as pulumi from "@pulumi/pulumi";
import { crdNameOf, type CustomResourceKind } from "../../model/customResources";

/**
 * CustomResourceDefinitions a cell's custom resources need and the cell does not install: each is read from the
 * cluster, so a missing one stops `pulumi preview` with its name, and the custom resources wait for the reads.
 */
export class RequiredCrds extends pulumi.ComponentResource {
    constructor(name: string, kinds: readonly CustomResourceKind[], opts?: pulumi.ComponentResourceOptions) {
        super("cellplane:kubernetes:RequiredCrds", name, {}, opts);
        for (const crd of new Set(kinds.map(crdNameOf))) CustomResourceDefinition.get(`${name}-${crd}`, crd, { parent: this });
        this.registerOutputs({});
    }
}
