import * as core from "@pulumi/kubernetes/core/v1";
import type * as helm from "@pulumi/kubernetes/helm/v3";
import * as pulumi from "@pulumi/pulumi";
import { OPERATOR_KINDS } from "../../model/customResources";
import { helmRelease, OPERATOR_RESOURCES, type ChartName } from "./charts";
import { clusterRules } from "./monitoring";
import { RequiredCrds } from "./requiredCrds";

/** The operators a cluster may run for its cells: the object store's chart is a cell's own, the others the edge's. */
export type Operator = Exclude<ChartName, "seaweedfs" | "certManager" | "awsLoadBalancerController">;

/** Operators a cell's cluster needs when the cloud serves Postgres and Kafka itself (EKS, AKS). */
export const ANALYTICS_OPERATORS: readonly Operator[] = ["clickhouse", "flink", "spark", "monitoring"];
/** Operators a cell needs on a cluster that runs every part (the kubernetes target). */
export const ALL_OPERATORS: readonly Operator[] = ["strimzi", "cloudnativePg", ...ANALYTICS_OPERATORS];

/** One namespace per cluster holds its operators, whichever cells share it. */
export const OPERATORS_NAMESPACE = "cellplane-operators";

/** The namespace of a cell's data services, jobs and apps. */
export const dataNamespaceOf = (cellId: string) => `${cellId}-data`;

/** Each operator's chart values, watching exactly the cells' data namespaces, its volumes of `storageClass` if given. */
const VALUES: Record<Operator, (watched: pulumi.Input<string>[], storageClass?: string) => pulumi.Inputs> = {
    strimzi: (watched) => ({ watchNamespaces: watched, resources: OPERATOR_RESOURCES }),
    cloudnativePg: () => ({ resources: OPERATOR_RESOURCES }),
    clickhouse: (watched) => ({
        operator: { resources: OPERATOR_RESOURCES },
        metrics: { resources: OPERATOR_RESOURCES },
        configs: { files: { "config.yaml": { watch: { namespaces: watched } } } },
    }),
    flink: (watched) => ({
        watchNamespaces: watched,
        operatorPod: { resources: OPERATOR_RESOURCES },
        // The admission webhook needs cert-manager; the operator validates resources without it.
        webhook: { create: false },
    }),
    spark: (watched) => ({
        spark: { jobNamespaces: watched },
        controller: { resources: OPERATOR_RESOURCES },
        webhook: { resources: OPERATOR_RESOURCES },
    }),
    // One Prometheus per cluster, in the cluster's region, scrapes every cell's monitors and evaluates the rule set,
    // whatever labels they carry. Dashboards are the status page's, so no Grafana.
    monitoring: (_watched, storageClass) => ({
        prometheus: {
            prometheusSpec: {
                serviceMonitorSelectorNilUsesHelmValues: false,
                podMonitorSelectorNilUsesHelmValues: false,
                ruleSelectorNilUsesHelmValues: false,
                retention: "15d",
                resources: { requests: { cpu: "500m", memory: "2Gi" }, limits: { memory: "4Gi" } },
                storageSpec: {
                    volumeClaimTemplate: {
                        spec: {
                            accessModes: ["ReadWriteOnce"],
                            resources: { requests: { storage: "50Gi" } },
                            ...(storageClass ? { storageClassName: storageClass } : {}),
                        },
                    },
                },
            },
        },
        prometheusOperator: { resources: OPERATOR_RESOURCES },
        grafana: { enabled: false },
    }),
};

export interface ClusterCell {
    id: string;
    /** The cell's Kubernetes labels, which its namespace carries. */
    labels: Record<string, string>;
}

/** Who runs a cluster's operators: the cell (`managed`, Helm releases) or the cluster's own team (`external`). */
export type OperatorsMode = "managed" | "external";

export interface ClusterOperatorsArgs {
    operators: readonly Operator[];
    mode: OperatorsMode;
    /** The stack's chart mirror (`cellplane:chartRepository`), else each chart's own repository. */
    repository?: string;
    /** Every cell on the cluster: each gets its data namespace, and every operator watches all of them. */
    cells: readonly ClusterCell[];
    /** Labels of what the cluster's cells share: the operators' namespace. */
    labels: Record<string, string>;
    /** The StorageClass of the operators' own volumes (the cluster's Prometheus); default: the cluster's default class. */
    storageClass?: string;
}

const POD_SECURITY = { "pod-security.kubernetes.io/enforce": "baseline", "pod-security.kubernetes.io/warn": "restricted" };

/**
 * The operators of one Kubernetes cluster, installed once however many cells share it (their CRDs and cluster
 * roles are cluster-wide, so a second install would clash). It creates each cell's data namespace first, so the
 * RoleBindings the charts render in the watched namespaces have somewhere to go.
 */
export class ClusterOperators extends pulumi.ComponentResource {
    /** cell id → the name of its data namespace. */
    readonly namespaces: Record<string, pulumi.Output<string>>;
    /** Each operator: its Helm release, or the reads of its definitions where it is external. */
    private readonly operators: Partial<Record<Operator, helm.Release | RequiredCrds>>;

    constructor(name: string, args: ClusterOperatorsArgs, opts?: pulumi.ComponentResourceOptions) {
        super("cellplane:kubernetes:ClusterOperators", name, {}, opts);
        const namespace = (resourceName: string, namespaceName: string, labels: Record<string, string>) =>
            new core.Namespace(
                resourceName,
                { metadata: { name: namespaceName, labels: { ...labels, ...POD_SECURITY } } },
                { parent: this },
            ).metadata.name;
        this.namespaces = Object.fromEntries(
            args.cells.map((cell) => [cell.id, namespace(`${name}-${cell.id}-data`, dataNamespaceOf(cell.id), cell.labels)]),
        );
        const operatorNamespace = namespace(`${name}-namespace`, OPERATORS_NAMESPACE, args.labels);
        const watched = Object.values(this.namespaces);
        // External operators are the cluster's: the cell installs none, and requires each one's definitions instead.
        this.operators = Object.fromEntries(
            args.operators.map((operator) => [
                operator,
                args.mode === "managed"
                    ? helmRelease(
                          `${name}-${operator}`,
                          {
                              chart: operator,
                              namespace: operatorNamespace,
                              values: VALUES[operator](watched, args.storageClass),
                              repository: args.repository,
                          },
                          { parent: this },
                      )
                    : new RequiredCrds(`${name}-${operator}-crds`, OPERATOR_KINDS[operator].kinds, { parent: this }),
            ]),
        );
        const monitoring = this.operators.monitoring;
        if (monitoring) clusterRules(`${name}-rules`, { namespace: operatorNamespace, labels: args.labels, monitoring }, { parent: this });
        this.registerOutputs({ namespaces: this.namespaces });
    }

    /** An operator the cluster runs, as a cell's custom resources wait for it: its release, or its definitions. */
    release(operator: Operator): pulumi.Resource {
        const release = this.operators[operator];
        if (!release) throw new Error(`the cluster's operators do not include ${operator}; add it to the target's operator list`);
        return release;
    }
}
