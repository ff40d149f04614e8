import { CustomResource } from "@pulumi/kubernetes/apiextensions";
import * as pulumi from "@pulumi/pulumi";
import { parse } from "yaml";
import type { CellContext } from "../platform";
import { ruleSet } from "../ruleSet";

const API_VERSION = "monitoring.coreos.com/v1";

/** What the rule set expects of every series: the job named after what was scraped, and the cell it belongs to. */
export const scrapeLabels = (job: string, cellId: string) => [
    { targetLabel: "job", replacement: job },
    { targetLabel: "cell", replacement: cellId },
];

export interface ScrapeArgs {
    context: CellContext;
    namespace: pulumi.Input<string>;
    /** The job name the rules know it by: an app's name, or `postgres`, `kafka`, `clickhouse`, `object-store`. */
    job: string;
    /** Labels of the Service (ServiceMonitor) or pods (PodMonitor) to scrape. */
    selector: Record<string, string>;
    /** The named port that serves `/metrics`. */
    port: string;
    /** The cluster's monitoring stack, whose Prometheus Operator defines these resources. */
    monitoring: pulumi.Resource;
}

/** The cluster's Prometheus scrapes a Service's endpoints, labelled with the job and cell. */
export const serviceMonitor = (name: string, args: ScrapeArgs, opts: pulumi.CustomResourceOptions) =>
    monitor(name, "ServiceMonitor", { endpoints: [{ ...endpointOf(args), path: "/metrics" }] }, args, opts);

/** The cluster's Prometheus scrapes pods directly: for stores whose operator exposes metrics on the pods only. */
export const podMonitor = (name: string, args: ScrapeArgs, opts: pulumi.CustomResourceOptions) =>
    monitor(name, "PodMonitor", { podMetricsEndpoints: [endpointOf(args)] }, args, opts);

/** Every 15 s: the rule set's one-minute windows then hold four samples, so one missed scrape never pages. */
const endpointOf = (args: ScrapeArgs) => ({ port: args.port, interval: "15s", relabelings: scrapeLabels(args.job, args.context.cell.id) });

function monitor(name: string, kind: string, endpoints: object, args: ScrapeArgs, opts: pulumi.CustomResourceOptions): CustomResource {
    return new CustomResource(
        name,
        {
            apiVersion: API_VERSION,
            kind,
            metadata: { name: args.job, namespace: args.namespace, labels: args.context.labels.kubernetes },
            spec: { selector: { matchLabels: args.selector }, ...endpoints },
        },
        { ...opts, dependsOn: [args.monitoring] },
    );
}

/**
 * The rule set as one PrometheusRule per cluster, beside the monitoring stack: its rules aggregate by cell, so one
 * copy serves every cell of the cluster, and a second would only double each alert.
 */
export function clusterRules(
    name: string,
    args: { namespace: pulumi.Input<string>; labels: Record<string, string>; monitoring: pulumi.Resource },
    opts: pulumi.CustomResourceOptions,
): CustomResource {
    return new CustomResource(
        name,
        {
            apiVersion: API_VERSION,
            kind: "PrometheusRule",
            metadata: { name: "cellplane", namespace: args.namespace, labels: args.labels },
            spec: { groups: parse(ruleSet()).groups },
        },
        { ...opts, dependsOn: [args.monitoring] },
    );
}
