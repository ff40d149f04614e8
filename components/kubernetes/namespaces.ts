import * as core from "@pulumi/kubernetes/core/v1";
import * as pulumi from "@pulumi/pulumi";
import type { CellContext } from "../platform";

export interface CellNamespacesArgs {
    context: CellContext;
}

/** The namespace of a cell's data services, jobs and apps. */
export const dataNamespaceOf = (cellId: string) => `${cellId}-data`;

/** A cell's two namespaces: its data services and jobs, and the operators that run them. */
export class CellNamespaces extends pulumi.ComponentResource {
    readonly data: pulumi.Output<string>;
    readonly operators: pulumi.Output<string>;

    constructor(name: string, args: CellNamespacesArgs, opts?: pulumi.ComponentResourceOptions) {
        super("cellplane:kubernetes:CellNamespaces", name, {}, opts);
        const { cell, labels } = args.context;
        const namespace = (suffix: string) =>
            new core.Namespace(
                `${name}-${suffix}`,
                {
                    metadata: {
                        name: suffix === "data" ? dataNamespaceOf(cell.id) : `${cell.id}-${suffix}`,
                        labels: {
                            ...labels.kubernetes,
                            "pod-security.kubernetes.io/enforce": "baseline",
                            "pod-security.kubernetes.io/warn": "restricted",
                        },
                    },
                },
                { parent: this },
            ).metadata.name;
        this.data = namespace("data");
        this.operators = namespace("operators");
        this.registerOutputs({ data: this.data, operators: this.operators });
    }
}
