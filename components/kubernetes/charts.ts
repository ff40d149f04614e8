import * as helm from "@pulumi/kubernetes/helm/v3";
import * as pulumi from "@pulumi/pulumi";
import { imageOf, type PinnedVersion, VERSIONS } from "../../model/versions";

/** A chart as Helm installs it: its name and version from the table of pinned versions, and the repository serving it. */
export function chartOf(pinned: PinnedVersion, repo: string) {
    return { chart: pinned.kind.replace(/^chart:/, ""), version: pinned.version, repo };
}

/** Every chart a cell installs, pinned to a version (the policy pack rejects unpinned charts). */
export const CHARTS = {
    strimzi: chartOf(VERSIONS.strimziChart, "https://strimzi.io/charts/"),
    cloudnativePg: chartOf(VERSIONS.cloudnativePgChart, "https://cloudnative-pg.github.io/charts"),
    clickhouse: chartOf(VERSIONS.clickhouseOperatorChart, "https://helm.altinity.com"),
    // downloads.apache.org keeps only the newest release of each line; the archive keeps every release for good.
    flink: chartOf(
        VERSIONS.flinkOperatorChart,
        `https://archive.apache.org/dist/flink/flink-kubernetes-operator-${VERSIONS.flinkOperatorChart.version}/`,
    ),
    spark: chartOf(VERSIONS.sparkOperatorChart, "https://kubeflow.github.io/spark-operator"),
    seaweedfs: chartOf(VERSIONS.seaweedfsChart, "https://seaweedfs.github.io/seaweedfs/helm"),
    monitoring: chartOf(VERSIONS.kubePrometheusStackChart, "https://prometheus-community.github.io/helm-charts"),
    certManager: chartOf(VERSIONS.certManagerChart, "https://charts.jetstack.io"),
    awsLoadBalancerController: chartOf(VERSIONS.awsLoadBalancerControllerChart, "https://aws.github.io/eks-charts"),
} as const;
export type ChartName = keyof typeof CHARTS;

/** Images the cells run, pinned by tag (never `latest`). */
export const IMAGES = {
    postgres: imageOf(VERSIONS.postgresImage),
    clickhouse: imageOf(VERSIONS.clickhouseImage),
    keeper: imageOf(VERSIONS.keeperImage),
    /** The cells' apps: the official Node image of the Node version they are built and tested with. */
    node: imageOf(VERSIONS.nodeImage),
    /** The lakehouse's jobs: the official Spark image of the Spark the jobs are tested with, with Python. */
    spark: imageOf(VERSIONS.sparkImage),
    /** The streaming job: the official Flink image of the Flink it is tested with (its SQL driver runs the script). */
    flink: imageOf(VERSIONS.flinkImage),
} as const;

/** Requests and limits for an operator's own pod. */
export const OPERATOR_RESOURCES = {
    requests: { cpu: "100m", memory: "256Mi" },
    limits: { cpu: "1", memory: "1Gi" },
};

/** Requests equal limits for data pods, so the scheduler never overcommits a database. */
export function guaranteed(pod: { cpu: string; memory: string }) {
    return { requests: { ...pod }, limits: { ...pod } };
}

/** Spreads a workload's pods over the cluster's zones, as evenly as its nodes allow. */
export const zoneSpread = (matchLabels: Record<string, string>) => ({
    maxSkew: 1,
    topologyKey: "topology.kubernetes.io/zone",
    whenUnsatisfiable: "ScheduleAnyway",
    labelSelector: { matchLabels },
});

export interface ReleaseArgs {
    chart: ChartName;
    namespace: pulumi.Input<string>;
    createNamespace?: boolean;
    values: pulumi.Inputs;
    /** The stack's chart mirror (`cellplane:chartRepository`), else the chart's own repository. */
    repository?: string;
}

export function helmRelease(name: string, args: ReleaseArgs, opts: pulumi.CustomResourceOptions): helm.Release {
    const chart = CHARTS[args.chart];
    return new helm.Release(
        name,
        {
            name: chart.chart,
            chart: chart.chart,
            version: chart.version,
            repositoryOpts: { repo: args.repository ?? chart.repo },
            namespace: args.namespace,
            createNamespace: args.createNamespace,
            values: args.values,
            atomic: true,
            cleanupOnFail: true,
        },
        opts,
    );
}
