import * as helm from "@pulumi/kubernetes/helm/v3";
import * as pulumi from "@pulumi/pulumi";
import { NODE_VERSION } from "../runtime";

/** Every operator a cell installs, pinned to a chart version (the policy pack rejects unpinned charts). */
export const OPERATOR_CHARTS = {
    strimzi: { chart: "strimzi-kafka-operator", version: "0.45.0", repo: "https://strimzi.io/charts/" },
    cloudnativePg: { chart: "cloudnative-pg", version: "0.23.0", repo: "https://cloudnative-pg.github.io/charts" },
    clickhouse: { chart: "altinity-clickhouse-operator", version: "0.24.2", repo: "https://docs.altinity.com/clickhouse-operator/" },
    flink: {
        chart: "flink-kubernetes-operator",
        version: "1.10.0",
        repo: "https://downloads.apache.org/flink/flink-kubernetes-operator-1.10.0/",
    },
    spark: { chart: "spark-operator", version: "2.1.0", repo: "https://kubeflow.github.io/spark-operator" },
    seaweedfs: { chart: "seaweedfs", version: "4.44.0", repo: "https://seaweedfs.github.io/seaweedfs/helm" },
} as const;
export type OperatorChart = keyof typeof OPERATOR_CHARTS;

/** Images the cells run, pinned by tag (never `latest`). */
export const IMAGES = {
    postgres: "ghcr.io/cloudnative-pg/postgresql:16.6",
    clickhouse: "clickhouse/clickhouse-server:24.8.14.39",
    keeper: "clickhouse/clickhouse-keeper:24.8.14.39",
    /** The cells' apps: the official Node image of the Node version they are built and tested with. */
    node: `node:${NODE_VERSION}-bookworm-slim`,
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

export interface ReleaseArgs {
    chart: OperatorChart;
    namespace: pulumi.Input<string>;
    values: pulumi.Inputs;
}

export function helmRelease(name: string, args: ReleaseArgs, opts: pulumi.CustomResourceOptions): helm.Release {
    const chart = OPERATOR_CHARTS[args.chart];
    return new helm.Release(
        name,
        {
            name: chart.chart,
            chart: chart.chart,
            version: chart.version,
            repositoryOpts: { repo: chart.repo },
            namespace: args.namespace,
            values: args.values,
            atomic: true,
            cleanupOnFail: true,
        },
        opts,
    );
}
