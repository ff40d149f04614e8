import * as pulumi from "@pulumi/pulumi";
import type { CellContext, StreamOperators } from "../platform";
import { helmRelease, OPERATOR_RESOURCES } from "./charts";

export interface FlinkAndSparkOperatorsArgs {
    context: CellContext;
    jobsNamespace: pulumi.Input<string>;
    operatorNamespace: pulumi.Input<string>;
}

/** The Apache Flink Kubernetes Operator and the Kubeflow Spark Operator, both watching the cell's jobs namespace only. */
export class FlinkAndSparkOperators extends pulumi.ComponentResource implements StreamOperators {
    readonly jobsNamespace: pulumi.Output<string>;

    constructor(name: string, args: FlinkAndSparkOperatorsArgs, opts?: pulumi.ComponentResourceOptions) {
        super("cellplane:kubernetes:StreamOperators", name, {}, opts);
        helmRelease(
            `${name}-flink`,
            {
                chart: "flink",
                namespace: args.operatorNamespace,
                values: {
                    watchNamespaces: [args.jobsNamespace],
                    operatorPod: { resources: OPERATOR_RESOURCES },
                    // The admission webhook needs cert-manager; the operator validates resources without it.
                    webhook: { create: false },
                },
            },
            { parent: this },
        );
        helmRelease(
            `${name}-spark`,
            {
                chart: "spark",
                namespace: args.operatorNamespace,
                values: {
                    spark: { jobNamespaces: [args.jobsNamespace] },
                    controller: { resources: OPERATOR_RESOURCES },
                    webhook: { resources: OPERATOR_RESOURCES },
                },
            },
            { parent: this },
        );
        this.jobsNamespace = pulumi.output(args.jobsNamespace);
        this.registerOutputs({ jobsNamespace: this.jobsNamespace });
    }
}
